// Every layer's forward and backward against a naive reference written here: direct loops in
// double, on random inputs, with output sizes computed here independently of the library.
// Also the softmax cross-entropy loss and dropout's statistics.
#include <cmath>  // std::sqrt, std::exp, std::log

#include "naive.hpp"
#include "test_support.hpp"

using namespace ctnn;
using namespace ctnn_test;
using namespace ctnn_test::naive;

namespace {

// --- convolution --------------------------------------------------------------------------

template <int In, int Out, int K, int S, int P, int G, int H, int W, bool Bias = true>
void conv_against_reference(long batch, std::uint64_t seed, double rel = 1e-4, double abs = 1e-5) {
  using L = Conv<In, Out, K, S, P, G, Bias>;
  const ConvGeometry g{In, Out, K, S, P, G, H, W};
  INFO(L::name() << " on " << In << "x" << H << "x" << W);
  using OutShape = typename Model<L, Input<In, H, W>, Cpu>::OutputShape;
  REQUIRE(OutShape::height == g.out_height());
  REQUIRE(OutShape::width == g.out_width());

  Model<L, Input<In, H, W>, Cpu> model(seed);  // PyTorch's random initialisation: non-trivial w, b
  const auto x = uniform(static_cast<std::size_t>(batch) * In * H * W, seed + 1);
  const auto dy = uniform(static_cast<std::size_t>(batch * OutShape::size), seed + 2);
  const auto pass = forward_backward(model, x, batch, dy);
  const auto bias = Bias ? values_of(model, "bias") : std::vector<float>{};
  const auto ref = conv_reference(g, batch, x, values_of(model, "weight"), bias, dy);
  check_close(pass.y, ref.y, "forward", rel, abs);
  check_close(pass.dx, ref.dx, "backward data", rel, abs);
  check_close(grad_of(model, "weight"), ref.dw, "backward weights", rel, abs);
  if constexpr (Bias) check_close(grad_of(model, "bias"), ref.db, "backward bias", rel, abs);
  else CHECK(model.parameters().size() == 1);  // the weight alone: no bias to train or save
}

// --- batch normalisation --------------------------------------------------------------------

template <int C, int H, int W>
void bn_against_reference(long batch, std::uint64_t seed) {
  INFO("BN<" << C << "> on " << C << "x" << H << "x" << W << ", batch " << batch);
  Model<BN<C>, Input<C, H, W>, Cpu> model;
  const auto gamma = uniform(C, seed, 0.5f, 2.0f), beta = uniform(C, seed + 1);
  const auto mean0 = uniform(C, seed + 2), var0 = uniform(C, seed + 3, 0.5f, 2.0f);
  set_parameter(model, "weight", gamma);
  set_parameter(model, "bias", beta);
  set_parameter(model, "running_mean", mean0);
  set_parameter(model, "running_var", var0);
  // Off-centre, scaled inputs so that the batch statistics are far from (0, 1).
  const auto x1 = uniform(static_cast<std::size_t>(batch) * C * H * W, seed + 4, -1.0f, 3.0f);
  const auto x2 = uniform(x1.size(), seed + 5, -2.0f, 1.0f);
  const auto dy = uniform(x1.size(), seed + 6);
  // The forward output, the input gradient and the parameter gradients against the reference.
  auto check_pass = [&](const auto& pass, const auto& ref) {
    check_close(pass.y, ref.y, "forward", 1e-4, 1e-5);
    check_close(pass.dx, ref.dx, "backward data", 1e-4, 1e-5);
    check_close(grad_of(model, "weight"), ref.dgamma, "d gamma", 1e-4, 1e-5);
    check_close(grad_of(model, "bias"), ref.dbeta, "d beta", 1e-4, 1e-5);
  };

  SECTION("train: batch statistics, and two running-statistics updates") {
    model.forward(x1, batch);
    const auto first = bn_train_reference(batch, C, H * W, x1, gamma, beta, mean0, var0, dy);
    check_close(values_of(model, "running_mean"), first.running_mean, "running mean after one step", 1e-5, 1e-6);
    check_close(values_of(model, "running_var"), first.running_var, "running var after one step", 1e-5, 1e-6);
    const std::vector<float> mean1(first.running_mean.begin(), first.running_mean.end());
    const std::vector<float> var1(first.running_var.begin(), first.running_var.end());

    const auto pass = forward_backward(model, x2, batch, dy);
    const auto ref = bn_train_reference(batch, C, H * W, x2, gamma, beta, mean1, var1, dy);
    check_pass(pass, ref);
    check_close(values_of(model, "running_mean"), ref.running_mean, "running mean after two steps", 1e-5, 1e-6);
    check_close(values_of(model, "running_var"), ref.running_var, "running var after two steps", 1e-5, 1e-6);
  }
  SECTION("eval: running statistics, left unchanged") {
    model.eval();
    const auto pass = forward_backward(model, x1, batch, dy);
    const auto ref = bn_eval_reference(batch, C, H * W, x1, gamma, beta, mean0, var0, dy);
    check_pass(pass, ref);
    CHECK(values_of(model, "running_mean") == mean0);
    CHECK(values_of(model, "running_var") == var0);
  }
}

// --- pooling --------------------------------------------------------------------------------

template <class L, int C, int H, int W>
void pool_against_reference(bool max, int kh, int kw, int sh, int sw, std::uint64_t seed, int pad = 0) {
  INFO(L::name() << " on " << C << "x" << H << "x" << W);
  using OutShape = typename Model<L, Input<C, H, W>, Cpu>::OutputShape;
  REQUIRE(OutShape::height == (H + 2 * pad - kh) / sh + 1);
  REQUIRE(OutShape::width == (W + 2 * pad - kw) / sw + 1);
  const long batch = 2;
  Model<L, Input<C, H, W>, Cpu> model;
  const auto x = max ? distinct(batch * C * H * W, seed) : uniform(batch * C * H * W, seed);
  const auto dy = uniform(static_cast<std::size_t>(batch * OutShape::size), seed + 1);
  const auto pass = forward_backward(model, x, batch, dy);
  const auto ref = pool_reference(max, batch, C, H, W, kh, kw, sh, sw, x, dy, pad);
  check_close(pass.y, ref.y, "forward", 1e-5, 1e-6);
  check_close(pass.dx, ref.dx, "backward", 1e-5, 1e-6);
}

}  // namespace

