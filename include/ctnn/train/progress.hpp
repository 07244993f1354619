// Progress output of fit(): on a terminal, a progress bar per epoch (batch i/N, running loss
// and accuracy, img/s, ETA); otherwise plain lines like the seed's, every `log_every` batches:
//   Batch [100], Loss: 1.9564, Acc: 27.57%
#pragma once
#include <algorithm>  // std::max
#include <chrono>
#include <cmath>  // std::isnan
#include <cstdio>
#include <string>

#include <fmt/format.h>
#include <unistd.h>  // isatty, fileno

#include "ctnn/train/history.hpp"  // EpochRecord

namespace ctnn::train {

enum class Output {
  automatic,  // a bar when the stream is a terminal, lines otherwise
  bar,
  lines,
  quiet,      // nothing
};

class ProgressPrinter {
 public:
  ProgressPrinter(Output mode, std::FILE* out, long log_every) : out_(out), log_every_(log_every > 0 ? log_every : 100) {
    if (!out_) mode = Output::quiet;
    if (mode == Output::automatic) mode = ::isatty(::fileno(out_)) ? Output::bar : Output::lines;
    mode_ = mode;
  }

  Output mode() const { return mode_; }

  void begin_epoch(int epoch, int epochs, long batches) {
    epoch_ = epoch, epochs_ = epochs, batches_ = batches;
    window_loss_ = 0, window_batches_ = 0;
    last_draw_ = {};
    if (mode_ == Output::lines) fmt::print(out_, "Epoch {}/{}\n", epoch, epochs);
  }

  // After batch `index` (from 1): its loss, and the epoch's running totals.
  void batch(long index, double loss, long correct, long seen, double elapsed_seconds) {
    window_loss_ += loss;
    ++window_batches_;
    sum_loss_ = index == 1 ? loss : sum_loss_ + loss;
    if (mode_ == Output::lines && index % log_every_ == 0) {
      fmt::print(out_, "Batch [{}], Loss: {:.4f}, Acc: {:.2f}%\n", index, window_loss_ / window_batches_,
                 100.0 * static_cast<double>(correct) / static_cast<double>(seen));
      std::fflush(out_);
      window_loss_ = 0, window_batches_ = 0;
    } else if (mode_ == Output::bar) {
      const auto now = std::chrono::steady_clock::now();
      if (index != batches_ && now - last_draw_ < std::chrono::milliseconds(150)) return;
      last_draw_ = now;
      constexpr int width = 24;
      const int filled = static_cast<int>(width * index / std::max(1L, batches_));
      const double rate = elapsed_seconds > 0 ? static_cast<double>(seen) / elapsed_seconds : 0;
      const double eta = index > 0 ? elapsed_seconds * static_cast<double>(batches_ - index) / static_cast<double>(index) : 0;
      fmt::print(out_, "\r\033[Kepoch {}/{} [{}{}] {}/{} loss {:.4f} acc {:.2f}% {:.0f} img/s ETA {}:{:02d}", epoch_,
                 epochs_, std::string(static_cast<std::size_t>(filled), '='),
                 std::string(static_cast<std::size_t>(width - filled), ' '), index, batches_, sum_loss_ / index,
                 100.0 * static_cast<double>(correct) / static_cast<double>(seen), rate, static_cast<long>(eta) / 60,
                 static_cast<long>(eta) % 60);
      std::fflush(out_);
    }
  }

  void end_epoch(const EpochRecord& e) {
    if (mode_ == Output::quiet) return;
    if (mode_ == Output::bar) fmt::print(out_, "\r\033[K");
    std::string test;
    if (!std::isnan(e.test_accuracy))
      test = fmt::format(", test loss {:.4f}, test accuracy {:.2f}%", e.test_loss, e.test_accuracy);
    fmt::print(out_, "epoch {}/{}: train loss {:.4f}, train accuracy {:.2f}%{}, lr {:.4g}, {:.1f} s ({:.0f} img/s)\n",
               e.epoch, epochs_, e.train_loss, e.train_accuracy, test, e.lr, e.seconds, e.images_per_second);
    std::fflush(out_);
  }

  void message(const std::string& text) {
    if (mode_ == Output::quiet) return;
    if (mode_ == Output::bar) fmt::print(out_, "\r\033[K");
    fmt::print(out_, "{}\n", text);
    std::fflush(out_);
  }

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
