// The CPU backend's operations for SyncBN (distributed/sync_batch_norm.hpp), on oneDNN's batch
// normalisation: this process's statistics, normalisation by given (the job's) statistics,
// the backward of that, and the per-channel correction that puts the job's sums into dx.
#pragma once
#include "ctnn/backend/cpu.hpp"                 // Cpu, Tensor, Buffer, Opaque
#include "ctnn/core/config.hpp"                 // CTNN_INLINE
#include "ctnn/core/op_specs.hpp"               // BatchNormSpec
#include "ctnn/distributed/sync_batch_norm.hpp"  // SyncBatchNorm

namespace ctnn {

namespace cpu {
struct SyncBatchNormPrimitives;  // sync_batch_norm.ipp
CTNN_INLINE SyncBatchNormPrimitives* create(SyncBatchNormPrimitives*);
CTNN_INLINE void destroy(SyncBatchNormPrimitives*);
}  // namespace cpu

template <>
struct SyncBatchNorm<Cpu> {
  static constexpr bool available = true;
  using State = cpu::Opaque<cpu::SyncBatchNormPrimitives>;
  using Tensor = Cpu::Tensor;
  using Buffer = Cpu::Buffer;

  // This process's batch mean and biased variance of every channel of x.
  static CTNN_INLINE void local_statistics(State& state, const BatchNormSpec& s, const Tensor& x, Buffer& mean,
                                           Buffer& variance);

  // y = gamma (x - mean) / sqrt(variance + eps) + beta with the given statistics, then ReLU when
  // s.fuse_relu; keeps what backward needs.
  static CTNN_INLINE void normalize(State& state, const BatchNormSpec& s, const Tensor& x, const Buffer& gamma,
                                    const Buffer& beta, const Buffer& mean, const Buffer& variance, Tensor& y);

  // The backward of the last normalize as if its statistics were x's own: dgamma = sum(dy x_hat)
  // and dbeta = sum(dy) over x, dx = gamma / sigma (dy - dbeta / n - x_hat dgamma / n), with n
  // x's samples x pixels (and dy masked by the fused ReLU first).
  static CTNN_INLINE void backward(State& state, const BatchNormSpec& s, const Tensor& x, const Tensor& dy,
                                   const Buffer& gamma, const Buffer& beta, const Buffer& mean,
                                   const Buffer& variance, Buffer& dgamma, Buffer& dbeta, Tensor& dx);

  // dx += scale_c x + shift_c, per channel c; dx has x's layout (backward made it so).
  static CTNN_INLINE void add_channel_affine(State& state, const Tensor& x, const Buffer& scale, const Buffer& shift,
                                             Tensor& dx);
};

}  // namespace ctnn

#ifndef CTNN_SEPARATE_COMPILATION
#include "ctnn/backend/cpu/sync_batch_norm.ipp"
#endif
