// Residual, Add and Concat: forward and backward against naive references composed of the
// per-layer references (naive.hpp), the finite-difference gradient checker over each of them
// and over a small ResNet with BN, the names and paths they give, and the fusions they allow.
#include <omp.h>  // omp_set_num_threads

#include <ctnn/layers/branches.hpp>
#include <ctnn/testing/gradient_check.hpp>

#include "naive.hpp"
#include "test_support.hpp"

// The gradient checks run thousands of tiny forwards: OpenMP's fork/join would cost more
// than the work (see gradient_check_test.cpp).
static const int single_threaded = (omp_set_num_threads(1), 0);

using namespace ctnn;
using namespace ctnn_test;
using namespace ctnn_test::naive;
using ctnn::testing::check_gradients;

namespace {

Doubles sum(const Doubles& a, const Doubles& b) {
  Doubles out(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) out[i] = a[i] + b[i];
  return out;
}

Doubles plus_input(const Doubles& a, const std::vector<float>& x) { return sum(a, Doubles(x.begin(), x.end())); }

Doubles relu(Doubles v) {
  for (auto& e : v) e = e > 0 ? e : 0.0;
  return v;
}

// dy where the ReLU's output is positive, else 0.
std::vector<float> relu_mask(const Doubles& y, const std::vector<float>& dy) {
  std::vector<float> out(dy.size());
  for (std::size_t i = 0; i < dy.size(); ++i) out[i] = y[i] > 0 ? dy[i] : 0.0f;
  return out;
}

std::vector<float> floats(const Doubles& v) { return {v.begin(), v.end()}; }

// A convolution's reference output and gradients for the weights model has under `prefix`.
template <class M>
ConvResult conv_of(M& model, const std::string& prefix, const ConvGeometry& g, long batch,
                   const std::vector<float>& x, const std::vector<float>& dy, bool bias = true) {
  return conv_reference(g, batch, x, values_of(model, prefix + "weight"),
                        bias ? values_of(model, prefix + "bias") : std::vector<float>{}, dy);
}

void expect_gradients_pass(const ctnn::testing::GradientCheckResult& result, long min_checked) {
  INFO(result.report());
  CHECK(result.passed());
  CHECK(result.checked >= min_checked);
}

// A layer that fails at run time, to see the path a LayerError names.
struct Failing : ShapePreserving {
  static std::string name() { return "Failing"; }
  template <class In> static constexpr long flops = 0;
  template <class In, class B>
  struct Runtime : PassThrough<B> {
    const typename B::Tensor& forward(const typename B::Tensor&, Context<B>&) { throw Error("deliberate failure"); }
  };
};

template <int In, int Out, int Stride>
using BasicBlock = Residual<Sequential<Named<"conv1", ConvNoBias<In, Out, 3, Stride, 1>>, Named<"bn1", BN<Out>>, ReLU,
                                       Named<"conv2", ConvNoBias<Out, Out>>, Named<"bn2", BN<Out>>>,
                            Named<"downsample", ShortcutFor<In, Out, Stride>>, ReLU>;

}  // namespace

TEST_CASE("Residual with the identity shortcut and Post = ReLU is relu(body(x) + x)", "[layers][branches]") {
  using L = Residual<Conv<4, 4>, Identity, ReLU>;
  const long batch = 2;
  const ConvGeometry g{4, 4, 3, 1, 1, 1, 5, 6};
  Model<L, Input<4, 5, 6>, Cpu> model(1);
  const auto x = uniform(batch * 4 * 30, 2), dy = uniform(batch * 4 * 30, 3);
  const auto pass = forward_backward(model, x, batch, dy);

  const auto y = relu(plus_input(conv_of(model, "", g, batch, x, dy).y, x));
  const auto masked = relu_mask(y, dy);
  const auto body = conv_of(model, "", g, batch, x, masked);
  check_close(pass.y, y, "forward");
  check_close(pass.dx, plus_input(body.dx, masked), "input gradient: body's plus the shortcut's");
  check_close(grad_of(model, "weight"), body.dw, "weight gradient");
  check_close(grad_of(model, "bias"), body.db, "bias gradient");
  expect_gradients_pass(check_gradients(model, away_from_zero(batch * 4 * 30, 4), batch), batch * 120 + 148);
}

