// BN<C>: batch normalisation over the channels of an image (PyTorch's BatchNorm2d: eps 1e-5,
// momentum 0.1, learnable scale and shift, running statistics for eval mode, and the count of
// train-mode batches, num_batches_tracked).
#pragma once
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include <fmt/core.h>

#include "ctnn/core/op_specs.hpp"      // BatchNormSpec
#include "ctnn/layers/activation.hpp"  // ReLU, which BN absorbs when it follows
#include "ctnn/layers/layer.hpp"       // the layer contract

namespace ctnn {

template <int Channels>
struct BN {
  static_assert(Channels >= 1, "BN<C>: C must be at least 1");
  static constexpr float eps = 1e-5f;
  static constexpr float momentum = 0.1f;

  static std::string name() { return fmt::format("BN<{}>", Channels); }

  template <class In> static constexpr bool accepts = ImageShape<In> && detail::channels_of<In> == Channels;
  template <class In> using output = In;

  template <class Where, class In>
  struct check_input {
    static constexpr bool image = ImageShape<In>;
    static_assert(image, "BN: expects an image input (Image<C, H, W>) but does not receive one");
    static_assert(detail::channels_of<In> == (image ? Channels : detail::channels_of<In>),
                  "BN: the input's channel count differs from BN's template argument");
  };

  template <class In> static constexpr long parameter_count = 2L * Channels;
  // Normalise (subtract, multiply) and scale-shift (multiply, add): four FLOPs an element.
  template <class In> static constexpr long flops = 4 * In::size;

  // BN then ReLU runs as one pass (oneDNN's fused batch norm + ReLU): one read and one write
  // of the activation each way instead of two.
  template <class Next> static constexpr bool fuses_with = std::is_same_v<Next, ReLU>;

  template <class In, class B, bool FuseRelu = false>
  class Runtime {
   public:
    static constexpr BatchNormSpec spec{Channels, eps, momentum, FuseRelu};
    using Tensor = typename B::Tensor;

    void initialize(Rng&) {
      weight_.assign(std::vector<float>(Channels, 1.0f));
      bias_.assign(std::vector<float>(Channels, 0.0f));
      running_mean_.assign(std::vector<float>(Channels, 0.0f));
      running_var_.assign(std::vector<float>(Channels, 1.0f));
      batches_tracked_ = 0;
    }

    const Tensor& forward(const Tensor& x, Context<B>& context) {
      input_ = &x;
      BatchNormSpec s = spec;
      if (context.statistics_batch > 0) s.momentum = 1.0f / static_cast<float>(context.statistics_batch);
      B::batch_norm_forward(state_, s, x, weight_, bias_, running_mean_, running_var_, output_, context.mode);
      // As PyTorch counts: one per train-mode forward; a re-estimation pass restarts the count
      // at its first batch, as torch.optim.swa_utils.update_bn's reset does.
      if (context.mode == Mode::train)
        batches_tracked_ = context.statistics_batch > 0 ? context.statistics_batch : batches_tracked_ + 1;
      return output_;
    }

    const Tensor* backward(const Tensor& dy, Context<B>&, bool want_dx) {
      B::batch_norm_backward(state_, spec, *input_, dy, weight_, bias_, running_mean_, running_var_,
                             weight_grad_, bias_grad_, input_grad_);
      return want_dx ? &input_grad_ : nullptr;
    }

    void collect(ParameterList<B>& list, const std::string& prefix) {
      list.push_back({prefix + "weight", {Channels}, &weight_, &weight_grad_});
      list.push_back({prefix + "bias", {Channels}, &bias_, &bias_grad_});
      list.push_back({prefix + "running_mean", {Channels}, &running_mean_, nullptr});
      list.push_back({prefix + "running_var", {Channels}, &running_var_, nullptr});
      list.counters.push_back({prefix + "num_batches_tracked", &batches_tracked_});
    }

   private:
    typename B::Buffer weight_{Channels}, bias_{Channels}, weight_grad_{Channels}, bias_grad_{Channels};
    typename B::Buffer running_mean_{Channels}, running_var_{Channels};
    std::int64_t batches_tracked_ = 0;  // checkpoints store it; nothing here reads it
    typename B::BatchNormState state_;
    Tensor output_, input_grad_;
    const Tensor* input_ = nullptr;
  };

  template <class In, class B>
  using FusedRuntime = Runtime<In, B, true>;
};

}  // namespace ctnn
