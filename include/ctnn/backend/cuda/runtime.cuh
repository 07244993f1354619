// The CUDA runtime under the Cuda backend: checked calls, the process-wide handles and stream,
// device memory, tensors (plain NCHW fp32 on the device) and RAII cuDNN descriptors.
#pragma once
#if !defined(__CUDACC__)
#error "ctnn/backend/cuda.hpp holds CUDA kernels: compile this translation unit with nvcc (a .cu file, or set_source_files_properties(... LANGUAGE CUDA)) and link ctnn::cuda"
#endif
#include <cstdint>
#include <span>
#include <string>
#include <utility>  // std::swap
#include <vector>

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>
#include <fmt/format.h>

#include "ctnn/core/error.hpp"  // Error

namespace ctnn::cuda {

// --- status checks: every call's failure names the call, where it was made, and why ---------
inline const char* cublas_status_name(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    default: return "unknown cuBLAS status";
  }
}

inline void check(cudaError_t status, const char* call, const char* file, int line) {
  if (status != cudaSuccess)
    throw Error(fmt::format("{} failed at {}:{}: {} ({})", call, file, line, cudaGetErrorString(status),
                            cudaGetErrorName(status)));
}
inline void check(cudnnStatus_t status, const char* call, const char* file, int line) {
  if (status != CUDNN_STATUS_SUCCESS)
    throw Error(fmt::format("{} failed at {}:{}: {}", call, file, line, cudnnGetErrorString(status)));
}
inline void check(cublasStatus_t status, const char* call, const char* file, int line) {
  if (status != CUBLAS_STATUS_SUCCESS)
    throw Error(fmt::format("{} failed at {}:{}: {}", call, file, line, cublas_status_name(status)));
}

#define CTNN_CUDA_CHECK(call) ::ctnn::cuda::check((call), #call, __FILE__, __LINE__)

// --- device memory -----------------------------------------------------------------------
// An owning device allocation. Out of memory says how much was asked for and what is free.
class DeviceMemory {
 public:
  DeviceMemory() = default;
  explicit DeviceMemory(std::size_t bytes) { allocate(bytes); }
  DeviceMemory(DeviceMemory&& other) noexcept : data_(other.data_), bytes_(other.bytes_) {
    other.data_ = nullptr;
    other.bytes_ = 0;
  }
  DeviceMemory& operator=(DeviceMemory&& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(bytes_, other.bytes_);
    return *this;
  }
  DeviceMemory(const DeviceMemory&) = delete;
  DeviceMemory& operator=(const DeviceMemory&) = delete;
  ~DeviceMemory() { if (data_) cudaFree(data_); }

  // Grows to at least `bytes`, discarding the contents when it reallocates.
  void reserve(std::size_t bytes) {
    if (bytes > bytes_) allocate(bytes);
  }
  void* get() const { return data_; }
  std::size_t bytes() const { return bytes_; }

 private:
  void allocate(std::size_t bytes) {
    if (data_) cudaFree(data_);
    data_ = nullptr;
    bytes_ = 0;
    if (bytes == 0) return;
    const cudaError_t status = cudaMalloc(&data_, bytes);
    if (status != cudaSuccess) {
      cudaGetLastError();  // clear the sticky error so later calls can proceed
      std::size_t free = 0, total = 0;
      cudaMemGetInfo(&free, &total);
      throw Error(fmt::format("cudaMalloc of {} bytes ({:.1f} MiB) failed: {} ({:.1f} MiB free of {:.1f} MiB)", bytes,
                              bytes / 1048576.0, cudaGetErrorString(status), free / 1048576.0, total / 1048576.0));
    }
    bytes_ = bytes;
  }

  void* data_ = nullptr;
  std::size_t bytes_ = 0;
};

// --- handles -----------------------------------------------------------------------------
// One cuDNN and one cuBLAS handle on one stream for the process, plus one convolution
// workspace that every layer shares: all work is queued in order on that stream, so no two
// layers use the workspace at once and no layer synchronises with the host.
struct Runtime {
  cudaStream_t stream = nullptr;
  cudnnHandle_t cudnn = nullptr;
  cublasHandle_t cublas = nullptr;
  DeviceMemory workspace;

  Runtime() {
    int devices = 0;
    CTNN_CUDA_CHECK(cudaGetDeviceCount(&devices));
    if (devices == 0) throw Error("ctnn cuda backend: no CUDA device is present");
    CTNN_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    CTNN_CUDA_CHECK(cudnnCreate(&cudnn));
    CTNN_CUDA_CHECK(cudnnSetStream(cudnn, stream));
    CTNN_CUDA_CHECK(cublasCreate(&cublas));
    CTNN_CUDA_CHECK(cublasSetStream(cublas, stream));
  }
  ~Runtime() {
    if (cublas) cublasDestroy(cublas);
    if (cudnn) cudnnDestroy(cudnn);
    if (stream) cudaStreamDestroy(stream);
  }
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  void* workspace_of(std::size_t bytes) {
    workspace.reserve(bytes);
    return workspace.get();
  }
};