TEST_CASE("Residual with a strided projection shortcut sums two convolutions' gradients", "[layers][branches]") {
  // Odd input sizes: both branches drop the same last row and column (floor mode).
  using L = Residual<ConvNoBias<4, 8, 3, 2, 1>, ConvNoBias<4, 8, 1, 2, 0>, ReLU>;
  const long batch = 2;
  const ConvGeometry body_g{4, 8, 3, 2, 1, 1, 7, 9}, shortcut_g{4, 8, 1, 2, 0, 1, 7, 9};
  using Out = typename Model<L, Input<4, 7, 9>, Cpu>::OutputShape;
  static_assert(std::is_same_v<Out, Image<8, 4, 5>>);
  Model<L, Input<4, 7, 9>, Cpu> model(5);
  const auto x = uniform(batch * 4 * 63, 6), dy = uniform(batch * Out::size, 7);
  const auto pass = forward_backward(model, x, batch, dy);

  const auto y = relu(sum(conv_of(model, "", body_g, batch, x, dy, false).y,
                          conv_of(model, "shortcut.", shortcut_g, batch, x, dy, false).y));
  const auto masked = relu_mask(y, dy);
  const auto body = conv_of(model, "", body_g, batch, x, masked, false);
  const auto shortcut = conv_of(model, "shortcut.", shortcut_g, batch, x, masked, false);
  check_close(pass.y, y, "forward");
  check_close(pass.dx, sum(body.dx, shortcut.dx), "input gradient: the two branches' sum");
  check_close(grad_of(model, "weight"), body.dw, "body weight gradient");
  check_close(grad_of(model, "shortcut.weight"), shortcut.dw, "shortcut weight gradient");
  expect_gradients_pass(check_gradients(model, away_from_zero(batch * 4 * 63, 8), batch), batch * 252 + 320);
}

TEST_CASE("Residual with a Post layer applies it to the sum", "[layers][branches]") {
  using L = Residual<Conv<3, 3>, Identity, Conv<3, 5, 1, 1, 0>>;
  const long batch = 2;
  const ConvGeometry body_g{3, 3, 3, 1, 1, 1, 4, 5}, post_g{3, 5, 1, 1, 0, 1, 4, 5};
  Model<L, Input<3, 4, 5>, Cpu> model(9);
  const auto x = uniform(batch * 60, 10), dy = uniform(batch * 100, 11);
  const auto pass = forward_backward(model, x, batch, dy);

  const auto joined = floats(plus_input(conv_of(model, "", body_g, batch, x, dy).y, x));
  const auto post = conv_of(model, "post.", post_g, batch, joined, dy);
  const auto g = floats(post.dx);
  const auto body = conv_of(model, "", body_g, batch, x, g);
  check_close(pass.y, post.y, "forward");
  check_close(pass.dx, plus_input(body.dx, g), "input gradient");
  check_close(grad_of(model, "post.weight"), post.dw, "post weight gradient");
  check_close(grad_of(model, "weight"), body.dw, "body weight gradient");
  expect_gradients_pass(check_gradients(model, uniform(batch * 60, 12), batch), batch * 60 + 84 + 20);
}

TEST_CASE("Add sums any number of branches, Identity among them", "[layers][branches]") {
  using L = Add<Conv<5, 5>, Conv<5, 5, 1, 1, 0>, Identity>;
  const long batch = 2;
  const ConvGeometry g0{5, 5, 3, 1, 1, 1, 4, 4}, g1{5, 5, 1, 1, 0, 1, 4, 4};
  Model<L, Input<5, 4, 4>, Cpu> model(13);
  const auto x = uniform(batch * 80, 14), dy = uniform(batch * 80, 15);
  const auto pass = forward_backward(model, x, batch, dy);

  const auto b0 = conv_of(model, "0.", g0, batch, x, dy), b1 = conv_of(model, "1.", g1, batch, x, dy);
  check_close(pass.y, plus_input(sum(b0.y, b1.y), x), "forward");
  check_close(pass.dx, plus_input(sum(b0.dx, b1.dx), dy), "input gradient: every branch's, summed");
  check_close(grad_of(model, "0.weight"), b0.dw, "branch 0 weight gradient");
  check_close(grad_of(model, "1.weight"), b1.dw, "branch 1 weight gradient");
  expect_gradients_pass(check_gradients(model, uniform(batch * 80, 16), batch), batch * 80 + 255);
}

