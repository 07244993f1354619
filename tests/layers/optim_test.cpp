// optim::Sgd, optim::Adam and optim::AdamW against PyTorch's documented update rules
// (torch.optim.SGD / Adam / AdamW), re-implemented here in double precision, over a few
// steps on tiny parameter vectors with a fresh gradient each step.
#include <cmath>  // std::pow, std::sqrt
#include <optional>

#include "test_support.hpp"

using namespace ctnn;
using namespace ctnn_test;

namespace {

// Two trainable parameters and one buffer (which no optimizer may touch).
struct Parameters {
  cpu::Buffer weight, weight_grad, bias, bias_grad, buffer;
  Parameters()
      : weight(6), weight_grad(6), bias(3), bias_grad(3), buffer(4) {
    weight.assign(uniform(6, 1));
    bias.assign(uniform(3, 2));
    buffer.assign(uniform(4, 3));
  }
  ParameterList<Cpu> list() {
    return {{"w", {2, 3}, &weight, &weight_grad}, {"stat", {4}, &buffer, nullptr}, {"b", {3}, &bias, &bias_grad}};
  }
  // Step t's gradient: fresh values, some large, some tiny.
  void set_gradients(int t) {
    weight_grad.assign(uniform(6, 100 + t, -2.0f, 2.0f));
    bias_grad.assign(uniform(3, 200 + t, -0.01f, 0.01f));
  }
};

// torch.optim.SGD:  g = grad + wd * p;  if momentum: b = g on the first step, else
// b = momentum * b + (1 - dampening) * g;  g = nesterov ? g + momentum * b : b;  p -= lr * g.
struct SgdReference {
  double lr, momentum, dampening, weight_decay;
  bool nesterov;
  std::vector<double> p, buffer;
  bool first = true;

  void step(std::span<const float> grad) {
    buffer.resize(p.size());
    for (std::size_t i = 0; i < p.size(); ++i) {
      double g = grad[i] + weight_decay * p[i];
      if (momentum != 0) {
        buffer[i] = first ? g : momentum * buffer[i] + (1 - dampening) * g;
        g = nesterov ? g + momentum * buffer[i] : buffer[i];
      }
      p[i] -= lr * g;
    }
    first = false;
  }
};

// torch.optim.Adam / AdamW at step t (from 1):  Adam: g = grad + wd * p;  AdamW: p *= 1 - lr * wd.
// m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).
struct AdamReference {
  double lr, beta1, beta2, eps, weight_decay;
  bool decoupled;
  std::vector<double> p, m, v;
  int t = 0;

  void step(std::span<const float> grad) {
    ++t;
    m.resize(p.size());
    v.resize(p.size());
    for (std::size_t i = 0; i < p.size(); ++i) {
      double g = grad[i];
      if (decoupled) p[i] *= 1 - lr * weight_decay;
      else g += weight_decay * p[i];
      m[i] = beta1 * m[i] + (1 - beta1) * g;
      v[i] = beta2 * v[i] + (1 - beta2) * g * g;
      const double m_hat = m[i] / (1 - std::pow(beta1, t)), v_hat = v[i] / (1 - std::pow(beta2, t));
      p[i] -= lr * m_hat / (std::sqrt(v_hat) + eps);
    }
  }
};

std::vector<double> as_doubles(const cpu::Buffer& b) { return {b.host().begin(), b.host().end()}; }

// Runs `steps` steps of the optimizer and of the reference (one per parameter), comparing
// after each. `change_lr` (optional) sets a new learning rate before step 3. `bias_decays` false:
// the bias (a one-dimensional parameter) is expected to get no weight decay.
template <class Optimizer, class Reference>
void compare(Parameters& params, Optimizer& optimizer, Reference weight_ref, int steps,
             std::optional<float> change_lr = std::nullopt, bool bias_decays = true) {
  Reference bias_ref = weight_ref;
  if (!bias_decays) bias_ref.weight_decay = 0;
  weight_ref.p = as_doubles(params.weight);
  bias_ref.p = as_doubles(params.bias);
  const auto buffer_before = as_doubles(params.buffer);
  for (int t = 1; t <= steps; ++t) {
    INFO("step " << t);
    if (change_lr && t == 3) {
      optimizer.set_lr(*change_lr);
      weight_ref.lr = bias_ref.lr = *change_lr;
    }
    params.set_gradients(t);
    optimizer.step();
    weight_ref.step(params.weight_grad.host());
    bias_ref.step(params.bias_grad.host());
    check_close(params.weight.host(), weight_ref.p, "weight", 1e-5, 1e-6);
    check_close(params.bias.host(), bias_ref.p, "bias", 1e-5, 1e-6);
  }
  CHECK(optimizer.steps() == steps);
  CHECK(as_doubles(params.buffer) == buffer_before);
}

}  // namespace

