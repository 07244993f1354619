// Every layer, and a network with blocked layouts between its layers, through the public
// finite-difference gradient checker (ctnn/testing/gradient_check.hpp), for the input and
// every trainable parameter; and tests that the checker itself catches wrong gradients.
#include <omp.h>  // omp_set_num_threads

#include <ctnn/backend/cpu/runtime.hpp>  // cpu::ensure, desc, mem: the oneDNN side of tensors
#include <ctnn/testing/gradient_check.hpp>

#include "test_support.hpp"

// Thousands of forwards on tensors of a few hundred floats: OpenMP's fork/join costs more than
// the work, and on a loaded 2-core machine spinning threads starve each other (measured 6-60 s
// for this file instead of 0.4 s). Results don't depend on the thread count; the reference and
// optimizer tests keep the default threads.
static const int single_threaded = (omp_set_num_threads(1), 0);

using namespace ctnn;
using namespace ctnn_test;
using ctnn::testing::check_gradients;
using ctnn::testing::GradientCheckOptions;
using ctnn::testing::GradientCheckResult;

namespace {

// Inputs are built to avoid kinks where a layer has them, so every element must pass as a
// smooth one: kinks == 0.
void expect_pass(const GradientCheckResult& result, long min_checked) {
  INFO(result.report());
  CHECK(result.passed());
  CHECK(result.kinks == 0);
  CHECK(result.checked >= min_checked);
}

template <class L, class In>
GradientCheckResult check_layer(const std::vector<float>& x, long batch, Mode mode = Mode::train,
                                std::uint64_t seed = 3) {
  Model<L, In, Cpu> model(seed);
  if (mode == Mode::eval) model.eval();
  return check_gradients(model, x, batch);
}

template <class L, class In>
void check_conv(long batch, std::uint64_t seed) {
  INFO(L::name() << " on " << shape_name<In>());
  const long params = L::template parameter_count<In>;
  expect_pass(check_layer<L, In>(uniform(batch * In::size, seed), batch), batch * In::size + params);
}

}  // namespace

TEST_CASE("gradient check: Conv", "[layers][gradient]") {
  check_conv<Conv<3, 4>, Input<3, 5, 7>>(2, 1);                // odd sizes, padding 1
  check_conv<Conv<4, 6, 3, 2, 0>, Input<4, 7, 9>>(2, 2);       // stride 2, padding 0
  check_conv<Conv<3, 5, 5, 2, 2>, Input<3, 8, 6>>(2, 3);       // 5x5 kernel, stride 2, even sizes
  check_conv<Conv<4, 6, 3, 1, 1, 2>, Input<4, 5, 7>>(2, 4);    // grouped
  check_conv<Conv<4, 4, 3, 2, 1, 4>, Input<4, 7, 5>>(2, 5);    // depthwise, stride 2
  check_conv<Conv<3, 16, 1, 1, 0>, Input<3, 3, 5>>(2, 6);      // 1x1, 16 outputs (a blocked dst)
}

TEST_CASE("gradient check: BN", "[layers][gradient]") {
  const long batch = 3;
  const auto x = uniform(batch * 3 * 5 * 7, 11, -2.0f, 3.0f);
  SECTION("train mode: batch statistics") {
    Model<BN<3>, Input<3, 5, 7>, Cpu> model;
    set_parameter(model, "weight", uniform(3, 12, 0.5f, 2.0f));
    set_parameter(model, "bias", uniform(3, 13));
    // The running statistics must not matter in train mode (and the checker keeps them).
    set_parameter(model, "running_mean", uniform(3, 14));
    const auto result = check_gradients(model, x, batch);
    expect_pass(result, batch * 105 + 6);
    CHECK(values_of(model, "running_mean") == uniform(3, 14));
  }
  SECTION("eval mode: running statistics") {
    Model<BN<3>, Input<3, 5, 7>, Cpu> model;
    set_parameter(model, "weight", uniform(3, 12, 0.5f, 2.0f));
    set_parameter(model, "bias", uniform(3, 13));
    set_parameter(model, "running_mean", uniform(3, 14));
    set_parameter(model, "running_var", uniform(3, 15, 0.5f, 2.0f));
    model.eval();
    expect_pass(check_gradients(model, x, batch), batch * 105 + 6);
  }
  SECTION("16 channels (a blocked layout), train mode") {
    expect_pass(check_layer<BN<16>, Input<16, 3, 3>>(uniform(2 * 16 * 9, 16), 2), 2 * 16 * 9 + 32);
  }
}