inline Runtime& runtime() {
  static Runtime instance;
  return instance;
}

// True when a CUDA device can be used; never throws (for tests that skip without one).
inline bool device_available() {
  int devices = 0;
  const bool ok = cudaGetDeviceCount(&devices) == cudaSuccess && devices > 0;
  cudaGetLastError();
  return ok;
}

// --- tensors and buffers -----------------------------------------------------------------
using Dims = std::vector<std::int64_t>;

// An activation or gradient on the device, plain NCHW (or N x features) fp32. The buffer
// grows but never shrinks, so a smaller last batch reuses it.
class Tensor {
 public:
  void ensure(const Dims& dims) {
    dims_ = dims;
    memory_.reserve(count() * sizeof(float));
  }
  const Dims& dims() const { return dims_; }
  long batch() const { return static_cast<long>(dims_.at(0)); }
  std::size_t count() const {
    std::size_t n = 1;
    for (auto d : dims_) n *= static_cast<std::size_t>(d);
    return dims_.empty() ? 0 : n;
  }
  float* data() const { return static_cast<float*>(memory_.get()); }
  bool empty() const { return dims_.empty(); }

 private:
  Dims dims_;
  DeviceMemory memory_;
};

// A parameter, gradient or optimizer state on the device: plain row-major floats.
class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(std::size_t count) : count_(count), memory_(count * sizeof(float)) {
    if (count) CTNN_CUDA_CHECK(cudaMemsetAsync(memory_.get(), 0, count * sizeof(float), runtime().stream));
  }
  std::size_t size() const { return count_; }
  float* data() { return static_cast<float*>(memory_.get()); }
  const float* data() const { return static_cast<const float*>(memory_.get()); }

  void assign(std::span<const float> values) {
    if (values.size() != count_) {
      memory_ = DeviceMemory(values.size() * sizeof(float));
      count_ = values.size();
    }
    CTNN_CUDA_CHECK(cudaMemcpyAsync(memory_.get(), values.data(), values.size() * sizeof(float),
                                    cudaMemcpyHostToDevice, runtime().stream));
    CTNN_CUDA_CHECK(cudaStreamSynchronize(runtime().stream));  // `values` may go away after return
  }
  std::vector<float> to_vector() const {
    std::vector<float> out(count_);
    CTNN_CUDA_CHECK(cudaMemcpyAsync(out.data(), memory_.get(), count_ * sizeof(float), cudaMemcpyDeviceToHost,
                                    runtime().stream));
    CTNN_CUDA_CHECK(cudaStreamSynchronize(runtime().stream));
    return out;
  }

 private:
  std::size_t count_ = 0;
  DeviceMemory memory_;
};

// --- cuDNN descriptors -------------------------------------------------------------------
template <class Handle, cudnnStatus_t (*Create)(Handle*), cudnnStatus_t (*Destroy)(Handle)>
class Descriptor {
 public:
  Descriptor() { CTNN_CUDA_CHECK(Create(&handle_)); }
  ~Descriptor() {
    if (handle_) Destroy(handle_);
  }
  Descriptor(Descriptor&& other) noexcept : handle_(other.handle_) { other.handle_ = Handle{}; }
  Descriptor& operator=(Descriptor&& other) noexcept {
    std::swap(handle_, other.handle_);
    return *this;
  }
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  operator Handle() const { return handle_; }

 private:
  Handle handle_{};
};

using TensorDescriptor = Descriptor<cudnnTensorDescriptor_t, cudnnCreateTensorDescriptor, cudnnDestroyTensorDescriptor>;
using FilterDescriptor = Descriptor<cudnnFilterDescriptor_t, cudnnCreateFilterDescriptor, cudnnDestroyFilterDescriptor>;
using ConvolutionDescriptor =
    Descriptor<cudnnConvolutionDescriptor_t, cudnnCreateConvolutionDescriptor, cudnnDestroyConvolutionDescriptor>;
using PoolingDescriptor = Descriptor<cudnnPoolingDescriptor_t, cudnnCreatePoolingDescriptor, cudnnDestroyPoolingDescriptor>;
using ActivationDescriptor =
    Descriptor<cudnnActivationDescriptor_t, cudnnCreateActivationDescriptor, cudnnDestroyActivationDescriptor>;

// NCHW fp32; flat N x F tensors are N x F x 1 x 1.
inline void describe(cudnnTensorDescriptor_t desc, const Dims& dims) {
  const int n = static_cast<int>(dims[0]), c = static_cast<int>(dims[1]);
  const int h = dims.size() > 2 ? static_cast<int>(dims[2]) : 1, w = dims.size() > 3 ? static_cast<int>(dims[3]) : 1;
  CTNN_CUDA_CHECK(cudnnSetTensor4dDescriptor(desc, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, c, h, w));
}

inline constexpr float one = 1.0f, zero = 0.0f;

}  // namespace ctnn::cuda
