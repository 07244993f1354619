// Definitions for progress.hpp (inline, or compiled once with CTNN_SEPARATE_COMPILATION).
#pragma once
#include <algorithm>  // std::max
#include <cmath>  // std::isnan

#include <fmt/format.h>

#include "ctnn/train/progress.hpp"

namespace ctnn::train {

CTNN_INLINE void ProgressPrinter::begin_epoch(int epoch, int epochs, long batches) {
  epoch_ = epoch, epochs_ = epochs, batches_ = batches;
  window_loss_ = 0, window_batches_ = 0;
  last_draw_ = {};
  if (mode_ == Output::lines) fmt::print(out_, "Epoch {}/{}\n", epoch, epochs);
}

CTNN_INLINE void ProgressPrinter::batch(long index, double loss, long correct, long seen, double elapsed_seconds) {
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

CTNN_INLINE void ProgressPrinter::end_epoch(const EpochRecord& e) {
  if (mode_ == Output::quiet) return;
  if (mode_ == Output::bar) fmt::print(out_, "\r\033[K");
  std::string test;
  if (!std::isnan(e.test_accuracy))
    test = fmt::format(", test loss {:.4f}, test accuracy {:.2f}%", e.test_loss, e.test_accuracy);
  fmt::print(out_, "epoch {}/{}: train loss {:.4f}, train accuracy {:.2f}%{}, lr {:.4g}, {:.1f} s ({:.0f} img/s)\n",
             e.epoch, epochs_, e.train_loss, e.train_accuracy, test, e.lr, e.seconds, e.images_per_second);
  std::fflush(out_);
}

CTNN_INLINE void ProgressPrinter::message(const std::string& text) {
  if (mode_ == Output::quiet) return;
  if (mode_ == Output::bar) fmt::print(out_, "\r\033[K");
  fmt::print(out_, "{}\n", text);
  std::fflush(out_);
}
}  // namespace ctnn::train