TEST_CASE("optim::Sgd follows torch.optim.SGD", "[optim][sgd]") {
  struct Case {
    const char* name;
    optim::SgdOptions options;
  };
  const Case cases[] = {
      {"plain", {.lr = 0.1f}},
      {"weight decay", {.lr = 0.1f, .weight_decay = 0.05f}},
      {"momentum", {.lr = 0.1f, .momentum = 0.9f}},
      {"momentum with dampening (the first step is undampened)", {.lr = 0.1f, .momentum = 0.9f, .dampening = 0.5f}},
      {"nesterov", {.lr = 0.1f, .momentum = 0.9f, .nesterov = true}},
      {"nesterov with weight decay", {.lr = 0.05f, .momentum = 0.8f, .weight_decay = 0.1f, .nesterov = true}},
      {"everything but nesterov", {.lr = 0.05f, .momentum = 0.7f, .dampening = 0.2f, .weight_decay = 0.1f}},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    Parameters params;
    optim::Sgd sgd(params.list(), c.options);
    const auto& o = c.options;
    compare(params, sgd, SgdReference{o.lr, o.momentum, o.dampening, o.weight_decay, o.nesterov, {}, {}}, 5, 0.02f);
  }
}

// PyTorch users exempt biases and BN's scale and shift from weight decay with a second parameter
// group ({"params": ..., "weight_decay": 0}); decay_biases_and_norms = false does that.
TEST_CASE("Optimizers can exempt biases and norms from weight decay", "[optim]") {
  SECTION("sgd") {
    Parameters params;
    optim::Sgd sgd(params.list(), {.lr = 0.05f, .momentum = 0.9f, .weight_decay = 0.1f, .nesterov = true,
                                   .decay_biases_and_norms = false});
    compare(params, sgd, SgdReference{0.05, 0.9, 0, 0.1, true, {}, {}}, 5, 0.02f, false);
  }
  SECTION("adam") {
    Parameters params;
    optim::Adam adam(params.list(), {.lr = 1e-2f, .weight_decay = 0.1f, .decay_biases_and_norms = false});
    compare(params, adam, AdamReference{1e-2, 0.9, 0.999, 1e-8, 0.1, false, {}, {}, {}}, 5, std::nullopt, false);
  }
  SECTION("adamw") {
    Parameters params;
    auto adamw = optim::AdamW(params.list(), {.lr = 1e-2f, .weight_decay = 0.1f, .decay_biases_and_norms = false});
    compare(params, adamw, AdamReference{1e-2, 0.9, 0.999, 1e-8, 0.1, true, {}, {}, {}}, 5, std::nullopt, false);
  }
  SECTION("which parameters count as biases and norms: the one-dimensional ones") {
    Parameters params;
    const auto list = params.list();
    CHECK_FALSE(list[0].is_bias_or_norm());  // "w", {2, 3}
    CHECK(list[2].is_bias_or_norm());        // "b", {3}
  }
}

TEST_CASE("optim::Sgd rejects Nesterov without momentum or with dampening", "[optim][sgd]") {
  Parameters params;
  CHECK_THROWS_AS(optim::Sgd(params.list(), {.lr = 0.1f, .nesterov = true}), Error);
  CHECK_THROWS_AS(optim::Sgd(params.list(), {.lr = 0.1f, .momentum = 0.9f, .dampening = 0.1f, .nesterov = true}),
                  Error);
}

TEST_CASE("optim::Adam follows torch.optim.Adam", "[optim][adam]") {
  struct Case {
    const char* name;
    optim::AdamOptions options;
  };
  const Case cases[] = {
      {"defaults", {}},
      // A large eps tells eps + sqrt(v_hat) apart from sqrt(v_hat + eps) or eps on sqrt(v).
      {"other betas, large eps", {.lr = 1e-2f, .beta1 = 0.8f, .beta2 = 0.99f, .eps = 0.05f}},
      {"L2 weight decay", {.lr = 1e-2f, .weight_decay = 0.1f}},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    Parameters params;
    optim::Adam adam(params.list(), c.options);
    const auto& o = c.options;
    compare(params, adam, AdamReference{o.lr, o.beta1, o.beta2, o.eps, o.weight_decay, false, {}, {}, {}}, 5, 3e-3f);
  }
}

TEST_CASE("optim::AdamW follows torch.optim.AdamW", "[optim][adam]") {
  SECTION("weight decay 0.1, decoupled from the gradient") {
    Parameters params;
    auto adamw = optim::AdamW(params.list(), {.lr = 1e-2f, .weight_decay = 0.1f});
    compare(params, adamw, AdamReference{1e-2, 0.9, 0.999, 1e-8, 0.1, true, {}, {}, {}}, 5);
  }
  SECTION("PyTorch's defaults: lr 1e-3, weight decay 1e-2") {
    Parameters params;
    auto adamw = optim::AdamW(params.list());
    compare(params, adamw, AdamReference{1e-3, 0.9, 0.999, 1e-8, 1e-2, true, {}, {}, {}}, 5);
  }
}
