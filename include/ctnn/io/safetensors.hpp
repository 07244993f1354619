// safetensors files: read, validate and write them.
//
// The format (https://github.com/huggingface/safetensors): 8 bytes, a little-endian unsigned
// header length N; N bytes of JSON, an object mapping each tensor name to
// {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]} plus an optional
// "__metadata__" object of string values; then the data buffer, each tensor's bytes
// little-endian and row-major at [begin, end) counted from the buffer's start.
//
//   io::SafetensorsWriter w;  w.add("0.weight", {32, 3, 3, 3}, values);  w.metadata["epoch"] = "3";
//   w.write("model.safetensors");                      // atomic: a temporary file, then rename
//   auto file = io::read_safetensors("model.safetensors");
//   std::vector<float> v = file.floats("0.weight");    // F32, F16, BF16 or F64 converted to float
//
// Reading validates everything before returning, and a malformed file raises io::FormatError
// naming the file, the tensor and the offset: a header length past the file's end, bad JSON,
// an unknown dtype, a shape that doesn't match the byte count, offsets out of range,
// overlapping, or leaving bytes of the buffer to no tensor (the format forbids holes).
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>  // std::move
#include <vector>

#include <fmt/core.h>

#include "ctnn/core/config.hpp"     // CTNN_INLINE
#include "ctnn/core/error.hpp"      // Error

namespace ctnn::io {

// A file that is not valid safetensors, or whose contents don't fit what is asked of it.
class FormatError : public Error {
 public:
  using Error::Error;
};

enum class Dtype { BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, I64, U64, F64 };

namespace detail {
struct DtypeInfo {
  Dtype dtype;
  const char* name;
  std::size_t bytes;
};
inline constexpr DtypeInfo dtypes[] = {
    {Dtype::BOOL, "BOOL", 1},   {Dtype::U8, "U8", 1},     {Dtype::I8, "I8", 1},
    {Dtype::F8_E5M2, "F8_E5M2", 1}, {Dtype::F8_E4M3, "F8_E4M3", 1}, {Dtype::I16, "I16", 2},
    {Dtype::U16, "U16", 2},     {Dtype::F16, "F16", 2},   {Dtype::BF16, "BF16", 2},
    {Dtype::I32, "I32", 4},     {Dtype::U32, "U32", 4},   {Dtype::F32, "F32", 4},
    {Dtype::I64, "I64", 8},     {Dtype::U64, "U64", 8},   {Dtype::F64, "F64", 8},
};
}  // namespace detail

CTNN_INLINE const char* dtype_name(Dtype d);
CTNN_INLINE std::size_t dtype_size(Dtype d);  // bytes per element

// "[32, 3, 3, 3]"
template <class Int>
std::string shape_text(const std::vector<Int>& shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

struct TensorInfo {
  std::string name;
  Dtype dtype = Dtype::F32;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0, end = 0;  // byte offsets into the data buffer
  std::uint64_t elements() const {
    std::uint64_t n = 1;
    for (auto d : shape) n *= static_cast<std::uint64_t>(d);
    return n;
  }
};

// A parsed, validated safetensors file held in memory.
class Safetensors {
 public:
  std::string source;                           // the file name, for messages
  std::map<std::string, std::string> metadata;  // "__metadata__"
  std::vector<TensorInfo> tensors;              // in header order

  const TensorInfo* find(std::string_view name) const {
    for (const auto& t : tensors)
      if (t.name == name) return &t;
    return nullptr;
  }
  const TensorInfo& at(std::string_view name) const {
    if (const auto* t = find(name)) return *t;
    throw FormatError(fmt::format("safetensors: {}: has no tensor named '{}'", source, name));
  }
  // The tensor's raw little-endian bytes.
  std::span<const std::uint8_t> bytes(const TensorInfo& t) const {
    return std::span<const std::uint8_t>(bytes_).subspan(data_start_ + t.begin, t.end - t.begin);
  }
  // The tensor's values as floats: F32 exactly; F16, BF16 and F64 converted.
  std::vector<float> floats(const TensorInfo& t) const;
  std::vector<float> floats(std::string_view name) const { return floats(at(name)); }
  // Reads the F32 tensor `t` into `out` (exactly its element count), without converting.
  void copy_f32(const TensorInfo& t, std::span<float> out) const;

  std::size_t data_start() const { return data_start_; }  // file offset of the data buffer

 private:
  // parse_safetensors builds one from a file's bytes, validated.
  Safetensors(std::vector<std::uint8_t> bytes, std::string source_name)
      : source(std::move(source_name)), bytes_(std::move(bytes)) {}
  friend Safetensors parse_safetensors(std::vector<std::uint8_t> bytes, std::string source);
  std::vector<std::uint8_t> bytes_;
  std::size_t data_start_ = 0;
};

// Parses and validates the whole file contents `bytes`; `source` names it in messages.
CTNN_INLINE Safetensors parse_safetensors(std::vector<std::uint8_t> bytes, std::string source);
CTNN_INLINE Safetensors parse_safetensors(std::span<const std::uint8_t> bytes, std::string source);
// Reads and validates a file.
CTNN_INLINE Safetensors read_safetensors(const std::filesystem::path& path);

// Collects tensors and metadata, then writes one safetensors file. The header is padded with
// spaces to a multiple of 8 bytes, as the reference writer does, so the data stays aligned.
class SafetensorsWriter {
 public:
  std::map<std::string, std::string> metadata;

  void add(std::string name, std::vector<std::int64_t> shape, std::span<const float> values);

  // The whole file's bytes.
  std::vector<std::uint8_t> bytes() const;

  // Writes the file atomically: into a temporary file beside it, flushed to disk, then renamed
  // over `path`. A crash or error leaves any previous file at `path` intact.
  void write(const std::filesystem::path& path) const;

 private:
  struct Entry {
    std::string name;
    std::vector<std::int64_t> shape;
    std::size_t begin, end;
  };
  std::vector<Entry> entries_;
  std::vector<std::uint8_t> data_;
};

}  // namespace ctnn::io

#ifndef CTNN_SEPARATE_COMPILATION
#include "ctnn/io/safetensors.ipp"
#endif
