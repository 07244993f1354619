// The few kernels no cuDNN or cuBLAS op covers: dropout, bias broadcast, the cross-entropy
// gradient, batch norm's eval-mode backward, and the optimizer updates.
//
// Every kernel is `static`: a __global__ function defined in a header with external linkage
// would be defined again by every .cu file that includes it, and two such files in one
// program fail to link ("multiple definition of ctnn::cuda::kernels::dropout"). test_cuda is
// two .cu files for that reason.
#pragma once
#include <cstdint>

#include "ctnn/core/op_specs.hpp"  // AdamStep, SgdStep
#include "ctnn/core/rng.hpp"       // counter_hash

namespace ctnn::cuda::kernels {

inline constexpr int threads = 256;
inline int blocks_for(std::size_t count) { return static_cast<int>((count + threads - 1) / threads); }

// Each element's dropout draw depends only on the seed and its index (core/rng.hpp's
// counter_hash), so backward recomputes the mask instead of storing it.
__device__ inline std::uint32_t hash24(std::uint64_t seed, std::uint64_t index) {
  return static_cast<std::uint32_t>(counter_hash(seed, index) >> 40);
}

// The seed is `seed`, or *device_seed where that is given (in a CUDA graph, whose replays
// upload a new seed there).
static __global__ void dropout(const float* in, float* out, std::size_t count, const std::uint64_t* device_seed,
                               std::uint64_t seed, std::uint32_t threshold, float keep_scale) {
  const std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x;
  if (device_seed) seed = *device_seed;
  if (i < count) out[i] = hash24(seed, i) >= threshold ? in[i] * keep_scale : 0.0f;
}

// ReLU through its output: dx = dy where y > 0 (y > 0 exactly where the input was).
static __global__ void relu_backward_from_output(const float* y, const float* dy, float* dx, std::size_t count) {
  const std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x;
  if (i < count) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

// y = a + b, then max(y, 0) when Relu. (A template: defined once however many .cu files include it.)
template <bool Relu>
__global__ void add_tensors(const float* a, const float* b, float* y, std::size_t count) {
  const std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x;
  if (i >= count) return;
  const float sum = a[i] + b[i];
  y[i] = Relu ? (sum > 0.0f || sum != sum ? sum : 0.0f) : sum;  // NaN passes through, as on the CPU
}

static __global__ void fill(float* out, float value, std::size_t count) {
  const std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x;
  if (i < count) out[i] = value;
}

// out[n, c] += bias[c] for an N x C matrix.
static __global__ void add_bias(float* out, const float* bias, int rows, int columns) {
  const std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x;
  if (i < static_cast<std::size_t>(rows) * columns) out[i] += bias[i % columns];
}

// One thread per sample: the loss term, the gradient row (softmax - one-hot) / N, and whether
// the arg-max is the label. A label out of range sets *first_bad to rows - (its sample), so
// that after all threads it holds rows - (the first such sample), or 0 if there is none.
static __global__ void cross_entropy(const float* log_probabilities, const std::int32_t* labels, float* grad,
                                     float* losses, int* correct, int* first_bad, int rows, int classes) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= rows) return;
  const float* row = log_probabilities + static_cast<std::size_t>(i) * classes;
  const int label = labels[i];
  if (label < 0 || label >= classes) {
    atomicMax(first_bad, rows - i);
    losses[i] = 0;
    for (int k = 0; k < classes; ++k) grad[i * classes + k] = 0;
    return;
  }
  int best = 0;
  for (int k = 0; k < classes; ++k) {
    grad[i * classes + k] = (expf(row[k]) - (k == label ? 1.0f : 0.0f)) / rows;
    if (row[k] > row[best]) best = k;
  }
  losses[i] = -row[label];
  if (best == label) atomicAdd(correct, 1);
}

// Batch norm backward with fixed (running) statistics, one block per channel:
// dx = dy * gamma / sqrt(var + eps); dgamma = sum(dy * x_hat); dbeta = sum(dy).
static __global__ void batch_norm_backward_fixed(const float* x, const float* dy, const float* gamma, const float* mean,
                                          const float* var, float eps, float* dx, float* dgamma, float* dbeta, int n,
                                          int channels, int plane) {
  const int c = blockIdx.x;
  const float inv_std = rsqrtf(var[c] + eps);
  float sum_dy = 0, sum_dy_xhat = 0;
  for (int i = threadIdx.x; i < n * plane; i += blockDim.x) {
    const std::size_t at = (static_cast<std::size_t>(i / plane) * channels + c) * plane + i % plane;
    const float xhat = (x[at] - mean[c]) * inv_std;
    sum_dy += dy[at];
    sum_dy_xhat += dy[at] * xhat;
    dx[at] = dy[at] * gamma[c] * inv_std;
  }
  __shared__ float partial[2][threads];
  partial[0][threadIdx.x] = sum_dy;
  partial[1][threadIdx.x] = sum_dy_xhat;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) {
      partial[0][threadIdx.x] += partial[0][threadIdx.x + stride];
      partial[1][threadIdx.x] += partial[1][threadIdx.x + stride];
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    dbeta[c] = partial[0][0];
    dgamma[c] = partial[1][0];
  }
}

static __global__ void adam(float* p, const float* g, float* m, float* v, std::size_t count, AdamStep s) {
  const std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x;
  if (i >= count) return;
  const float decay = s.decoupled_weight_decay ? 1.0f - s.lr * s.weight_decay : 1.0f;
  const float gi = g[i] + (s.decoupled_weight_decay ? 0.0f : s.weight_decay * p[i]);
  m[i] = s.beta1 * m[i] + (1 - s.beta1) * gi;
  v[i] = s.beta2 * v[i] + (1 - s.beta2) * gi * gi;
  p[i] = p[i] * decay - (s.lr / s.bias_correction1) * m[i] / (sqrtf(v[i]) / sqrtf(s.bias_correction2) + s.eps);
}

static __global__ void sgd(float* p, const float* g, float* buf, std::size_t count, SgdStep s) {
  const std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x;
  if (i >= count) return;
  float gi = g[i] + s.weight_decay * p[i];
  if (s.momentum != 0) {
    buf[i] = s.first_step ? gi : s.momentum * buf[i] + (1 - s.dampening) * gi;
    gi = s.nesterov ? gi + s.momentum * buf[i] : buf[i];
  }
  p[i] -= s.lr * gi;
}

}  // namespace ctnn::cuda::kernels
