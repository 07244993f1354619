// Every layer's forward and backward, the optimizers, NaN propagation and two training steps
// of the seed network agree between the CUDA and CPU backends on the same inputs and
// parameters; the CUDA backend keeps its convolution plans per shape, repeats itself bit for
// bit in deterministic mode, and computes the same bits when a step is replayed as a CUDA
// graph. Without a CUDA device (or without any NVIDIA driver) the program says so and exits
// with 77, which ctest counts as skipped, not passed; a driver too old for this CUDA runtime,
// or any other CUDA failure, fails it.
#define CATCH_CONFIG_RUNNER
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <string>

#include <catch2/catch.hpp>
#include <ctnn/backend/cuda/device.hpp>

#include "sides.hpp"

namespace {

float max_abs(const std::vector<float>& v) {
  float m = 0;
  for (float x : v) m = std::max(m, std::fabs(x));
  return m;
}

// GPU convolutions may run in TF32 (10-bit mantissa), as PyTorch's do by default.
void require_close(const std::vector<float>& gpu, const std::vector<float>& cpu, const std::string& what,
                   float tolerance = 2e-2f) {
  INFO(what);
  REQUIRE(gpu.size() == cpu.size());
  const float scale = std::max(1e-6f, max_abs(cpu));
  for (std::size_t i = 0; i < cpu.size(); ++i) {
    INFO("element " << i << " of " << cpu.size());
    REQUIRE(std::fabs(gpu[i] - cpu[i]) <= tolerance * scale);
  }
}

// Compares every gradient, except those zero in exact arithmetic (agreement::ZeroGradients):
// those must be rounding noise on both backends, tiny next to the same layer's weight gradient
// ("0.bias.grad" next to "0.weight.grad").
void require_gradients_close(const agreement::Tensors& gpu, const agreement::Tensors& cpu,
                             const agreement::ZeroGradients& zero) {
  for (const auto& [name, values] : cpu) {
    if (!zero.contains(name)) {
      require_close(gpu.at(name), values, name);
      continue;
    }
    const std::string weight = name.substr(0, name.size() - std::string("bias.grad").size()) + "weight.grad";
    const float weight_scale = max_abs(cpu.at(weight));
    INFO(name << " is zero in exact arithmetic; " << weight << " reaches " << weight_scale);
    CHECK(max_abs(values) <= 1e-3f * weight_scale);
    CHECK(max_abs(gpu.at(name)) <= 1e-3f * weight_scale);
  }
}

}  // namespace

TEST_CASE("every layer agrees between the CUDA and CPU backends", "[cuda]") {
  for (std::size_t i = 0; i < agreement::layer_case_count; ++i) {
    SECTION("case " + std::to_string(i)) {
      const auto cpu = agreement::cpu_layer_case(i);
      const auto gpu = agreement::gpu_layer_case(i);
      require_close(gpu.output, cpu.output, "output");
      require_close(gpu.input_grad, cpu.input_grad, "input gradient");
      REQUIRE(gpu.parameters.size() == cpu.parameters.size());
      require_gradients_close(gpu.parameters, cpu.parameters, agreement::layer_case_zero_gradients(i));
    }
  }
}

TEST_CASE("two training steps of the seed network agree between the CUDA and CPU backends", "[cuda][seed]") {
  const auto cpu = agreement::cpu_seed_steps();
  const auto gpu = agreement::gpu_seed_steps();
  require_close(gpu.first_logits, cpu.first_logits, "logits, step 1");
  CHECK(gpu.first_loss == Approx(cpu.first_loss).epsilon(2e-2));
  REQUIRE(gpu.first_gradients.size() == cpu.first_gradients.size());
  require_gradients_close(gpu.first_gradients, cpu.first_gradients, agreement::seed_zero_gradients());
  require_close(gpu.second_logits, cpu.second_logits, "logits, step 2");
  CHECK(gpu.second_loss == Approx(cpu.second_loss).epsilon(2e-2));
  for (const auto& [name, values] : cpu.parameters) require_close(gpu.parameters.at(name), values, name);
}

TEST_CASE("the optimizers' updates agree between the CUDA and CPU backends on the same gradients", "[cuda]") {
  const auto cpu = agreement::cpu_optimizer_steps();
  const auto gpu = agreement::gpu_optimizer_steps();
  REQUIRE(gpu.size() == cpu.size());
  for (const auto& [name, values] : cpu) require_close(gpu.at(name), values, name, 1e-5f);
}

TEST_CASE("NaN propagates through fused BN + ReLU, max pooling and ReLU on the GPU", "[cuda]") {
  const auto cpu = agreement::cpu_nan_case();
  const auto gpu = agreement::gpu_nan_case();
  using In = agreement::NanInputs;
  // Where the NaN inputs land: elementwise ops keep their positions; 2x2 max pooling of a
  // 2 x 2 x 4 x 4 input maps sample 0's element (1, 1) to output 0 and sample 1's (2, 2) to
  // output 8 + 3.
  const std::map<std::string, std::set<std::size_t>> expected{
      {"bn_relu", {In::first, In::second}}, {"max_pool", {0, 8 + 3}}, {"relu", {In::first, In::second}}};
  for (const auto& [op, nan_at] : expected) {
    INFO(op);
    REQUIRE(gpu.at(op).size() == cpu.at(op).size());
    for (std::size_t i = 0; i < gpu.at(op).size(); ++i) {
      INFO("output element " << i);
      const float g = gpu.at(op)[i], c = cpu.at(op)[i];
      CHECK(std::isnan(g) == nan_at.contains(i));
      if (!nan_at.contains(i)) CHECK(g == Approx(c).epsilon(1e-4).margin(1e-6));
    }
  }
  // The CPU keeps NaN through fused BN + ReLU too. (oneDNN 2.6's ReLU and max pooling on
  // AVX-512 drop it, as max(NaN, x) instructions do, so those aren't compared.)
  for (const std::size_t i : expected.at("bn_relu")) CHECK(std::isnan(cpu.at("bn_relu")[i]));
}

TEST_CASE("convolution algorithms are chosen once per direction and input shape", "[cuda]") {
  // Batches 4 and 3: forward and backward-filter each (4); eval batch 5: forward (1).
  CHECK(agreement::gpu_algorithm_searches_for_alternating_batches() == 5);
}

TEST_CASE("deterministic mode repeats a training run bit for bit", "[cuda]") {
  const auto first = agreement::gpu_deterministic_steps();
  const auto second = agreement::gpu_deterministic_steps();
  REQUIRE(first.size() == second.size());
  for (const auto& [name, values] : first) {
    INFO(name);
    CHECK(second.at(name) == values);
  }
}

TEST_CASE("a train step replayed as a CUDA graph computes what it computes eagerly, bit for bit", "[cuda][graph]") {
  const auto eager = agreement::gpu_graph_steps(false);
  const auto graphed = agreement::gpu_graph_steps(true);
  // Per batch size: one eager step, two captures, replays after; the eval forward's allocation
  // makes batch 6 capture twice more. So 6 captures, and 3 + 1 + 2 replays.
  CHECK(graphed.captures == 6);
  CHECK(graphed.replays == 6);
  CHECK(eager.replays == 0);
  CHECK(graphed.losses == eager.losses);
  REQUIRE(graphed.parameters.size() == eager.parameters.size());
  for (const auto& [name, values] : eager.parameters) {
    INFO(name);
    CHECK(graphed.parameters.at(name) == values);
  }
}

int main(int argc, char** argv) {
  if (const int status = ctnn::cuda::device_exit_status("test_cuda")) return status;
  return Catch::Session().run(argc, argv);
}
