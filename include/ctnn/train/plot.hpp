// Renders a training history as the seed's two plots side by side (training loss per batch,
// test accuracy per epoch) into a PNG, with gnuplot when it is installed (Debian: gnuplot-nox).
#pragma once
#include <filesystem>
#include <string>
#include <string_view>

#include <fmt/core.h>

#include "ctnn/core/config.hpp"  // CTNN_INLINE
#include "ctnn/train/history.hpp"  // History

namespace ctnn::train {

// The full path of `program` on PATH, or empty.
CTNN_INLINE std::string find_program(std::string_view program);

// The step between the accuracy plot's epoch ticks for `epochs` epochs: a whole number (1, 2,
// 5, 10, 20, ...), the smallest that leaves at most 10 ticks.
CTNN_INLINE int epoch_tick_step(int epochs);

// The gnuplot script that draws `history` into `png` (the data is inline).
CTNN_INLINE std::string gnuplot_script(const History& history, const std::filesystem::path& png);

// Draws the plots; returns "" on success, otherwise a one-line reason (gnuplot missing or failed).
// gnuplot's own messages (warnings about a one-point range, say) are kept out of the way and
// only the first one is quoted when it fails.
CTNN_INLINE std::string plot_history(const History& history, const std::filesystem::path& png);

}  // namespace ctnn::train

#ifndef CTNN_SEPARATE_COMPILATION
#include "ctnn/train/plot.ipp"
#endif