TEST_CASE("Conv matches a direct convolution", "[layers][reference][conv]") {
  conv_against_reference<3, 4, 3, 1, 1, 1, 5, 7>(2, 1);    // odd sizes, padding 1
  conv_against_reference<4, 6, 3, 2, 0, 1, 7, 9>(2, 2);    // stride 2, padding 0
  conv_against_reference<3, 5, 5, 2, 2, 1, 8, 6>(3, 3);    // 5x5, stride 2, even sizes
  conv_against_reference<4, 6, 3, 1, 1, 2, 5, 7>(2, 4);    // grouped
  conv_against_reference<4, 4, 3, 2, 1, 4, 7, 5>(2, 5);    // depthwise, stride 2
  conv_against_reference<3, 16, 1, 1, 0, 1, 3, 5>(2, 6);   // 1x1 with 16 outputs (blocked dst)
  conv_against_reference<16, 8, 3, 1, 1, 1, 6, 6>(2, 7);   // 16 inputs
  conv_against_reference<2, 3, 3, 2, 0, 1, 8, 8>(2, 8);    // floor mode drops the last row and column
}

// cpu::settings().bf16_convolutions on for a scope.
struct Bf16Convolutions {
  Bf16Convolutions() { cpu::settings().bf16_convolutions = true; }
  ~Bf16Convolutions() { cpu::settings().bf16_convolutions = false; }
};

