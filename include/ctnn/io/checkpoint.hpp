// Checkpoints of a model (parameters and buffers such as BN running statistics) and, for
// resuming training, of its optimizer and dropout generator too, in safetensors files.
//
//   io::save_weights("seed.safetensors", model);            // "0.0.weight", "0.1.running_mean", ...
//   io::load_weights("seed.safetensors", model);            // names and shapes must match exactly
//   io::save_checkpoint("run.safetensors", model, adam, {{"ctnn.epoch", "12"}});
//   auto metadata = io::load_checkpoint("run.safetensors", model, adam);
//
// Tensor names follow the layer structure, as model.parameters() names them; optimizer state is
// stored as "optimizer.<parameter>.<state>" (e.g. "optimizer.3.weight.exp_avg"); step count,
// learning rate and the dropout generator go in the metadata ("ctnn.*" keys, strings as the
// format requires). Loading checks every name and shape before changing anything, and the
// first mismatch raises io::FormatError naming the tensor and both shapes.
#pragma once
#include <array>
#include <algorithm>  // std::copy
#include <cerrno>
#include <cstdint>
#include <cstdlib>  // std::strtoull
#include <filesystem>
#include <map>
#include <string>
#include <type_traits>  // std::remove_pointer_t
#include <vector>

#include <fmt/format.h>

#include "ctnn/io/safetensors.hpp"  // SafetensorsWriter, read_safetensors, FormatError
#include "ctnn/optim/state.hpp"     // Optimizer

namespace ctnn::io {

using Metadata = std::map<std::string, std::string>;

inline constexpr const char* optimizer_prefix = "optimizer.";

namespace detail {

// A tensor the model (or optimizer) owns, as a checkpoint sees it.
template <class Buffer>
struct Slot {
  std::string name;
  std::vector<std::int64_t> shape;
  Buffer* buffer;
};

template <class ModelT>
auto model_slots(ModelT& model) {
  using Buffer = std::remove_pointer_t<decltype(model.parameters().front().value)>;
  std::vector<Slot<Buffer>> slots;
  for (auto& p : model.parameters()) slots.push_back({p.name, {p.shape.begin(), p.shape.end()}, p.value});
  return slots;
}

template <class Buffer, class Opt>
void add_optimizer_slots(std::vector<Slot<Buffer>>& slots, Opt& optimizer) {
  for (auto& s : optimizer.state())
    slots.push_back({optimizer_prefix + s.name, {s.shape.begin(), s.shape.end()}, s.value});
}

template <class Buffer>
void write_slots(const std::filesystem::path& path, const std::vector<Slot<Buffer>>& slots, const Metadata& metadata) {
  SafetensorsWriter writer;
  writer.metadata = metadata;
  writer.metadata.try_emplace("format", "pt");  // what PyTorch's safetensors tooling expects
  for (const auto& s : slots) writer.add(s.name, s.shape, s.buffer->to_vector());  // to_vector: any backend
  writer.write(path);
}

// Checks that `file` holds exactly the tensors of `slots` (ignoring names starting with
// `ignore_prefix`, when given), with the same shapes, then copies them in. Nothing is changed
// unless everything matches.
template <class Buffer>
void read_slots(const Safetensors& file, const std::vector<Slot<Buffer>>& slots, const std::string& ignore_prefix,
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
    // Through host memory and assign(), so that a GPU buffer loads the same way.
    std::vector<float> out(slots[i].buffer->size());
    if (found[i]->dtype == Dtype::F32) {
      file.copy_f32(*found[i], out);
    } else {
      const auto values = file.floats(*found[i]);
      std::copy(values.begin(), values.end(), out.begin());
    }
    slots[i].buffer->assign(out);
  }
}

inline std::string rng_text(const std::array<std::uint64_t, 4>& s) {
  return fmt::format("{:016x} {:016x} {:016x} {:016x}", s[0], s[1], s[2], s[3]);
}

inline std::array<std::uint64_t, 4> parse_rng(const std::string& text, const std::string& source) {
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

inline const std::string& require(const Metadata& m, const std::string& key, const std::string& source) {
  const auto it = m.find(key);
  if (it == m.end())
    throw FormatError(fmt::format("checkpoint {}: metadata '{}' is missing; was it written by io::save_checkpoint?",
                                  source, key));
  return it->second;
}

inline long parse_long(const std::string& text, const std::string& key, const std::string& source) {
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0 || v < 0)
    throw FormatError(fmt::format("checkpoint {}: metadata '{}' should be a non-negative integer, is '{}'", source, key, text));
  return v;
}

inline float parse_float(const std::string& text, const std::string& key, const std::string& source) {
  char* end = nullptr;
  const float v = std::strtof(text.c_str(), &end);
  if (text.empty() || *end != '\0')
    throw FormatError(fmt::format("checkpoint {}: metadata '{}' should be a number, is '{}'", source, key, text));
  return v;
}

}  // namespace detail

