// Definitions for safetensors.hpp (inline, or compiled once with CTNN_SEPARATE_COMPILATION).
#pragma once
#include <algorithm>  // std::sort
#include <bit>        // std::bit_cast
#include <cerrno>
#include <cstring>    // std::strerror
#include <fstream>
#include <limits>

#include <fmt/format.h>
#include <fmt/ranges.h>  // fmt::join

#include "ctnn/io/detail/atomic_file.hpp"  // write_file_atomically
#include "ctnn/io/detail/json.hpp"  // JsonReader, json_quote
#include "ctnn/io/safetensors.hpp"

namespace ctnn::io {

CTNN_INLINE const char* dtype_name(Dtype d) {
  for (const auto& i : detail::dtypes)
    if (i.dtype == d) return i.name;
  return "?";
}
CTNN_INLINE std::size_t dtype_size(Dtype d) {
  for (const auto& i : detail::dtypes)
    if (i.dtype == d) return i.bytes;
  return 0;
}

CTNN_INLINE bool is_float_dtype(Dtype d) {
  return d == Dtype::F32 || d == Dtype::F16 || d == Dtype::BF16 || d == Dtype::F64;
}
CTNN_INLINE bool is_integer_dtype(Dtype d) {
  return d == Dtype::BOOL || d == Dtype::U8 || d == Dtype::I8 || d == Dtype::U16 || d == Dtype::I16 ||
         d == Dtype::U32 || d == Dtype::I32 || d == Dtype::I64 || d == Dtype::U64;
}

namespace detail {

[[noreturn]] CTNN_INLINE void format_error(std::string_view source, std::string_view what) {
  throw FormatError(fmt::format("safetensors: {}: {}", source, what));
}

struct HeaderJsonError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

CTNN_INLINE std::uint64_t read_u64_le(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// A JSON number that must be a non-negative integer that fits 64 bits.
CTNN_INLINE std::uint64_t json_uint(const Json& v, std::string_view source, std::string_view what) {
  if (v.kind != Json::Kind::number)
    format_error(source, fmt::format("{} must be a number, found {}", what, Json::kind_name(v.kind)));
  if (v.text.empty() || v.text[0] == '-' || v.text.find_first_of(".eE") != std::string::npos)
    format_error(source, fmt::format("{} must be a non-negative integer, found {}", what, v.text));
  std::uint64_t n = 0;
  for (const char c : v.text) {
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (n > (std::numeric_limits<std::uint64_t>::max() - digit) / 10)
      format_error(source, fmt::format("{} is too large: {}", what, v.text));
    n = n * 10 + digit;
  }
  return n;
}

CTNN_INLINE float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000) << 16;
  std::uint32_t exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF;
  std::uint32_t bits;
  if (exponent == 0x1F) {
    bits = sign | 0x7F800000u | (mantissa << 13);
  } else if (exponent == 0) {
    if (mantissa == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      int e = -1;
      do {
        ++e;
        mantissa <<= 1;
      } while ((mantissa & 0x400) == 0);
      bits = sign | (static_cast<std::uint32_t>(127 - 15 - e) << 23) | ((mantissa & 0x3FF) << 13);
    }
  } else {
    bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
  }
  return std::bit_cast<float>(bits);
}

}  // namespace detail

