// Conv<In, Out, Kernel, Stride, Pad, Groups, Bias>: 2-d convolution (PyTorch's Conv2d with
// square kernels). Groups > 1 gives grouped convolution; Groups == In == Out is depthwise.
// ConvNoBias<...> has no bias (Bias = false), as convolutions followed by BN usually do
// (torchvision's ResNets): BN's shift would cancel the bias anyway.
#pragma once
#include <string>

#include <fmt/core.h>

#include "ctnn/core/init.hpp"      // uniform_fill, kaiming_uniform_bound
#include "ctnn/core/op_specs.hpp"  // ConvSpec
#include "ctnn/layers/layer.hpp"   // the layer contract

namespace ctnn {

template <int InChannels, int OutChannels, int Kernel = 3, int Stride = 1, int Pad = Kernel / 2,
          int Groups = 1, bool Bias = true>
struct Conv {
  static_assert(InChannels >= 1 && OutChannels >= 1, "Conv<In, Out, ...>: channel counts must be at least 1");
  static_assert(Kernel >= 1, "Conv<In, Out, Kernel, ...>: the kernel size must be at least 1");
  static_assert(Stride >= 1, "Conv<In, Out, Kernel, Stride, ...>: the stride must be at least 1");
  static_assert(Pad >= 0 && Pad < Kernel, "Conv<In, Out, Kernel, Stride, Pad>: the padding must be in [0, Kernel)");
  static_assert(Groups >= 1 && InChannels % Groups == 0 && OutChannels % Groups == 0,
                "Conv<..., Groups>: Groups must divide both In and Out");

  static std::string name() {
    const char* kind = Bias ? "Conv" : "ConvNoBias";
    if constexpr (Groups == 1) return fmt::format("{}<{},{},{},{},{}>", kind, InChannels, OutChannels, Kernel, Stride, Pad);
    else return fmt::format("{}<{},{},{},{},{},{}>", kind, InChannels, OutChannels, Kernel, Stride, Pad, Groups);
  }

  template <class In> static constexpr long out_height = detail::window_output(detail::height_of<In>, Kernel, Stride, Pad);
  template <class In> static constexpr long out_width = detail::window_output(detail::width_of<In>, Kernel, Stride, Pad);

  template <class In>
  static constexpr bool accepts =
      ImageShape<In> && detail::channels_of<In> == InChannels && out_height<In> >= 1 && out_width<In> >= 1;

  template <class In>
  using output = Image<OutChannels, static_cast<int>(out_height<In>), static_cast<int>(out_width<In>)>;

  // "Conv<3, 32>::check_input<at<"1">, Image<16, 32, 32>>: ... (16 == 3)"
  template <class Where, class In>
  struct check_input {
    // Each check compares two numbers only when the ones before it hold, so the compiler's
    // note shows them ("the comparison reduces to '(16 == 3)'") and one mistake is one error.
    static constexpr bool image = ImageShape<In>;
    static_assert(image, "Conv: expects an image input (Image<C, H, W>) but does not receive one");
    static constexpr long channels = detail::channels_of<In>;
    static_assert(channels == (image ? InChannels : channels),
                  "Conv: the input's channel count differs from Conv's first template argument (In)");
    static_assert(out_height<In> >= (image ? 1 : out_height<In>),
                  "Conv: the kernel is larger than the padded input height, so the output height would be below 1");
    static_assert(out_width<In> >= (image && out_height<In> >= 1 ? 1 : out_width<In>),
                  "Conv: the kernel is larger than the padded input width, so the output width would be below 1");
  };

  static constexpr long fan_in = long{InChannels / Groups} * Kernel * Kernel;
  static constexpr long bias_count = Bias ? OutChannels : 0;
  template <class In> static constexpr long parameter_count = OutChannels * fan_in + bias_count;
  // Multiply-adds count as two FLOPs; the bias add as one.
  template <class In>
  static constexpr long flops = (2 * fan_in + (Bias ? 1 : 0)) * OutChannels * out_height<In> * out_width<In>;

  template <class In, class B>
  class Runtime {
   public:
    static constexpr ConvSpec spec{InChannels, OutChannels, Kernel, Stride, Pad, Groups,
                                   In::height, In::width, static_cast<int>(out_height<In>),
                                   static_cast<int>(out_width<In>), Bias};
    using Tensor = typename B::Tensor;

    void initialize(Rng& rng) {
      const float bound = kaiming_uniform_bound(fan_in);
      weight_.assign(uniform_fill(weight_.size(), bound, rng));
      if constexpr (Bias) bias_.assign(uniform_fill(bias_.size(), bound, rng));
    }

    const Tensor& forward(const Tensor& x, Context<B>& context) {
      input_ = &x;
      B::conv_forward(state_, spec, x, weight_, bias_, output_, context.mode);
      return output_;
    }

    const Tensor* backward(const Tensor& dy, Context<B>&, bool want_dx) {
      B::conv_backward(state_, spec, *input_, dy, weight_, weight_grad_, bias_grad_,
                       want_dx ? &input_grad_ : nullptr);
      return want_dx ? &input_grad_ : nullptr;
    }

    void collect(ParameterList<B>& list, const std::string& prefix) {
      list.push_back({prefix + "weight", {OutChannels, InChannels / Groups, Kernel, Kernel}, &weight_, &weight_grad_});
      if constexpr (Bias) list.push_back({prefix + "bias", {OutChannels}, &bias_, &bias_grad_});
    }

   private:
    static constexpr std::size_t weight_count = static_cast<std::size_t>(OutChannels * fan_in);
    typename B::Buffer weight_{weight_count}, weight_grad_{weight_count};
    typename B::Buffer bias_{bias_count}, bias_grad_{bias_count};  // empty without a bias
    typename B::ConvState state_;
    Tensor output_, input_grad_;
    const Tensor* input_ = nullptr;
  };
};

template <int InChannels, int OutChannels, int Kernel = 3, int Stride = 1, int Pad = Kernel / 2, int Groups = 1>
using ConvNoBias = Conv<InChannels, OutChannels, Kernel, Stride, Pad, Groups, false>;

}  // namespace ctnn
