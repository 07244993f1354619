// Without MPI: SyncBN in one process is BN (forward, gradients, running statistics, eval);
// with a simulated second rank it normalises by both ranks' statistics and its gradients are
// those of BN over both ranks' batches (against BN run on the two batches together, and by
// finite differences).
#include <omp.h>

#include <cmath>
#include <span>
#include <vector>

#include <catch2/catch.hpp>
#include <ctnn/testing/gradient_check.hpp>

#include "support.hpp"

using namespace ctnn;
using namespace ctnn_test;

namespace {

std::vector<float> uniform(std::size_t count, std::uint64_t seed, float low = -1.0f, float high = 1.0f) {
  Rng rng(seed);
  std::vector<float> v(count);
  for (auto& x : v) x = rng.uniform(low, high);
  return v;
}

void set(ParameterList<Cpu> params, const std::string& name, const std::vector<float>& values) {
  for (auto& p : params)
    if (p.name == name) return p.value->assign(values);
  FAIL("no parameter " << name);
}

Cpu::Tensor plain(const std::vector<float>& values, std::vector<std::int64_t> dims) {
  Cpu::Tensor t;
  Cpu::from_host(t, values, dims);
  return t;
}

void check_close(const std::vector<float>& got, const std::vector<float>& want, double tolerance) {
  REQUIRE(got.size() == want.size());
  double worst = 0;
  for (std::size_t i = 0; i < got.size(); ++i)
    worst = std::max(worst, std::abs(double{got[i]} - want[i]) / (1 + std::abs(double{want[i]})));
  CHECK(worst <= tolerance);
}

}  // namespace

TEST_CASE("SyncBN in one process trains as BN does", "[distributed][syncbn]") {
  BnModel bn(3);
  SyncBnModel sync(3);
  CHECK(SyncBnModel::summary().find("SyncBN<16>") != std::string::npos);
  auto bn_sgd = optim::Sgd(bn.parameters(), {.lr = 0.1f, .momentum = 0.9f});
  auto sync_sgd = optim::Sgd(sync.parameters(), {.lr = 0.1f, .momentum = 0.9f});
  loss::CrossEntropy<Cpu> bn_loss, sync_loss;
  const long batch = 6;
  for (int step = 0; step < 3; ++step) {
    CAPTURE(step);
    const auto x = uniform(batch * 192, 10 + step, -2, 3);
    std::vector<std::int32_t> labels;
    for (long i = 0; i < batch; ++i) labels.push_back(static_cast<std::int32_t>((i + step) % 4));
    const auto a = bn_loss.forward(bn.forward(x, batch), labels);
    const auto b = sync_loss.forward(sync.forward(x, batch), labels);
    CHECK(b.loss == Approx(a.loss).epsilon(1e-5));
    bn.backward(bn_loss.gradient());
    sync.backward(sync_loss.gradient());
    auto bp = bn.parameters(), sp = sync.parameters();
    REQUIRE(bp.size() == sp.size());
    for (std::size_t i = 0; i < bp.size(); ++i) {
      CAPTURE(bp[i].name);
      CHECK(sp[i].name == bp[i].name);
      if (bp[i].trainable()) check_close(sp[i].grad->to_vector(), bp[i].grad->to_vector(), 1e-5);
    }
    bn_sgd.step();
    sync_sgd.step();
  }
  CHECK(max_difference(snapshot(sync), snapshot(bn)) < 1e-5);  // running statistics included
  const auto bn_counters = bn.parameters().counters, sync_counters = sync.parameters().counters;
  REQUIRE(sync_counters.size() == 2);
  for (std::size_t i = 0; i < 2; ++i) {
    CHECK(sync_counters[i].name == bn_counters[i].name);
    CHECK(*sync_counters[i].value == 3);  // num_batches_tracked, as BN counts it
    CHECK(*bn_counters[i].value == 3);
  }
  const auto x = uniform(4 * 192, 99);
  check_close(sync.predict(x, 4), bn.predict(x, 4), 1e-5);  // eval: the running statistics
}

