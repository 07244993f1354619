// Linear<In, Out>: y = x W^T + b on flat features (PyTorch's nn.Linear). Images must be
// flattened first, so that the feature order is always explicit.
#pragma once
#include <string>

#include <fmt/core.h>

#include "ctnn/core/init.hpp"      // uniform_fill, kaiming_uniform_bound
#include "ctnn/core/op_specs.hpp"  // LinearSpec
#include "ctnn/layers/layer.hpp"   // the layer contract

namespace ctnn {

template <int InFeatures, int OutFeatures>
struct Linear {
  static_assert(InFeatures >= 1 && OutFeatures >= 1, "Linear<In, Out>: both must be at least 1");

  static std::string name() { return fmt::format("Linear<{},{}>", InFeatures, OutFeatures); }

  template <class In> static constexpr bool accepts = FlatShape<In> && detail::features_of<In> == InFeatures;
  template <class In> using output = Features<OutFeatures>;

  // "Linear<1024, 512>::check_input<at<"4">, Features<2048>>: ... (2048 == 1024)"
  template <class Where, class In>
  struct check_input {
    static constexpr bool flat = FlatShape<In>;
    static_assert(flat, "Linear: expects flat Features but receives an Image; put Flatten before it");
    static_assert(detail::features_of<In> == (flat ? InFeatures : detail::features_of<In>),
                  "Linear: the incoming feature count differs from Linear's first template argument (In)");
  };

  template <class In> static constexpr long parameter_count = long{InFeatures} * OutFeatures + OutFeatures;
  template <class In> static constexpr long flops = 2L * InFeatures * OutFeatures + OutFeatures;

  template <class In, class B>
  class Runtime {
   public:
    static constexpr LinearSpec spec{InFeatures, OutFeatures};
    using Tensor = typename B::Tensor;

    void initialize(Rng& rng) {
      const float bound = kaiming_uniform_bound(InFeatures);
      weight_.assign(uniform_fill(weight_.size(), bound, rng));
      bias_.assign(uniform_fill(bias_.size(), bound, rng));
    }

    const Tensor& forward(const Tensor& x, Context<B>& context) {
      input_ = &x;
      B::linear_forward(state_, spec, x, weight_, bias_, output_, context.mode);
      return output_;
    }

    const Tensor* backward(const Tensor& dy, Context<B>&, bool want_dx) {
      B::linear_backward(state_, spec, *input_, dy, weight_, weight_grad_, bias_grad_,
                         want_dx ? &input_grad_ : nullptr);
      return want_dx ? &input_grad_ : nullptr;
    }

    void collect(ParameterList<B>& list, const std::string& prefix) {
      list.push_back({prefix + "weight", {OutFeatures, InFeatures}, &weight_, &weight_grad_});
      list.push_back({prefix + "bias", {OutFeatures}, &bias_, &bias_grad_});
    }

   private:
    static constexpr std::size_t weight_count = static_cast<std::size_t>(InFeatures) * OutFeatures;
    typename B::Buffer weight_{weight_count}, weight_grad_{weight_count};
    typename B::Buffer bias_{OutFeatures}, bias_grad_{OutFeatures};
    typename B::LinearState state_;
    Tensor output_, input_grad_;
    const Tensor* input_ = nullptr;
  };
};

}  // namespace ctnn
