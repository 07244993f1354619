// The oneDNN CPU backend. `Cpu` is the backend tag a Model takes; its static functions are
// the one front function per op that every layer calls. Primitives are built once per layer
// and input layout (so once per batch size) and reused; activations stay in the layouts
// oneDNN's primitives choose (blocked, e.g. nChw16c), and each gradient keeps the layout of
// the tensor it is the gradient of, so reorders happen only where a primitive insists.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <fmt/core.h>
#include <oneapi/dnnl/dnnl.hpp>

#include "ctnn/core/config.hpp"           // CTNN_INLINE
#include "ctnn/backend/cpu/runtime.hpp"  // Runtime, Tensor, Buffer, in_layout
#include "ctnn/backend/cpu/threads.hpp"  // use_passive_openmp_wait
#include "ctnn/core/error.hpp"           // Error
#include "ctnn/core/mode.hpp"            // Mode
#include "ctnn/core/op_specs.hpp"        // ConvSpec, PoolSpec, ...
#include "ctnn/core/rng.hpp"             // Rng

namespace ctnn {

struct Cpu {
  using Tensor = cpu::Tensor;
  using Buffer = cpu::Buffer;
  static constexpr const char* name = "cpu";

  // --- moving data in and out ------------------------------------------------------------
  // Copies a tensor out in plain NCHW (or N x features) order.
  static std::vector<float> to_host(const Tensor& t);
  static void from_host(Tensor& t, std::span<const float> values, const std::vector<std::int64_t>& dims);
  static void synchronize() { cpu::runtime().stream.wait(); }

  // --- convolution -------------------------------------------------------------------------
  struct ConvState {
    dnnl::memory::desc built_for;  // the input layout the primitives below were built for
    dnnl::convolution_forward::primitive_desc forward_pd;
    dnnl::convolution_forward forward;
    dnnl::convolution_backward_data::primitive_desc backward_data_pd;
    dnnl::convolution_backward_data backward_data;
    dnnl::convolution_backward_weights::primitive_desc backward_weights_pd;
    dnnl::convolution_backward_weights backward_weights;
    Tensor weights_forward, weights_backward, weights_grad, dy_scratch;
  };

  static cpu::Dims conv_weight_dims(const ConvSpec& s);

  // Winograd F(4x4, 3x3) beats direct convolution on this network's 3x3 layers in forward and
  // backward-data (by 20-40 %, measured with oneDNN 2.6 on AVX-512, batch 128), and in
  // backward-weights once the image is small (8x8: 35 % faster; 32x32: 30 % slower). oneDNN
  // has no Winograd for every shape (e.g. 3 input channels); those layers stay direct. The
  // choice depends only on the shape, so a run repeats exactly.
  static dnnl::algorithm conv_algorithm(const ConvSpec& s, bool backward_weights);

  // A primitive descriptor for the preferred algorithm, or for direct convolution when oneDNN
  // has no implementation of the preferred one for this shape.
  template <class PrimitiveDesc, class Make>
  static PrimitiveDesc with_fallback(dnnl::algorithm preferred, Make&& make) {
    if (preferred != dnnl::algorithm::convolution_direct) {
      try {
        return make(preferred);
      } catch (const dnnl::error&) {
      }
    }
    return make(dnnl::algorithm::convolution_direct);
  }

  static void conv_build(ConvState& st, const ConvSpec& s, const dnnl::memory::desc& src);

  static void conv_forward(ConvState& st, const ConvSpec& s, const Tensor& x, const Buffer& w,
                           const Buffer& b, Tensor& y, Mode);

  // dw and db are overwritten. dx is skipped when null (the network's first layer).
  static void conv_backward(ConvState& st, const ConvSpec& s, const Tensor& x, const Tensor& dy,
                            const Buffer& w, Buffer& dw, Buffer& db, Tensor* dx);

  // --- batch normalisation -----------------------------------------------------------------
  struct BatchNormState {
    dnnl::memory::desc built_for;
    Mode built_mode = Mode::train;
    dnnl::batch_normalization_forward::primitive_desc forward_pd;
    dnnl::batch_normalization_forward forward;
    dnnl::batch_normalization_backward::primitive_desc backward_pd;
    dnnl::batch_normalization_backward backward;
    Buffer batch_mean, batch_variance;  // saved by the training forward for backward
    Tensor workspace;                   // the fused ReLU's mask
    Tensor dy_scratch;
  };

