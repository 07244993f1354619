// Definitions for matching.hpp (inline, or compiled once with CTNN_SEPARATE_COMPILATION).
#pragma once
#include <unordered_map>

#include <fmt/format.h>

#include "ctnn/io/matching.hpp"

namespace ctnn::io {

CTNN_INLINE bool LoadReport::is_loaded(std::string_view model_name) const {
  for (const auto& e : loaded)
    if (e.name == model_name) return true;
  return false;
}

CTNN_INLINE std::string LoadReport::summary() const {
  long renamed = 0;
  for (const auto& e : loaded) renamed += e.note.empty() ? 0 : 1;
  std::string text = fmt::format("{}: loaded {} tensors{}, skipped {}, left {} fresh", source, loaded.size(),
                                 renamed ? fmt::format(" ({} under another name)", renamed) : "", skipped.size(),
                                 fresh.size());
  auto list = [&](const char* heading, const std::vector<Entry>& entries) {
    if (entries.empty()) return;
    text += fmt::format("\n  {}:", heading);
    for (const auto& e : entries) text += fmt::format("\n    {} {}: {}", e.name, shape_text(e.shape), e.note);
  };
  list("skipped (in the source, not loaded)", skipped);
  list("left fresh (in the model, not loaded)", fresh);
  return text;
}

CTNN_INLINE std::ostream& operator<<(std::ostream& out, const LoadReport& report) { return out << report.summary(); }

CTNN_INLINE bool glob_match(std::string_view pattern, std::string_view name) {
  // Greedy with one backtrack point: on a mismatch, the last '*' takes one more character.
  std::size_t p = 0, n = 0, star = std::string_view::npos, resume = 0;
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = n;
    } else if (p < pattern.size() && pattern[p] == name[n]) {
      ++p, ++n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

namespace detail {

CTNN_INLINE const std::string* first_match(const std::vector<std::string>& patterns, std::string_view name) {
  for (const auto& p : patterns)
    if (glob_match(p, name)) return &p;
  return nullptr;
}

CTNN_INLINE std::string renamed(const std::vector<Rename>& rules, const std::string& name) {
  for (const auto& r : rules)
    if (name.starts_with(r.from)) return r.to + name.substr(r.from.size());
  return name;
}

CTNN_INLINE Plan plan_load(const std::vector<SourceTensor>& sources, const std::vector<Slot>& slots,
                           const LoadOptions& options, const Sides& sides) {
  Plan plan;
  plan.report.source = sides.label;
  plan.source_of.assign(slots.size(), std::nullopt);
  std::vector<bool> named(slots.size(), false);  // some source tensor names it (fitting or not)
  std::unordered_map<std::string_view, std::size_t> slot_index;
  for (std::size_t j = 0; j < slots.size(); ++j) slot_index.emplace(slots[j].name, j);
  std::vector<std::string> problems;
  auto& report = plan.report;

  for (std::size_t i = 0; i < sources.size(); ++i) {
    const SourceTensor& s = sources[i];
    if (const auto* rule = first_match(options.ignore, s.name)) {
      report.skipped.push_back({s.name, s.shape, fmt::format("ignored by '{}'", *rule)});
      continue;
    }
    const std::string target = renamed(options.rename, s.name);
    // "tensor 'module.fc.weight' (renamed 'fc.weight')", or "tensor 'fc.weight'"
    const std::string called =
        target == s.name ? fmt::format("tensor '{}'", s.name) : fmt::format("tensor '{}' (renamed '{}')", s.name, target);
    const auto it = slot_index.find(target);
    if (it == slot_index.end()) {
      if (options.strict)
        problems.push_back(fmt::format("{} (shape {}) in {} has no counterpart in {}", called, shape_text(s.shape),
                                       sides.source, sides.target));
      else
        report.skipped.push_back({s.name, s.shape, fmt::format("{} has no '{}'", sides.target, target)});
      continue;
    }
    const std::size_t j = it->second;
    const Slot& slot = slots[j];
    named[j] = true;
    if (const auto* rule = first_match(options.exclude, target)) {
      report.skipped.push_back({s.name, s.shape, fmt::format("'{}' in {} is excluded by '{}'", target, sides.target, *rule)});
      continue;
    }
    if (plan.source_of[j]) {
      problems.push_back(fmt::format("tensors '{}' and '{}' in {} both become '{}' in {}",
                                     sources[*plan.source_of[j]].name, s.name, sides.source, target, sides.target));
      continue;
    }
    if (s.shape != slot.shape) {
      problems.push_back(fmt::format("{} has shape {} in {} but {} in {}", called, shape_text(s.shape), sides.source,
                                     shape_text(slot.shape), sides.target));
      continue;
    }
    if (slot.is_counter() ? !is_integer_dtype(s.dtype) : !is_float_dtype(s.dtype)) {
      problems.push_back(fmt::format("{} in {} has dtype {}, but '{}' in {} is {}", called, sides.source,
                                     dtype_name(s.dtype), target, sides.target,
                                     slot.is_counter() ? "a counter (an integer dtype loads into it)"
                                                       : "a float tensor (F32, F16, BF16 or F64 load into it)"));
      continue;
    }
    plan.source_of[j] = i;
  }

  for (std::size_t j = 0; j < slots.size(); ++j) {
    const Slot& slot = slots[j];
    if (plan.source_of[j]) {
      const std::string& from = sources[*plan.source_of[j]].name;
      report.loaded.push_back({slot.name, slot.shape, from == slot.name ? "" : fmt::format("from '{}'", from)});
    } else if (const auto* rule = first_match(options.exclude, slot.name)) {
      report.fresh.push_back({slot.name, slot.shape, fmt::format("excluded by '{}'", *rule)});
    } else if (named[j]) {
      continue;  // the problem of the source tensor that names it is listed
    } else if (slot.is_counter()) {
      // PyTorch's BatchNorm loads state dicts without num_batches_tracked too.
      report.fresh.push_back({slot.name, slot.shape, fmt::format("a counter, not in {}", sides.source)});
    } else if (options.strict) {
      problems.push_back(fmt::format("{} has no tensor '{}' ({} has it, shape {})", sides.source, slot.name,
                                     sides.target, shape_text(slot.shape)));
    } else {
      report.fresh.push_back({slot.name, slot.shape, fmt::format("not in {}", sides.source)});
    }
  }

  if (problems.size() == 1)
    throw FormatError(fmt::format("{}: {}; nothing was loaded", sides.label, problems.front()));
  if (!problems.empty()) {
    constexpr std::size_t shown = 20;
    std::string text = fmt::format("{}: {} problems, so nothing was loaded:", sides.label, problems.size());
    for (std::size_t k = 0; k < problems.size() && k < shown; ++k) text += "\n  " + problems[k];
    if (problems.size() > shown) text += fmt::format("\n  ... and {} more", problems.size() - shown);
    throw FormatError(text);
  }
  return plan;
}

}  // namespace detail
}  // namespace ctnn::io