// Parses and validates the whole file contents `bytes`; `source` names it in messages.
CTNN_INLINE Safetensors parse_safetensors(std::vector<std::uint8_t> bytes, std::string source) {
  using detail::format_error;
  using detail::Json;
  Safetensors file(std::move(bytes), std::move(source));
  const auto& data = file.bytes_;
  const std::string_view src = file.source;
  if (data.size() < 8)
    format_error(src, fmt::format("the file has {} bytes, too few for the 8-byte header length", data.size()));
  const std::uint64_t header_length = detail::read_u64_le(data.data());
  constexpr std::uint64_t max_header = 100'000'000;  // the reference implementation's limit
  if (header_length > data.size() - 8)
    format_error(src, fmt::format("bad header length {} at byte offset 0: the file has only {} bytes after the "
                                  "8-byte length",
                                  header_length, data.size() - 8));
  if (header_length > max_header)
    format_error(src, fmt::format("bad header length {}: larger than the {} bytes allowed", header_length, max_header));
  if (header_length < 2 || data[8] != '{')
    format_error(src, "the header (byte offset 8) must be a JSON object starting with '{'");
  const std::string_view header(reinterpret_cast<const char*>(data.data() + 8), header_length);
  Json root;
  try {
    root = io::detail::JsonReader<detail::HeaderJsonError>(header).parse();
  } catch (const detail::HeaderJsonError& e) {
    format_error(src, fmt::format("bad JSON in the header (file offset 8 + {})", e.what()));
  }
  if (root.kind != Json::Kind::object) format_error(src, "the header must be a JSON object");

  file.data_start_ = 8 + static_cast<std::size_t>(header_length);
  const std::uint64_t buffer_size = data.size() - file.data_start_;
  bool have_metadata = false;
  for (std::size_t member = 0; member < root.keys.size(); ++member) {
    const std::string& name = root.keys[member];
    const Json& value = root.items[member];
    for (const auto& t : file.tensors)
      if (t.name == name) format_error(src, fmt::format("tensor '{}' appears twice in the header", name));
    if (name == "__metadata__") {
      if (have_metadata) format_error(src, "'__metadata__' appears twice in the header");
      have_metadata = true;
      if (value.kind != Json::Kind::object)
        format_error(src, fmt::format("'__metadata__' must be an object, found {}", Json::kind_name(value.kind)));
      for (std::size_t i = 0; i < value.keys.size(); ++i) {
        const std::string& key = value.keys[i];
        const Json& text = value.items[i];
        if (text.kind != Json::Kind::string)
          format_error(src, fmt::format("metadata '{}' must be a string, found {}", key, Json::kind_name(text.kind)));
        if (!file.metadata.emplace(key, text.text).second)
          format_error(src, fmt::format("metadata '{}' appears twice", key));
      }
      continue;
    }
    if (value.kind != Json::Kind::object)
      format_error(src, fmt::format("tensor '{}' must be described by an object, found {}", name,
                                    Json::kind_name(value.kind)));
    TensorInfo info;
    info.name = name;
    const Json *dtype = nullptr, *shape = nullptr, *offsets = nullptr;
    for (std::size_t i = 0; i < value.keys.size(); ++i) {
      const std::string& key = value.keys[i];
      const Json& member = value.items[i];
      const Json** slot = key == "dtype" ? &dtype : key == "shape" ? &shape : key == "data_offsets" ? &offsets : nullptr;
      if (!slot) continue;  // unknown fields are ignored
      if (*slot) format_error(src, fmt::format("tensor '{}': '{}' appears twice", name, key));
      *slot = &member;
    }
    if (!dtype || !shape || !offsets)
      format_error(src, fmt::format("tensor '{}' lacks '{}'", name, !dtype ? "dtype" : !shape ? "shape" : "data_offsets"));
    if (dtype->kind != Json::Kind::string)
      format_error(src, fmt::format("tensor '{}': dtype must be a string", name));
    bool known = false;
    for (const auto& d : detail::dtypes)
      if (dtype->text == d.name) info.dtype = d.dtype, known = true;
    if (!known) format_error(src, fmt::format("tensor '{}': unknown dtype '{}'", name, dtype->text));
    if (shape->kind != Json::Kind::array)
      format_error(src, fmt::format("tensor '{}': shape must be an array", name));
    std::uint64_t elements = 1;
    bool overflow = false;
    for (const auto& d : shape->items) {
      const std::uint64_t extent = detail::json_uint(d, src, fmt::format("tensor '{}': a shape entry", name));
      if (extent > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        format_error(src, fmt::format("tensor '{}': shape entry {} is too large", name, extent));
      info.shape.push_back(static_cast<std::int64_t>(extent));
      if (extent != 0 && elements > std::numeric_limits<std::uint64_t>::max() / extent) overflow = true;
      elements *= extent;
    }
    if (offsets->kind != Json::Kind::array || offsets->items.size() != 2)
      format_error(src, fmt::format("tensor '{}': data_offsets must be an array [begin, end]", name));
    info.begin = detail::json_uint(offsets->items[0], src, fmt::format("tensor '{}': data_offsets begin", name));
    info.end = detail::json_uint(offsets->items[1], src, fmt::format("tensor '{}': data_offsets end", name));
    if (info.begin > info.end)
      format_error(src, fmt::format("tensor '{}': data_offsets [{}, {}] end before they begin", name, info.begin,
                                    info.end));
    if (info.end > buffer_size)
      format_error(src, fmt::format("tensor '{}': data_offsets [{}, {}] run past the data buffer's {} bytes (file "
                                    "offset {} + {})",
                                    name, info.begin, info.end, buffer_size, file.data_start_, info.end));
    const std::uint64_t size = dtype_size(info.dtype);
    if (overflow || elements > std::numeric_limits<std::uint64_t>::max() / size ||
        elements * size != info.end - info.begin)
      format_error(src, fmt::format("tensor '{}': shape {} of {} needs {} bytes, but data_offsets [{}, {}] hold {}", name,
                                    shape_text(info.shape), dtype->text,
                                    overflow ? std::string("too many") : std::to_string(elements * size), info.begin,
                                    info.end, info.end - info.begin));
    file.tensors.push_back(std::move(info));
  }

  // The tensors must tile the buffer exactly: no overlaps, no holes, nothing left over.
  std::vector<const TensorInfo*> order;
  for (const auto& t : file.tensors) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->begin != b->begin ? a->begin < b->begin : a->end < b->end; });
  std::uint64_t covered = 0;
  const TensorInfo* previous = nullptr;
  for (const auto* t : order) {
    if (t->begin < covered)
      format_error(src, fmt::format("tensors '{}' [{}, {}] and '{}' [{}, {}] overlap", previous->name, previous->begin,
                                    previous->end, t->name, t->begin, t->end));
    if (t->begin > covered)
      format_error(src, fmt::format("bytes [{}, {}) of the data buffer belong to no tensor (before '{}')", covered,
                                    t->begin, t->name));
    covered = t->end;
    previous = t;
  }
  if (covered != buffer_size)
    format_error(src, fmt::format("bytes [{}, {}) at the end of the data buffer belong to no tensor", covered,
                                  buffer_size));
  return file;
}

