// The seed network as a type list, end to end on the CPU backend: training steps lower the
// loss, runs repeat exactly for a seed, batch sizes can change between calls, and run-time
// misuse raises errors that say what and where.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include <catch2/catch.hpp>
#include <ctnn/ctnn.hpp>
#include <ctnn/models/seed.hpp>

using namespace ctnn;

namespace {

using models::SeedNet;
using SeedModel = Model<SeedNet, Input<3, 32, 32>, Cpu>;

std::vector<float> random_images(long count, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(static_cast<std::size_t>(count * 3 * 32 * 32));
  for (auto& x : v) x = rng.uniform(-2, 2);
  return v;
}

std::vector<std::int32_t> random_labels(long count, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<std::int32_t> v(static_cast<std::size_t>(count));
  for (auto& x : v) x = static_cast<std::int32_t>(rng.next_u64() % 10);
  return v;
}

}  // namespace

TEST_CASE("the seed network's training steps drive the loss down on a fixed batch", "[model][seed]") {
  SeedModel model(7);
  const long batch = 32;
  const auto images = random_images(batch, 1);
  const auto labels = random_labels(batch, 2);
  loss::CrossEntropy<Cpu> loss;
  optim::Adam adam(model.parameters(), {.lr = 1e-3f});

  std::vector<float> losses;
  for (int step = 0; step < 40; ++step) {
    const auto result = loss.forward(model.forward(images, batch), labels);
    REQUIRE(std::isfinite(result.loss));
    losses.push_back(result.loss);
    model.backward(loss.gradient());
    adam.step();
  }
  // Ten random classes start near ln(10) = 2.30; memorising 32 samples takes the loss far
  // below. (PyTorch's seed network, same recipe: 2.47 at first, 0.52-0.80 after 35-40 steps.)
  CHECK(losses.front() == Approx(std::log(10.0f)).margin(0.6));
  const float late = std::accumulate(losses.end() - 5, losses.end(), 0.0f) / 5;
  CHECK(late < 0.5f * losses.front());

  model.eval();
  const auto final_result = loss.forward(model.forward(images, batch), labels);
  CHECK(final_result.correct >= batch * 3 / 4);
}

TEST_CASE("a seed reproduces parameters, dropout masks and outputs exactly", "[model]") {
  const auto images = random_images(8, 3);
  auto run = [&](std::uint64_t seed) {
    SeedModel model(seed);
    return Cpu::to_host(model.forward(images, 8));  // train mode: dropout draws from the seed
  };
  CHECK(run(11) == run(11));
  CHECK(run(11) != run(12));
}

TEST_CASE("the batch size can change between calls", "[model]") {
  SeedModel model(5);
  model.eval();
  const auto images = random_images(16, 4);
  const auto all = model.predict(images, 16);
  const auto first_five = model.predict({images.data(), 5 * 3 * 32 * 32}, 5);
  REQUIRE(all.size() == 16 * 10);
  REQUIRE(first_five.size() == 5 * 10);
  // In eval mode every sample's output is independent of the others in its batch.
  for (std::size_t i = 0; i < first_five.size(); ++i) CHECK(first_five[i] == Approx(all[i]).margin(1e-4));
  const auto again = model.predict(images, 16);  // and back to the larger batch
  for (std::size_t i = 0; i < all.size(); ++i) CHECK(again[i] == Approx(all[i]).margin(1e-5));
}

TEST_CASE("run-time misuse raises errors that name what and where", "[model][errors]") {
  SeedModel model(1);
  const auto images = random_images(4, 1);
  SECTION("an input of the wrong size") {
    CHECK_THROWS_WITH(model.forward({images.data(), images.size() - 1}, 4),
                      Catch::Contains("12287 floats given for a batch of 4 samples of shape 3x32x32") &&
                          Catch::Contains("expected 12288"));
  }
  SECTION("a batch size of zero") {
    CHECK_THROWS_WITH(model.forward(images, 0), Catch::Contains("batch size must be at least 1"));
  }
  SECTION("a label outside the classes") {
    loss::CrossEntropy<Cpu> loss;
    const std::vector<std::int32_t> labels{0, 1, 10, 3};
    CHECK_THROWS_WITH(loss.forward(model.forward(images, 4), labels),
                      Catch::Contains("label 10 of sample 2 is outside [0, 10)"));
  }
  SECTION("fewer labels than samples") {
    loss::CrossEntropy<Cpu> loss;
    const std::vector<std::int32_t> labels{0, 1};
    CHECK_THROWS_WITH(loss.forward(model.forward(images, 4), labels), Catch::Contains("2 labels for a batch of 4"));
  }
  SECTION("backward before any forward, or after a partial one") {
    Cpu::Tensor grad;
    Cpu::from_host(grad, std::vector<float>(40, 0.1f), {4, 10});
    CHECK_THROWS_WITH(model.backward(grad), Catch::Contains("Model::backward: no complete forward has run"));
    model.forward_to("2", images, 4);
    CHECK_THROWS_WITH(model.backward(grad), Catch::Contains("since forward_to"));
  }
}

