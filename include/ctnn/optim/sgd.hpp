// SGD with momentum, dampening, Nesterov and weight decay, with PyTorch's update rules:
//   optim::Sgd sgd(model.parameters(), {.lr = 0.1f, .momentum = 0.9f, .nesterov = true});
#pragma once
#include <string>
#include <vector>

#include "ctnn/core/error.hpp"       // Error
#include "ctnn/core/op_specs.hpp"    // SgdStep
#include "ctnn/core/parameters.hpp"  // ParameterList
#include "ctnn/optim/state.hpp"      // StateList

namespace ctnn::optim {

struct SgdOptions {
  float lr = 0.01f;
  float momentum = 0.0f;
  float dampening = 0.0f;
  float weight_decay = 0.0f;
  bool nesterov = false;
  // false: no weight decay on biases and BN's scale and shift (ParameterRef::is_bias_or_norm),
  // as PyTorch users get with two parameter groups. PyTorch's default decays everything.
  bool decay_biases_and_norms = true;
  LrScales lr_scales = {};  // learning-rate multipliers by name prefix (state.hpp)
};

template <class Backend>
class Sgd {
 public:
  Sgd(ParameterList<Backend> parameters, SgdOptions options = {}) : options_(options) {
    if (options.nesterov && (options.momentum <= 0 || options.dampening != 0))
      throw Error("optim::Sgd: Nesterov momentum needs momentum > 0 and dampening 0");
    for (auto& p : parameters) {
      if (!p.trainable()) continue;
      params_.push_back(p);
      momentum_.emplace_back(options.momentum != 0 ? p.value->size() : 0);
    }
    lr_scales_ = lr_scales_for(params_, options_.lr_scales, "optim::Sgd");
  }

  void step() {
    SgdStep s{options_.lr, options_.momentum, options_.dampening, 0.0f, options_.nesterov, steps_ == 0};
    for (std::size_t i = 0; i < params_.size(); ++i) {
      s.lr = options_.lr * lr_scales_[i];
      s.weight_decay = weight_decay_for(params_[i], options_.weight_decay, options_.decay_biases_and_norms);
      Backend::sgd_update(*params_[i].value, *params_[i].grad, momentum_[i], s);
    }
    ++steps_;
  }

  float lr() const { return options_.lr; }
  void set_lr(float lr) { options_.lr = lr; }
  long steps() const { return steps_; }
  const SgdOptions& options() const { return options_; }
  std::string name() const { return "sgd"; }

  // The momentum coefficient, which OneCycle cycles. An optimizer built without momentum has no
  // buffers, so it can't be given momentum later.
  float momentum() const { return options_.momentum; }
  void set_momentum(float momentum) {
    if (momentum != 0 && options_.momentum == 0 && !params_.empty())
      throw Error("optim::Sgd::set_momentum: this optimizer was built with momentum 0 and has no momentum "
                  "buffers; build it with the momentum it will use");
    if (options_.nesterov && momentum <= 0)
      throw Error("optim::Sgd::set_momentum: Nesterov momentum needs momentum > 0");
    options_.momentum = momentum;
  }

  // The momentum buffers ("<param>.momentum_buffer", PyTorch's name), for checkpoints; none
  // without momentum. Restoring them and set_steps() continues the same trajectory.
  StateList<Backend> state() {
    StateList<Backend> list;
    if (options_.momentum != 0)
      for (std::size_t i = 0; i < params_.size(); ++i)
        list.push_back({params_[i].name + ".momentum_buffer", params_[i].shape, &momentum_[i]});
    return list;
  }
  void set_steps(long steps) {
    if (steps < 0) throw Error("optim::Sgd::set_steps: the step count can't be negative");
    steps_ = steps;
  }

 private:
  SgdOptions options_;
  ParameterList<Backend> params_;
  std::vector<float> lr_scales_;  // per parameter
  std::vector<typename Backend::Buffer> momentum_;
  long steps_ = 0;
};

template <class Backend>
Sgd(ParameterList<Backend>, SgdOptions) -> Sgd<Backend>;

}  // namespace ctnn::optim
