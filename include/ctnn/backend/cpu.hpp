// The oneDNN CPU backend. `Cpu` is the backend tag a Model takes; its static functions are
// the one front function per op that every layer calls. Primitives are built once per layer
// and input layout (so once per batch size) and reused; activations stay in the layouts
// oneDNN's primitives choose (blocked, e.g. nChw16c), and each gradient keeps the layout of
// the tensor it is the gradient of, so reorders happen only where a primitive insists.
//
// This header names no oneDNN type: each layer's state is an opaque handle to primitives that
// cpu.ipp defines, so with CTNN_SEPARATE_COMPILATION a network's translation unit doesn't parse
// oneDNN's C++ header at all.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "ctnn/backend/cpu/tensor.hpp"   // Tensor, Buffer, Opaque, settings
#include "ctnn/backend/cpu/threads.hpp"  // use_passive_openmp_wait
#include "ctnn/core/config.hpp"          // CTNN_INLINE
#include "ctnn/core/error.hpp"           // Error
#include "ctnn/core/mode.hpp"            // Mode
#include "ctnn/core/op_specs.hpp"        // ConvSpec, PoolSpec, ...
#include "ctnn/core/rng.hpp"             // Rng

namespace ctnn {

namespace cpu {
// The oneDNN primitives behind each layer's state, defined in cpu.ipp.
#define CTNN_CPU_PRIMITIVES(T) \
  struct T;                     \
  CTNN_INLINE T* create(T*);    \
  CTNN_INLINE void destroy(T*);
CTNN_CPU_PRIMITIVES(ConvPrimitives)
CTNN_CPU_PRIMITIVES(BatchNormPrimitives)
CTNN_CPU_PRIMITIVES(ReluPrimitives)
CTNN_CPU_PRIMITIVES(PoolPrimitives)
CTNN_CPU_PRIMITIVES(FlattenPrimitives)
CTNN_CPU_PRIMITIVES(LinearPrimitives)
CTNN_CPU_PRIMITIVES(SoftmaxPrimitives)
CTNN_CPU_PRIMITIVES(AddPrimitives)
CTNN_CPU_PRIMITIVES(ConcatPrimitives)
#undef CTNN_CPU_PRIMITIVES

// Whether oneDNN can run bf16 convolutions natively here (AVX512_BF16, within any
// ONEDNN_MAX_CPU_ISA cap): what settings().bf16_convolutions needs.
CTNN_INLINE bool bf16_supported();
}  // namespace cpu

struct Cpu {
  using Tensor = cpu::Tensor;
  using Buffer = cpu::Buffer;
  static constexpr const char* name = "cpu";

  // --- moving data in and out ------------------------------------------------------------
  // Copies a tensor out in plain NCHW (or N x features) order.
  static std::vector<float> to_host(const Tensor& t);
  static void from_host(Tensor& t, std::span<const float> values, const std::vector<std::int64_t>& dims);
  static void synchronize();

  // --- convolution -------------------------------------------------------------------------
  using ConvState = cpu::Opaque<cpu::ConvPrimitives>;

  static void conv_forward(ConvState& state, const ConvSpec& s, const Tensor& x, const Buffer& w,
                           const Buffer& b, Tensor& y, Mode);

  // dw and db are overwritten. dx is skipped when null (the network's first layer).
  static void conv_backward(ConvState& state, const ConvSpec& s, const Tensor& x, const Tensor& dy,
                            const Buffer& w, Buffer& dw, Buffer& db, Tensor* dx);

  // --- batch normalisation -----------------------------------------------------------------
  using BatchNormState = cpu::Opaque<cpu::BatchNormPrimitives>;

  // Training uses and updates the running statistics as PyTorch does: the running variance
  // takes the unbiased batch variance.
  static void batch_norm_forward(BatchNormState& state, const BatchNormSpec& s, const Tensor& x,
                                 const Buffer& gamma, const Buffer& beta, Buffer& running_mean,
                                 Buffer& running_var, Tensor& y, Mode mode);

  // Backward of the last forward: with batch statistics in train mode, running ones in eval.
  static void batch_norm_backward(BatchNormState& state, const BatchNormSpec& s, const Tensor& x,
                                  const Tensor& dy, const Buffer& gamma, const Buffer& beta,
                                  const Buffer& running_mean, const Buffer& running_var, Buffer& dgamma,
                                  Buffer& dbeta, Tensor& dx);

