// Naive double-precision references of the layers, written here independently of the library:
// direct loops over NCHW, output sizes computed from the formulas. Shared by the layer tests.
#pragma once
#include <cmath>  // std::sqrt
#include <cstddef>
#include <span>
#include <vector>

namespace ctnn_test::naive {

using Doubles = std::vector<double>;

// --- convolution --------------------------------------------------------------------------

struct ConvGeometry {
  int in, out, kernel, stride, pad, groups, height, width;
  int out_height() const { return (height + 2 * pad - kernel) / stride + 1; }
  int out_width() const { return (width + 2 * pad - kernel) / stride + 1; }
};

struct ConvResult {
  Doubles y, dx, dw, db;
};

// y[n][o][i][j] = b[o] (0 when b is empty: no bias) + sum over the group's input channels c and the window of
// w[o][c][kh][kw] * x[n][c][i*s - p + kh][j*s - p + kw]; gradients by the chain rule.
inline ConvResult conv_reference(const ConvGeometry& g, long batch, std::span<const float> x, std::span<const float> w,
                          std::span<const float> b, std::span<const float> dy) {
  const int in_per_group = g.in / g.groups, out_per_group = g.out / g.groups;
  const int oh = g.out_height(), ow = g.out_width(), k = g.kernel;
  ConvResult r{Doubles(static_cast<std::size_t>(batch) * g.out * oh * ow), Doubles(x.size()), Doubles(w.size()),
               Doubles(static_cast<std::size_t>(g.out))};
  for (long n = 0; n < batch; ++n)
    for (int o = 0; o < g.out; ++o)
      for (int i = 0; i < oh; ++i)
        for (int j = 0; j < ow; ++j) {
          const std::size_t yi = ((n * g.out + o) * oh + i) * static_cast<std::size_t>(ow) + j;
          double sum = b.empty() ? 0.0 : double{b[o]};
          for (int c = 0; c < in_per_group; ++c)
            for (int kh = 0; kh < k; ++kh)
              for (int kw = 0; kw < k; ++kw) {
                const int row = i * g.stride - g.pad + kh, col = j * g.stride - g.pad + kw;
                if (row < 0 || row >= g.height || col < 0 || col >= g.width) continue;
                const int channel = o / out_per_group * in_per_group + c;
                const std::size_t xi = ((n * g.in + channel) * g.height + row) * static_cast<std::size_t>(g.width) + col;
                const std::size_t wi = ((o * in_per_group + c) * k + kh) * static_cast<std::size_t>(k) + kw;
                sum += double{w[wi]} * x[xi];
                r.dx[xi] += double{w[wi]} * dy[yi];
                r.dw[wi] += double{x[xi]} * dy[yi];
              }
          r.y[yi] = sum;
          r.db[o] += dy[yi];
        }
  return r;
}

// --- batch normalisation --------------------------------------------------------------------

struct BnResult {
  Doubles y, dx, dgamma, dbeta, running_mean, running_var;
};

constexpr double bn_eps = 1e-5, bn_momentum = 0.1;

// Train mode (PyTorch's BatchNorm2d): normalise with the batch mean and biased variance;
// the running variance takes the unbiased one.
inline BnResult bn_train_reference(long batch, int channels, int plane, std::span<const float> x,
                            std::span<const float> gamma, std::span<const float> beta,
                            std::span<const float> running_mean, std::span<const float> running_var,
                            std::span<const float> dy) {
  BnResult r{Doubles(x.size()), Doubles(x.size()), Doubles(channels), Doubles(channels), Doubles(channels),
             Doubles(channels)};
  const double m = static_cast<double>(batch) * plane;
  auto at = [&](long n, int c, int i) { return (n * channels + c) * static_cast<std::size_t>(plane) + i; };
  for (int c = 0; c < channels; ++c) {
    double mean = 0, var = 0;
    for (long n = 0; n < batch; ++n)
      for (int i = 0; i < plane; ++i) mean += x[at(n, c, i)];
    mean /= m;
    for (long n = 0; n < batch; ++n)
      for (int i = 0; i < plane; ++i) var += (x[at(n, c, i)] - mean) * (x[at(n, c, i)] - mean);
    var /= m;
    const double inv_std = 1 / std::sqrt(var + bn_eps);
    for (long n = 0; n < batch; ++n)
      for (int i = 0; i < plane; ++i) {
        const double xhat = (x[at(n, c, i)] - mean) * inv_std;
        r.y[at(n, c, i)] = gamma[c] * xhat + beta[c];
        r.dbeta[c] += dy[at(n, c, i)];
        r.dgamma[c] += dy[at(n, c, i)] * xhat;
      }
    // dx = gamma / (m sigma) * (m dy - sum dy - xhat sum(dy xhat))
    for (long n = 0; n < batch; ++n)
      for (int i = 0; i < plane; ++i) {
        const double xhat = (x[at(n, c, i)] - mean) * inv_std;
        r.dx[at(n, c, i)] = gamma[c] * inv_std / m * (m * dy[at(n, c, i)] - r.dbeta[c] - xhat * r.dgamma[c]);
      }
    r.running_mean[c] = (1 - bn_momentum) * running_mean[c] + bn_momentum * mean;
    r.running_var[c] = (1 - bn_momentum) * running_var[c] + bn_momentum * var * m / (m - 1);
  }
  return r;
}

// Eval mode: the running statistics are constants, so dx is dy scaled per channel.
inline BnResult bn_eval_reference(long batch, int channels, int plane, std::span<const float> x,
                           std::span<const float> gamma, std::span<const float> beta,
                           std::span<const float> running_mean, std::span<const float> running_var,
                           std::span<const float> dy) {
  BnResult r{Doubles(x.size()), Doubles(x.size()), Doubles(channels), Doubles(channels),
             Doubles(running_mean.begin(), running_mean.end()), Doubles(running_var.begin(), running_var.end())};
  for (long n = 0; n < batch; ++n)
    for (int c = 0; c < channels; ++c)
      for (int i = 0; i < plane; ++i) {
        const std::size_t k = (n * channels + c) * static_cast<std::size_t>(plane) + i;
        const double inv_std = 1 / std::sqrt(double{running_var[c]} + bn_eps);
        const double xhat = (x[k] - double{running_mean[c]}) * inv_std;
        r.y[k] = gamma[c] * xhat + beta[c];
        r.dx[k] = dy[k] * gamma[c] * inv_std;
        r.dgamma[c] += dy[k] * xhat;
        r.dbeta[c] += dy[k];
      }
  return r;
}

// --- pooling --------------------------------------------------------------------------------

struct PoolResult {
  Doubles y, dx;
};

// Floor mode, padding `pad` on each side. Max: the gradient goes to the window's (unique)
// maximum among the real elements; overlapping windows add up. Average (PyTorch's
// count_include_pad=True): the padding counts as zeros, every real element of the window gets
// dy / (kh * kw).
inline PoolResult pool_reference(bool max, long batch, int channels, int h, int w, int kh, int kw, int sh, int sw,
                          std::span<const float> x, std::span<const float> dy, int pad = 0) {
  const int oh = (h + 2 * pad - kh) / sh + 1, ow = (w + 2 * pad - kw) / sw + 1;
  PoolResult r{Doubles(static_cast<std::size_t>(batch) * channels * oh * ow), Doubles(x.size())};
  for (long plane = 0; plane < batch * channels; ++plane)
    for (int i = 0; i < oh; ++i)
      for (int j = 0; j < ow; ++j) {
        const std::size_t yi = (plane * oh + i) * static_cast<std::size_t>(ow) + j;
        std::vector<std::size_t> window;  // the real elements under the window
        for (int a = 0; a < kh; ++a)
          for (int b = 0; b < kw; ++b) {
            const int row = i * sh - pad + a, col = j * sw - pad + b;
            if (row >= 0 && row < h && col >= 0 && col < w)
              window.push_back((plane * h + row) * static_cast<std::size_t>(w) + col);
          }
        if (max) {
          std::size_t best = window[0];
          for (std::size_t xi : window)
            if (x[xi] > x[best]) best = xi;
          r.y[yi] = x[best];
          r.dx[best] += dy[yi];
        } else {
          double sum = 0;
          for (std::size_t xi : window) sum += x[xi];
          r.y[yi] = sum / (kh * kw);
          for (std::size_t xi : window) r.dx[xi] += dy[yi] / (kh * kw);
        }
      }
  return r;
}

}  // namespace ctnn_test::naive