// Every parameter and buffer of `model`, plus `metadata`.
template <class ModelT>
void save_weights(const std::filesystem::path& path, ModelT& model, const Metadata& metadata = {}) {
  detail::write_slots(path, detail::model_slots(model), metadata);
}

// Loads parameters and buffers saved by save_weights or save_checkpoint (whose optimizer
// state it skips), or written to the same names by other tools; returns the file's metadata.
template <class ModelT>
Metadata load_weights(const std::filesystem::path& path, ModelT& model) {
  const auto file = read_safetensors(path);
  detail::read_slots(file, detail::model_slots(model), optimizer_prefix, "model");
  return file.metadata;
}

// The model, the optimizer's state and step count, and the dropout generator: everything a
// resumed run needs to continue the same trajectory. `metadata` adds the caller's own keys.
template <class ModelT, optim::Optimizer Opt>
void save_checkpoint(const std::filesystem::path& path, ModelT& model, Opt& optimizer, Metadata metadata = {}) {
  auto slots = detail::model_slots(model);
  detail::add_optimizer_slots(slots, optimizer);
  metadata["ctnn.optimizer"] = optimizer.name();
  metadata["ctnn.optimizer.steps"] = std::to_string(optimizer.steps());
  metadata["ctnn.optimizer.lr"] = fmt::format("{:a}", optimizer.lr());
  if constexpr (optim::HasMomentum<Opt>) metadata["ctnn.optimizer.momentum"] = fmt::format("{:a}", optimizer.momentum());
  metadata["ctnn.rng"] = detail::rng_text(model.context().rng.state());
  detail::write_slots(path, slots, metadata);
}

// Restores what save_checkpoint saved into `model` and `optimizer` (which must be of the same
// kind and shapes), and returns the metadata.
template <class ModelT, optim::Optimizer Opt>
Metadata load_checkpoint(const std::filesystem::path& path, ModelT& model, Opt& optimizer) {
  const auto file = read_safetensors(path);
  const auto& m = file.metadata;
  const std::string& kind = detail::require(m, "ctnn.optimizer", file.source);
  if (kind != optimizer.name())
    throw FormatError(fmt::format("checkpoint {}: was written with optimizer '{}', but this run uses '{}'", file.source,
                                  kind, optimizer.name()));
  const long steps = detail::parse_long(detail::require(m, "ctnn.optimizer.steps", file.source), "ctnn.optimizer.steps",
                                        file.source);
  const float lr = detail::parse_float(detail::require(m, "ctnn.optimizer.lr", file.source), "ctnn.optimizer.lr",
                                       file.source);
  const auto rng = detail::parse_rng(detail::require(m, "ctnn.rng", file.source), file.source);
  float momentum = 0;
  if constexpr (optim::HasMomentum<Opt>)
    momentum = detail::parse_float(detail::require(m, "ctnn.optimizer.momentum", file.source),
                                   "ctnn.optimizer.momentum", file.source);
  auto slots = detail::model_slots(model);
  detail::add_optimizer_slots(slots, optimizer);
  detail::read_slots(file, slots, "", "model and optimizer");
  optimizer.set_steps(steps);
  optimizer.set_lr(lr);
  if constexpr (optim::HasMomentum<Opt>) optimizer.set_momentum(momentum);
  model.context().rng.set_state(rng);
  return m;
}

}  // namespace ctnn::io
