// Flatten: Image<C, H, W> to Features<C * H * W>, in PyTorch's (channel, row, column) order.
#pragma once
#include <string>

#include "ctnn/layers/layer.hpp"  // the layer contract

namespace ctnn {

struct Flatten {
  static std::string name() { return "Flatten"; }
  template <class In> static constexpr bool accepts = ImageShape<In>;
  template <class In> using output = Features<static_cast<int>(In::size)>;
  template <class Where, class In>
  struct check_input {
    static_assert(ImageShape<In>, "Flatten: expects an image input (Image<C, H, W>); its input is already flat");
  };
  template <class In> static constexpr long parameter_count = 0;
  template <class In> static constexpr long flops = 0;

  template <class In, class B>
  class Runtime {
   public:
    using Tensor = typename B::Tensor;
    void initialize(Rng&) {}
    const Tensor& forward(const Tensor& x, Context<B>&) {
      B::flatten_forward(state_, x, output_);
      return output_;
    }
    const Tensor* backward(const Tensor& dy, Context<B>&, bool want_dx) {
      if (!want_dx) return nullptr;
      B::flatten_backward(state_, dy, input_grad_);
      return &input_grad_;
    }
    void collect(ParameterList<B>&, const std::string&) {}

   private:
    typename B::FlattenState state_;
    Tensor output_, input_grad_;
  };
};

}  // namespace ctnn