CTNN_INLINE Safetensors parse_safetensors(std::span<const std::uint8_t> bytes, std::string source) {
  return parse_safetensors(std::vector<std::uint8_t>(bytes.begin(), bytes.end()), std::move(source));
}

// Reads and validates a file.
CTNN_INLINE Safetensors read_safetensors(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw FormatError(fmt::format("safetensors: {}: no such file", path.string()));
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) throw FormatError(fmt::format("safetensors: {}: can't get its size: {}", path.string(), ec.message()));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FormatError(fmt::format("safetensors: {}: can't open it: {}", path.string(), std::strerror(errno)));
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size)))
    throw FormatError(fmt::format("safetensors: {}: read failed after {} of {} bytes", path.string(), in.gcount(), size));
  return parse_safetensors(std::move(bytes), path.string());
}

CTNN_INLINE std::vector<float> Safetensors::floats(const TensorInfo& t) const {
  const auto raw = bytes(t);
  const std::size_t n = t.elements();
  std::vector<float> out(n);
  switch (t.dtype) {
    case Dtype::F32: copy_f32(t, out); break;
    case Dtype::F64:
      for (std::size_t i = 0; i < n; ++i)
        out[i] = static_cast<float>(std::bit_cast<double>(detail::read_u64_le(raw.data() + 8 * i)));
      break;
    case Dtype::F16:
      for (std::size_t i = 0; i < n; ++i)
        out[i] = detail::half_to_float(static_cast<std::uint16_t>(raw[2 * i] | (raw[2 * i + 1] << 8)));
      break;
    case Dtype::BF16:
      for (std::size_t i = 0; i < n; ++i)
        out[i] = std::bit_cast<float>(static_cast<std::uint32_t>(raw[2 * i] | (raw[2 * i + 1] << 8)) << 16);
      break;
    default:
      throw FormatError(fmt::format("safetensors: {}: tensor '{}' has dtype {}; a floating-point tensor (F32, F16, "
                                    "BF16 or F64) is needed",
                                    source, t.name, dtype_name(t.dtype)));
  }
  return out;
}

