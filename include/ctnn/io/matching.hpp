// Matching a source's tensors (a file's, another model's) to a model's by name and shape: the
// rules a load follows (LoadOptions) and what it did (LoadReport). io::load_weights,
// io::load_state_dict and io::copy_parameters share them.
//
//   // torchvision's ImageNet ResNet-18 into a ResNet-18 with a 10-class head:
//   auto report = io::load_weights("resnet18.safetensors", model, {.exclude = {"fc.*"}});
//   std::cout << report;   // what was loaded, what was skipped and why, what was left fresh
//   // a checkpoint written by nn.DataParallel, whose names start with "module.":
//   io::load_weights("dp.safetensors", model, {.rename = {{"module.", ""}}});
//
// Patterns (ignore, exclude) are globs over whole names: `*` stands for any run of characters,
// dots included, and every other character for itself ("*.num_batches_tracked", "fc.*",
// "layer4.*"). Globs, because a suffix such as num_batches_tracked, which every BN has, is as
// common a target as a prefix such as a head; and no regular expressions, in which the dots of
// every name would need escaping. Renames are prefix replacements, which is what moving
// between layouts needs (stripping "module.", putting a backbone under "0.").
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ctnn/core/config.hpp"     // CTNN_INLINE
#include "ctnn/io/safetensors.hpp"  // Dtype, FormatError, shape_text

namespace ctnn::io {

using Metadata = std::map<std::string, std::string>;

// Source names that start with `from` start with `to` instead: {"module.", ""} strips the
// prefix nn.DataParallel adds.
struct Rename {
  std::string from, to;
};

struct LoadOptions {
  // true: a tensor on either side that no rule accounts for must have its counterpart, or the
  // load fails (PyTorch's strict=True). One exception, as in PyTorch: a source without BN's
  // num_batches_tracked counters loads, and the model's counters stay as they are.
  // false: names without a counterpart are reported (skipped, left fresh), not errors.
  // Either way a shape or dtype that doesn't fit is an error.
  bool strict = true;
  std::vector<std::string> ignore = {};   // patterns over the source's names: those tensors are skipped
  std::vector<std::string> exclude = {};  // patterns over the model's names: those are left as they are
  std::vector<Rename> rename = {};        // applied to source names before matching; the first that fits
};

// What a load did. Every tensor of the model is either loaded or left fresh, and every tensor
// of the source either loaded or skipped.
struct LoadReport {
  struct Entry {
    std::string name;  // loaded, fresh: the model's name; skipped: the source's
    std::vector<std::int64_t> shape;
    std::string note;  // loaded: "from 'module.fc.weight'" where a rename changed the name; else why
  };
  std::string source;            // "checkpoint resnet18.safetensors", "copy_parameters"
  std::vector<Entry> loaded;     // in the model's order
  std::vector<Entry> skipped;    // in the source, not used; in the source's order
  std::vector<Entry> fresh;      // in the model, not loaded: left as they were
  Metadata metadata;             // the file's, for load_weights

  bool is_loaded(std::string_view model_name) const;
  // Counts, then every skipped and fresh tensor with its reason.
  std::string summary() const;
};

CTNN_INLINE std::ostream& operator<<(std::ostream& out, const LoadReport& report);

// Whether `name` matches the glob `pattern` (see above).
CTNN_INLINE bool glob_match(std::string_view pattern, std::string_view name);

namespace detail {

// A tensor a model (or optimizer) owns, as a load or save sees it: read and written through
// host memory (to_vector, assign), so the same code serves every backend. A counter (BN's
// num_batches_tracked) is an I64 scalar on the host instead.
struct Slot {
  std::string name;
  std::vector<std::int64_t> shape;
  std::size_t size = 0;
  std::function<std::vector<float>()> read;
  std::function<void(std::span<const float>)> write;
  std::int64_t* counter = nullptr;
  bool is_counter() const { return counter != nullptr; }
};

template <class Buffer>
Slot slot(std::string name, std::vector<std::int64_t> shape, Buffer* buffer) {
  return {std::move(name), std::move(shape), buffer->size(), [buffer] { return buffer->to_vector(); },
          [buffer](std::span<const float> values) { buffer->assign(values); }, nullptr};
}

// The model's parameters and buffers, in layer order, then its counters.
template <class ModelT>
std::vector<Slot> model_slots(ModelT& model) {
  std::vector<Slot> slots;
  const auto list = model.parameters();
  for (auto& p : list) slots.push_back(slot(p.name, {p.shape.begin(), p.shape.end()}, p.value));
  for (auto& c : list.counters) slots.push_back({c.name, {}, 1, {}, {}, c.value});
  return slots;
}

// A tensor of the source: a file's, or another model's.
struct SourceTensor {
  std::string name;
  std::vector<std::int64_t> shape;
  Dtype dtype;
};

// One source tensor's values, fetched before anything is written.
struct Staged {
  std::vector<float> values;
  std::int64_t count = 0;
};

// How messages name the two sides: label "checkpoint run.safetensors", source "the file",
// target "the model".
struct Sides {
  std::string label;
  std::string source, target;
};

// Which source tensor each slot takes (none: left fresh), and the report. Throws FormatError
// listing every problem (a missing or unused name in a strict load, a shape or dtype that
// doesn't fit, two source names renamed onto one) when there is any.
struct Plan {
  std::vector<std::optional<std::size_t>> source_of;  // per slot
  LoadReport report;
};
CTNN_INLINE Plan plan_load(const std::vector<SourceTensor>& sources, const std::vector<Slot>& slots,
                           const LoadOptions& options, const Sides& sides);

CTNN_INLINE const std::string* first_match(const std::vector<std::string>& patterns, std::string_view name);
CTNN_INLINE std::string renamed(const std::vector<Rename>& rules, const std::string& name);

// Plans the load, fetches every source tensor it takes (fetch(source index, slot) -> Staged),
// and only then writes them all, so a failure changes nothing.
template <class Fetch>
LoadReport load_slots(const std::vector<SourceTensor>& sources, const std::vector<Slot>& slots,
                      const LoadOptions& options, const Sides& sides, Fetch fetch) {
  Plan plan = plan_load(sources, slots, options, sides);
  std::vector<Staged> staged(slots.size());
  for (std::size_t i = 0; i < slots.size(); ++i)
    if (plan.source_of[i]) staged[i] = fetch(*plan.source_of[i], slots[i]);
  for (std::size_t i = 0; i < slots.size(); ++i) {
    if (!plan.source_of[i]) continue;
    if (slots[i].is_counter()) *slots[i].counter = staged[i].count;
    else slots[i].write(staged[i].values);
  }
  return std::move(plan.report);
}

}  // namespace detail
}  // namespace ctnn::io

#ifndef CTNN_SEPARATE_COMPILATION
#include "ctnn/io/matching.ipp"
#endif
