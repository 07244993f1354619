// Progress output of fit(): on a terminal, a progress bar per epoch (batch i/N, running loss
// and accuracy, img/s, ETA), then one for the test pass, each fitted to the terminal's width;
// otherwise plain lines like the seed's, every `log_every` batches:
//   Batch [100], Loss: 1.9564, Acc: 27.57%
#pragma once
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <fmt/core.h>
#include <unistd.h>  // isatty, fileno

#include "ctnn/core/config.hpp"  // CTNN_INLINE
#include "ctnn/train/history.hpp"  // EpochRecord
#include "ctnn/train/output.hpp"   // Output

namespace ctnn::train {

// The width of the terminal `out` writes to, in columns: the terminal's own (TIOCGWINSZ), else
// $COLUMNS, else 80. Asked again at every redraw, so a resized window is followed.
CTNN_INLINE int terminal_columns(std::FILE* out);

// What one redraw of the bar shows.
struct BarState {
  int epoch = 0, epochs = 0;
  bool testing = false;        // the test pass rather than the training pass
  long index = 0, batches = 0; // batches done, of
  double loss = 0;             // running mean
  double accuracy = 0;         // percent, running
  double images_per_second = -1;  // < 0: not shown
  double eta_seconds = -1;        // < 0: not shown
};

// The bar's line for a terminal `columns` wide: at most columns - 1 characters (so it never
// wraps), dropping the least useful fields (img/s, ETA, accuracy, ...) and narrowing the bar
// as the width shrinks.
CTNN_INLINE std::string render_bar(const BarState& s, int columns);

// `fields` joined with ", ", broken into lines of at most columns - 1 characters where it
// can be (continuation lines indented by two spaces); ends with a newline.
CTNN_INLINE std::string wrap_fields(const std::vector<std::string>& fields, int columns);

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

  // The test pass of the current epoch: `batches` of them, then after each its running totals.
  void begin_evaluation(long batches);
  void evaluation_batch(long index, double mean_loss, long correct, long seen);

  void end_epoch(const EpochRecord& e);

  void message(const std::string& text);

 private:
  // Draws `s` over the current line, at most every 150 ms unless `force`.
  void draw(const BarState& s, bool force);

  std::FILE* out_;
  Output mode_ = Output::lines;
  long log_every_;
  int epoch_ = 0, epochs_ = 0;
  long batches_ = 0, window_batches_ = 0;
  double window_loss_ = 0, sum_loss_ = 0;
  std::chrono::steady_clock::time_point last_draw_{};
  bool drawn_ = false;  // a bar is on the current line
};

}  // namespace ctnn::train

#ifndef CTNN_SEPARATE_COMPILATION
#include "ctnn/train/progress.ipp"
#endif