TEST_CASE("bf16 convolutions match a direct convolution within bf16's precision", "[layers][reference][conv][bf16]") {
  if (!cpu::bf16_supported()) {
    WARN("skipped: this CPU has no AVX512_BF16");
    return;
  }
  const Bf16Convolutions on;
  // bf16 keeps 8 significant bits of each input and weight; sums of 27-576 products in fp32.
  conv_against_reference<3, 16, 3, 1, 1, 1, 8, 8>(2, 21, 3e-2, 3e-2);  // plain input, the first layer's case
  conv_against_reference<16, 32, 3, 1, 1, 1, 8, 8>(4, 22, 3e-2, 3e-2);
  conv_against_reference<32, 16, 3, 2, 1, 1, 9, 7>(2, 23, 3e-2, 3e-2);  // stride 2, odd sizes
  conv_against_reference<16, 16, 1, 1, 0, 1, 5, 5, false>(2, 24, 3e-2, 3e-2);
}

TEST_CASE("bf16 convolutions compute in bf16 and keep fp32 master weights", "[layers][conv][bf16]") {
  if (!cpu::bf16_supported()) {
    WARN("skipped: this CPU has no AVX512_BF16");
    return;
  }
  using Net = Sequential<Conv<16, 16, 3, 1, 1>, ReLU, Conv<16, 8, 3, 1, 1>>;
  const long batch = 4;
  const auto x = uniform(static_cast<std::size_t>(batch) * 16 * 8 * 8, 31);
  const auto dy = uniform(static_cast<std::size_t>(batch) * 8 * 8 * 8, 32);
  Model<Net, Input<16, 8, 8>, Cpu> fp32(33), bf16(33);
  const auto reference = forward_backward(fp32, x, batch, dy);
  const Bf16Convolutions on;
  const auto low = forward_backward(bf16, x, batch, dy);
  // Close to fp32, but not equal to it within fp32's rounding: the bf16 kernels did run.
  check_close(low.y, reference.y, "forward against fp32", 3e-2, 3e-2);
  check_close(low.dx, reference.dx, "input gradient against fp32", 3e-2, 3e-2);
  double largest = 0;
  for (std::size_t i = 0; i < low.y.size(); ++i) largest = std::max(largest, double(std::abs(low.y[i] - reference.y[i])));
  CHECK(largest > 1e-3);
  // An update far below bf16's resolution of the weights (2^-8 of each) still lands in them.
  const auto before = values_of(bf16, "0.weight");
  const auto grad = grad_of(bf16, "0.weight");
  const float lr = 1e-6f;
  optim::Sgd sgd(bf16.parameters(), {.lr = lr});
  sgd.step();
  const auto after = values_of(bf16, "0.weight");
  std::size_t moved = 0;
  for (std::size_t i = 0; i < before.size(); ++i) {
    const double expected = double(before[i]) - double(lr) * grad[i];
    CHECK(std::abs(after[i] - expected) <= 1e-7 + 1e-6 * std::abs(expected));
    moved += after[i] != before[i];
  }
  CHECK(moved > before.size() / 2);
}

// Run by ctest with ONEDNN_MAX_CPU_ISA=AVX2 (tests/layers/CMakeLists.txt): bf16 mode refused.
TEST_CASE("bf16 convolutions without AVX512_BF16 fail with the reason", "[.bf16-unsupported]") {
  REQUIRE_FALSE(cpu::bf16_supported());
  const Bf16Convolutions on;
  Model<Conv<3, 8, 3, 1, 1>, Input<3, 8, 8>, Cpu> model(1);
  const auto x = uniform(2 * 3 * 8 * 8, 1);
  REQUIRE_THROWS_WITH(model.forward(x, 2), Catch::Contains("AVX512_BF16") && Catch::Contains("Conv<3, 8, 3>"));
}