// Concat's reference: each branch's output in its channel range; its dy is that range of dy.
template <class L, int C, int H, int W>
void concat_against_reference(const std::vector<ConvGeometry>& convs, const std::vector<int>& identity_at,
                              std::uint64_t seed) {
  INFO(L::name());
  const long batch = 2;
  using Out = typename Model<L, Input<C, H, W>, Cpu>::OutputShape;
  Model<L, Input<C, H, W>, Cpu> model(seed);
  const auto x = uniform(batch * C * H * W, seed + 1), dy = uniform(batch * Out::size, seed + 2);
  const auto pass = forward_backward(model, x, batch, dy);

  const int plane = H * W;
  Doubles y(dy.size()), dx(x.size());
  int offset = 0, conv_index = 0;
  for (std::size_t branch = 0; branch < convs.size() + identity_at.size(); ++branch) {
    const bool identity = std::find(identity_at.begin(), identity_at.end(), static_cast<int>(branch)) != identity_at.end();
    const int channels = identity ? C : convs[conv_index].out;
    std::vector<float> part_dy(static_cast<std::size_t>(batch) * channels * plane);
    for (long n = 0; n < batch; ++n)
      for (int c = 0; c < channels * plane; ++c)
        part_dy[(n * channels) * plane + c] = dy[(n * Out::channels + offset) * plane + c];
    Doubles part_y, part_dx;
    if (identity) {
      part_y.assign(x.begin(), x.end());
      part_dx.assign(part_dy.begin(), part_dy.end());
    } else {
      const auto prefix = std::to_string(branch) + ".";
      const auto r = conv_of(model, prefix, convs[conv_index++], batch, x, part_dy);
      check_close(grad_of(model, prefix + "weight"), r.dw, "branch " + prefix + " weight gradient");
      part_y = r.y, part_dx = r.dx;
    }
    for (long n = 0; n < batch; ++n)
      for (int c = 0; c < channels * plane; ++c) y[(n * Out::channels + offset) * plane + c] = part_y[(n * channels) * plane + c];
    dx = sum(dx, part_dx);
    offset += channels;
  }
  check_close(pass.y, y, "forward");
  check_close(pass.dx, dx, "input gradient");
  expect_gradients_pass(check_gradients(model, uniform(batch * C * H * W, seed + 3), batch), batch * C * H * W);
}

TEST_CASE("Concat joins branches along the channels and splits the gradient", "[layers][branches]") {
  // Channel offsets 5 and 8 fall inside a blocked layout's 16-channel blocks, so the gradient
  // is split from plain NCHW; offsets of 16 split it in the blocked layout itself.
  concat_against_reference<Concat<Conv<3, 5>, Identity, Conv<3, 16, 1, 1, 0>>, 3, 4, 5>(
      {{3, 5, 3, 1, 1, 1, 4, 5}, {3, 16, 1, 1, 0, 1, 4, 5}}, {1}, 17);
  concat_against_reference<Concat<Conv<16, 16, 1, 1, 0>, Conv<16, 16>>, 16, 3, 3>(
      {{16, 16, 1, 1, 0, 1, 3, 3}, {16, 16, 3, 1, 1, 1, 3, 3}}, {}, 18);
}

TEST_CASE("a ReLU after a Residual in a Sequential joins its add, with the same results", "[layers][branches][fusion]") {
  // Sequential<Residual<...>, ReLU> fuses (Residual::fuses_with); Post = Sequential<ReLU> runs
  // the ReLU as a layer of its own after the add; Post = ReLU fuses directly.
  Model<Sequential<Residual<Conv<4, 4>>, ReLU>, Input<4, 5, 5>, Cpu> fused(21);
  Model<Residual<Conv<4, 4>, Identity, ReLU>, Input<4, 5, 5>, Cpu> post_relu(21);
  Model<Residual<Conv<4, 4>, Identity, Sequential<ReLU>>, Input<4, 5, 5>, Cpu> apart(21);
  const auto x = uniform(2 * 100, 22), dy = uniform(2 * 100, 23);
  const auto a = forward_backward(fused, x, 2, dy), b = forward_backward(post_relu, x, 2, dy),
             c = forward_backward(apart, x, 2, dy);
  CHECK(a.y == b.y);
  CHECK(a.dx == b.dx);
  check_close(a.y, std::vector<double>(c.y.begin(), c.y.end()), "fused vs apart: forward", 1e-6, 1e-7);
  check_close(a.dx, std::vector<double>(c.dx.begin(), c.dx.end()), "fused vs apart: input gradient", 1e-6, 1e-7);
  check_close(grad_of(fused, "0.weight"), grad_of(apart, "weight"), "fused vs apart: weight gradient", 1e-6, 1e-7);
}

