// The oneDNN side of the CPU backend: one engine and stream per process, the oneDNN memory
// behind each Tensor (plain or blocked layouts), views of parameter buffers, and layout
// conversion. Only the backend's implementation (cpu.ipp) and code that works with oneDNN
// directly need this header; tensor.hpp is what the rest of ctnn sees.
#pragma once
#include <cstdint>
#include <cstdlib>  // std::aligned_alloc
#include <memory>   // std::unique_ptr
#include <span>
#include <vector>

#include <fmt/core.h>
#include <oneapi/dnnl/dnnl.hpp>

#include "ctnn/backend/cpu/tensor.hpp"  // Tensor, Buffer, Opaque
#include "ctnn/core/error.hpp"          // Error

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

// What a Tensor holds of oneDNN (its create and destroy are in cpu.ipp, with the states').
struct TensorMemory {
  memory value;
};

// The oneDNN view of a Tensor.
struct TensorAccess {
  // Makes `t` hold `desc`, reallocating only when it needs more bytes.
  static void ensure(Tensor& t, const memory::desc& desc) {
    memory& m = t.memory_->value;
    if (m && m.get_desc() == desc) return;
    const std::size_t bytes = desc.get_size();
    if (bytes > t.capacity_) {
      const std::size_t rounded = (bytes + 63) / 64 * 64;
      t.storage_.reset(static_cast<std::byte*>(std::aligned_alloc(64, rounded)));
      if (!t.storage_) throw Error(fmt::format("ctnn cpu: out of memory allocating {} bytes", bytes));
      t.capacity_ = rounded;
    }
    m = memory(desc, runtime().engine, t.storage_.get());
    t.data_ = reinterpret_cast<float*>(t.storage_.get());
    t.physical_size_ = bytes / sizeof(float);
    t.batch_ = desc.dims().empty() ? 0 : desc.dims()[0];
  }
  static const memory& mem(const Tensor& t) { return t.memory_->value; }
};

inline void ensure(Tensor& t, const memory::desc& desc) { TensorAccess::ensure(t, desc); }
inline const memory& mem(const Tensor& t) { return TensorAccess::mem(t); }
inline memory::desc desc(const Tensor& t) { return mem(t).get_desc(); }

// A oneDNN view of a buffer's floats with the given plain layout.
inline memory view(const Buffer& b, const Dims& dims, Format format) {
  return memory({dims, f32, format}, runtime().engine, const_cast<float*>(b.data()));
}

// Copies `source` into `target`, converting the layout. (memory objects are shared handles:
// the copies below are cheap and write to the same buffers.)
inline void convert(memory source, memory target) {
  dnnl::reorder(source, target).execute(runtime().stream, source, target);
}

// Returns `source` in the layout `wanted`, converting into `scratch` only when they differ.
// (By value: `source` may be a temporary view, and memory objects are cheap shared handles.)
inline memory in_layout(const memory& source, const memory::desc& wanted, Tensor& scratch) {
  if (source.get_desc() == wanted) return source;
  ensure(scratch, wanted);
  convert(source, mem(scratch));
  return mem(scratch);
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

#ifndef CTNN_SEPARATE_COMPILATION
#include "ctnn/backend/cpu/tensor.ipp"
#endif
