// ReLU: max(x, 0) elementwise, on any shape.
#pragma once
#include <string>

#include "ctnn/layers/layer.hpp"  // the layer contract, ShapePreserving

namespace ctnn {

struct ReLU : ShapePreserving {
  static std::string name() { return "ReLU"; }
  template <class In> static constexpr long flops = In::size;

  template <class In, class B>
  class Runtime {
   public:
    using Tensor = typename B::Tensor;
    void initialize(Rng&) {}
    const Tensor& forward(const Tensor& x, Context<B>&) {
      input_ = &x;
      B::relu_forward(state_, x, output_);
      return output_;
    }
    const Tensor* backward(const Tensor& dy, Context<B>&, bool want_dx) {
      if (!want_dx) return nullptr;  // no parameters: nothing else to compute
      B::relu_backward(state_, *input_, dy, input_grad_);
      return &input_grad_;
    }
    void collect(ParameterList<B>&, const std::string&) {}

   private:
    typename B::ReluState state_;
    Tensor output_, input_grad_;
    const Tensor* input_ = nullptr;
  };
};

}  // namespace ctnn
