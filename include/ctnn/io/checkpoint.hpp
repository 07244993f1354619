// Checkpoints of a model (parameters, buffers such as BN running statistics, and BN's batch
// counters) and, for resuming training, of its optimizer and dropout generator too, in
// safetensors files.
//
//   io::save_weights("seed.safetensors", model);            // "0.0.weight", "0.1.running_mean", ...
//   io::load_weights("seed.safetensors", model);            // names and shapes must match exactly
//   auto report = io::load_weights("resnet18.safetensors", model, {.exclude = {"fc.*"}});
//   io::save_checkpoint("run.safetensors", model, adam, {{"ctnn.epoch", "12"}});
//   auto metadata = io::load_checkpoint("run.safetensors", model, adam);
//
// Tensor names follow the layer structure, as model.parameters() names them; float tensors are
// F32, BN's "<prefix>num_batches_tracked" an I64 scalar, as in PyTorch's state_dict, so
// PyTorch loads a file whose names it shares strictly. Optimizer state is stored as
// "optimizer.<parameter>.<state>" (e.g. "optimizer.3.weight.exp_avg"); step count, learning
// rate and the dropout generator go in the metadata ("ctnn.*" keys, strings as the format
// requires). Loading checks every name, shape and dtype before changing anything, and a
// mismatch raises io::FormatError naming each tensor that doesn't fit, with both shapes.
// Non-strict loads and renames: see matching.hpp.
#pragma once
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdlib>  // std::strtoull
#include <filesystem>
#include <optional>
#include <map>
#include <string>
#include <utility>  // std::move
#include <vector>

#include <fmt/core.h>

#include "ctnn/core/config.hpp"      // CTNN_INLINE
#include "ctnn/io/matching.hpp"     // LoadOptions, LoadReport, Slot
#include "ctnn/io/safetensors.hpp"  // SafetensorsWriter, read_safetensors, FormatError
#include "ctnn/optim/state.hpp"     // Optimizer

namespace ctnn::io {

inline constexpr const char* optimizer_prefix = "optimizer.";

namespace detail {

template <class Opt>
void add_optimizer_slots(std::vector<Slot>& slots, Opt& optimizer) {
  for (auto& s : optimizer.state())
    slots.push_back(slot(optimizer_prefix + s.name, {s.shape.begin(), s.shape.end()}, s.value));
}

// What a checkpoint records of the optimizer and the dropout generator, beside the tensors.
struct TrainingState {
  std::string optimizer;          // its name(): a checkpoint loads only into the same kind
  long steps = 0;
  float lr = 0;
  std::optional<float> momentum;  // for optimizers that have one
  std::array<std::uint64_t, 4> rng{};
};

CTNN_INLINE void write_slots(const std::filesystem::path& path, const std::vector<Slot>& slots, const Metadata& metadata);
// Loads `file` into `slots` (`what` names them in messages: "the model") as `options` say,
// converting F16, BF16 and F64 to float; nothing is changed unless everything fits.
CTNN_INLINE LoadReport read_slots(const Safetensors& file, const std::vector<Slot>& slots, const LoadOptions& options,
                                  const std::string& what);
CTNN_INLINE void write_checkpoint(const std::filesystem::path& path, const std::vector<Slot>& slots,
                                  const TrainingState& state, Metadata metadata);
// Reads `file` into `slots` after checking that it was written for `state.optimizer` (and,
// when `state.momentum` is set, that it has a momentum); returns the recorded state.
CTNN_INLINE TrainingState read_checkpoint(const Safetensors& file, const std::vector<Slot>& slots,
                                          const TrainingState& expected);

CTNN_INLINE std::string rng_text(const std::array<std::uint64_t, 4>& s);
CTNN_INLINE std::array<std::uint64_t, 4> parse_rng(const std::string& text, const std::string& source);
CTNN_INLINE const std::string& require(const Metadata& m, const std::string& key, const std::string& source);
CTNN_INLINE long parse_long(const std::string& text, const std::string& key, const std::string& source);
CTNN_INLINE float parse_float(const std::string& text, const std::string& key, const std::string& source);

}  // namespace detail

// Every parameter and buffer of `model`, plus `metadata`.
template <class ModelT>
void save_weights(const std::filesystem::path& path, ModelT& model, const Metadata& metadata = {}) {
  detail::write_slots(path, detail::model_slots(model), metadata);
}

// Loads parameters, buffers and counters saved by save_weights or save_checkpoint (whose
// optimizer state, "optimizer.*", it skips), or written by other tools such as PyTorch; by
// default every name must match (see LoadOptions for rules and non-strict loads). Returns what
// was loaded, skipped and left fresh, and the file's metadata.
template <class ModelT>
LoadReport load_weights(const std::filesystem::path& path, ModelT& model, LoadOptions options = {}) {
  const auto file = read_safetensors(path);
  options.ignore.push_back(std::string(optimizer_prefix) + "*");
  return detail::read_slots(file, detail::model_slots(model), options, "the model");
}

// The model, the optimizer's state and step count, and the dropout generator: everything a
// resumed run needs to continue the same trajectory. `metadata` adds the caller's own keys.
template <class ModelT, optim::Optimizer Opt>
void save_checkpoint(const std::filesystem::path& path, ModelT& model, Opt& optimizer, Metadata metadata = {}) {
  auto slots = detail::model_slots(model);
  detail::add_optimizer_slots(slots, optimizer);
  detail::TrainingState state{optimizer.name(), optimizer.steps(), optimizer.lr(), std::nullopt,
                              model.context().rng.state()};
  if constexpr (optim::HasMomentum<Opt>) state.momentum = optimizer.momentum();
  detail::write_checkpoint(path, slots, state, std::move(metadata));
}

// Restores what save_checkpoint saved into `model` and `optimizer` (which must be of the same
// kind and shapes), and returns the metadata.
template <class ModelT, optim::Optimizer Opt>
Metadata load_checkpoint(const std::filesystem::path& path, ModelT& model, Opt& optimizer) {
  const auto file = read_safetensors(path);
  auto slots = detail::model_slots(model);
  detail::add_optimizer_slots(slots, optimizer);
  detail::TrainingState expected;
  expected.optimizer = optimizer.name();
  if constexpr (optim::HasMomentum<Opt>) expected.momentum = 0.0f;
  const auto state = detail::read_checkpoint(file, slots, expected);
  optimizer.set_steps(state.steps);
  optimizer.set_lr(state.lr);
  if constexpr (optim::HasMomentum<Opt>) optimizer.set_momentum(*state.momentum);
  model.context().rng.set_state(state.rng);
  return file.metadata;
}

}  // namespace ctnn::io

#ifndef CTNN_SEPARATE_COMPILATION
#include "ctnn/io/checkpoint.ipp"
#endif