namespace {

// The sums SyncBN asks for, with a second rank's share added: its batch `other` (n x C x HW)
// forward, and zero gradient sums backward (the other rank's loss doesn't depend on its
// output), so that SyncBN here computes BN over both batches with dy = 0 for the other's.
struct VirtualRank {
  std::vector<double> forward_sums;  // per channel sum, then sum of squares, then the count
  int calls = 0;
  VirtualRank(const std::vector<float>& other, long n, int channels, int pixels) : forward_sums(2 * channels + 1) {
    for (long i = 0; i < n; ++i)
      for (int c = 0; c < channels; ++c)
        for (int p = 0; p < pixels; ++p) {
          const double v = other[(static_cast<std::size_t>(i) * channels + c) * pixels + p];
          forward_sums[c] += v, forward_sums[channels + c] += v * v;
        }
    forward_sums[2 * channels] = static_cast<double>(n) * pixels;
  }
  void operator()(std::span<double> values) {
    ++calls;
    if (values.size() == forward_sums.size())
      for (std::size_t i = 0; i < values.size(); ++i) values[i] += forward_sums[i];
    else
      REQUIRE(values.size() == forward_sums.size() - 1);  // backward: the other rank adds zeros
  }
};

constexpr int C = 16, H = 3, W = 5;
using In = Input<C, H, W>;
const long n = 3, m = 4;  // this rank's batch, the other's

// SyncNet (SyncBN, maybe with ReLU) with the virtual rank against BnNet run on both batches.
template <class SyncNet, class BnNet>
void check_against_both_batches(const std::string& prefix) {
  const auto x = uniform(n * C * H * W, 1, -1, 2), other = uniform(m * C * H * W, 2, -2, 1);
  const auto gamma = uniform(C, 3, 0.5f, 2.0f), beta = uniform(C, 4), dy = uniform(n * C * H * W, 5);
  Model<SyncNet, In, Cpu> sync(1);
  Model<BnNet, In, Cpu> bn(1);
  for (auto params : {sync.parameters(), bn.parameters()}) set(params, prefix + "weight", gamma), set(params, prefix + "bias", beta);
  VirtualRank rank(other, m, C, H * W);
  sync.context().sum_over_processes = std::ref(rank);

  auto both = x;
  both.insert(both.end(), other.begin(), other.end());
  auto both_dy = dy;
  both_dy.resize(both.size(), 0.0f);
  const auto want_y = Cpu::to_host(bn.forward(both, n + m));
  const auto want_dx = Cpu::to_host(*bn.backward(plain(both_dy, {n + m, C, H, W}), true));
  const auto got_y = Cpu::to_host(sync.forward(x, n));
  const auto got_dx = Cpu::to_host(*sync.backward(plain(dy, {n, C, H, W}), true));
  CHECK(rank.calls == 2);
  const auto mine = static_cast<long>(got_y.size());
  check_close(got_y, {want_y.begin(), want_y.begin() + mine}, 1e-5);
  check_close(got_dx, {want_dx.begin(), want_dx.begin() + mine}, 1e-5);
  // dgamma and dbeta over this rank's batch (the other's dy is 0), and the running statistics
  // of both batches together.
  auto sp = sync.parameters(), bp = bn.parameters();
  REQUIRE(sp.size() == bp.size());
  for (std::size_t i = 0; i < sp.size(); ++i) {
    CAPTURE(sp[i].name);
    check_close(sp[i].value->to_vector(), bp[i].value->to_vector(), 1e-6);
    if (sp[i].trainable()) check_close(sp[i].grad->to_vector(), bp[i].grad->to_vector(), 1e-5);
  }
}

}  // namespace

TEST_CASE("SyncBN with a second rank: BN over both ranks' batches", "[distributed][syncbn]") {
  SECTION("alone") { check_against_both_batches<SyncBN<C>, BN<C>>(""); }
  SECTION("fused with ReLU") { check_against_both_batches<Sequential<SyncBN<C>, ReLU>, Sequential<BN<C>, ReLU>>("0."); }
}

TEST_CASE("SyncBN with a second rank: gradients by finite differences", "[distributed][syncbn][gradient]") {
  omp_set_num_threads(1);  // thousands of tiny forwards: threads cost more than they give
  Model<SyncBN<C>, In, Cpu> model(1);
  set(model.parameters(), "weight", uniform(C, 3, 0.5f, 2.0f));
  set(model.parameters(), "bias", uniform(C, 4));
  VirtualRank rank(uniform(m * C * H * W, 2, -2, 1), m, C, H * W);
  model.context().sum_over_processes = std::ref(rank);
  const auto result = testing::check_gradients(model, uniform(n * C * H * W, 1, -1, 2), n);
  INFO(result.report());
  CHECK(result.passed());
  CHECK(result.kinks == 0);
  CHECK(result.checked == n * C * H * W + 2 * C);
}
