// The oneDNN CPU runtime: one engine and stream per process, tensors that carry oneDNN's
// memory layout (plain or blocked), plain parameter buffers, and layout conversion.
#pragma once
#include <cstdint>
#include <cstdlib>  // std::getenv
#include <memory>   // std::unique_ptr
#include <span>
#include <vector>

#include <fmt/core.h>
#include <oneapi/dnnl/dnnl.hpp>

#include "ctnn/core/error.hpp"  // Error

namespace ctnn::cpu {

using dnnl::memory;
using Dims = memory::dims;
using Format = memory::format_tag;
constexpr auto f32 = memory::data_type::f32;

// The process-wide oneDNN engine and stream. CPU streams execute in order, so layers never
// synchronise with each other.
struct Runtime {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
};

inline Runtime& runtime() {
  static Runtime instance;
  return instance;
}

// Process-wide choices of the CPU backend. Set them before building a model.
struct Settings {
  // Winograd convolution where oneDNN has it and it is faster (see Cpu::conv_algorithm);
  // false keeps every convolution direct, e.g. to compare results bit for bit with PyTorch.
  bool winograd = true;
  // Threads for batch norm. oneDNN's batch-norm kernel synchronises its threads with a spinning
  // barrier of its own, which OMP_WAIT_POLICY doesn't reach: when another process takes one of
  // the cores, the other thread spins out a time slice at every barrier. Measured on a busy
  // 2-core machine, the seed network trained at 250 img/s with two batch-norm threads and at
  // 1,100 with one; on an idle machine one thread costs about a millisecond a step.
  int batch_norm_threads = 1;
};

inline Settings& settings() {
  static Settings instance;
  return instance;
}

// An activation or gradient: a oneDNN memory in whatever layout the producing primitive chose.
// The buffer grows but never shrinks, so a smaller last batch doesn't reallocate, and a
// layout change within the capacity costs nothing.
class Tensor {
 public:
  Tensor() = default;

  // Makes this tensor hold `desc`, reallocating only when it needs more bytes.
  void ensure(const memory::desc& desc) {
    if (memory_ && memory_.get_desc() == desc) return;
    const std::size_t bytes = desc.get_size();
    if (bytes > capacity_) {
      storage_.reset(static_cast<std::byte*>(std::aligned_alloc(64, round_up(bytes))));
      if (!storage_) throw Error(fmt::format("ctnn cpu: out of memory allocating {} bytes", bytes));
      capacity_ = round_up(bytes);
    }
    memory_ = memory(desc, runtime().engine, storage_.get());
  }

  const memory& mem() const { return memory_; }
  memory::desc desc() const { return memory_.get_desc(); }
  bool empty() const { return !memory_; }
  long batch() const { return memory_.get_desc().dims()[0]; }
  float* data() const { return static_cast<float*>(memory_.get_data_handle()); }
  // Floats in the physical buffer, including any padding of a blocked layout.
  std::size_t physical_size() const { return memory_.get_desc().get_size() / sizeof(float); }

 private:
  struct Free {
    void operator()(std::byte* p) const { std::free(p); }
  };
  static std::size_t round_up(std::size_t bytes) { return (bytes + 63) / 64 * 64; }

  std::unique_ptr<std::byte, Free> storage_;
  std::size_t capacity_ = 0;
  memory memory_;
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

  // A oneDNN view of these floats with the given plain layout.
  memory as(const Dims& dims, Format format) const {
    return memory({dims, f32, format}, runtime().engine, const_cast<float*>(values_.data()));
  }

 private:
  std::vector<float> values_;
};

// Copies `source` into `target`, converting the layout. (memory objects are shared handles:
// the copies below are cheap and write to the same buffers.)
inline void convert(memory source, memory target) {
  dnnl::reorder(source, target).execute(runtime().stream, source, target);
}

// Returns `source` in the layout `wanted`, converting into `scratch` only when they differ.
// (By value: `source` may be a temporary view, and memory objects are cheap shared handles.)
inline memory in_layout(const memory& source, const memory::desc& wanted, Tensor& scratch) {
  if (source.get_desc() == wanted) return source;
  scratch.ensure(wanted);
  convert(source, scratch.mem());
  return scratch.mem();
}


inline memory::desc plain_desc(const Dims& dims) {
  switch (dims.size()) {
    case 1: return {dims, f32, Format::a};
    case 2: return {dims, f32, Format::ab};
    case 4: return {dims, f32, Format::abcd};
    case 5: return {dims, f32, Format::abcde};
    default: throw Error(fmt::format("ctnn cpu: no plain layout for rank {}", dims.size()));
  }
}

}  // namespace ctnn::cpu
