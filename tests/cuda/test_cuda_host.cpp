// The CUDA backend's host-side decisions, on any machine: whether a GPU test may skip (only
// when there is no GPU, never when the driver is too old), and the per-shape plan cache that
// keeps cudnnFind* from running again whenever the batch size changes.
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <ctnn/backend/cuda/device.hpp>
#include <ctnn/backend/cuda/shape_cache.hpp>
#include <ctnn/core/error.hpp>

using ctnn::cuda::classify_device;
using ctnn::cuda::DeviceState;

TEST_CASE("only a missing device or driver counts as 'no GPU', a too old driver is an error", "[cuda][device]") {
  SECTION("devices found") {
    const auto p = classify_device(cudaSuccess, 2, 13000, 13000);
    CHECK(p.state == DeviceState::usable);
    CHECK_THAT(p.message, Catch::Contains("2 CUDA device"));
  }
  SECTION("no device: cudaErrorNoDevice (e.g. CUDA_VISIBLE_DEVICES=''), or success with none") {
    CHECK(classify_device(cudaErrorNoDevice, 0, 13000, 13000).state == DeviceState::absent);
    CHECK(classify_device(cudaSuccess, 0, 13000, 13000).state == DeviceState::absent);
    CHECK_THAT(classify_device(cudaErrorNoDevice, 0, 13000, 13000).message,
               Catch::Contains("no CUDA device") && Catch::Contains("cudaErrorNoDevice"));
  }
  SECTION("no driver at all: the runtime says 'insufficient driver' and the driver version is 0") {
    const auto p = classify_device(cudaErrorInsufficientDriver, 0, 0, 13000);
    CHECK(p.state == DeviceState::absent);
    CHECK_THAT(p.message, Catch::Contains("no NVIDIA driver is installed"));
  }
  SECTION("a driver older than the runtime fails, saying which versions and the CUDA error") {
    const auto p = classify_device(cudaErrorInsufficientDriver, 0, 12040, 13000);
    CHECK(p.state == DeviceState::broken);
    CHECK_THAT(p.message, Catch::Contains("supports CUDA 12.4") && Catch::Contains("CUDA 13.0 runtime") &&
                              Catch::Contains("update the driver") &&
                              Catch::Contains(cudaGetErrorString(cudaErrorInsufficientDriver)) &&
                              Catch::Contains("cudaErrorInsufficientDriver"));
  }
  SECTION("any other failure fails with the CUDA error's text") {
    for (const cudaError_t e : {cudaErrorInitializationError, cudaErrorDevicesUnavailable, cudaErrorSystemNotReady}) {
      const auto p = classify_device(e, 0, 13000, 13000);
      INFO(p.message);
      CHECK(p.state == DeviceState::broken);
      CHECK_THAT(p.message, Catch::Contains(cudaGetErrorString(e)) && Catch::Contains(cudaGetErrorName(e)));
    }
  }
  SECTION("probing this machine never throws and gives one of the three answers with a reason") {
    const auto p = ctnn::cuda::probe_device();
    CHECK_FALSE(p.message.empty());
  }
}

namespace {
struct Key {
  std::vector<long> dims;
  bool deterministic = false;
  bool operator==(const Key&) const = default;
};
struct Plan {
  Plan() = default;
  Plan(const Plan&) = delete;  // plans hold descriptors: never copied or moved
  long batch = 0;
};
}  // namespace

TEST_CASE("a shape cache makes one plan per shape and keeps it", "[cuda][plans]") {
  ctnn::cuda::ShapeCache<Key, Plan> cache;
  long made = 0;
  auto plan_for = [&](long batch, bool deterministic = false) -> Plan& {
    return cache.get({{batch, 3, 32, 32}, deterministic}, [&](Plan& p) {
      ++made;
      p.batch = batch;
    });
  };

  SECTION("an epoch of 390 training batches of 128, a last one of 80, then 20 evaluation batches of 500") {
    for (int epoch = 0; epoch < 3; ++epoch) {
      for (int i = 0; i < 390; ++i) CHECK(plan_for(128).batch == 128);
      CHECK(plan_for(80).batch == 80);
      for (int i = 0; i < 20; ++i) CHECK(plan_for(500).batch == 500);
    }
    CHECK(made == 3);
    CHECK(cache.builds() == 3);
    CHECK(cache.size() == 3);
  }
  SECTION("references stay valid as plans are added; the determinism setting is part of the key") {
    Plan& first = plan_for(128);
    for (long b = 1; b < 100; ++b) plan_for(b);
    CHECK(&plan_for(128) == &first);
    CHECK(&plan_for(128, true) != &first);
    CHECK(made == 101);  // 128, 1..99, and 128 deterministic
  }
  SECTION("a plan whose making fails is not kept") {
    CHECK_THROWS_AS(cache.get({{7}, false}, [](Plan&) { throw ctnn::Error("cudnnFind failed"); }), ctnn::Error);
    CHECK(cache.size() == 0);
    CHECK(plan_for(7).batch == 7);
    CHECK(made == 1);
  }
}
