// What code using the CPU backend sees of it: tensors, parameter buffers, settings, and the
// state each layer keeps. None of it names a oneDNN type, so a network's translation unit
// doesn't parse oneDNN's C++ header when the library is compiled separately
// (CTNN_SEPARATE_COMPILATION). The oneDNN side (memory descriptors, primitives, the engine) is
// in runtime.hpp and cpu.ipp.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdlib>  // std::free
#include <memory>   // std::unique_ptr
#include <span>
#include <utility>  // std::exchange, std::swap
#include <vector>

#include "ctnn/core/config.hpp"  // CTNN_INLINE

namespace ctnn::cpu {

// Process-wide choices of the CPU backend. Set them before building a model.
struct Settings {
  // Winograd convolution where oneDNN has it and it is faster (see conv_algorithm in cpu.ipp);
  // false keeps every convolution direct, e.g. to compare results bit for bit with PyTorch.
  bool winograd = true;
  // Threads for batch norm. oneDNN's batch-norm kernel synchronises its threads with a spinning
  // barrier of its own, which OMP_WAIT_POLICY doesn't reach: when another process takes one of
  // the cores, the other thread spins out a time slice at every barrier. Measured on a busy
  // 2-core machine, the seed network trained at 250 img/s with two batch-norm threads and at
  // 1,100 with one; on an idle machine one thread costs about a millisecond a step.
  int batch_norm_threads = 1;
  // Opt-in bf16 compute for convolutions, with fp32 master weights: each convolution runs
  // oneDNN's bf16 kernels on bf16 copies of its input, weights and incoming gradient, and
  // accumulates and writes in fp32, so its output, input gradient and weight gradient stay fp32;
  // the weights, the optimizer and every other layer stay fp32. A product keeps about 3
  // significant digits. Needs AVX512_BF16 (cpu::bf16_supported()): a convolution built without
  // it throws. Read when a layer builds its primitives (its first pass, or a new batch size).
  bool bf16_convolutions = false;
};

inline Settings& settings() {
  static Settings instance;
  return instance;
}

// The oneDNN memory behind a Tensor, defined in runtime.hpp; create and destroy in tensor.ipp.
struct TensorMemory;
CTNN_INLINE TensorMemory* create(TensorMemory*);
CTNN_INLINE void destroy(TensorMemory*);

// Owns one T that only the backend's implementation knows the layout of; made on first use.
// create(T*) and destroy(T*) (the argument only picks the overload) are defined beside T.
template <class T>
class Opaque {
 public:
  Opaque() = default;
  Opaque(Opaque&& other) noexcept : value_(std::exchange(other.value_, nullptr)) {}
  Opaque& operator=(Opaque&& other) noexcept {
    std::swap(value_, other.value_);
    return *this;
  }
  ~Opaque() {
    if (value_) destroy(value_);
  }
  T& operator*() const {
    if (!value_) value_ = create(static_cast<T*>(nullptr));
    return *value_;
  }
  T* operator->() const { return &**this; }

 private:
  mutable T* value_ = nullptr;
};

// An activation or gradient: a oneDNN memory in whatever layout the producing primitive chose
// (runtime.hpp's ensure, mem and desc reach it). The buffer grows but never shrinks, so a
// smaller last batch doesn't reallocate, and a layout change within the capacity costs nothing.
class Tensor {
 public:
  bool empty() const { return data_ == nullptr; }
  long batch() const { return batch_; }
  float* data() const { return data_; }
  // Floats in the physical buffer, including any padding of a blocked layout.
  std::size_t physical_size() const { return physical_size_; }

 private:
  friend struct TensorAccess;  // runtime.hpp
  struct Free {
    void operator()(std::byte* p) const { std::free(p); }
  };
  std::unique_ptr<std::byte, Free> storage_;
  std::size_t capacity_ = 0;
  Opaque<TensorMemory> memory_;
  float* data_ = nullptr;
  std::size_t physical_size_ = 0;
  long batch_ = 0;
};

// A parameter or its gradient: plain row-major floats in host memory (PyTorch's layout:
// Conv weights are out x in/groups x k x k, Linear weights out x in).
class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(std::size_t count) : values_(count, 0.0f) {}
  std::size_t size() const { return values_.size(); }
  float* data() { return values_.data(); }
  const float* data() const { return values_.data(); }
  std::span<float> host() { return values_; }
  std::span<const float> host() const { return values_; }
  // assign / to_vector move values between host and the buffer on every backend (a GPU
  // buffer has no host()); use them in backend-generic code such as checkpoints.
  void assign(std::span<const float> values) { values_.assign(values.begin(), values.end()); }
  std::vector<float> to_vector() const { return values_; }

 private:
  std::vector<float> values_;
};

}  // namespace ctnn::cpu

#ifndef CTNN_SEPARATE_COMPILATION
#include "ctnn/backend/cpu/runtime.hpp"  // TensorMemory, and (tensor.ipp) its create and destroy
#endif