// A 3x3 Conv<In, Out> on In x H x W behind a Conv from 3 channels, which hands it a blocked
// input as the seed network's first layer does (Winograd needs one), against the same network
// with every convolution direct (which "Conv matches a direct convolution" checks against the
// reference).
template <int In, int Out, int H, int W>
void winograd_against_direct(long batch, std::uint64_t seed, bool expect_other = true) {
  using Net = Sequential<Conv<3, In, 3, 1, 1>, Conv<In, Out, 3, 1, 1>>;
  INFO("Conv<" << In << ", " << Out << ", 3> on " << In << "x" << H << "x" << W);
  const auto x = uniform(static_cast<std::size_t>(batch) * 3 * H * W, seed);
  const auto dy = uniform(static_cast<std::size_t>(batch) * Out * H * W, seed + 1);
  Model<Net, Input<3, H, W>, Cpu> winograd(seed + 2), direct(seed + 2);
  const auto fast = forward_backward(winograd, x, batch, dy);
  cpu::settings().winograd = false;
  const auto plain = forward_backward(direct, x, batch, dy);
  cpu::settings().winograd = true;
  // F(4x4, 3x3)'s transforms cost a few bits: an absolute tolerance of 1e-4.
  check_close(fast.y, plain.y, "forward", 1e-4, 1e-4);
  check_close(fast.dx, plain.dx, "input gradient (backward-data of both)", 1e-4, 1e-4);
  check_close(grad_of(winograd, "1.weight"), grad_of(direct, "1.weight"), "weight gradient", 1e-4, 1e-4);
  check_close(grad_of(winograd, "1.bias"), grad_of(direct, "1.bias"), "bias gradient", 1e-4, 1e-4);
  if (!expect_other) return;
  CHECK(fast.y != plain.y);  // another algorithm ran: other roundings
  CHECK(fast.dx != plain.dx);
}

TEST_CASE("Winograd convolutions agree with direct ones, and are not them", "[layers][reference][conv][winograd]") {
  // Shapes with Winograd on every machine: oneDNN's on AVX-512, winograd_avx2.hpp's below it
  // (ctest runs this file again with ONEDNN_MAX_CPU_ISA=AVX2).
  winograd_against_direct<64, 32, 8, 8>(2, 41);
  winograd_against_direct<64, 64, 16, 12>(2, 44);  // not square
  winograd_against_direct<128, 64, 4, 4>(3, 47);
  // winograd::fused_forward's shapes below AVX-512 (forward and backward-data): the seed's
  // Conv<32, 32> on 32x32 and Conv<32, 64> on 16x16 (backward-data 64 to 32, 80 tiles in blocks
  // of 18: the last part-filled), and one with an 8-wide output tail, which oneDNN's AVX-512
  // Winograd may not take (16-channel blocks), so only capped must it be another algorithm.
  winograd_against_direct<32, 32, 32, 32>(2, 50);
  winograd_against_direct<32, 64, 16, 16>(5, 53);
  const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
  const auto avx512 = static_cast<unsigned>(dnnl::cpu_isa::avx512_core);
  winograd_against_direct<16, 24, 12, 20>(3, 56, (isa & avx512) != avx512);
}

TEST_CASE("ConvNoBias matches a direct convolution without bias", "[layers][reference][conv]") {
  conv_against_reference<3, 4, 3, 1, 1, 1, 5, 7, false>(2, 9);
  conv_against_reference<3, 16, 7, 2, 3, 1, 12, 10, false>(2, 10);  // the ImageNet stem's 7x7/2
  conv_against_reference<8, 16, 1, 2, 0, 1, 7, 7, false>(2, 11);    // a projection shortcut
}

