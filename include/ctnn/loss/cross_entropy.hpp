// Softmax cross-entropy on logits (N x classes), averaged over the batch: PyTorch's
// nn.CrossEntropyLoss with its defaults.
#pragma once
#include <cstdint>
#include <span>

#include "ctnn/core/op_specs.hpp"  // LossResult

namespace ctnn::loss {

template <class Backend>
class CrossEntropy {
 public:
  using Tensor = typename Backend::Tensor;

  // Loss and correct count of the batch; keeps the gradient for gradient().
  LossResult forward(const Tensor& logits, std::span<const std::int32_t> labels) {
    return Backend::softmax_cross_entropy(state_, logits, labels, gradient_);
  }
  // d loss / d logits of the last forward.
  const Tensor& gradient() const { return gradient_; }

 private:
  typename Backend::SoftmaxCrossEntropyState state_;
  Tensor gradient_;
};

}  // namespace ctnn::loss
