// Definitions for checkpoint.hpp (inline, or compiled once with CTNN_SEPARATE_COMPILATION).
#pragma once
#include <algorithm>  // std::copy
#include <cerrno>
#include <cstdlib>  // std::strtoull, std::strtol, std::strtof

#include <fmt/format.h>

#include "ctnn/io/checkpoint.hpp"

namespace ctnn::io::detail {

CTNN_INLINE void write_slots(const std::filesystem::path& path, const std::vector<Slot>& slots, const Metadata& metadata) {
  SafetensorsWriter writer;
  writer.metadata = metadata;
  writer.metadata.try_emplace("format", "pt");  // what PyTorch's safetensors tooling expects
  for (const auto& s : slots) writer.add(s.name, s.shape, s.read());
  writer.write(path);
}

CTNN_INLINE void read_slots(const Safetensors& file, const std::vector<Slot>& slots, const std::string& ignore_prefix,
                            const char* what) {
  std::vector<const TensorInfo*> found;
  for (const auto& s : slots) {
    const TensorInfo* t = file.find(s.name);
    if (!t)
      throw FormatError(fmt::format("checkpoint {}: has no tensor '{}' ({} shape {}); it doesn't match this {}",
                                    file.source, s.name, what, shape_text(s.shape), what));
    if (t->shape != s.shape)
      throw FormatError(fmt::format("checkpoint {}: tensor '{}' has shape {} in the file but {} in the {}", file.source,
                                    s.name, shape_text(t->shape), shape_text(s.shape), what));
    if (t->dtype != Dtype::F32 && t->dtype != Dtype::F16 && t->dtype != Dtype::BF16 && t->dtype != Dtype::F64)
      throw FormatError(fmt::format("checkpoint {}: tensor '{}' has dtype {}; parameters need floating point",
                                    file.source, s.name, dtype_name(t->dtype)));
    found.push_back(t);
  }
  for (const auto& t : file.tensors) {
    if (!ignore_prefix.empty() && t.name.starts_with(ignore_prefix)) continue;
    bool known = false;
    for (const auto& s : slots) known = known || s.name == t.name;
    if (!known)
      throw FormatError(fmt::format("checkpoint {}: tensor '{}' (shape {}) has no counterpart in the {}", file.source,
                                    t.name, shape_text(t.shape), what));
  }
  for (std::size_t i = 0; i < slots.size(); ++i) {
    std::vector<float> values(slots[i].size);
    if (found[i]->dtype == Dtype::F32) {
      file.copy_f32(*found[i], values);
    } else {
      const auto converted = file.floats(*found[i]);
      std::copy(converted.begin(), converted.end(), values.begin());
    }
    slots[i].write(values);
  }
}

CTNN_INLINE void write_checkpoint(const std::filesystem::path& path, const std::vector<Slot>& slots,
                                  const TrainingState& state, Metadata metadata) {
  metadata["ctnn.optimizer"] = state.optimizer;
  metadata["ctnn.optimizer.steps"] = std::to_string(state.steps);
  metadata["ctnn.optimizer.lr"] = fmt::format("{:a}", state.lr);
  if (state.momentum) metadata["ctnn.optimizer.momentum"] = fmt::format("{:a}", *state.momentum);
  metadata["ctnn.rng"] = rng_text(state.rng);
  write_slots(path, slots, metadata);
}

CTNN_INLINE TrainingState read_checkpoint(const Safetensors& file, const std::vector<Slot>& slots,
                                          const TrainingState& expected) {
  // Everything is parsed and checked before any tensor is copied in.
  const auto& m = file.metadata;
  const std::string& kind = require(m, "ctnn.optimizer", file.source);
  if (kind != expected.optimizer)
    throw FormatError(fmt::format("checkpoint {}: was written with optimizer '{}', but this run uses '{}'", file.source,
                                  kind, expected.optimizer));
  TrainingState state;
  state.optimizer = kind;
  state.steps = parse_long(require(m, "ctnn.optimizer.steps", file.source), "ctnn.optimizer.steps", file.source);
  state.lr = parse_float(require(m, "ctnn.optimizer.lr", file.source), "ctnn.optimizer.lr", file.source);
  state.rng = parse_rng(require(m, "ctnn.rng", file.source), file.source);
  if (expected.momentum)
    state.momentum = parse_float(require(m, "ctnn.optimizer.momentum", file.source), "ctnn.optimizer.momentum",
                                 file.source);
  read_slots(file, slots, "", "model and optimizer");
  return state;
}

CTNN_INLINE std::string rng_text(const std::array<std::uint64_t, 4>& s) {
  return fmt::format("{:016x} {:016x} {:016x} {:016x}", s[0], s[1], s[2], s[3]);
}

CTNN_INLINE std::array<std::uint64_t, 4> parse_rng(const std::string& text, const std::string& source) {
  std::array<std::uint64_t, 4> s{};
  const char* p = text.c_str();
  for (auto& word : s) {
    char* end = nullptr;
    errno = 0;
    word = std::strtoull(p, &end, 16);
    if (end == p || errno != 0)
      throw FormatError(fmt::format("checkpoint {}: metadata ctnn.rng '{}' is not four hex words", source, text));
    p = end;
  }
  return s;
}

CTNN_INLINE const std::string& require(const Metadata& m, const std::string& key, const std::string& source) {
  const auto it = m.find(key);
  if (it == m.end())
    throw FormatError(fmt::format("checkpoint {}: metadata '{}' is missing; was it written by io::save_checkpoint?",
                                  source, key));
  return it->second;
}

CTNN_INLINE long parse_long(const std::string& text, const std::string& key, const std::string& source) {
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0 || v < 0)
    throw FormatError(fmt::format("checkpoint {}: metadata '{}' should be a non-negative integer, is '{}'", source, key, text));
  return v;
}

CTNN_INLINE float parse_float(const std::string& text, const std::string& key, const std::string& source) {
  char* end = nullptr;
  const float v = std::strtof(text.c_str(), &end);
  if (text.empty() || *end != '\0')
    throw FormatError(fmt::format("checkpoint {}: metadata '{}' should be a number, is '{}'", source, key, text));
  return v;
}

}  // namespace ctnn::io::detail