CTNN_INLINE void Safetensors::copy_f32(const TensorInfo& t, std::span<float> out) const {
  if (t.dtype != Dtype::F32)
    throw FormatError(fmt::format("safetensors: {}: tensor '{}' has dtype {}, expected F32", source, t.name,
                                  dtype_name(t.dtype)));
  if (out.size() != t.elements())
    throw FormatError(fmt::format("safetensors: {}: tensor '{}' has {} elements, {} were expected", source, t.name,
                                  t.elements(), out.size()));
  const auto raw = bytes(t);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::uint8_t* p = raw.data() + 4 * i;
    out[i] = std::bit_cast<float>(static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
                                  static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24);
  }
}

CTNN_INLINE std::vector<std::int64_t> Safetensors::integers(const TensorInfo& t) const {
  const auto raw = bytes(t);
  const std::size_t n = t.elements(), size = dtype_size(t.dtype);
  if (!is_integer_dtype(t.dtype))
    throw FormatError(fmt::format("safetensors: {}: tensor '{}' has dtype {}; an integer tensor (BOOL, U8, I8, U16, "
                                  "I16, U32, I32, I64 or U64) is needed",
                                  source, t.name, dtype_name(t.dtype)));
  // Narrower signed values are sign-extended to 64 bits.
  const bool sign_extend = t.dtype == Dtype::I8 || t.dtype == Dtype::I16 || t.dtype == Dtype::I32;
  std::vector<std::int64_t> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::uint64_t bits = 0;
    for (std::size_t b = size; b-- > 0;) bits = (bits << 8) | raw[size * i + b];
    if (sign_extend && (bits >> (8 * size - 1)) != 0) bits |= ~std::uint64_t{0} << (8 * size);
    if (t.dtype == Dtype::U64 && bits > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      throw FormatError(fmt::format("safetensors: {}: tensor '{}' (U64): element {} is {}, beyond the I64 range",
                                    source, t.name, i, bits));
    out[i] = static_cast<std::int64_t>(bits);
  }
  return out;
}

CTNN_INLINE std::size_t SafetensorsWriter::begin_entry(const std::string& name, const std::vector<std::int64_t>& shape,
                                                       std::size_t count, std::size_t element_bytes) {
  std::uint64_t elements = 1;
  for (auto d : shape) {
    if (d < 0) throw FormatError(fmt::format("safetensors: tensor '{}': negative extent in shape {}", name, shape_text(shape)));
    elements *= static_cast<std::uint64_t>(d);
  }
  if (elements != count)
    throw FormatError(fmt::format("safetensors: tensor '{}': shape {} has {} elements but {} values were given", name,
                                  shape_text(shape), elements, count));
  if (name == "__metadata__") throw FormatError("safetensors: '__metadata__' can't name a tensor");
  for (const auto& e : entries_)
    if (e.name == name) throw FormatError(fmt::format("safetensors: tensor '{}' added twice", name));
  data_.reserve(data_.size() + element_bytes * count);
  return data_.size();
}

// The whole file's bytes.
CTNN_INLINE std::vector<std::uint8_t> SafetensorsWriter::bytes() const {
  std::string header = "{";
  bool first = true;
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    for (const auto& [key, value] : metadata) {
      if (!first) header += ',';
      header += io::detail::json_quote(key) + ':' + io::detail::json_quote(value);
      first = false;
    }
    header += '}';
    first = false;
  }
  for (const auto& e : entries_) {
    if (!first) header += ',';
    header += fmt::format("{}:{{\"dtype\":\"{}\",\"shape\":[{}],\"data_offsets\":[{},{}]}}",
                          io::detail::json_quote(e.name), dtype_name(e.dtype), fmt::join(e.shape, ","), e.begin, e.end);
    first = false;
  }
  header += '}';
  while (header.size() % 8 != 0) header += ' ';
  std::vector<std::uint8_t> out;
  out.reserve(8 + header.size() + data_.size());
  for (int b = 0; b < 8; ++b) out.push_back(static_cast<std::uint8_t>(static_cast<std::uint64_t>(header.size()) >> (8 * b)));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data_.begin(), data_.end());
  return out;
}

CTNN_INLINE void SafetensorsWriter::write(const std::filesystem::path& path) const {
  const auto content = bytes();
  detail::write_file_atomically<FormatError>(
      path, {reinterpret_cast<const char*>(content.data()), content.size()}, "safetensors");
}

}  // namespace ctnn::io