  static void batch_norm_build(BatchNormState& st, const BatchNormSpec& s, const dnnl::memory::desc& src,
                               Mode mode);

  // Training uses and updates the running statistics as PyTorch does: the running variance
  // takes the unbiased batch variance.
  static void batch_norm_forward(BatchNormState& st, const BatchNormSpec& s, const Tensor& x,
                                 const Buffer& gamma, const Buffer& beta, Buffer& running_mean,
                                 Buffer& running_var, Tensor& y, Mode mode);

  // Backward of the last forward: with batch statistics in train mode, running ones in eval.
  static void batch_norm_backward(BatchNormState& st, const BatchNormSpec& s, const Tensor& x,
                                  const Tensor& dy, const Buffer& gamma, const Buffer& beta,
                                  const Buffer& running_mean, const Buffer& running_var, Buffer& dgamma,
                                  Buffer& dbeta, Tensor& dx);

  // --- ReLU --------------------------------------------------------------------------------
  struct ReluState {
    dnnl::memory::desc built_for;
    dnnl::eltwise_forward::primitive_desc forward_pd;
    dnnl::eltwise_forward forward;
    dnnl::eltwise_backward backward;
    Tensor dy_scratch;
  };

  static void relu_forward(ReluState& st, const Tensor& x, Tensor& y);

  static void relu_backward(ReluState& st, const Tensor& x, const Tensor& dy, Tensor& dx);

  // --- pooling -----------------------------------------------------------------------------
  struct PoolState {
    dnnl::memory::desc built_for;
    Mode built_mode = Mode::train;
    dnnl::pooling_forward::primitive_desc forward_pd;
    dnnl::pooling_forward forward;
    dnnl::pooling_backward::primitive_desc backward_pd;
    dnnl::pooling_backward backward;
    Tensor workspace, dy_scratch;  // max pooling's argmax, kept from forward for backward
  };

  static void pool_forward(PoolState& st, const PoolSpec& s, const Tensor& x, Tensor& y, Mode mode);

  static void pool_backward(PoolState& st, const PoolSpec& s, const Tensor& dy, Tensor& dx);

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
  struct FlattenState {
    dnnl::memory::desc input_desc;
  };

  static void flatten_forward(FlattenState& st, const Tensor& x, Tensor& y);

  static void flatten_backward(FlattenState& st, const Tensor& dy, Tensor& dx);

  // --- linear (inner product) --------------------------------------------------------------
  struct LinearState {
    dnnl::memory::desc built_for;
    dnnl::inner_product_forward::primitive_desc forward_pd;
    dnnl::inner_product_forward forward;
    dnnl::inner_product_backward_data backward_data;
    dnnl::inner_product_backward_weights backward_weights;
    Tensor dy_scratch;
  };

  static void linear_forward(LinearState& st, const LinearSpec& s, const Tensor& x, const Buffer& w,
                             const Buffer& b, Tensor& y, Mode);

  static void linear_backward(LinearState& st, const LinearSpec& s, const Tensor& x, const Tensor& dy,
                              const Buffer& w, Buffer& dw, Buffer& db, Tensor* dx);

  // --- softmax cross-entropy ---------------------------------------------------------------
  struct SoftmaxCrossEntropyState {
    dnnl::memory::desc built_for;
    dnnl::logsoftmax_forward forward;
    Tensor log_probabilities;
  };

  // Mean cross-entropy of the logits (N x classes, plain) against the labels; writes its
  // gradient with respect to the logits into dlogits.
  static LossResult softmax_cross_entropy(SoftmaxCrossEntropyState& st, const Tensor& logits,
                                          std::span<const std::int32_t> labels, Tensor& dlogits);

  // --- optimizer updates (plain loops the compiler vectorises) ------------------------------
  static void adam_update(Buffer& value, const Buffer& grad, Buffer& m, Buffer& v, const AdamStep& s);

  static void sgd_update(Buffer& value, const Buffer& grad, Buffer& momentum, const SgdStep& s);

 private:
  static cpu::Format plain_weights(const ConvSpec& s);
};

}  // namespace ctnn

#ifndef CTNN_SEPARATE_COMPILATION
#include "ctnn/backend/cpu.ipp"
#endif
