// The CUDA runtime under the Cuda backend: checked calls, settings, the process-wide handles and
// stream, device and pinned host memory, uploads without waiting, the host side of a captured
// step, tensors (plain NCHW fp32 on the device) and RAII cuDNN descriptors.
#pragma once
#if !defined(__CUDACC__)
#error "ctnn/backend/cuda.hpp holds CUDA kernels: compile this translation unit with nvcc (a .cu file, or set_source_files_properties(... LANGUAGE CUDA)) and link ctnn::cuda"
#endif
#include <array>
#include <cstdint>
#include <cstring>  // std::memcpy
#include <deque>
#include <functional>
#include <span>
#include <string>
#include <utility>  // std::exchange, std::swap
#include <vector>

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>
#include <fmt/format.h>

#include "ctnn/backend/cuda/device.hpp"  // probe_device
#include "ctnn/core/error.hpp"              // Error

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
// Device allocations made so far. A CUDA graph reads the addresses it was captured with, so a
// StepGraph captures again once this count has changed.
inline long& device_allocations() {
  static long count = 0;
  return count;
}

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
    ++device_allocations();
  }

  void* data_ = nullptr;
  std::size_t bytes_ = 0;
};

// --- settings and counters ------------------------------------------------------------------
struct Settings {
  // Reproducible runs: convolutions use only algorithms cuDNN marks deterministic, picked by
  // cuDNN's heuristics rather than by timing (which can pick differently from run to run), and
  // max pooling's backward uses cuDNN's deterministic mode instead of atomics. Two runs of one
  // program on the same GPU model, driver and library versions then compute the same bits.
  // Off (the default), algorithms are the fastest measured, and results may differ in the last
  // bits from run to run. Takes effect for each layer at its next forward.
  bool deterministic = false;
};

inline Settings& settings() {
  static Settings instance;
  return instance;
}

// What the backend did, for tests and for anyone who wonders where the time went.
struct Counters {
  long algorithm_searches = 0;  // convolution algorithm choices (cudnnFind* or heuristics), one per direction
};

inline Counters& counters() {
  static Counters instance;
  return instance;
}

// --- events and pinned host memory ----------------------------------------------------------
// An event made on first use, so that objects holding one can exist before the device is touched.
class Event {
 public:
  Event() = default;
  Event(Event&& other) noexcept : event_(std::exchange(other.event_, nullptr)) {}
  Event& operator=(Event&& other) noexcept {
    std::swap(event_, other.event_);
    return *this;
  }
  ~Event() {
    if (event_) cudaEventDestroy(event_);
  }
  void record(cudaStream_t stream) {
    if (!event_) CTNN_CUDA_CHECK(cudaEventCreateWithFlags(&event_, cudaEventDisableTiming));
    CTNN_CUDA_CHECK(cudaEventRecord(event_, stream));
  }
  // Waits until the work queued before the last record() is done (at once if never recorded).
  void wait() const {
    if (event_) CTNN_CUDA_CHECK(cudaEventSynchronize(event_));
  }

 private:
  cudaEvent_t event_ = nullptr;
};

// Page-locked host memory. Copies between it and the device run asynchronously; from pageable
// memory the runtime first copies through a buffer of its own and the host may wait.
class PinnedMemory {
 public:
  PinnedMemory() = default;
  PinnedMemory(PinnedMemory&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}
  PinnedMemory& operator=(PinnedMemory&& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(bytes_, other.bytes_);
    return *this;
  }
  ~PinnedMemory() {
    if (data_) cudaFreeHost(data_);
  }
  // Grows to at least `bytes`, discarding the contents when it reallocates. The caller makes
  // sure no copy still uses the old memory.
  void reserve(std::size_t bytes) {
    if (bytes <= bytes_) return;
    if (data_) CTNN_CUDA_CHECK(cudaFreeHost(data_));
    data_ = nullptr;
    bytes_ = 0;
    const cudaError_t status = cudaMallocHost(&data_, bytes);
    if (status != cudaSuccess) {
      cudaGetLastError();
      throw Error(fmt::format("cudaMallocHost of {} bytes ({:.1f} MiB of pinned host memory) failed: {}", bytes,
                              bytes / 1048576.0, cudaGetErrorString(status)));
    }
    bytes_ = bytes;
  }
  void* get() const { return data_; }