TEST_CASE("the summary lists every layer with shapes, parameters and FLOPs", "[model][summary]") {
  const auto rows = SeedModel::summary_rows();
  REQUIRE(rows.size() == 3 * 8 + 5);  // three blocks of eight, then Flatten, Linear, ReLU, Dropout, Linear
  CHECK(rows.front().path == "0.0");
  CHECK(rows.front().layer == "Conv<3,32,3,1,1>");
  CHECK(rows.front().output == "32x32x32");
  CHECK(rows[24].layer == "Flatten");
  CHECK(rows[24].output == "2048");
  CHECK(rows.back().output == "10");
  long parameters = 0;
  for (const auto& r : rows) parameters += r.parameters;
  CHECK(parameters == SeedModel::parameter_count);
  // Conv<3,32> on 32x32: 32*32*32 outputs, each 27 multiply-adds plus a bias add.
  CHECK(rows.front().flops == 32L * 32 * 32 * (2 * 27 + 1));
  // The model's named parameters agree with the summary.
  SeedModel model(0);
  long counted = 0;
  for (const auto& p : model.parameters())
    if (p.trainable()) counted += static_cast<long>(p.value->size());
  CHECK(counted == SeedModel::parameter_count);
}

TEST_CASE("BN followed by ReLU runs fused and agrees with BN and ReLU run apart", "[model][fusion]") {
  // Identity between the two (a Sequential boundary) keeps them apart.
  using Fused = Sequential<Conv<3, 8>, BN<8>, ReLU, Flatten, Linear<8 * 6 * 6, 4>>;
  using Apart = Sequential<Conv<3, 8>, BN<8>, Sequential<ReLU>, Flatten, Linear<8 * 6 * 6, 4>>;
  static_assert(Fused::fuses_next<1> && !Apart::fuses_next<1>);
  const long batch = 5;
  Rng rng(9);
  std::vector<float> x(batch * 3 * 6 * 6), r(batch * 4);
  for (auto& v : x) v = rng.uniform(-1, 1);
  for (auto& v : r) v = rng.uniform(-1, 1);
  for (const Mode mode : {Mode::train, Mode::eval}) {
    Model<Fused, Input<3, 6, 6>, Cpu> fused(3);
    Model<Apart, Input<3, 6, 6>, Cpu> apart(3);
    if (mode == Mode::eval) {
      fused.eval();
      apart.eval();
    }
    const auto y_fused = Cpu::to_host(fused.forward(x, batch));
    const auto y_apart = Cpu::to_host(apart.forward(x, batch));
    for (std::size_t i = 0; i < y_fused.size(); ++i) CHECK(y_fused[i] == Approx(y_apart[i]).margin(1e-5));
    Cpu::Tensor grad;
    Cpu::from_host(grad, r, {batch, 4});
    const auto dx_fused = Cpu::to_host(*fused.backward(grad, true));
    const auto dx_apart = Cpu::to_host(*apart.backward(grad, true));
    for (std::size_t i = 0; i < dx_fused.size(); ++i) CHECK(dx_fused[i] == Approx(dx_apart[i]).margin(1e-5));
    auto pf = fused.parameters(), pa = apart.parameters();
    for (std::size_t i = 0; i < pf.size(); ++i) {
      if (!pf[i].trainable()) continue;
      INFO(pf[i].name);
      const auto gf = pf[i].grad->to_vector(), ga = pa[i].grad->to_vector();
      for (std::size_t k = 0; k < gf.size(); ++k) CHECK(gf[k] == Approx(ga[k]).margin(1e-5));
    }
  }
}

