// ctnn/data/detail/geometry.hpp — geometric steps, the reference resampler, and the fused
// uint8 -> float sampler that runs a whole chain of crops, flips and one rotation in one pass.
//
// Coordinates are pixel indices: pixel (x, y) has its centre at (x, y). Every step is given as an
// *inverse* map, from output pixel to input position, which is how both torchvision
// (affine_grid + grid_sample) and this code sample.
#pragma once

#include <algorithm>  // std::max, std::min, std::clamp, std::fill
#include <cmath>      // std::floor
#include <cstddef>    // std::size_t
#include <cstdint>    // std::uint8_t
#include <span>       // std::span

#include "ctnn/data/dataset.hpp"  // ImageShape

namespace ctnn::data::detail {

// An exact integer map per axis: in = s * out + t, s = +1 or -1 (crops, pads, flips).
struct AxisMap {
  int sx = 1, tx = 0, sy = 1, ty = 0;
};

// After `inner` (out -> mid), apply `outer` (mid -> in): the composite out -> in.
constexpr AxisMap then(const AxisMap& inner, const AxisMap& outer) noexcept {
  return {outer.sx * inner.sx, outer.sx * inner.tx + outer.tx, outer.sy * inner.sy,
          outer.sy * inner.ty + outer.ty};
}

// A half-open rectangle of integer pixel positions [x0, x1) x [y0, y1).
struct Rect {
  int x0 = 0, x1 = 0, y0 = 0, y1 = 0;
  constexpr bool contains(int x, int y) const noexcept {
    return x >= x0 && x < x1 && y >= y0 && y < y1;
  }
  constexpr Rect intersect(const Rect& o) const noexcept {
    return {std::max(x0, o.x0), std::min(x1, o.x1), std::max(y0, o.y0), std::min(y1, o.y1)};
  }
};
constexpr Rect bounds(const ImageShape& s) noexcept { return {0, s.width, 0, s.height}; }

// The positions p with m(p) in r. An axis map is a bijection of the integer line, so the
// preimage of an interval is an interval: for s = -1, t - p in [a, b) <=> p in [t - b + 1, t - a + 1).
constexpr Rect pullback(const Rect& r, const AxisMap& m) noexcept {
  Rect o;
  if (m.sx == 1) o.x0 = r.x0 - m.tx, o.x1 = r.x1 - m.tx;
  else o.x0 = m.tx - r.x1 + 1, o.x1 = m.tx - r.x0 + 1;
  if (m.sy == 1) o.y0 = r.y0 - m.ty, o.y1 = r.y1 - m.ty;
  else o.y0 = m.ty - r.y1 + 1, o.y1 = m.ty - r.y0 + 1;
  return o;
}
// The image of r under m.
constexpr Rect pushforward(const Rect& r, const AxisMap& m) noexcept {
  Rect o;
  if (m.sx == 1) o.x0 = r.x0 + m.tx, o.x1 = r.x1 + m.tx;
  else o.x0 = m.tx - r.x1 + 1, o.x1 = m.tx - r.x0 + 1;
  if (m.sy == 1) o.y0 = r.y0 + m.ty, o.y1 = r.y1 + m.ty;
  else o.y0 = m.ty - r.y1 + 1, o.y1 = m.ty - r.y0 + 1;
  return o;
}

// One geometric step drawn for one image. Either exact (an AxisMap; outputs that map outside
// the input are zero) or resampling (bilinear at an affine position, torchvision's rule below).
struct GeoStep {
  ImageShape in, out;
  bool resample = false;
  AxisMap axis;       // !resample
  double a[6] = {};   // resample: x_in = a0 x + a1 y + a2, y_in = a3 x + a4 y + a5

