// A finite-difference gradient checker for any layer or network, on any backend:
//
//   Model<Sequential<Conv<3, 8>, BN<8>, ReLU>, Input<3, 9, 9>, Cpu> model(1);
//   auto result = ctnn::testing::check_gradients(model, input, /*batch=*/2);
//   if (!result) fmt::print("{}", result.report());
//
// It takes the scalar objective L = sum(y * r) over the network output y, with a fixed random
// r, so that dL/dy = r. The analytic gradients come from one backward with dy = r (handed to
// the backend in plain NCHW / N x features order, as a user's loss gradient would be); the
// numeric ones from central differences (L(v + h) - L(v - h)) / 2h, one element of the input
// or of a trainable parameter at a time, computed in the network's own precision.
//
// The model's mode is used as it is (call model.train() or model.eval() first). Before every
// forward the checker restores the model's random stream and its non-trainable buffers (BN
// running statistics), so each evaluation sees the same dropout mask and statistics as the
// analytic pass; after the check every parameter and buffer holds its old value again, and
// the gradient buffers hold the analytic gradients.
//
// Non-smooth layers (ReLU, max pooling) have kinks. An element whose ±h window straddles one
// shows one-sided differences that disagree with each other. With allow_kinks, an element
// that fails at h is accepted if the analytic value matches the one-sided difference of
// either side, or else the central difference at h/4, h/16, ... (`refinements` times: a
// smaller window holds fewer kinks, which matters when one weight moves many ReLUs at once);
// it is then counted in `kinks` instead of failing. A wrong gradient matches at no step.
// Inputs kept away from kinks by construction should report kinks == 0.
#pragma once
#include <algorithm>  // std::max
#include <cmath>      // std::abs
#include <cstdint>
#include <numeric>    // std::iota
#include <span>
#include <string>
#include <utility>    // std::swap
#include <vector>

#include <fmt/core.h>

#include "ctnn/core/error.hpp"  // Error
#include "ctnn/core/mode.hpp"   // Mode
#include "ctnn/core/rng.hpp"    // Rng
#include "ctnn/core/shape.hpp"  // ImageShape
#include "ctnn/model.hpp"       // Model

namespace ctnn::testing {

struct GradientCheckOptions {
  float step = 1e-2f;                // h: fp32 needs a large one, or rounding swamps the difference
  double relative_tolerance = 1e-2;  // |analytic - numeric| <= abs + rel * max(|analytic|, |numeric|)
  double absolute_tolerance = 1e-3;
  std::uint64_t seed = 1;            // draws r and the sampled elements
  long max_elements_per_tensor = 0;  // 0: every element; otherwise a random sample of this many
  bool check_input = true;           // false: parameters only (backward skips dx)
  bool allow_kinks = true;           // see the comment at the top of this file
  int refinements = 2;               // with allow_kinks: retries at step / 4, step / 16
  std::size_t max_reported = 10;     // mismatches kept for report()
};

struct GradientMismatch {
  std::string tensor;  // "input" or the parameter's name ("0.weight")
  long index;          // flat index, row-major (NCHW for the input)
  double analytic, numeric;
};

struct GradientCheckResult {
  long checked = 0;  // elements compared
  long kinks = 0;    // of those, accepted on one side of a kink
  long failed = 0;
  double worst_ratio = 0;  // max over elements of |analytic - numeric| / tolerance; <= 1 passes
  std::vector<GradientMismatch> mismatches;  // the first max_reported failures

  bool passed() const { return failed == 0 && checked > 0; }
  explicit operator bool() const { return passed(); }

