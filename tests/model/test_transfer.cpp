// What transfer learning needs of a model: Frozen<...> layers whose weights and BN statistics
// stay bit-identical while the rest trains, and whose backward doesn't run when nothing before
// them trains; learning-rate scales by parameter name; backward after an eval-mode forward
// (saliency, frozen BN); and the features a network computes at a named layer.
#include <omp.h>  // omp_set_num_threads

#include <algorithm>
#include <vector>

#include <catch2/catch.hpp>
#include <ctnn/ctnn.hpp>
#include <ctnn/layers/frozen.hpp>
#include <ctnn/models/seed.hpp>
#include <ctnn/testing/gradient_check.hpp>

using namespace ctnn;

// Thousands of tiny forwards in the gradient checks: one thread (see tests/layers).
static const int single_threaded = (omp_set_num_threads(1), 0);

namespace {

std::vector<float> uniform(std::size_t count, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(count);
  for (auto& x : v) x = rng.uniform(-1.0f, 1.0f);
  return v;
}

template <class M>
std::vector<std::vector<float>> values(M& model) {
  std::vector<std::vector<float>> out;
  for (auto& p : model.parameters()) out.push_back(p.value->to_vector());
  return out;
}

template <class M>
std::vector<float> value_of(M& model, const std::string& name) {
  for (auto& p : model.parameters())
    if (p.name == name) return p.value->to_vector();
  FAIL("no parameter " << name);
  return {};
}

// Counts the backward passes that reach it (a test double for "did backward run here").
inline int backward_calls = 0;
struct CountsBackward : ShapePreserving {
  static std::string name() { return "CountsBackward"; }
  template <class In> static constexpr long flops = 0;
  template <class In, class B>
  struct Runtime : PassThrough<B> {
    const typename B::Tensor* backward(const typename B::Tensor& dy, Context<B>&, bool) {
      ++backward_calls;
      return &dy;
    }
  };
};

using Backbone = Sequential<Conv<3, 8>, BN<8>, ReLU, CountsBackward, MaxPool<2>, Conv<8, 8>, BN<8>, ReLU,
                            GlobalAvgPool, Flatten>;
using FrozenNet = Sequential<Frozen<Backbone>, Linear<8, 4>>;
using FreeNet = Sequential<Backbone, Linear<8, 4>>;
using Input8 = Input<3, 8, 8>;

template <class M>
void train_steps(M& model, int steps, std::uint64_t seed) {
  loss::CrossEntropy<Cpu> loss;
  optim::Sgd sgd(model.parameters(), {.lr = 0.1f, .momentum = 0.9f});
  model.train();
  for (int i = 0; i < steps; ++i) {
    const auto x = uniform(4 * Input8::size, seed + i);
    const std::vector<std::int32_t> labels{0, 1, 2, 3};
    loss.forward(model.forward(x, 4), labels);
    model.backward(loss.gradient());
    sgd.step();
  }
}

}  // namespace

TEST_CASE("Frozen keeps its weights and BN statistics bit-identical while the head learns", "[model][frozen]") {
  Model<FrozenNet, Input8, Cpu> model(1);
  const auto before = values(model);
  const auto head_before = value_of(model, "1.weight");
  backward_calls = 0;
  train_steps(model, 5, 10);
  const auto after = values(model);
  REQUIRE(after.size() == before.size());
  for (std::size_t i = 0; i < after.size(); ++i) {
    const auto name = model.parameters()[i].name;
    INFO(name);
    if (name.starts_with("0.")) CHECK(after[i] == before[i]);  // weights and running statistics
  }
  CHECK(value_of(model, "1.weight") != head_before);
  CHECK(backward_calls == 0);  // the frozen prefix ran no backward

  SECTION("the same network unfrozen trains its backbone and runs its backward") {
    Model<FreeNet, Input8, Cpu> free(1);
    const auto free_before = value_of(free, "0.0.weight");
    backward_calls = 0;
    train_steps(free, 2, 10);
    CHECK(value_of(free, "0.0.weight") != free_before);
    CHECK(value_of(free, "0.1.running_mean") != std::vector<float>(8, 0.0f));
    CHECK(backward_calls == 2);
  }
}

TEST_CASE("Frozen lists its parameters under their own names, without gradients", "[model][frozen]") {
  Model<FrozenNet, Input8, Cpu> frozen(2);
  Model<FreeNet, Input8, Cpu> free(2);
  auto a = frozen.parameters(), b = free.parameters();
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].name == b[i].name);
    CHECK(a[i].trainable() == (a[i].name.starts_with("1.")));
  }
  STATIC_REQUIRE(decltype(frozen)::parameter_count == decltype(free)::parameter_count);
  STATIC_REQUIRE(decltype(frozen)::trainable_parameter_count == 8 * 4 + 4);
  CHECK_THAT(decltype(frozen)::summary(), Catch::Contains("(36 trainable)"));
}

TEST_CASE("Frozen runs in eval mode inside a model in train mode", "[model][frozen]") {
  // Same seed, same parameters: the frozen model's train-mode output is the free model's
  // eval-mode output (running statistics, not batch statistics).
  Model<FrozenNet, Input8, Cpu> frozen(3);
  Model<FreeNet, Input8, Cpu> free(3);
  train_steps(free, 1, 20);  // moves the running statistics away from (0, 1)
  auto fp = frozen.parameters(), gp = free.parameters();
  for (std::size_t i = 0; i < fp.size(); ++i) fp[i].value->assign(gp[i].value->to_vector());
  const auto x = uniform(4 * Input8::size, 30);
  frozen.train();
  const auto y = Cpu::to_host(frozen.forward(x, 4));
  CHECK(y == free.predict(x, 4));

  SECTION("a frozen block after a trainable one passes the gradient through, in eval mode") {
    using Net = Sequential<Conv<3, 3>, Frozen<Backbone>, Linear<8, 4>>;
    Model<Net, Input8, Cpu> model(4);
    backward_calls = 0;
    train_steps(model, 1, 40);
    CHECK(backward_calls == 1);
    const auto result = testing::check_gradients(model, uniform(2 * Input8::size, 41), 2);
    INFO(result.report());
    CHECK(result.passed());
  }
}