 private:
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
};

// Host-to-device uploads that don't wait for the device: each copies the data into the next of
// a ring of pinned slots and queues the copy from there. A slot is written again `slot_count`
// uploads later, once its copy is done (an event), which in a training loop it long is.
class UploadRing {
 public:
  static constexpr std::size_t slot_count = 8;  // a train step makes two uploads (images, labels)

  void upload(void* device, const void* host, std::size_t bytes, cudaStream_t stream) {
    if (bytes == 0) return;
    Slot& slot = slots_[next_];
    next_ = (next_ + 1) % slot_count;
    slot.copied.wait();
    slot.memory.reserve(bytes);
    std::memcpy(slot.memory.get(), host, bytes);
    CTNN_CUDA_CHECK(cudaMemcpyAsync(device, slot.memory.get(), bytes, cudaMemcpyHostToDevice, stream));
    slot.copied.record(stream);
  }

 private:
  struct Slot {
    PinnedMemory memory;
    Event copied;
  };
  std::array<Slot, slot_count> slots_;
  std::size_t next_ = 0;
};

// --- capturing a step into a CUDA graph (StepGraph, step_graph.cuh) ------------------------
// While a step is captured, the host data its device work reads lives in cells: pinned memory
// at fixed addresses, which the graph's copies read and which are refilled before each replay.
// What must follow every launch on the stream (the loss's copies back to the host, with their
// bookkeeping) is kept here too.
struct StepCapture {
  struct Cell {
    PinnedMemory memory;
    std::size_t bytes = 0;
    std::function<void(void*)> refill;  // writes a replay's value; empty: the replay's next input
  };
  std::deque<Cell> cells;
  std::vector<std::function<void()>> after_launch;

  // A cell holding `values` now and, in a replay, that replay's next input.
  void* input(const void* values, std::size_t bytes) {
    Cell& c = add(bytes);
    std::memcpy(c.memory.get(), values, bytes);
    return c.memory.get();
  }
  // A cell that `refill` fills, now and before each replay.
  void* generated(std::size_t bytes, std::function<void(void*)> refill) {
    Cell& c = add(bytes);
    refill(c.memory.get());
    c.refill = std::move(refill);
    return c.memory.get();
  }

 private:
  Cell& add(std::size_t bytes) {
    Cell& c = cells.emplace_back();
    c.memory.reserve(bytes);
    c.bytes = bytes;
    return c;
  }
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
  DeviceMemory cublas_workspace;  // cuBLAS's own, set once: it must not allocate while a graph is captured
  UploadRing uploads;
  StepCapture* capture = nullptr;  // the step being captured into a CUDA graph, if any

  Runtime() {
    // "No GPU" and "a driver too old for this program" are different problems; say which.
    if (const DeviceProbe probe = probe_device(); probe.state != DeviceState::usable)
      throw Error(fmt::format("ctnn cuda backend: {}", probe.message));
    CTNN_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    CTNN_CUDA_CHECK(cudnnCreate(&cudnn));
    CTNN_CUDA_CHECK(cudnnSetStream(cudnn, stream));
    CTNN_CUDA_CHECK(cublasCreate(&cublas));
    CTNN_CUDA_CHECK(cublasSetStream(cublas, stream));
    cublas_workspace.reserve(std::size_t{32} << 20);  // what cuBLAS recommends for Hopper
    CTNN_CUDA_CHECK(cublasSetWorkspace(cublas, cublas_workspace.get(), cublas_workspace.bytes()));
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