TEST_CASE("gradient check: ReLU", "[layers][gradient]") {
  expect_pass(check_layer<ReLU, Input<3, 5, 7>>(away_from_zero(2 * 105, 21), 2), 210);
  expect_pass(check_layer<ReLU, Input<10>>(away_from_zero(3 * 10, 22), 3), 30);
}

TEST_CASE("gradient check: pooling", "[layers][gradient]") {
  // Distinct values spaced 0.05 apart: no ties within the checker's step of 0.01.
  SECTION("MaxPool<2> on 5x7: floor mode drops the last row and column") {
    expect_pass(check_layer<MaxPool<2>, Input<3, 5, 7>>(distinct(2 * 105, 31), 2), 210);
  }
  SECTION("MaxPool<3, 2>: overlapping windows") {
    expect_pass(check_layer<MaxPool<3, 2>, Input<2, 7, 9>>(distinct(2 * 126, 32), 2), 252);
    expect_pass(check_layer<MaxPool<3, 2>, Input<2, 8, 8>>(distinct(2 * 128, 33), 2), 256);
  }
  SECTION("MaxPool<2, 3>: gaps between windows") {
    expect_pass(check_layer<MaxPool<2, 3>, Input<2, 8, 7>>(distinct(2 * 112, 34), 2), 224);
  }
  SECTION("AvgPool") {
    expect_pass(check_layer<AvgPool<2>, Input<3, 5, 7>>(uniform(2 * 105, 35), 2), 210);
    expect_pass(check_layer<AvgPool<3, 2>, Input<2, 8, 8>>(uniform(2 * 128, 36), 2), 256);
  }
  SECTION("GlobalAvgPool") {
    expect_pass(check_layer<GlobalAvgPool, Input<3, 5, 7>>(uniform(2 * 105, 37), 2), 210);
  }
}

TEST_CASE("gradient check: Dropout", "[layers][gradient]") {
  const long batch = 2;
  const auto x = uniform(batch * 105, 41);
  SECTION("train: the mask is fixed by the seed, so the checker sees one linear map") {
    expect_pass(check_layer<Dropout<0.4f>, Input<3, 5, 7>>(x, batch), 210);
  }
  SECTION("train: dx = dy * mask, the mask read off the forward as y / x") {
    Model<Dropout<0.4f>, Input<3, 5, 7>, Cpu> model(5);
    const auto dy = uniform(x.size(), 42);
    const auto pass = forward_backward(model, x, batch, dy);
    std::vector<double> expected(x.size());
    long dropped = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double mask = static_cast<double>(pass.y[i]) / x[i];
      dropped += pass.y[i] == 0.0f;
      expected[i] = dy[i] * mask;
    }
    CHECK(dropped > 0);
    CHECK(dropped < static_cast<long>(x.size()));
    check_close(pass.dx, expected, "dropout dx");
  }
  SECTION("eval: identity") {
    expect_pass(check_layer<Dropout<0.4f>, Input<3, 5, 7>>(x, batch, Mode::eval), 210);
    Model<Dropout<0.4f>, Input<3, 5, 7>, Cpu> model;
    model.eval();
    const auto dy = uniform(x.size(), 43);
    const auto pass = forward_backward(model, x, batch, dy);
    CHECK(pass.y == x);
    CHECK(pass.dx == dy);
  }
}

TEST_CASE("gradient check: Flatten and Linear", "[layers][gradient]") {
  expect_pass(check_layer<Flatten, Input<3, 5, 7>>(uniform(2 * 105, 51), 2), 210);
  expect_pass(check_layer<Linear<12, 5>, Input<12>>(uniform(3 * 12, 52), 3), 36 + 65);
}