  // --- ReLU --------------------------------------------------------------------------------
  using ReluState = cpu::Opaque<cpu::ReluPrimitives>;

  static void relu_forward(ReluState& state, const Tensor& x, Tensor& y);

  static void relu_backward(ReluState& state, const Tensor& x, const Tensor& dy, Tensor& dx);

  // --- pooling -----------------------------------------------------------------------------
  using PoolState = cpu::Opaque<cpu::PoolPrimitives>;

  static void pool_forward(PoolState& state, const PoolSpec& s, const Tensor& x, Tensor& y, Mode mode);

  static void pool_backward(PoolState& state, const PoolSpec& s, const Tensor& dy, Tensor& dx);

  // --- dropout (no oneDNN primitive: a loop over the physical buffer, any layout) ----------
  struct DropoutState {
    std::vector<float> mask;  // 0 or 1 / (1 - p) per element of the last training forward
    Tensor dy_scratch;
  };

  // Each group of four elements takes one 64-bit hash of (seed, group), 16 bits an element, so
  // the mask depends on the seed alone, not on the thread count, and threads share the work.
  static void dropout_forward(DropoutState& st, float p, const Tensor& x, Tensor& y, Rng& rng);

  static void dropout_backward(DropoutState& st, const Tensor& dy, Tensor& dx, const Tensor& x);

  // --- flatten: any 4-d layout to plain N x (C*H*W), and back ------------------------------
  using FlattenState = cpu::Opaque<cpu::FlattenPrimitives>;

  static void flatten_forward(FlattenState& state, const Tensor& x, Tensor& y);

  static void flatten_backward(FlattenState& state, const Tensor& dy, Tensor& dx);

  // --- linear (inner product) --------------------------------------------------------------
  using LinearState = cpu::Opaque<cpu::LinearPrimitives>;

  static void linear_forward(LinearState& state, const LinearSpec& s, const Tensor& x, const Buffer& w,
                             const Buffer& b, Tensor& y, Mode);

  static void linear_backward(LinearState& state, const LinearSpec& s, const Tensor& x, const Tensor& dy,
                              const Buffer& w, Buffer& dw, Buffer& db, Tensor* dx);

  // --- elementwise sum: the join of residual and parallel branches ------------------------
  using AddState = cpu::Opaque<cpu::AddPrimitives>;

  // y = a + b, then max(y, 0) when relu: one pass (oneDNN's binary add with a ReLU post-op).
  // b is brought into a's layout first when they differ; y takes a's layout and may be a.
  static void add_forward(AddState& state, const Tensor& a, const Tensor& b, Tensor& y, bool relu);

  // The backward of add_forward's ReLU from its output: dx = dy where y > 0, else 0.
  static void add_relu_backward(AddState& state, const Tensor& y, const Tensor& dy, Tensor& dx);

  // --- channel concatenation ---------------------------------------------------------------
  using ConcatState = cpu::Opaque<cpu::ConcatPrimitives>;

  // y = the parts side by side along the channels, in order.
  static void concat_forward(ConcatState& state, std::span<const Tensor* const> parts, Tensor& y);

  // Splits dy (the gradient of the last forward's output) into one gradient per part, each in
  // the layout that part had.
  static void concat_backward(ConcatState& state, const Tensor& dy, std::span<Tensor* const> part_grads);

  // --- softmax cross-entropy ---------------------------------------------------------------
  using SoftmaxCrossEntropyState = cpu::Opaque<cpu::SoftmaxPrimitives>;

  // Mean cross-entropy of the logits (N x classes, plain) against the labels; writes its
  // gradient with respect to the logits into dlogits.
  static LossResult softmax_cross_entropy(SoftmaxCrossEntropyState& state, const Tensor& logits,
                                          std::span<const std::int32_t> labels, Tensor& dlogits);

  // --- optimizer updates (plain loops the compiler vectorises) ------------------------------
  static void adam_update(Buffer& value, const Buffer& grad, Buffer& m, Buffer& v, const AdamStep& s);

  static void sgd_update(Buffer& value, const Buffer& grad, Buffer& momentum, const SgdStep& s);

};

}  // namespace ctnn

#ifndef CTNN_SEPARATE_COMPILATION
#include "ctnn/backend/cpu.ipp"
#endif
