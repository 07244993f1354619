// Definitions for checkpoint.hpp (inline, or compiled once with CTNN_SEPARATE_COMPILATION).
#pragma once
#include <cerrno>
#include <cstdlib>  // std::strtoull, std::strtol, std::strtof

#include <fmt/format.h>

#include "ctnn/io/checkpoint.hpp"

namespace ctnn::io::detail {

CTNN_INLINE void write_slots(const std::filesystem::path& path, const std::vector<Slot>& slots, const Metadata& metadata) {
  SafetensorsWriter writer;
  writer.metadata = metadata;
  writer.metadata.try_emplace("format", "pt");  // what PyTorch's safetensors tooling expects
  for (const auto& s : slots) {
    if (s.is_counter()) writer.add(s.name, {}, std::vector<std::int64_t>{*s.counter});
    else writer.add(s.name, s.shape, s.read());
  }
  writer.write(path);
}

CTNN_INLINE LoadReport read_slots(const Safetensors& file, const std::vector<Slot>& slots, const LoadOptions& options,
                                  const std::string& what) {
  std::vector<SourceTensor> sources;
  for (const auto& t : file.tensors) sources.push_back({t.name, t.shape, t.dtype});
  auto report = load_slots(sources, slots, options, {"checkpoint " + file.source, "the file", what},
                           [&](std::size_t i, const Slot& slot) {
                             const TensorInfo& t = file.tensors[i];
                             return slot.is_counter() ? Staged{{}, file.integers(t).at(0)} : Staged{file.floats(t), 0};
                           });
  report.metadata = file.metadata;
  return report;
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
  read_slots(file, slots, {}, "the model and optimizer");
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
