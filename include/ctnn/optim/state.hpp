// Named views of an optimizer's state (Adam's moments, SGD's momentum buffers), as checkpoints
// see them, and the concept the trainer and checkpoints rely on.
#pragma once
#include <concepts>  // std::convertible_to
#include <string>
#include <utility>  // std::pair
#include <vector>

#include <fmt/core.h>

#include "ctnn/core/error.hpp"       // Error
#include "ctnn/core/parameters.hpp"  // ParameterRef

namespace ctnn::optim {

// The weight decay one parameter gets: none for biases and norms when the options exempt them.
template <class Backend>
float weight_decay_for(const ParameterRef<Backend>& p, float weight_decay, bool decay_biases_and_norms) {
  return decay_biases_and_norms || !p.is_bias_or_norm() ? weight_decay : 0.0f;
}

// Learning-rate multipliers by parameter-name prefix, for discriminative fine-tuning (a smaller
// rate for a pretrained backbone than for a new head), as PyTorch's parameter groups give:
//   optim::Sgd sgd(model.parameters(), {.lr = 0.01f, .lr_scales = {{"layer3.", 0.1f}, {"layer4.", 0.3f}}});
// A parameter takes the scale of the longest prefix its name starts with, 1 where none does.
using LrScales = std::vector<std::pair<std::string, float>>;

// Each trainable parameter's scale, in order. A negative scale, or a prefix no trainable
// parameter's name starts with (a typo would otherwise go unnoticed), is an error.
template <class Backend>
std::vector<float> lr_scales_for(const ParameterList<Backend>& params, const LrScales& scales, const char* optimizer) {
  for (const auto& [prefix, scale] : scales) {
    if (!(scale >= 0))
      throw Error(fmt::format("{}: lr_scales: the scale for \"{}\" is {}; it must be 0 or more", optimizer, prefix, scale));
    bool used = false;
    for (const auto& p : params) used = used || p.name.starts_with(prefix);
    if (!used)
      throw Error(fmt::format("{}: lr_scales: no trainable parameter's name starts with \"{}\" (names look like "
                              "\"{}\")", optimizer, prefix, params.empty() ? std::string("?") : params.front().name));
  }
  std::vector<float> out;
  for (const auto& p : params) {
    float scale = 1.0f;
    std::size_t longest = 0;
    for (const auto& [prefix, s] : scales)
      if (p.name.starts_with(prefix) && prefix.size() >= longest) scale = s, longest = prefix.size();
    out.push_back(scale);
  }
  return out;
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
