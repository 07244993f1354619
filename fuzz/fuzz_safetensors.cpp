// libFuzzer target for the safetensors reader (include/ctnn/io/safetensors.hpp). The input is a
// whole file. Anything but a clean parse or an io::FormatError is a bug: a crash, an ASan/UBSan
// report, another exception type, or a parse that breaks the format's invariants (tensors
// tiling the data buffer exactly, byte counts matching shapes), or F32 tensors that don't read
// back bit for bit after the writer re-writes them, or integer tensors that don't read as
// integers.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "ctnn/io/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ctnn::io;
  try {
    const auto file = parse_safetensors(std::span<const std::uint8_t>(data, size), "fuzz.safetensors");
    const std::uint64_t buffer = size - file.data_start();
    std::uint64_t covered = 0;
    for (const auto& t : file.tensors) {
      if (t.begin > t.end || t.end > buffer) __builtin_trap();
      if (t.elements() * dtype_size(t.dtype) != t.end - t.begin) __builtin_trap();
      covered += t.end - t.begin;
    }
    if (covered != buffer) __builtin_trap();  // no holes, no overlaps
    SafetensorsWriter w;
    w.metadata = file.metadata;
    std::vector<std::vector<float>> kept;
    for (const auto& t : file.tensors) {
      if (t.dtype == Dtype::F32 || t.dtype == Dtype::F16 || t.dtype == Dtype::BF16 || t.dtype == Dtype::F64) {
        auto values = file.floats(t);
        if (values.size() != t.elements()) __builtin_trap();
        if (t.dtype == Dtype::F32) {
          w.add(t.name, t.shape, values);
          kept.push_back(std::move(values));
        }
      } else {
        try {
          file.floats(t);
          __builtin_trap();  // integer tensors are not floats
        } catch (const FormatError&) {
        }
        if (is_integer_dtype(t.dtype)) try {
            if (file.integers(t).size() != t.elements()) __builtin_trap();
          } catch (const FormatError&) {
            if (t.dtype != Dtype::U64) __builtin_trap();  // only a U64 beyond the I64 range may fail
          }
      }
    }
    const auto again = parse_safetensors(w.bytes(), "rewritten");
    std::size_t k = 0;
    for (const auto& t : file.tensors) {
      if (t.dtype != Dtype::F32) continue;
      const auto back = again.floats(t.name);
      if (back.size() != kept[k].size() ||
          (!back.empty() && std::memcmp(back.data(), kept[k].data(), back.size() * sizeof(float)) != 0))
        __builtin_trap();
      ++k;
    }
    if (again.metadata != file.metadata) __builtin_trap();
  } catch (const FormatError&) {
  }
  return 0;
}
