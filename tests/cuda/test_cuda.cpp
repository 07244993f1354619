// Every layer's forward and backward, and two training steps of the seed network, agree
// between the CUDA and CPU backends on the same inputs and parameters. Without a CUDA device
// the program says so and exits with 77, which ctest counts as skipped (not passed).
#define CATCH_CONFIG_RUNNER
#include <cmath>
#include <cstdio>
#include <string>

#include <catch2/catch.hpp>

#include "sides.hpp"

namespace {

// GPU convolutions may run in TF32 (10-bit mantissa), as PyTorch's do by default.
void require_close(const std::vector<float>& gpu, const std::vector<float>& cpu, const std::string& what,
                   float tolerance = 2e-2f) {
  INFO(what);
  REQUIRE(gpu.size() == cpu.size());
  float scale = 1e-6f;
  for (float v : cpu) scale = std::max(scale, std::fabs(v));
  for (std::size_t i = 0; i < cpu.size(); ++i) {
    INFO("element " << i << " of " << cpu.size());
    REQUIRE(std::fabs(gpu[i] - cpu[i]) <= tolerance * scale);
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
      for (const auto& [name, values] : cpu.parameters) require_close(gpu.parameters.at(name), values, name);
    }
  }
}

TEST_CASE("two training steps of the seed network agree between the CUDA and CPU backends", "[cuda][seed]") {
  const auto cpu = agreement::cpu_seed_steps();
  const auto gpu = agreement::gpu_seed_steps();
  CHECK(gpu.loss == Approx(cpu.loss).epsilon(2e-2));
  require_close(gpu.output, cpu.output, "logits");
  for (const auto& [name, values] : cpu.parameters) require_close(gpu.parameters.at(name), values, name);
}

int main(int argc, char** argv) {
  if (!agreement::gpu_available()) {
    std::printf("test_cuda: no CUDA device is present: skipping the CPU-vs-GPU agreement tests\n");
    return 77;
  }
  return Catch::Session().run(argc, argv);
}
