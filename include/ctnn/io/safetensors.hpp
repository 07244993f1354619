// safetensors files: read, validate and write them.
//
// The format (https://github.com/huggingface/safetensors): 8 bytes, a little-endian unsigned
// header length N; N bytes of JSON, an object mapping each tensor name to
// {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]} plus an optional
// "__metadata__" object of string values; then the data buffer, each tensor's bytes
// little-endian and row-major at [begin, end) counted from the buffer's start.
//
//   io::SafetensorsWriter w;  w.add("0.weight", {32, 3, 3, 3}, values);  w.metadata["epoch"] = "3";
//   w.add("1.num_batches_tracked", {}, std::vector<std::int64_t>{12});  // the dtype follows the values
//   w.write("model.safetensors");                      // atomic: a temporary file, then rename
//   auto file = io::read_safetensors("model.safetensors");
//   std::vector<float> v = file.floats("0.weight");    // F32, F16, BF16 or F64 converted to float
//   std::vector<std::int64_t> n = file.integers("1.num_batches_tracked");  // BOOL, U8 ... U64, I64
//
// Reading validates everything before returning, and a malformed file raises io::FormatError
// naming the file, the tensor and the offset: a header length past the file's end, bad JSON,
// an unknown dtype, a shape that doesn't match the byte count, offsets out of range,
// overlapping, or leaving bytes of the buffer to no tensor (the format forbids holes).
#pragma once
#include <bit>  // std::bit_cast
#include <concepts>
#include <cstdint>
#include <filesystem>
#include <map>
#include <ranges>
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

// The dtype the writer stores for an element type: float F32, double F64, and the fixed-width
// integers (std::int64_t I64 ... std::uint8_t U8).
template <class T> inline constexpr bool has_dtype = false;
template <class T> inline constexpr Dtype dtype_of = Dtype::BOOL;
#define CTNN_SAFETENSORS_DTYPE(T, D)                  \
  template <> inline constexpr bool has_dtype<T> = true; \
  template <> inline constexpr Dtype dtype_of<T> = Dtype::D;
CTNN_SAFETENSORS_DTYPE(float, F32)
CTNN_SAFETENSORS_DTYPE(double, F64)
CTNN_SAFETENSORS_DTYPE(std::int8_t, I8)
CTNN_SAFETENSORS_DTYPE(std::int16_t, I16)
CTNN_SAFETENSORS_DTYPE(std::int32_t, I32)
CTNN_SAFETENSORS_DTYPE(std::int64_t, I64)
CTNN_SAFETENSORS_DTYPE(std::uint8_t, U8)
CTNN_SAFETENSORS_DTYPE(std::uint16_t, U16)
CTNN_SAFETENSORS_DTYPE(std::uint32_t, U32)
CTNN_SAFETENSORS_DTYPE(std::uint64_t, U64)
#undef CTNN_SAFETENSORS_DTYPE

// The unsigned integer of T's size, whose bits the writer stores little-endian.
template <std::size_t Bytes> struct bits_of_size;
template <> struct bits_of_size<1> { using type = std::uint8_t; };
template <> struct bits_of_size<2> { using type = std::uint16_t; };
template <> struct bits_of_size<4> { using type = std::uint32_t; };
template <> struct bits_of_size<8> { using type = std::uint64_t; };
}  // namespace detail

CTNN_INLINE const char* dtype_name(Dtype d);
CTNN_INLINE std::size_t dtype_size(Dtype d);  // bytes per element
CTNN_INLINE bool is_float_dtype(Dtype d);    // F32, F16, BF16, F64: what floats() reads
CTNN_INLINE bool is_integer_dtype(Dtype d);  // BOOL, U8 ... U64, I64: what integers() reads

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
  // The values of an integer tensor (BOOL, U8, I8, U16, I16, U32, I32, I64, U64) as 64-bit
  // integers; a U64 value above the I64 range raises FormatError.
  std::vector<std::int64_t> integers(const TensorInfo& t) const;
  std::vector<std::int64_t> integers(std::string_view name) const { return integers(at(name)); }

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

  // Adds tensor `name` of `shape` holding `values` (row-major), stored as the element type's
  // dtype (detail::dtype_of): a std::vector<float> as F32, a std::vector<std::int64_t> as I64.
  template <std::ranges::contiguous_range Values>
    requires detail::has_dtype<std::ranges::range_value_t<Values>>
  void add(std::string name, std::vector<std::int64_t> shape, const Values& values) {
    using T = std::ranges::range_value_t<Values>;
    using Bits = typename detail::bits_of_size<sizeof(T)>::type;
    const std::size_t begin = begin_entry(name, shape, std::ranges::size(values), sizeof(T));
    for (const T v : values) {
      const auto bits = std::bit_cast<Bits>(v);
      for (std::size_t b = 0; b < sizeof(T); ++b) data_.push_back(static_cast<std::uint8_t>(bits >> (8 * b)));
    }
    entries_.push_back({std::move(name), std::move(shape), detail::dtype_of<T>, begin, data_.size()});
  }

  // The whole file's bytes.
  std::vector<std::uint8_t> bytes() const;

  // Writes the file atomically: into a temporary file beside it, flushed to disk, then renamed
  // over `path`. A crash or error leaves any previous file at `path` intact.
  void write(const std::filesystem::path& path) const;

 private:
  // Checks a new tensor (its name unused, its shape holding `count` values) and reserves room
  // for its bytes; returns where they begin.
  std::size_t begin_entry(const std::string& name, const std::vector<std::int64_t>& shape, std::size_t count,
                          std::size_t element_bytes);
  struct Entry {
    std::string name;
    std::vector<std::int64_t> shape;
    Dtype dtype;
    std::size_t begin, end;
  };
  std::vector<Entry> entries_;
  std::vector<std::uint8_t> data_;
};

}  // namespace ctnn::io

#ifndef CTNN_SEPARATE_COMPILATION
#include "ctnn/io/safetensors.ipp"
#endif