TEST_CASE("a residual block first in the network trains without an input gradient", "[layers][branches]") {
  using Net = Sequential<BasicBlock<3, 8, 2>, GlobalAvgPool, Flatten, Linear<8, 4>>;
  Model<Net, Input<3, 6, 6>, Cpu> model(24);
  const auto x = uniform(3 * 108, 25);
  Cpu::Tensor dy;
  Cpu::from_host(dy, uniform(3 * 4, 26), {3, 4});
  model.forward(x, 3);
  REQUIRE(model.backward(dy, true) != nullptr);
  std::vector<std::vector<float>> with_dx;
  for (auto& p : model.parameters())
    if (p.trainable()) with_dx.push_back(p.grad->to_vector());
  model.forward(x, 3);  // BN's running statistics move, the batch statistics don't
  CHECK(model.backward(dy, false) == nullptr);
  std::size_t i = 0;
  for (auto& p : model.parameters())
    if (p.trainable()) CHECK(p.grad->to_vector() == with_dx[i++]);
  CHECK(i == with_dx.size());
}

TEST_CASE("a small ResNet with BN passes the gradient check", "[layers][branches][gradient]") {
  // Identity and projection shortcuts, BN+ReLU fused in the bodies, 16 channels (blocked
  // layouts between the layers), a strided block, in train mode.
  using Net = Sequential<ConvNoBias<3, 16>, BN<16>, ReLU, BasicBlock<16, 16, 1>, BasicBlock<16, 24, 2>, GlobalAvgPool,
                         Flatten, Linear<24, 3>>;
  Model<Net, Input<3, 6, 6>, Cpu> model(27);
  ctnn::testing::GradientCheckOptions options;
  options.max_elements_per_tensor = 40;  // a sample of each tensor keeps the check short
  const auto result = check_gradients(model, uniform(2 * 108, 28), 2, options);
  INFO(result.report());
  CHECK(result.passed());
}

TEST_CASE("Residual names its parts as torchvision does and errors name the full path", "[layers][branches][names]") {
  using Net = Sequential<Named<"layer1", Sequential<BasicBlock<4, 4, 1>, BasicBlock<4, 8, 2>>>, GlobalAvgPool, Flatten,
                         Named<"fc", Linear<8, 2>>>;
  Model<Net, Input<4, 6, 6>, Cpu> model(29);
  std::vector<std::string> names;
  for (auto& p : model.parameters()) names.push_back(p.name);
  const std::vector<std::string> expected{
      "layer1.0.conv1.weight", "layer1.0.bn1.weight", "layer1.0.bn1.bias", "layer1.0.bn1.running_mean",
      "layer1.0.bn1.running_var", "layer1.0.conv2.weight", "layer1.0.bn2.weight", "layer1.0.bn2.bias",
      "layer1.0.bn2.running_mean", "layer1.0.bn2.running_var",
      "layer1.1.conv1.weight", "layer1.1.bn1.weight", "layer1.1.bn1.bias", "layer1.1.bn1.running_mean",
      "layer1.1.bn1.running_var", "layer1.1.conv2.weight", "layer1.1.bn2.weight", "layer1.1.bn2.bias",
      "layer1.1.bn2.running_mean", "layer1.1.bn2.running_var", "layer1.1.downsample.0.weight",
      "layer1.1.downsample.1.weight", "layer1.1.downsample.1.bias", "layer1.1.downsample.1.running_mean",
      "layer1.1.downsample.1.running_var", "fc.weight", "fc.bias"};
  CHECK(names == expected);

  const auto rows = decltype(model)::summary_rows();
  CHECK(rows.front().path == "layer1.0.conv1");
  CHECK(std::any_of(rows.begin(), rows.end(), [](auto& r) { return r.path == "layer1.1" && r.layer == "Add+ReLU"; }));

  using Broken = Sequential<Named<"layer1", Sequential<Residual<Sequential<Named<"conv1", Conv<4, 4>>, Named<"odd", Failing>>>>>>;
  Model<Broken, Input<4, 3, 3>, Cpu> broken(30);
  CHECK_THROWS_WITH(broken.forward(uniform(36, 31), 1),
                    Catch::Contains("layer layer1.0.odd (Failing): deliberate failure"));
}
