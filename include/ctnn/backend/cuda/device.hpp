// Is there a CUDA device this program can use, and if not, why not? Plain C++ over the CUDA
// runtime's C API (no kernels), so it compiles with g++ too and its classification is tested
// on machines without a GPU.
//
// Three answers: usable; absent (no device, or no NVIDIA driver at all: a machine without a
// GPU, where GPU tests skip); broken (a driver too old for this program's CUDA runtime, or any
// other failure: a real problem on a GPU machine, which must not pass as "no GPU").
#pragma once
#include <cstdio>
#include <string>

#include <cuda_runtime_api.h>
#include <fmt/format.h>

namespace ctnn::cuda {

enum class DeviceState { usable, absent, broken };

struct DeviceProbe {
  DeviceState state = DeviceState::absent;
  std::string message;  // what was found, or why nothing can run, for the user
};

// CUDA versions come as 1000 * major + 10 * minor.
inline std::string cuda_version_name(int version) { return fmt::format("{}.{}", version / 1000, version % 1000 / 10); }

// From what cudaGetDeviceCount returned (status, count) and cudaDriverGetVersion and
// cudaRuntimeGetVersion reported. cudaDriverGetVersion reports 0 when no driver is
// installed; the runtime then fails with cudaErrorInsufficientDriver too, which on such a
// machine means "no GPU here", not "update the driver".
inline DeviceProbe classify_device(cudaError_t count_status, int device_count, int driver_version,
                                   int runtime_version) {
  const auto failure = [&] {
    return fmt::format("cudaGetDeviceCount: {} ({})", cudaGetErrorString(count_status), cudaGetErrorName(count_status));
  };
  if (count_status == cudaSuccess) {
    if (device_count > 0) return {DeviceState::usable, fmt::format("{} CUDA device(s)", device_count)};
    return {DeviceState::absent, "no CUDA device is present (cudaGetDeviceCount found 0)"};
  }
  if (count_status == cudaErrorNoDevice)
    return {DeviceState::absent, fmt::format("no CUDA device is present ({})", failure())};
  if (count_status == cudaErrorInsufficientDriver && driver_version == 0)
    return {DeviceState::absent, fmt::format("no NVIDIA driver is installed ({})", failure())};
  if (count_status == cudaErrorInsufficientDriver)
    return {DeviceState::broken,
            fmt::format("the NVIDIA driver supports CUDA {}, older than the CUDA {} runtime this program was built "
                        "with: update the driver ({})",
                        cuda_version_name(driver_version), cuda_version_name(runtime_version), failure())};
  return {DeviceState::broken, fmt::format("CUDA can't be used: {}", failure())};
}

// Asks the CUDA runtime. Never throws; clears the error it may leave behind.
inline DeviceProbe probe_device() {
  int devices = 0, driver = 0, runtime = 0;
  const cudaError_t status = cudaGetDeviceCount(&devices);
  cudaGetLastError();
  cudaDriverGetVersion(&driver);
  cudaRuntimeGetVersion(&runtime);
  return classify_device(status, devices, driver, runtime);
}

// For a program or test that needs a GPU: 0 where one is usable. Otherwise it prints
// "<program>: <why>" and returns the status to exit with: 77 where there is no GPU (the
// "skipped" status of ctest's SKIP_RETURN_CODE and of Automake), 1 where CUDA is broken.
inline int device_exit_status(const char* program) {
  const DeviceProbe probe = probe_device();
  if (probe.state == DeviceState::usable) return 0;
  std::fprintf(stderr, "%s: %s%s\n", program, probe.message.c_str(),
               probe.state == DeviceState::absent ? ": nothing to run on" : "");
  return probe.state == DeviceState::absent ? 77 : 1;
}

}  // namespace ctnn::cuda
