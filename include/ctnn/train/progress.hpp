// Progress output of fit(): on a terminal, a progress bar per epoch (batch i/N, running loss
// and accuracy, img/s, ETA); otherwise plain lines like the seed's, every `log_every` batches:
//   Batch [100], Loss: 1.9564, Acc: 27.57%
#pragma once
#include <chrono>
#include <cstdio>
#include <string>

#include <fmt/core.h>
#include <unistd.h>  // isatty, fileno

#include "ctnn/core/config.hpp"  // CTNN_INLINE
#include "ctnn/train/history.hpp"  // EpochRecord
#include "ctnn/train/output.hpp"   // Output

namespace ctnn::train {

class ProgressPrinter {
 public:
  ProgressPrinter(Output mode, std::FILE* out, long log_every) : out_(out), log_every_(log_every > 0 ? log_every : 100) {
    if (!out_) mode = Output::quiet;
    if (mode == Output::automatic) mode = ::isatty(::fileno(out_)) ? Output::bar : Output::lines;
    mode_ = mode;
  }

  Output mode() const { return mode_; }

  void begin_epoch(int epoch, int epochs, long batches);

  // After batch `index` (from 1): its loss, and the epoch's running totals.
  void batch(long index, double loss, long correct, long seen, double elapsed_seconds);

  void end_epoch(const EpochRecord& e);

  void message(const std::string& text);

 private:
  std::FILE* out_;
  Output mode_ = Output::lines;
  long log_every_;
  int epoch_ = 0, epochs_ = 0;
  long batches_ = 0, window_batches_ = 0;
  double window_loss_ = 0, sum_loss_ = 0;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace ctnn::train

#ifndef CTNN_SEPARATE_COMPILATION
#include "ctnn/train/progress.ipp"
#endif
