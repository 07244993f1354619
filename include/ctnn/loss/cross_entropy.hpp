// Softmax cross-entropy on logits (N x classes), averaged over the batch: PyTorch's
// nn.CrossEntropyLoss with its defaults.
#pragma once
#include <concepts>  // std::same_as
#include <cstdint>
#include <deque>
#include <span>

#include "ctnn/core/error.hpp"     // Error
#include "ctnn/core/op_specs.hpp"  // LossResult

namespace ctnn::loss {

// A backend whose loss result can come back later than the gradient (CUDA: reading it waits
// for the device).
template <class Backend>
concept QueuesLossResults = requires(typename Backend::SoftmaxCrossEntropyState& state,
                                     const typename Backend::Tensor& logits, std::span<const std::int32_t> labels,
                                     typename Backend::Tensor& gradient) {
  Backend::softmax_cross_entropy_queue(state, logits, labels, gradient);
  { Backend::softmax_cross_entropy_take(state) } -> std::same_as<LossResult>;
};

template <class Backend>
class CrossEntropy {
 public:
  using Tensor = typename Backend::Tensor;

  // Loss and correct count of the batch; keeps the gradient for gradient(). On CUDA this waits
  // for the device to finish the batch's forward pass.
  LossResult forward(const Tensor& logits, std::span<const std::int32_t> labels) {
    return Backend::softmax_cross_entropy(state_, logits, labels, gradient_);
  }

  // The same in two halves, for a loop that doesn't want to wait: queue() starts a batch's loss
  // and gradient (gradient() is at once usable by backward), and take() returns the oldest
  // result not taken yet, waiting for it if need be. Results come out in the order queued.
  void queue(const Tensor& logits, std::span<const std::int32_t> labels) {
    if constexpr (QueuesLossResults<Backend>) Backend::softmax_cross_entropy_queue(state_, logits, labels, gradient_);
    else computed_.push_back(forward(logits, labels));
  }
  LossResult take() {
    if constexpr (QueuesLossResults<Backend>) {
      return Backend::softmax_cross_entropy_take(state_);
    } else {
      if (computed_.empty()) throw Error("CrossEntropy::take: no result is queued");
      const LossResult r = computed_.front();
      computed_.pop_front();
      return r;
    }
  }
  // How many batches late a training loop reads results: 1 where taking a result waits for the
  // device (batch k's is taken once batch k+1 is queued, so the device always has work), 0
  // where the result is ready as soon as it is queued.
  static constexpr int lag = QueuesLossResults<Backend> ? 1 : 0;

  // d loss / d logits of the last forward or queue.
  const Tensor& gradient() const { return gradient_; }

 private:
  typename Backend::SoftmaxCrossEntropyState state_;
  Tensor gradient_;
  std::deque<LossResult> computed_;  // queued results of a backend that computes them at once
};

}  // namespace ctnn::loss