TEST_CASE("re-estimating BN statistics averages each batch's statistics with dropout off", "[model][batchnorm]") {
  // Dropout in front of each BN: if it were active during the pass, the statistics would
  // describe inputs with half the elements zeroed and the rest doubled. The first BN runs
  // fused with its ReLU, the second alone.
  using Net = Sequential<Dropout<0.5f>, BN<2>, ReLU, Dropout<0.5f>, BN<2>>;
  using Small = Model<Net, Input<2, 3, 3>, Cpu>;
  constexpr int channels = 2, plane = 9;
  const std::vector<long> sizes{4, 4, 3};
  std::vector<std::vector<float>> batches;
  Rng rng(17);
  for (const long n : sizes) {
    std::vector<float> x(static_cast<std::size_t>(n * channels * plane));
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = rng.uniform(-1, 3) + 0.5f * static_cast<float>(i % 5);
    batches.push_back(std::move(x));
  }
  // The reference, written out: per batch and channel the mean and the unbiased variance (what
  // running_var keeps, as in PyTorch) of BN 1's input; BN 1 normalises with the biased one
  // (its weight is 1 and bias 0 as initialised), ReLU, and the same statistics of BN 4's input.
  struct Stats { std::vector<double> mean, var; };
  auto stats_of = [&](const std::vector<float>& x, long n) {
    Stats s{std::vector<double>(channels), std::vector<double>(channels)};
    for (int c = 0; c < channels; ++c) {
      double sum = 0, sq = 0;
      for (long b = 0; b < n; ++b)
        for (int i = 0; i < plane; ++i) sum += x[static_cast<std::size_t>((b * channels + c) * plane + i)];
      const double count = static_cast<double>(n * plane), mean = sum / count;
      for (long b = 0; b < n; ++b)
        for (int i = 0; i < plane; ++i) {
          const double d = x[static_cast<std::size_t>((b * channels + c) * plane + i)] - mean;
          sq += d * d;
        }
      s.mean[static_cast<std::size_t>(c)] = mean;
      s.var[static_cast<std::size_t>(c)] = sq / (count - 1);
    }
    return s;
  };
  Stats expected1{std::vector<double>(channels), std::vector<double>(channels)}, expected4 = expected1;
  for (std::size_t k = 0; k < batches.size(); ++k) {
    const long n = sizes[k];
    const auto& x = batches[k];
    const Stats s1 = stats_of(x, n);
    std::vector<float> y(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
      const auto c = (i / plane) % channels;
      const double biased = s1.var[c] * (static_cast<double>(n * plane) - 1) / static_cast<double>(n * plane);
      y[i] = static_cast<float>(std::max(0.0, (x[i] - s1.mean[c]) / std::sqrt(biased + 1e-5)));
    }
    const Stats s4 = stats_of(y, n);
    for (std::size_t c = 0; c < channels; ++c) {
      expected1.mean[c] += s1.mean[c] / static_cast<double>(batches.size());
      expected1.var[c] += s1.var[c] / static_cast<double>(batches.size());
      expected4.mean[c] += s4.mean[c] / static_cast<double>(batches.size());
      expected4.var[c] += s4.var[c] / static_cast<double>(batches.size());
    }
  }

  Small model(5);
  model.eval();
  const auto generator_before = model.context().rng.state();
  for (std::size_t k = 0; k < batches.size(); ++k)
    model.accumulate_batch_norm_statistics(batches[k], sizes[k], static_cast<long>(k + 1));
  auto buffer = [&](const std::string& name) {
    for (auto& p : model.parameters())
      if (p.name == name) return p.value->to_vector();
    FAIL("no parameter " << name);
    return std::vector<float>{};
  };
  const auto mean1 = buffer("1.running_mean"), var1 = buffer("1.running_var");
  const auto mean4 = buffer("4.running_mean"), var4 = buffer("4.running_var");
  for (std::size_t c = 0; c < channels; ++c) {
    INFO("channel " << c);
    CHECK(mean1[c] == Approx(expected1.mean[c]).epsilon(1e-5));
    CHECK(var1[c] == Approx(expected1.var[c]).epsilon(1e-5));
    CHECK(mean4[c] == Approx(expected4.mean[c]).epsilon(1e-4).margin(1e-6));
    CHECK(var4[c] == Approx(expected4.var[c]).epsilon(1e-4).margin(1e-6));
  }
  // The pass leaves the mode as it was and draws nothing from the dropout generator.
  CHECK(model.mode() == Mode::eval);
  CHECK(model.context().rng.state() == generator_before);
  // Dropout is back afterwards: a train-mode forward draws its masks again.
  model.train();
  model.forward(batches[0], sizes[0]);
  CHECK(model.context().rng.state() != generator_before);
  CHECK_THROWS_WITH(model.accumulate_batch_norm_statistics(batches[0], sizes[0], 0),
                    Catch::Contains("counts from 1, got 0"));
}