TEST_CASE("Conv on a blocked source, then Flatten in (C, H, W) order", "[layers][reference][conv][flatten]") {
  // Conv<3, 16, 1> hands a blocked layout to Conv<16, 6, 3, 2, 0>, whose output Flatten must
  // read in PyTorch's (channel, row, column) order; backward goes the other way.
  using Net = Sequential<Conv<3, 16, 1, 1, 0>, Conv<16, 6, 3, 2, 0>, Flatten>;
  using In = Input<3, 7, 8>;
  const long batch = 2;
  Model<Net, In, Cpu> model(8);
  static_assert(std::is_same_v<Model<Net, In, Cpu>::OutputShape, Features<6 * 3 * 3>>);
  const auto x = uniform(batch * In::size, 81);
  const auto dy = uniform(batch * 54, 82);
  const auto pass = forward_backward(model, x, batch, dy);

  const ConvGeometry first{3, 16, 1, 1, 0, 1, 7, 8}, second{16, 6, 3, 2, 0, 1, 7, 8};
  const auto a = conv_reference(first, batch, x, values_of(model, "0.weight"), values_of(model, "0.bias"),
                                std::vector<float>(batch * 16 * 56));
  const std::vector<float> hidden(a.y.begin(), a.y.end());
  const auto b = conv_reference(second, batch, hidden, values_of(model, "1.weight"), values_of(model, "1.bias"), dy);
  const std::vector<float> hidden_grad(b.dx.begin(), b.dx.end());
  const auto back = conv_reference(first, batch, x, values_of(model, "0.weight"), values_of(model, "0.bias"),
                                   hidden_grad);
  check_close(pass.y, b.y, "flattened output", 1e-4, 1e-5);
  check_close(pass.dx, back.dx, "input gradient", 1e-4, 1e-5);
  check_close(grad_of(model, "0.weight"), back.dw, "first weight gradient", 1e-4, 1e-5);
  check_close(grad_of(model, "1.weight"), b.dw, "second weight gradient", 1e-4, 1e-5);
}

TEST_CASE("a model gives the same results after its batch size changes", "[layers][reference][batch]") {
  // Primitives and buffers are rebuilt or reused per input layout; a model that ran a batch
  // of 3 must then compute a batch of 2 exactly as a model that only ever saw 2.
  using Net = Sequential<Conv<3, 16>, BN<16>, ReLU, MaxPool<2>, Flatten, Linear<256, 4>>;
  using In = Input<3, 8, 8>;
  Model<Net, In, Cpu> used(5), fresh(5);
  forward_backward(used, uniform(3 * In::size, 161), 3, uniform(3 * 4, 162));
  const auto x = uniform(2 * In::size, 163), dy = uniform(2 * 4, 164);
  const auto a = forward_backward(used, x, 2, dy), b = forward_backward(fresh, x, 2, dy);
  CHECK(a.y == b.y);
  CHECK(a.dx == b.dx);
  for (const auto* name : {"0.weight", "0.bias", "1.weight", "1.bias", "5.weight", "5.bias"}) {
    INFO(name);
    CHECK(grad_of(used, name) == grad_of(fresh, name));
  }
}

TEST_CASE("Flatten of a plain image is the identity on NCHW floats", "[layers][reference][flatten]") {
  Model<Flatten, Input<3, 5, 7>, Cpu> model;
  const auto x = uniform(2 * 105, 91), dy = uniform(2 * 105, 92);
  const auto pass = forward_backward(model, x, 2, dy);
  CHECK(pass.y == x);
  CHECK(pass.dx == dy);
}

TEST_CASE("BN matches the batch-norm formulas", "[layers][reference][bn]") {
  SECTION("3 channels, 5x7") { bn_against_reference<3, 5, 7>(4, 100); }
  SECTION("16 channels, 3x3") { bn_against_reference<16, 3, 3>(2, 200); }
}

TEST_CASE("ReLU matches max(x, 0)", "[layers][reference][relu]") {
  Model<ReLU, Input<3, 5, 7>, Cpu> model;
  const auto x = away_from_zero(2 * 105, 111), dy = uniform(2 * 105, 112);
  const auto pass = forward_backward(model, x, 2, dy);
  Doubles y(x.size()), dx(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    y[i] = x[i] > 0 ? x[i] : 0.0;
    dx[i] = x[i] > 0 ? dy[i] : 0.0;
  }
  check_close(pass.y, y, "forward", 0, 0);
  check_close(pass.dx, dx, "backward", 0, 0);
}

