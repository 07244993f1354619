// Adam and AdamW with PyTorch's update rules, over a model's parameter list:
//   optim::Adam adam(model.parameters(), {.lr = 1e-3});  ...  adam.step();
#pragma once
#include <cmath>  // std::pow
#include <string>
#include <vector>

#include "ctnn/core/op_specs.hpp"    // AdamStep
#include "ctnn/core/error.hpp"       // Error
#include "ctnn/core/parameters.hpp"  // ParameterList
#include "ctnn/optim/state.hpp"      // StateList

namespace ctnn::optim {

struct AdamOptions {
  float lr = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.0f;
  bool decoupled_weight_decay = false;  // true: AdamW
  // false: no weight decay on biases and BN's scale and shift (ParameterRef::is_bias_or_norm).
  bool decay_biases_and_norms = true;
  LrScales lr_scales = {};  // learning-rate multipliers by name prefix (state.hpp)
};

template <class Backend>
class Adam {
 public:
  Adam(ParameterList<Backend> parameters, AdamOptions options = {}) : options_(options) {
    for (auto& p : parameters) {
      if (!p.trainable()) continue;
      params_.push_back(p);
      first_moment_.emplace_back(p.value->size());
      second_moment_.emplace_back(p.value->size());
    }
    lr_scales_ = lr_scales_for(params_, options_.lr_scales, "optim::Adam");
  }

  void step() {
    ++steps_;
    AdamStep s{options_.lr, options_.beta1, options_.beta2, options_.eps, 0.0f, options_.decoupled_weight_decay,
               1.0f - static_cast<float>(std::pow(double{options_.beta1}, steps_)),
               1.0f - static_cast<float>(std::pow(double{options_.beta2}, steps_))};
    for (std::size_t i = 0; i < params_.size(); ++i) {
      s.lr = options_.lr * lr_scales_[i];
      s.weight_decay = weight_decay_for(params_[i], options_.weight_decay, options_.decay_biases_and_norms);
      Backend::adam_update(*params_[i].value, *params_[i].grad, first_moment_[i], second_moment_[i], s);
    }
  }

  float lr() const { return options_.lr; }
  void set_lr(float lr) { options_.lr = lr; }
  long steps() const { return steps_; }
  const AdamOptions& options() const { return options_; }
  std::string name() const { return options_.decoupled_weight_decay ? "adamw" : "adam"; }

  // beta1, which OneCycle cycles as PyTorch does ("momentum" for Adam).
  float momentum() const { return options_.beta1; }
  void set_momentum(float beta1) { options_.beta1 = beta1; }

  // The moments of every trainable parameter ("<param>.exp_avg", "<param>.exp_avg_sq", PyTorch's
  // names), for checkpoints. Restoring them and set_steps() continues the same trajectory.
  StateList<Backend> state() {
    StateList<Backend> list;
    for (std::size_t i = 0; i < params_.size(); ++i) {
      list.push_back({params_[i].name + ".exp_avg", params_[i].shape, &first_moment_[i]});
      list.push_back({params_[i].name + ".exp_avg_sq", params_[i].shape, &second_moment_[i]});
    }
    return list;
  }
  void set_steps(long steps) {
    if (steps < 0) throw Error("optim::Adam::set_steps: the step count can't be negative");
    steps_ = steps;
  }

 private:
  AdamOptions options_;
  ParameterList<Backend> params_;
  std::vector<float> lr_scales_;  // per parameter
  std::vector<typename Backend::Buffer> first_moment_, second_moment_;
  long steps_ = 0;
};

template <class Backend>
Adam(ParameterList<Backend>, AdamOptions) -> Adam<Backend>;

// AdamW's options: Adam's, with PyTorch's AdamW default weight decay of 1e-2 (so that
// AdamW(params, {.lr = 3e-4f}) keeps it).
struct AdamWOptions {
  float lr = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 1e-2f;
  bool decay_biases_and_norms = true;  // as in AdamOptions
  LrScales lr_scales = {};             // as in AdamOptions
};

// AdamW: Adam with decoupled weight decay.
template <class Backend>
Adam<Backend> AdamW(ParameterList<Backend> parameters, AdamWOptions o = {}) {
  return Adam<Backend>(std::move(parameters), {o.lr, o.beta1, o.beta2, o.eps, o.weight_decay, true,
                                                o.decay_biases_and_norms, std::move(o.lr_scales)});
}

}  // namespace ctnn::optim
