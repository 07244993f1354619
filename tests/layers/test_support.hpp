// Helpers shared by the layer tests: seeded inputs, parameter access by name, one
// forward + backward pass with a plain dy, and element-wise comparison with a report.
#pragma once
#include <algorithm>  // std::shuffle
#include <cmath>      // std::abs
#include <cstdint>
#include <numeric>    // std::iota
#include <span>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <ctnn/ctnn.hpp>

namespace ctnn_test {

using namespace ctnn;

// Uniform in [low, high), seeded.
inline std::vector<float> uniform(std::size_t count, std::uint64_t seed, float low = -1.0f, float high = 1.0f) {
  Rng rng(seed);
  std::vector<float> v(count);
  for (auto& x : v) x = rng.uniform(low, high);
  return v;
}

// Values with |x| in [0.1, 1): no ReLU kink within a gradient check's step of any of them.
inline std::vector<float> away_from_zero(std::size_t count, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(count);
  for (auto& x : v) x = (rng.uniform() < 0.5f ? -1.0f : 1.0f) * rng.uniform(0.1f, 1.0f);
  return v;
}

// A seeded permutation of {0, 1, ...} * spacing, centred on 0: all values distinct by at least
// `spacing`, so max pooling has no ties (and no near-ties within a gradient check's step).
inline std::vector<float> distinct(std::size_t count, std::uint64_t seed, float spacing = 0.05f) {
  std::vector<float> v(count);
  std::iota(v.begin(), v.end(), 0.0f);
  Rng rng(seed);
  for (std::size_t i = count; i > 1; --i) std::swap(v[i - 1], v[rng.next_u64() % i]);
  for (auto& x : v) x = (x - static_cast<float>(count) / 2) * spacing;
  return v;
}

// The run-time dims of `batch` samples of shape S.
template <class S>
std::vector<std::int64_t> dims_of(long batch) {
  if constexpr (ImageShape<S>) return {batch, S::channels, S::height, S::width};
  else return {batch, S::features};
}

template <class M>
ParameterRef<Cpu> parameter(M& model, const std::string& name) {
  for (auto& p : model.parameters())
    if (p.name == name) return p;
  FAIL("no parameter named " << name);
  return {};
}

template <class M>
void set_parameter(M& model, const std::string& name, std::span<const float> values) {
  auto p = parameter(model, name);
  REQUIRE(p.value->size() == values.size());
  p.value->assign(values);
}

template <class M>
std::vector<float> values_of(M& model, const std::string& name) {
  auto p = parameter(model, name);
  return {p.value->host().begin(), p.value->host().end()};
}

template <class M>
std::vector<float> grad_of(M& model, const std::string& name) {
  auto p = parameter(model, name);
  return {p.grad->host().begin(), p.grad->host().end()};
}

struct Pass {
  std::vector<float> y, dx;
};

// One forward at x and one backward with dy handed over in plain NCHW (as a user's loss
// gradient arrives), so layers whose output is blocked must reorder it.
template <class M>
Pass forward_backward(M& model, const std::vector<float>& x, long batch, const std::vector<float>& dy) {
  Pass pass;
  pass.y = Cpu::to_host(model.forward(x, batch));
  Cpu::Tensor gradient;
  Cpu::from_host(gradient, dy, dims_of<typename M::OutputShape>(batch));
  const auto* dx = model.backward(gradient, true);
  REQUIRE(dx != nullptr);
  pass.dx = Cpu::to_host(*dx);
  return pass;
}

// Element-wise |actual - expected| <= abs + rel * |expected|, reporting the worst element.
inline void check_close(std::span<const float> actual, std::span<const double> expected, const std::string& what,
                        double rel = 1e-4, double abs = 1e-5) {
  INFO(what);
  REQUIRE(actual.size() == expected.size());
  std::size_t worst = 0, bad = 0;
  double worst_ratio = 0;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    const double ratio = std::abs(actual[i] - expected[i]) / (abs + rel * std::abs(expected[i]));
    if (ratio > 1) ++bad;
    if (ratio > worst_ratio) worst_ratio = ratio, worst = i;
  }
  INFO(fmt::format("{} of {} elements differ; worst [{}]: actual {:.7g}, expected {:.7g}", bad, actual.size(), worst,
                   actual.empty() ? 0.0f : actual[worst], expected.empty() ? 0.0 : expected[worst]));
  CHECK(bad == 0);
}

inline void check_close(std::span<const float> actual, std::span<const float> expected, const std::string& what,
                        double rel = 1e-4, double abs = 1e-5) {
  const std::vector<double> e(expected.begin(), expected.end());
  check_close(actual, e, what, rel, abs);
}

}  // namespace ctnn_test