// A plain dy and a dy already in the output's own (possibly blocked) layout must give the
// same gradients: the backend reorders a plain one (cpu::in_layout).
template <class Net, class In>
void check_dy_layouts(std::uint64_t seed) {
  INFO(Net::name());
  const long batch = 2;
  const auto x = uniform(batch * In::size, seed);
  Model<Net, In, Cpu> model(seed);
  const auto& out = model.forward(x, batch);
  const auto native_desc = cpu::desc(out);
  const auto dy = uniform(batch * Model<Net, In, Cpu>::OutputShape::size, seed + 1);
  Cpu::Tensor native;
  cpu::ensure(native, native_desc);
  cpu::convert(cpu::memory(cpu::plain_desc(native_desc.dims()), cpu::runtime().engine, const_cast<float*>(dy.data())),
               cpu::mem(native));
  const auto dx_native = Cpu::to_host(*model.backward(native, true));
  const auto grads_native = grad_of(model, "0.weight");

  model.forward(x, batch);  // Dropout redraws its mask here: compare through seeded models
  Model<Net, In, Cpu> twin(seed);
  const auto pass = forward_backward(twin, x, batch, dy);
  check_close(pass.dx, dx_native, "dx, plain dy vs dy in the output's layout", 1e-5, 1e-6);
  check_close(grad_of(twin, "0.weight"), grads_native, "first weight gradient", 1e-5, 1e-6);
}

TEST_CASE("a plain dy for a blocked output is reordered by every layer", "[layers][gradient][layout]") {
  // Conv<3, 16> produces a blocked layout (nChw16c / nChw8c) on AVX2/AVX-512 machines.
  using Stem = Conv<3, 16, 3, 1, 1>;
  check_dy_layouts<Sequential<Stem>, Input<3, 6, 6>>(61);
  check_dy_layouts<Sequential<Stem, BN<16>>, Input<3, 6, 6>>(62);
  check_dy_layouts<Sequential<Stem, ReLU>, Input<3, 6, 6>>(63);
  check_dy_layouts<Sequential<Stem, MaxPool<2>>, Input<3, 6, 6>>(64);
  check_dy_layouts<Sequential<Stem, AvgPool<3, 2>>, Input<3, 7, 7>>(65);
  check_dy_layouts<Sequential<Stem, GlobalAvgPool>, Input<3, 6, 6>>(66);
}

// Dropout is the one layer that refuses a plain dy for a blocked output (it throws instead of
// reordering), so a network ending in Dropout after a Conv can't take a user's loss gradient.
TEST_CASE("Dropout reorders a plain dy for a blocked output like the other layers", "[layers][gradient][layout]") {
  check_dy_layouts<Sequential<Conv<3, 16, 3, 1, 1>, Dropout<0.5f>>, Input<3, 6, 6>>(67);
}

// Conv<3, 16> hands a blocked layout (aBcd16b on AVX-512) to BN, ReLU, MaxPool and Dropout,
// the second Conv takes it as its source, and Flatten turns it back into (C, H, W) order.
TEST_CASE("gradient check: Conv-BN-ReLU-MaxPool-Dropout-Conv-BN-ReLU-Flatten-Linear", "[layers][gradient][network]") {
  using Net = Sequential<Conv<3, 16>, BN<16>, ReLU, MaxPool<2>, Dropout<0.25f>, Conv<16, 8, 3, 2, 0>, BN<8>, ReLU,
                         Flatten, Linear<32, 5>>;
  using In = Input<3, 11, 11>;  // 16x11x11 -> pool 16x5x5 (drops a row and column) -> 8x2x2
  const long batch = 2;
  Model<Net, In, Cpu> model(71);
  set_parameter(model, "1.weight", uniform(16, 72, 0.5f, 1.5f));
  set_parameter(model, "6.bias", uniform(8, 74, -0.5f, 0.5f));
  const auto x = uniform(batch * In::size, 73);
  // One first-layer weight moves hundreds of ReLU and max decisions at once, so kinks can't
  // be avoided by construction; a small step keeps them to a few percent of the elements.
  GradientCheckOptions options;
  options.step = 2e-3f;
  const auto result = check_gradients(model, x, batch, options);
  INFO(result.report());
  CHECK(result.passed());
  CHECK(result.checked == batch * In::size + Model<Net, In, Cpu>::parameter_count);
  CHECK(result.kinks * 10 <= result.checked);
}

TEST_CASE("gradient check: the same network with its kinks smoothed away", "[layers][gradient][network]") {
  // Without ReLU and with AvgPool for MaxPool, every element must pass at the full step.
  // (A sample of 150 elements per tensor: the network above already covers every element.)
  using Net = Sequential<Conv<3, 16>, BN<16>, AvgPool<2>, Dropout<0.25f>, Conv<16, 8, 3, 2, 0>, BN<8>, Flatten,
                         Linear<32, 5>>;
  using In = Input<3, 11, 11>;
  Model<Net, In, Cpu> model(75);
  GradientCheckOptions options;
  options.max_elements_per_tensor = 150;
  expect_pass(check_gradients(model, uniform(2 * In::size, 76), 2, options), 4 * 150 + 16 + 32 + 8 + 16 + 5);  // input, conv and linear weights sampled
}

