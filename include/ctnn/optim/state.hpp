// Named views of an optimizer's state (Adam's moments, SGD's momentum buffers), as checkpoints
// see them, and the concept the trainer and checkpoints rely on.
#pragma once
#include <concepts>  // std::convertible_to
#include <string>
#include <vector>

#include "ctnn/core/parameters.hpp"  // ParameterRef

namespace ctnn::optim {

// The weight decay one parameter gets: none for biases and norms when the options exempt them.
template <class Backend>
float weight_decay_for(const ParameterRef<Backend>& p, float weight_decay, bool decay_biases_and_norms) {
  return decay_biases_and_norms || !p.is_bias_or_norm() ? weight_decay : 0.0f;
}

// One state tensor of an optimizer, named after the parameter it belongs to:
// "3.weight.exp_avg", "3.weight.momentum_buffer". The shape is the parameter's.
template <class Backend>
struct StateRef {
  std::string name;
  std::vector<long> shape;
  typename Backend::Buffer* value = nullptr;
};

template <class Backend>
using StateList = std::vector<StateRef<Backend>>;

// What a trainer needs from an optimizer: a step, a learning rate it can set (schedules), and
// state it can save and restore (checkpoints: the tensors plus the step count).
template <class O>
concept Optimizer = requires(O& o, const O& c, float x, long n) {
  o.step();
  { c.lr() } -> std::convertible_to<float>;
  o.set_lr(x);
  { c.steps() } -> std::convertible_to<long>;
  o.set_steps(n);
  o.state();
  { c.name() } -> std::convertible_to<std::string>;
};

// Optimizers with a momentum-like coefficient (SGD's momentum, Adam's beta1) that schedules
// such as OneCycle cycle.
template <class O>
concept HasMomentum = requires(O& o, const O& c, float x) {
  { c.momentum() } -> std::convertible_to<float>;
  o.set_momentum(x);
};

}  // namespace ctnn::optim