  static GeoStep exact(ImageShape in, ImageShape out, AxisMap m) noexcept {
    GeoStep s;
    s.in = in, s.out = out, s.axis = m;
    return s;
  }
  static GeoStep affine(ImageShape in, ImageShape out, const double (&a)[6]) noexcept {
    GeoStep s;
    s.in = in, s.out = out, s.resample = true;
    for (int i = 0; i < 6; ++i) s.a[i] = a[i];
    return s;
  }
};

// torchvision 0.14's bilinear rule with fill 0 (F.rotate/F.affine on tensors): grid_sample with
// zero padding gives v = sum of w_i * in_i over the taps inside the image, and the same
// grid_sample of an all-ones "mask" channel gives m = sum of w_i over those taps; the output is
// v * m + (1 - m) * fill = v * m. So border pixels fade twice; we reproduce that on purpose.
struct BilinearTaps {
  int x0, y0;
  float w[4];  // (x0,y0) (x0+1,y0) (x0,y0+1) (x0+1,y0+1)
};
inline BilinearTaps bilinear_taps(float px, float py) noexcept {
  // floor(), exactly and without a libm call: truncate, then step down for negative fractions.
  // (Positions are a few image sizes at most, far inside int's range.)
  int x0 = static_cast<int>(px), y0 = static_cast<int>(py);
  x0 -= static_cast<float>(x0) > px;
  y0 -= static_cast<float>(y0) > py;
  const float fx = px - static_cast<float>(x0), fy = py - static_cast<float>(y0);
  return {x0, y0, {(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy}};
}

// The reference: applies one step to a float CHW image (the plain composition path, and the
// definition the fused sampler is tested against). Written for clarity, not speed.
inline void apply_step(const float* in, const GeoStep& s, float* out) {
  const int W = s.in.width, H = s.in.height;
  const std::size_t in_plane = static_cast<std::size_t>(W) * H;
  const std::size_t out_plane = static_cast<std::size_t>(s.out.width) * s.out.height;
  for (int c = 0; c < s.out.channels; ++c) {
    for (int y = 0; y < s.out.height; ++y) {
      for (int x = 0; x < s.out.width; ++x) {
        float v = 0.0f;
        if (!s.resample) {
          const int xi = s.axis.sx * x + s.axis.tx, yi = s.axis.sy * y + s.axis.ty;
          if (xi >= 0 && xi < W && yi >= 0 && yi < H) v = in[c * in_plane + yi * W + xi];
        } else {
          const auto px = static_cast<float>(s.a[0] * x + s.a[1] * y + s.a[2]);
          const auto py = static_cast<float>(s.a[3] * x + s.a[4] * y + s.a[5]);
          const BilinearTaps t = bilinear_taps(px, py);
          float sum = 0.0f, mask = 0.0f;
          for (int k = 0; k < 4; ++k) {
            const int xi = t.x0 + (k & 1), yi = t.y0 + (k >> 1);
            if (xi >= 0 && xi < W && yi >= 0 && yi < H) {
              sum += t.w[k] * in[c * in_plane + yi * W + xi];
              mask += t.w[k];
            }
          }
          v = sum * mask;
        }
        out[c * out_plane + static_cast<std::size_t>(y) * s.out.width + x] = v;
      }
    }
  }
}

// A chain of steps folded into one map from final output pixel to source position.
struct FusedMap {
  ImageShape out;
  Rect valid;           // output pixels outside are zero (fill)
  bool resample = false;
  AxisMap axis;         // !resample: output -> source, exact
  float c[6] = {};      // resample: output -> source position
  Rect mask_rect;       // resample: the resampling step's input bounds, in source coordinates
  Rect value_rect;      // resample: where that input holds source pixels (not padding)
};

// Folds steps[0..n) (applied first to last; at most one resampling step) into one FusedMap.
// Exact and resampling steps commute with bilinear sampling because the exact ones map the pixel
// lattice onto itself, so sampling the source at the composed position with the composed
// rectangles gives what running the steps one by one gives.
inline FusedMap fuse_steps(const GeoStep* steps, std::size_t n, const ImageShape& source) {
  FusedMap f;
  f.out = n ? steps[n - 1].out : source;
  // Exact steps after the resampling one (or all of them): walk back from the output.
  std::size_t r = n;  // index of the resampling step, n if none
  for (std::size_t i = 0; i < n; ++i)
    if (steps[i].resample) r = i;
  AxisMap post;  // final output -> current coordinates
  Rect valid = bounds(f.out);
  const std::size_t stop = r == n ? 0 : r + 1;
  for (std::size_t i = n; i-- > stop;) {
    post = then(post, steps[i].axis);
    valid = valid.intersect(pullback(bounds(steps[i].in), post));
  }
  f.valid = valid;
  if (r == n) {
    f.axis = post;
    if (n == 0) f.valid = bounds(source);
    return f;
  }
  // Exact steps before the resampling one: resampling input -> source.
  AxisMap pre;
  Rect value = bounds(steps[r].in);
  const Rect mask = value;
  for (std::size_t i = r; i-- > 0;) {
    pre = then(pre, steps[i].axis);
    value = value.intersect(pullback(bounds(steps[i].in), pre));
  }
  f.resample = true;
  f.mask_rect = pushforward(mask, pre);
  f.value_rect = pushforward(value, pre).intersect(f.mask_rect);
  const double* a = steps[r].a;
  f.c[0] = static_cast<float>(pre.sx * a[0] * post.sx);
  f.c[1] = static_cast<float>(pre.sx * a[1] * post.sy);
  f.c[2] = static_cast<float>(pre.sx * (a[0] * post.tx + a[1] * post.ty + a[2]) + pre.tx);
  f.c[3] = static_cast<float>(pre.sy * a[3] * post.sx);
  f.c[4] = static_cast<float>(pre.sy * a[4] * post.sy);
  f.c[5] = static_cast<float>(pre.sy * (a[3] * post.tx + a[4] * post.ty + a[5]) + pre.ty);
  return f;
}

// The fast path: samples the uint8 CHW source through `f` and writes out = v * scale[c] + bias[c]
// (v in 0..255 units), so ToTensor's 1/255 and Normalize fold into one multiply-add. Pixels
// outside the valid area are zero before that affine, i.e. bias[c].
inline void sample_fused(const std::uint8_t* src, const ImageShape& s, const FusedMap& f,
                         const float* scale, const float* bias, float* out) {
  const int W = s.width, H = s.height, C = f.out.channels;
  const int OW = f.out.width, OH = f.out.height;
  const std::size_t in_plane = static_cast<std::size_t>(W) * H;
  const std::size_t out_plane = static_cast<std::size_t>(OW) * OH;
  if (!f.resample) {
    for (int c = 0; c < C; ++c) {
      const std::uint8_t* sp = src + c * in_plane;
      const float k = scale[c], b = bias[c];
      for (int y = 0; y < OH; ++y) {
        float* o = out + c * out_plane + static_cast<std::size_t>(y) * OW;
        if (y < f.valid.y0 || y >= f.valid.y1) {
          std::fill(o, o + OW, b);
          continue;
        }
        const std::uint8_t* row = sp + static_cast<std::size_t>(f.axis.sy * y + f.axis.ty) * W;
        const int x0 = std::clamp(f.valid.x0, 0, OW), x1 = std::clamp(f.valid.x1, x0, OW);
        std::fill(o, o + x0, b);
        if (f.axis.sx == 1) {
          const std::uint8_t* r = row + f.axis.tx;
          for (int x = x0; x < x1; ++x) o[x] = static_cast<float>(r[x]) * k + b;
        } else {
          const std::uint8_t* r = row + f.axis.tx;
          for (int x = x0; x < x1; ++x) o[x] = static_cast<float>(r[-x]) * k + b;
        }
        std::fill(o + x1, o + OW, b);
      }
    }
    return;
  }
  const Rect& vr = f.value_rect;
  const Rect& mr = f.mask_rect;
  for (int y = 0; y < OH; ++y) {
    const float rx = f.c[1] * static_cast<float>(y) + f.c[2];
    const float ry = f.c[4] * static_cast<float>(y) + f.c[5];
    for (int x = 0; x < OW; ++x) {
      const std::size_t o = static_cast<std::size_t>(y) * OW + x;
      if (!f.valid.contains(x, y)) {
        for (int c = 0; c < C; ++c) out[c * out_plane + o] = bias[c];
        continue;
      }
      const float px = f.c[0] * static_cast<float>(x) + rx;
      const float py = f.c[3] * static_cast<float>(x) + ry;
      const BilinearTaps t = bilinear_taps(px, py);
      if (t.x0 >= vr.x0 && t.x0 + 1 < vr.x1 && t.y0 >= vr.y0 && t.y0 + 1 < vr.y1) {
        // All four taps hold source pixels (value_rect lies inside the source), so the mask is 1:
        // the common case, no per-tap checks.
        const std::size_t base = static_cast<std::size_t>(t.y0) * W + t.x0;
        for (int c = 0; c < C; ++c) {
          const std::uint8_t* p = src + c * in_plane + base;
          const float v = t.w[0] * p[0] + t.w[1] * p[1] + t.w[2] * p[W] + t.w[3] * p[W + 1];
          out[c * out_plane + o] = v * scale[c] + bias[c];
        }
        continue;
      }
      float mask = 0.0f;
      bool in_value[4];
      for (int k = 0; k < 4; ++k) {
        const int xi = t.x0 + (k & 1), yi = t.y0 + (k >> 1);
        if (mr.contains(xi, yi)) mask += t.w[k];
        in_value[k] = vr.contains(xi, yi);
      }
      for (int c = 0; c < C; ++c) {
        float v = 0.0f;
        for (int k = 0; k < 4; ++k) {
          if (!in_value[k]) continue;
          const int xi = t.x0 + (k & 1), yi = t.y0 + (k >> 1);
          v += t.w[k] * src[c * in_plane + static_cast<std::size_t>(yi) * W + xi];
        }
        out[c * out_plane + o] = v * mask * scale[c] + bias[c];
      }
    }
  }
}

}  // namespace ctnn::data::detail
