// The seed network's weights both ways between ctnn and PyTorch: ctnn's save_weights file
// loads into PyTorch's seed network with load_state_dict(strict=True) (BN's counters as int64
// scalars included) and gives ctnn's logits; PyTorch's state_dict loads into ctnn strictly
// through rename rules and gives PyTorch's logits. The PyTorch half is torch_seed.py. Skipped
// (exit 77) where no python3 imports torch.
#define CATCH_CONFIG_RUNNER
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>  // getpid

#include <fmt/format.h>

#include <ctnn/ctnn.hpp>
#include <ctnn/io/checkpoint.hpp>
#include <ctnn/models/seed.hpp>

#include "python.hpp"

using namespace ctnn;

namespace {

using Seed = Model<models::SeedNet, models::SeedInput, Cpu>;

// PyTorch's names for the seed network's layers (bench/seed_torch_gpu.py) and ctnn's
// positions: the test's only name map; torch_seed.py receives it in the file's metadata.
const std::vector<io::Rename> torch_to_ctnn{
    {"conv1.", "0.0."}, {"bn1.", "0.1."}, {"conv2.", "0.3."}, {"bn2.", "0.4."}, {"conv3.", "1.0."},
    {"bn3.", "1.1."},   {"conv4.", "1.3."}, {"bn4.", "1.4."}, {"conv5.", "2.0."}, {"bn5.", "2.1."},
    {"conv6.", "2.3."}, {"bn6.", "2.4."}, {"fc1.", "4."},     {"fc2.", "7."}};

// Of the largest |logit|, as in torch_seed.py (which says why): measured 2e-7 relative.
constexpr float tolerance = 1e-5f;

std::vector<float> random(std::size_t count, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(count);
  for (auto& x : v) x = rng.uniform(-2, 2);
  return v;
}

float max_abs_difference(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  float worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(a[i] - b[i]));
  return worst;
}

float max_abs(const std::vector<float>& v) {
  float m = 0;
  for (float x : v) m = std::max(m, std::fabs(x));
  return m;
}

}  // namespace

TEST_CASE("the seed network's weights go both ways between ctnn and PyTorch, strictly, with the same logits",
          "[io][torch]") {
  const auto dir = std::filesystem::temp_directory_path() / ("ctnn_test_torch_seed_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);

  // Two Adam steps: weights away from their initialisation, BN statistics moved, counters at 2.
  Seed model(3);
  loss::CrossEntropy<Cpu> loss;
  optim::Adam adam(model.parameters(), {.lr = 1e-3f});
  const std::vector<std::int32_t> labels{0, 1, 2, 3, 4, 5, 6, 7};
  for (int step = 0; step < 2; ++step) {
    loss.forward(model.forward(random(8 * 3 * 32 * 32, 10 + static_cast<std::uint64_t>(step)), 8), labels);
    model.backward(loss.gradient());
    adam.step();
  }
  // Biases and BN's scales and shifts are still near 0 and 1 after two small steps, where a
  // tensor that didn't arrive would barely show: shift them all well away.
  Rng shift(30);
  for (auto& p : model.parameters()) {
    if (!p.trainable() || !p.is_bias_or_norm()) continue;
    auto v = p.value->to_vector();
    for (auto& x : v) x += shift.uniform(-0.5f, 0.5f);
    p.value->assign(v);
  }
  const auto input = random(4 * 3 * 32 * 32, 20);
  const auto logits = model.predict(input, 4);
  io::save_weights(dir / "ctnn_seed.safetensors", model);
  io::SafetensorsWriter check;
  check.add("input", {4, 3, 32, 32}, input);
  check.add("logits", {4, 10}, logits);
  std::vector<std::string> pairs;
  for (const auto& r : torch_to_ctnn) pairs.push_back(fmt::format(R"(["{}", "{}"])", r.from, r.to));
  check.metadata["rename"] = fmt::format("[{}]", fmt::join(pairs, ", "));
  check.metadata["batches"] = "2";
  check.write(dir / "ctnn_seed_check.safetensors");

  const std::string script = std::string(CTNN_SOURCE_DIR) + "/tests/io/torch_seed.py";
  REQUIRE(ctnn_test::run_command(ctnn_test::python_with("torch") + " '" + script + "' '" + dir.string() + "'") == 0);

  // PyTorch's names don't fit ctnn's positions without the rules, and say so.
  Seed back(11);
  CHECK_THROWS_WITH(io::load_weights(dir / "torch_seed.safetensors", back),
                    Catch::Contains("tensor 'conv1.weight' (shape [32, 3, 3, 3]) in the file has no counterpart"));
  const auto report = io::load_weights(dir / "torch_seed.safetensors", back, {.rename = torch_to_ctnn});
  INFO(report.summary());
  CHECK(report.loaded.size() == 46);  // 6 convs x 2, 6 BNs x 4 + 6 counters, 2 linears x 2
  CHECK(report.skipped.empty());
  CHECK(report.fresh.empty());
  for (const auto& c : back.parameters().counters) CHECK(*c.value == 5);  // PyTorch's five train-mode batches
  const auto torch_check = io::read_safetensors(dir / "torch_seed_check.safetensors");
  const auto torch_logits = torch_check.floats("logits");
  const auto ours = back.predict(torch_check.floats("input"), 4);
  const float diff = max_abs_difference(ours, torch_logits);
  INFO("PyTorch's logits and ctnn's from PyTorch's weights differ by at most " << diff << " of "
                                                                                 << max_abs(torch_logits));
  CHECK(diff <= tolerance * max_abs(torch_logits));
  std::filesystem::remove_all(dir);
}

int main(int argc, char** argv) { return ctnn_test::run_tests_with_python("torch", "python3-torch", argc, argv); }
