// Definitions for model.hpp (inline, or compiled once with CTNN_SEPARATE_COMPILATION).
#pragma once
#include <fmt/format.h>

#include "ctnn/model.hpp"

namespace ctnn::detail {

CTNN_INLINE std::string format_summary(const std::vector<SummaryRow>& rows, const std::string& input,
                                       long parameters, long flops_per_sample) {
  std::string text = fmt::format("{:<8} {:<22} {:>12} {:>12} {:>14}\n", "layer", "type", "output", "parameters",
                                 "MFLOP/sample");
  text += fmt::format("{:<8} {:<22} {:>12} {:>12} {:>14}\n", "", "input", input, "", "");
  for (const auto& row : rows)
    text += fmt::format("{:<8} {:<22} {:>12} {:>12} {:>14.3f}\n", row.path, row.layer, row.output, row.parameters,
                        row.flops / 1e6);
  text += fmt::format("total: {} parameters, {:.1f} MFLOP per sample forward\n", parameters, flops_per_sample / 1e6);
  return text;
}

}  // namespace ctnn::detail