TEST_CASE("pooling matches direct loops", "[layers][reference][pool]") {
  pool_against_reference<MaxPool<2>, 3, 5, 7>(true, 2, 2, 2, 2, 121);       // floor mode drops a row/column
  pool_against_reference<MaxPool<3, 2>, 2, 7, 9>(true, 3, 3, 2, 2, 122);    // overlapping windows
  pool_against_reference<MaxPool<3, 2>, 2, 8, 8>(true, 3, 3, 2, 2, 123);    // overlapping, drops a row/column
  pool_against_reference<MaxPool<2, 3>, 2, 8, 7>(true, 2, 2, 3, 3, 124);    // gaps between windows
  pool_against_reference<MaxPool<3, 2>, 16, 5, 5>(true, 3, 3, 2, 2, 125);   // 16 channels
  pool_against_reference<AvgPool<2>, 3, 5, 7>(false, 2, 2, 2, 2, 126);
  pool_against_reference<AvgPool<3, 2>, 2, 8, 8>(false, 3, 3, 2, 2, 127);
  pool_against_reference<GlobalAvgPool, 3, 5, 7>(false, 5, 7, 5, 7, 128);
}

TEST_CASE("padded pooling matches direct loops", "[layers][reference][pool]") {
  // Max pads with -infinity (windows at the border take their real elements' maximum);
  // average counts the padding as zeros in a divisor of kh * kw (count_include_pad=True).
  pool_against_reference<MaxPool<3, 2, 1>, 3, 8, 8>(true, 3, 3, 2, 2, 131, 1);     // the ImageNet stem's pool
  pool_against_reference<MaxPool<3, 2, 1>, 16, 7, 9>(true, 3, 3, 2, 2, 132, 1);    // odd sizes, 16 channels
  pool_against_reference<MaxPool<2, 1, 1>, 2, 5, 6>(true, 2, 2, 1, 1, 133, 1);     // stride 1
  pool_against_reference<AvgPool<3, 2, 1>, 3, 8, 8>(false, 3, 3, 2, 2, 134, 1);
  pool_against_reference<AvgPool<3, 1, 1>, 2, 5, 7>(false, 3, 3, 1, 1, 135, 1);    // every border window padded
  pool_against_reference<AvgPool<4, 3, 2>, 2, 9, 8>(false, 4, 4, 3, 3, 136, 2);
}

TEST_CASE("Linear matches x W^T + b", "[layers][reference][linear]") {
  const long batch = 3;
  const int in = 7, out = 5;
  Model<Linear<7, 5>, Input<7>, Cpu> model(9);
  const auto x = uniform(batch * in, 131), dy = uniform(batch * out, 132);
  const auto pass = forward_backward(model, x, batch, dy);
  const auto w = values_of(model, "weight"), b = values_of(model, "bias");
  Doubles y(batch * out), dx(batch * in), dw(out * in), db(out);
  for (long n = 0; n < batch; ++n)
    for (int o = 0; o < out; ++o) {
      y[n * out + o] = b[o];
      db[o] += dy[n * out + o];
      for (int i = 0; i < in; ++i) {
        y[n * out + o] += double{w[o * in + i]} * x[n * in + i];
        dx[n * in + i] += double{dy[n * out + o]} * w[o * in + i];
        dw[o * in + i] += double{dy[n * out + o]} * x[n * in + i];
      }
    }
  check_close(pass.y, y, "forward");
  check_close(pass.dx, dx, "backward data");
  check_close(grad_of(model, "weight"), dw, "backward weights");
  check_close(grad_of(model, "bias"), db, "backward bias");
}

