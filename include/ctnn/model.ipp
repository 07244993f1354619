// Definitions for model.hpp (inline, or compiled once with CTNN_SEPARATE_COMPILATION).
#pragma once
#include <algorithm>  // std::max

#include <fmt/format.h>

#include "ctnn/model.hpp"

namespace ctnn::detail {

CTNN_INLINE std::string format_summary(const std::vector<SummaryRow>& rows, const std::string& input,
                                       long parameters, long trainable, long flops_per_sample) {
  // Columns as wide as their longest entry: paths such as "layer4.1.downsample.0" are long.
  std::size_t path_width = 5, type_width = 4;
  for (const auto& row : rows) path_width = std::max(path_width, row.path.size()), type_width = std::max(type_width, row.layer.size());
  std::string text = fmt::format("{:<{}} {:<{}} {:>12} {:>12} {:>14}\n", "layer", path_width, "type", type_width,
                                 "output", "parameters", "MFLOP/sample");
  text += fmt::format("{:<{}} {:<{}} {:>12} {:>12} {:>14}\n", "", path_width, "input", type_width, input, "", "");
  for (const auto& row : rows)
    text += fmt::format("{:<{}} {:<{}} {:>12} {:>12} {:>14.3f}\n", row.path, path_width, row.layer, type_width,
                        row.output, row.parameters, row.flops / 1e6);
  const std::string frozen = trainable == parameters ? "" : fmt::format(" ({} trainable)", trainable);
  text += fmt::format("total: {} parameters{}, {:.1f} MFLOP per sample forward\n", parameters, frozen,
                      flops_per_sample / 1e6);
  return text;
}

}  // namespace ctnn::detail