// --- the checker itself --------------------------------------------------------------------

// y = w * x^2 element-wise with one scalar parameter w, on plain CPU tensors; the template
// arguments plant errors in the input gradient (dx) or the parameter gradient (dw).
template <bool WrongDx, bool WrongDw>
struct ScaledSquare : ShapePreserving {
  static std::string name() { return "ScaledSquare"; }
  template <class In> static constexpr long flops = 2 * In::size;
  template <class In> static constexpr long parameter_count = 1;

  template <class In, class B>
  class Runtime {
   public:
    using Tensor = typename B::Tensor;
    void initialize(Rng&) { w_.assign(std::vector<float>{1.5f}); }
    const Tensor& forward(const Tensor& x, Context<B>&) {
      input_ = &x;
      cpu::ensure(y_, cpu::desc(x));
      for (std::size_t i = 0; i < x.physical_size(); ++i) y_.data()[i] = w_.data()[0] * x.data()[i] * x.data()[i];
      return y_;
    }
    const Tensor* backward(const Tensor& dy, Context<B>&, bool want_dx) {
      const float* x = input_->data();
      double dw = 0;
      for (std::size_t i = 0; i < input_->physical_size(); ++i) dw += double{dy.data()[i]} * x[i] * x[i];
      dw_.data()[0] = static_cast<float>(WrongDw ? 1.05 * dw : dw);
      if (!want_dx) return nullptr;
      cpu::ensure(dx_, cpu::desc(*input_));
      for (std::size_t i = 0; i < input_->physical_size(); ++i)
        dx_.data()[i] = (WrongDx ? 1.0f : 2.0f) * w_.data()[0] * x[i] * dy.data()[i];
      return &dx_;
    }
    void collect(ParameterList<B>& list, const std::string& prefix) {
      list.push_back({prefix + "w", {1}, &w_, &dw_});
    }

   private:
    typename B::Buffer w_{1}, dw_{1};
    Tensor y_, dx_;
    const Tensor* input_ = nullptr;
  };
};

TEST_CASE("the gradient checker passes a right layer and catches wrong gradients", "[layers][gradient][checker]") {
  const auto x = uniform(2 * 10, 81);
  auto run = [&]<class L>() {
    Model<L, Input<10>, Cpu> model;
    return check_gradients(model, x, 2);
  };
  const auto right = run.operator()<ScaledSquare<false, false>>();
  expect_pass(right, 21);

  const auto wrong_dx = run.operator()<ScaledSquare<true, false>>();
  CHECK_FALSE(wrong_dx.passed());
  CHECK(wrong_dx.failed >= 15);  // all but elements with tiny x, where 1x vs 2x is within atol
  REQUIRE_FALSE(wrong_dx.mismatches.empty());
  CHECK(wrong_dx.mismatches.front().tensor == "input");

  // A 5% error in one parameter's gradient is caught (the default relative tolerance is 1%).
  const auto wrong_dw = run.operator()<ScaledSquare<false, true>>();
  CHECK(wrong_dw.failed == 1);
  REQUIRE(wrong_dw.mismatches.size() == 1);
  CHECK(wrong_dw.mismatches.front().tensor == "w");
}

TEST_CASE("the gradient checker accepts kinks one-sided and samples big tensors", "[layers][gradient][checker]") {
  SECTION("ReLU inputs within the step of 0 are kinks, not failures") {
    const auto x = uniform(40, 91, -0.004f, 0.004f);
    const auto result = check_layer<ReLU, Input<20>>(x, 2);
    INFO(result.report());
    CHECK(result.passed());
    CHECK(result.kinks > 10);
    GradientCheckOptions strict;
    strict.allow_kinks = false;
    Model<ReLU, Input<20>, Cpu> model;
    CHECK_FALSE(check_gradients(model, x, 2, strict).passed());
  }
  SECTION("max_elements_per_tensor limits the work") {
    GradientCheckOptions options;
    options.max_elements_per_tensor = 7;
    const auto result = ctnn::testing::check_layer_gradients<Linear<12, 5>, Input<12>, Cpu>(3, options);
    INFO(result.report());
    CHECK(result.passed());
    CHECK(result.checked == 7 + 7 + 5);  // input, weight sampled; bias has only 5
  }
}
