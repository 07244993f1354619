// Moving tensors between models by name and shape, whatever their networks and backends: a
// backbone into a model with another head, a CUDA model's weights into a CPU one, or a
// snapshot of a model to restore later (a trainer's best epoch).
//
//   auto report = io::copy_parameters(pretrained, model, {.exclude = {"fc.*"}});
//   io::StateDict best = io::state_dict(model);   // host copies, by name
//   ...
//   io::load_state_dict(model, best);
//
// The rules and the report are load_weights' (matching.hpp): strict by default, so every
// tensor of either model must have its counterpart unless a rule says otherwise, and a shape
// that differs is always an error naming the tensor and both shapes. Nothing is changed
// unless the whole copy fits.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "ctnn/io/matching.hpp"  // LoadOptions, LoadReport, model_slots, load_slots

namespace ctnn::io {

// One of a model's tensors in host memory: a float tensor's values, or a counter's count.
struct StateTensor {
  std::string name;
  std::vector<std::int64_t> shape;
  std::vector<float> values;
  std::optional<std::int64_t> count;  // set for a counter (an I64 scalar, shape [])
};
using StateDict = std::vector<StateTensor>;

// Every parameter, buffer and counter of `model`, copied to the host, in the model's order.
template <class ModelT>
StateDict state_dict(ModelT& model) {
  StateDict state;
  for (const auto& s : detail::model_slots(model)) {
    if (s.is_counter()) state.push_back({s.name, s.shape, {}, *s.counter});
    else state.push_back({s.name, s.shape, s.read(), std::nullopt});
  }
  return state;
}

// Loads `state` (from state_dict, of this model or another) into `model` as `options` say.
template <class ModelT>
LoadReport load_state_dict(ModelT& model, const StateDict& state, const LoadOptions& options = {}) {
  std::vector<detail::SourceTensor> sources;
  for (const auto& t : state) {
    std::size_t elements = 1;
    for (auto d : t.shape) elements *= static_cast<std::size_t>(d);
    if (!t.count && t.values.size() != elements)
      throw FormatError(fmt::format("load_state_dict: tensor '{}' has shape {} but {} values", t.name,
                                    shape_text(t.shape), t.values.size()));
    sources.push_back({t.name, t.shape, t.count ? Dtype::I64 : Dtype::F32});
  }
  return detail::load_slots(sources, detail::model_slots(model), options,
                            {"load_state_dict", "the state dict", "the model"},
                            [&](std::size_t i, const detail::Slot&) {
                              return detail::Staged{state[i].values, state[i].count.value_or(0)};
                            });
}

// Copies `from`'s tensors into `to`'s of the same name (after options.rename) and shape. Reads
// only the tensors it copies.
template <class From, class To>
LoadReport copy_parameters(From& from, To& to, const LoadOptions& options = {}) {
  const auto source_slots = detail::model_slots(from);
  std::vector<detail::SourceTensor> sources;
  for (const auto& s : source_slots) sources.push_back({s.name, s.shape, s.is_counter() ? Dtype::I64 : Dtype::F32});
  return detail::load_slots(sources, detail::model_slots(to), options,
                            {"copy_parameters", "the source model", "the target model"},
                            [&](std::size_t i, const detail::Slot&) {
                              const auto& s = source_slots[i];
                              return s.is_counter() ? detail::Staged{{}, *s.counter} : detail::Staged{s.read(), 0};
                            });
}

}  // namespace ctnn::io