TEST_CASE("learning-rate scales by name prefix", "[model][optim]") {
  using Net = Sequential<Linear<3, 4>, ReLU, Linear<4, 2>>;
  Model<Net, Input<3>, Cpu> model(5);
  const auto w0 = value_of(model, "0.weight"), w2 = value_of(model, "2.weight");
  loss::CrossEntropy<Cpu> loss;
  optim::Sgd sgd(model.parameters(), {.lr = 0.1f, .lr_scales = {{"0.", 0.5f}, {"0.bias", 0.0f}}});
  const auto x = uniform(2 * 3, 6);
  loss.forward(model.forward(x, 2), std::vector<std::int32_t>{0, 1});
  model.backward(loss.gradient());
  std::vector<float> g0, g2, b0 = value_of(model, "0.bias");
  for (auto& p : model.parameters()) {
    if (p.name == "0.weight") g0 = p.grad->to_vector();
    if (p.name == "2.weight") g2 = p.grad->to_vector();
  }
  sgd.step();
  const auto w0_after = value_of(model, "0.weight"), w2_after = value_of(model, "2.weight");
  for (std::size_t i = 0; i < w0.size(); ++i) CHECK(w0_after[i] == Approx(w0[i] - 0.05f * g0[i]).margin(1e-7));
  for (std::size_t i = 0; i < w2.size(); ++i) CHECK(w2_after[i] == Approx(w2[i] - 0.1f * g2[i]).margin(1e-7));
  CHECK(value_of(model, "0.bias") == b0);  // the longest prefix wins: scale 0

  CHECK_THROWS_WITH((optim::Adam(model.parameters(), {.lr_scales = {{"layer4.", 0.1f}}})),
                    Catch::Contains("no trainable parameter's name starts with \"layer4.\""));
  CHECK_THROWS_WITH((optim::Sgd(model.parameters(), {.lr_scales = {{"0.", -1.0f}}})),
                    Catch::Contains("must be 0 or more"));
}

TEST_CASE("backward after an eval-mode forward through pooling", "[model][eval]") {
  // The input gradient of a trained network in eval mode (saliency; a frozen block's input
  // gradient), by finite differences: max pooling, average pooling with padding, BN eval.
  using Net = Sequential<Conv<2, 4>, BN<4>, ReLU, MaxPool<2>, Conv<4, 4>, AvgPool<3, 1, 1>, GlobalAvgPool, Flatten,
                         Linear<4, 3>>;
  Model<Net, Input<2, 6, 6>, Cpu> model(7);
  model.eval();
  const auto result = testing::check_gradients(model, uniform(2 * 72, 8), 2);
  INFO(result.report());
  CHECK(result.passed());
  CHECK(result.checked >= 2 * 72);
}

TEST_CASE("features at a named layer", "[model][features]") {
  using models::SeedNet;
  Model<SeedNet, models::SeedInput, Cpu> model(9);
  const auto x = uniform(3 * models::SeedInput::size, 10);
  SECTION("after Flatten: 2048 per sample; at the output: the predictions") {
    CHECK(model.features("3", x, 3).size() == 3 * 2048);
    CHECK(model.features("7", x, 3) == model.predict(x, 3));
  }
  SECTION("inside a block: what a model of the block's first layers computes, with the same weights") {
    using FirstLayers = Sequential<Conv<3, 32>, BN<32>, ReLU, Conv<32, 32>, BN<32>, ReLU, MaxPool<2>>;
    Model<FirstLayers, models::SeedInput, Cpu> part(0);
    for (auto& p : part.parameters()) p.value->assign(value_of(model, "0." + p.name));
    CHECK(model.features("0.6", x, 3) == part.predict(x, 3));
    Model<models::SeedBlock<3, 32>, models::SeedInput, Cpu> block(0);
    for (auto& p : block.parameters()) p.value->assign(value_of(model, "0." + p.name));
    CHECK(model.features("0", x, 3) == block.predict(x, 3));
  }
  SECTION("paths that name nothing, point inside a leaf, or stop between fused layers") {
    CHECK_THROWS_WITH(model.features("9", x, 3), Catch::Contains("no layer has this path") &&
                                                      Catch::Contains("keys: 0, 1, 2, 3, 4, 5, 6, 7"));
    CHECK_THROWS_WITH(model.features("4.weight", x, 3), Catch::Contains("\"4\" is a Linear<2048,512>, which can't stop inside"));
    CHECK_THROWS_WITH(model.features("0.1", x, 3), Catch::Contains("runs fused with the next one (ReLU)"));
  }
}

TEST_CASE("backward skips the layers before the first one that trains", "[model][frozen]") {
  // CountsBackward, Flatten and the frozen block neither train nor feed a layer that does.
  using Net = Sequential<CountsBackward, Frozen<Backbone>, CountsBackward, Linear<8, 4>>;
  Model<Net, Input8, Cpu> model(11);
  backward_calls = 0;
  train_steps(model, 1, 50);
  CHECK(backward_calls == 0);
  Cpu::Tensor dy;
  Cpu::from_host(dy, uniform(2 * 4, 51), {2, 4});
  model.forward(uniform(2 * Input8::size, 52), 2);
  CHECK(model.backward(dy, true) != nullptr);  // an input gradient asked for: everything runs
  CHECK(backward_calls == 3);
}