TEST_CASE("softmax cross-entropy matches log-sum-exp", "[loss][reference]") {
  const long n = 5, classes = 7;
  const std::vector<std::int32_t> labels{0, 6, 3, 3, 1};
  auto reference = [&](const std::vector<float>& logits, Doubles& grad, int& correct) {
    double total = 0;
    correct = 0;
    grad.assign(logits.size(), 0.0);
    for (long i = 0; i < n; ++i) {
      const float* row = logits.data() + i * classes;
      double top = row[0];
      long arg = 0;
      for (long k = 1; k < classes; ++k)
        if (row[k] > top) top = row[k], arg = k;
      double sum = 0;
      for (long k = 0; k < classes; ++k) sum += std::exp(row[k] - top);
      const double log_sum = top + std::log(sum);
      total += log_sum - row[labels[i]];
      correct += arg == labels[i];
      for (long k = 0; k < classes; ++k)
        grad[i * classes + k] = (std::exp(row[k] - log_sum) - (k == labels[i] ? 1.0 : 0.0)) / n;
    }
    return total / n;
  };
  for (const float scale : {1.0f, 3.0f, 80.0f}) {  // 80: exp overflows without the max shift
    INFO("logits scaled by " << scale);
    auto logits = uniform(n * classes, 141, -scale, scale);
    logits[3 * classes + 3] = 2 * scale;  // sample 3 is certainly right
    Cpu::Tensor tensor;
    Cpu::from_host(tensor, logits, {n, classes});
    loss::CrossEntropy<Cpu> loss;
    const auto result = loss.forward(tensor, labels);
    Doubles grad;
    int correct = 0;
    const double expected = reference(logits, grad, correct);
    CHECK(result.loss == Approx(expected).epsilon(1e-5));
    CHECK(result.correct == correct);
    CHECK(result.correct >= 1);
    // oneDNN's fp32 log-softmax is good to about 1e-6 in probability; gradients are O(1/n).
    check_close(Cpu::to_host(loss.gradient()), grad, "d loss / d logits", 1e-4, 1e-5);
  }
  SECTION("bad labels are errors") {
    Cpu::Tensor tensor;
    Cpu::from_host(tensor, uniform(n * classes, 142), {n, classes});
    loss::CrossEntropy<Cpu> loss;
    CHECK_THROWS_AS(loss.forward(tensor, std::vector<std::int32_t>{0, 1, 2, 7, 0}), Error);
    CHECK_THROWS_AS(loss.forward(tensor, std::vector<std::int32_t>{0, 1}), Error);
  }
}

TEST_CASE("Dropout drops a fraction P, scales the rest by 1/(1-P), and repeats with the seed",
          "[layers][reference][dropout]") {
  constexpr float p = 0.3f;
  constexpr long size = 200000;
  using Net = Dropout<p>;
  const std::vector<float> ones(size, 1.0f);
  Model<Net, Input<size>, Cpu> model(9);
  const auto y = Cpu::to_host(model.forward(ones, 1));
  long dropped = 0;
  bool kept_scaled = true;
  for (const float v : y) {
    if (v == 0.0f) ++dropped;
    else kept_scaled = kept_scaled && std::abs(v - 1.0 / (1.0 - p)) < 1e-6;
  }
  CHECK(kept_scaled);
  // Binomial: 4 standard deviations of the dropped fraction.
  const double fraction = static_cast<double>(dropped) / size, sigma = std::sqrt(p * (1.0 - p) / size);
  CHECK(std::abs(fraction - p) < 4 * sigma);

  Model<Net, Input<size>, Cpu> same(9), other(10);
  CHECK(Cpu::to_host(same.forward(ones, 1)) == y);
  CHECK(Cpu::to_host(other.forward(ones, 1)) != y);
  CHECK(Cpu::to_host(same.forward(ones, 1)) != y);  // a fresh mask every forward
  same.initialize(9);
  CHECK(Cpu::to_host(same.forward(ones, 1)) == y);  // re-seeding repeats the stream

  SECTION("the backward uses the forward's mask") {
    const auto dy = uniform(size, 151);
    const auto pass = forward_backward(model, ones, 1, dy);
    Doubles expected(size);
    for (long i = 0; i < size; ++i) expected[i] = double{dy[i]} * pass.y[i];  // mask = y / 1
    check_close(pass.dx, expected, "dx = dy * mask", 1e-6, 0);
  }
  SECTION("eval mode is the identity") {
    model.eval();
    const auto dy = uniform(size, 152);
    const auto pass = forward_backward(model, ones, 1, dy);
    CHECK(pass.y == ones);
    CHECK(pass.dx == dy);
  }
}
