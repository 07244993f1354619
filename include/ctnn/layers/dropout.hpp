// Dropout<P>: in train mode, zeroes each element with probability P and scales the rest by
// 1 / (1 - P) (inverted dropout, as PyTorch); the identity in eval mode, and while BN
// statistics are re-estimated (Context::statistics_batch).
#pragma once
#include <string>

#include <fmt/core.h>

#include "ctnn/layers/layer.hpp"  // the layer contract, ShapePreserving

namespace ctnn {

template <float P>
struct Dropout : ShapePreserving {
  static_assert(P >= 0.0f && P < 1.0f, "Dropout<P>: P must be in [0, 1)");
  static std::string name() { return fmt::format("Dropout<{}>", P); }
  template <class In> static constexpr long flops = In::size;

  template <class In, class B>
  class Runtime {
   public:
    using Tensor = typename B::Tensor;
    void initialize(Rng&) {}
    const Tensor& forward(const Tensor& x, Context<B>& context) {
      input_ = &x;
      training_ = context.mode == Mode::train && context.statistics_batch == 0;
      if (!training_) return x;  // identity: hand the input on without a copy
      B::dropout_forward(state_, P, x, output_, context.rng);
      return output_;
    }
    const Tensor* backward(const Tensor& dy, Context<B>&, bool want_dx) {
      if (!want_dx) return nullptr;
      if (!training_) return &dy;
      B::dropout_backward(state_, dy, input_grad_, *input_);
      return &input_grad_;
    }
    void collect(ParameterList<B>&, const std::string&) {}

   private:
    typename B::DropoutState state_;
    Tensor output_, input_grad_;
    const Tensor* input_ = nullptr;
    bool training_ = true;
  };
};

}  // namespace ctnn