  std::string report() const {
    std::string text = fmt::format("gradient check: {} elements, {} failed, {} at kinks, worst error {:.3g}x tolerance\n",
                                   checked, failed, kinks, worst_ratio);
    for (const auto& m : mismatches)
      text += fmt::format("  {}[{}]: analytic {:.6g}, numeric {:.6g}\n", m.tensor, m.index, m.analytic, m.numeric);
    return text;
  }
};

namespace detail {

// Indices of the elements to perturb: all of them, or a seeded random sample.
inline std::vector<long> elements_to_check(long size, long limit, Rng& rng) {
  std::vector<long> indices(static_cast<std::size_t>(size));
  std::iota(indices.begin(), indices.end(), 0L);
  if (limit <= 0 || limit >= size) return indices;
  for (long i = 0; i < limit; ++i) {  // partial Fisher-Yates shuffle
    const long j = i + static_cast<long>(rng.next_u64() % static_cast<std::uint64_t>(size - i));
    std::swap(indices[i], indices[j]);
  }
  indices.resize(static_cast<std::size_t>(limit));
  return indices;
}

inline double gradient_tolerance(double a, double b, const GradientCheckOptions& o) {
  return o.absolute_tolerance + o.relative_tolerance * std::max(std::abs(a), std::abs(b));
}

}  // namespace detail

// Checks the model's backward against central differences at `input` (batch x In::size
// floats, NCHW). Throws Error if the input size is wrong (through Model::forward).
template <class Net, class In, class Backend>
GradientCheckResult check_gradients(Model<Net, In, Backend>& model, std::span<const float> input, long batch,
                                    const GradientCheckOptions& options = {}) {
  using Out = typename Model<Net, In, Backend>::OutputShape;
  if (!(options.step > 0.0f)) throw Error("check_gradients: options.step must be positive");

  std::vector<float> x(input.begin(), input.end());  // perturbed in place
  auto parameters = model.parameters();
  std::vector<std::vector<float>> saved;
  for (auto& p : parameters) saved.push_back(p.value->to_vector());  // assign/to_vector: any backend
  const Rng saved_rng = model.context().rng;

  Rng rng(options.seed);
  std::vector<float> r(static_cast<std::size_t>(batch * Out::size));
  for (auto& v : r) v = rng.uniform(-1.0f, 1.0f);

  // Same random stream and buffers before every forward: same masks, same statistics.
  auto run_forward = [&]() -> const typename Backend::Tensor& {
    for (std::size_t i = 0; i < parameters.size(); ++i)
      if (!parameters[i].trainable()) parameters[i].value->assign(saved[i]);
    model.context().rng = saved_rng;
    return model.forward(x, batch);
  };
  auto objective = [&]() {
    const std::vector<float> y = Backend::to_host(run_forward());
    double sum = 0;
    for (std::size_t k = 0; k < y.size(); ++k) sum += static_cast<double>(y[k]) * r[k];
    return sum;
  };

  // The analytic pass: dy = r in plain layout.
  run_forward();
  std::vector<std::int64_t> dims{batch};
  if constexpr (ImageShape<Out>) dims.insert(dims.end(), {Out::channels, Out::height, Out::width});
  else dims.push_back(Out::features);
  typename Backend::Tensor dy;
  Backend::from_host(dy, r, dims);
  const auto* dx = model.backward(dy, options.check_input);
  std::vector<float> analytic_input;
  if (options.check_input) {
    if (!dx) throw Error("check_gradients: the model returned no input gradient");
    analytic_input = Backend::to_host(*dx);
  }
  std::vector<std::vector<float>> analytic_parameters;
  for (auto& p : parameters)
    analytic_parameters.push_back(p.trainable() ? p.grad->to_vector() : std::vector<float>{});

  // The numeric pass.
  GradientCheckResult result;
  const double base = objective();
  // The objective at value ± h: L(+), L(-) and the steps fp32 really took. `values` holds the
  // tensor on the host; `store` hands it to the model after each change.
  struct Differences {
    double plus, minus, up, down;
    double central() const { return (plus - minus) / (up + down); }
  };
  auto differences = [&](std::vector<float>& values, long index, auto& store, float h) {
    float& value = values[static_cast<std::size_t>(index)];
    const float original = value;
    Differences d{};
    value = original + h;
    d.up = static_cast<double>(value) - original;
    store();
    d.plus = objective();
    value = original - h;
    d.down = original - static_cast<double>(value);
    store();
    d.minus = objective();
    value = original;
    store();
    return d;
  };
  auto close = [&](double u, double v) { return std::abs(u - v) <= detail::gradient_tolerance(u, v, options); };
  // Accepted at a kink: at h or a smaller step, the two sides disagree and the analytic
  // value is one of them, or the central difference agrees with it.
  auto at_kink = [&](std::vector<float>& values, long index, auto& store, double a, Differences d) {
    float h = options.step;
    for (int i = 0;; ++i) {
      const double forward = (d.plus - base) / d.up, backward = (base - d.minus) / d.down;
      if (i > 0 && close(a, d.central())) return true;
      if (!close(forward, backward) && (close(a, forward) || close(a, backward))) return true;
      if (i == options.refinements) return false;
      h /= 4;
      d = differences(values, index, store, h);
    }
  };
  auto probe = [&](const std::string& name, std::vector<float>& values, auto store,
                   const std::vector<float>& analytic) {
    for (const long index : detail::elements_to_check(static_cast<long>(values.size()),
                                                      options.max_elements_per_tensor, rng)) {
      const double a = analytic[static_cast<std::size_t>(index)];
      const Differences d = differences(values, index, store, options.step);
      const double numeric = d.central();
      const double ratio = std::abs(a - numeric) / detail::gradient_tolerance(a, numeric, options);
      ++result.checked;
      if (ratio <= 1) {
        result.worst_ratio = std::max(result.worst_ratio, ratio);
      } else if (options.allow_kinks && at_kink(values, index, store, a, d)) {
        ++result.kinks;
      } else {
        result.worst_ratio = std::max(result.worst_ratio, ratio);
        ++result.failed;
        if (result.mismatches.size() < options.max_reported) result.mismatches.push_back({name, index, a, numeric});
      }
    }
  };
  if (options.check_input) probe("input", x, [] {}, analytic_input);  // forward reads x itself
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    if (!parameters[i].trainable()) continue;
    std::vector<float> values = saved[i];
    auto* buffer = parameters[i].value;
    probe(parameters[i].name, values, [&values, buffer] { buffer->assign(values); }, analytic_parameters[i]);
  }

  // Leave the model as it was (the perturbed values were restored one by one above; the
  // buffers and the random stream moved with every forward).
  for (std::size_t i = 0; i < parameters.size(); ++i) parameters[i].value->assign(saved[i]);
  model.context().rng = saved_rng;
  return result;
}

// Checks one layer (or block) L on its own: a Model<L, In, Backend> seeded with `model_seed`,
// in `mode`, at an input drawn uniformly from [-1, 1).
template <class L, class In, class Backend>
GradientCheckResult check_layer_gradients(long batch = 2, const GradientCheckOptions& options = {},
                                          Mode mode = Mode::train, std::uint64_t model_seed = 0) {
  Model<L, In, Backend> model(model_seed);
  if (mode == Mode::train) model.train();
  else model.eval();
  Rng rng(options.seed ^ 0x5eedull);
  std::vector<float> input(static_cast<std::size_t>(batch * In::size));
  for (auto& v : input) v = rng.uniform(-1.0f, 1.0f);
  return check_gradients(model, input, batch, options);
}

}  // namespace ctnn::testing
