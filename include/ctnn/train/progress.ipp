// Definitions for progress.hpp (inline, or compiled once with CTNN_SEPARATE_COMPILATION).
#pragma once
#include <algorithm>  // std::max, std::min
#include <cmath>      // std::isnan
#include <cstdlib>    // std::getenv, std::strtol

#include <fmt/format.h>
#include <sys/ioctl.h>  // ioctl, TIOCGWINSZ, winsize

#include "ctnn/train/progress.hpp"

namespace ctnn::train {

CTNN_INLINE int terminal_columns(std::FILE* out) {
  winsize size{};
  if (out && ::ioctl(::fileno(out), TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  if (const char* columns = std::getenv("COLUMNS")) {
    const long n = std::strtol(columns, nullptr, 10);
    if (n > 0 && n < 100000) return static_cast<int>(n);
  }
  return 80;
}

namespace detail {
inline std::string clock_text(double seconds) {
  const long s = static_cast<long>(seconds);
  return s >= 3600 ? fmt::format("{}:{:02d}:{:02d}", s / 3600, s / 60 % 60, s % 60)
                   : fmt::format("{}:{:02d}", s / 60, s % 60);
}
}  // namespace detail

CTNN_INLINE std::string render_bar(const BarState& s, int columns) {
  const std::size_t width = static_cast<std::size_t>(std::max(columns, 2) - 1);
  const std::string head = fmt::format("epoch {}/{}{}", s.epoch, s.epochs, s.testing ? " test" : "");
  // The fields after the bar, most useful first; the last ones go when space runs out.
  std::vector<std::string> fields = {fmt::format("{}/{}", s.index, s.batches), fmt::format("loss {:.4f}", s.loss),
                                     fmt::format("acc {:.2f}%", s.accuracy)};
  if (s.eta_seconds >= 0) fields.push_back("ETA " + detail::clock_text(s.eta_seconds));
  if (s.images_per_second >= 0) fields.push_back(fmt::format("{:.0f} img/s", s.images_per_second));
  auto length = [&](std::size_t bar) {  // of the line with the fields kept and a bar `bar` wide
    std::size_t n = head.size() + (bar > 0 ? bar + 3 : 0);
    for (const auto& f : fields) n += 1 + f.size();
    return n;
  };
  constexpr std::size_t min_bar = 6, max_bar = 30;
  // As many fields as fit beside a bar; when not even the batch count does, no bar.
  const auto all_fields = fields;
  while (!fields.empty() && length(min_bar) > width) fields.pop_back();
  const bool with_bar = !fields.empty();
  if (!with_bar) fields = all_fields;
  while (!fields.empty() && length(0) > width) fields.pop_back();
  const std::size_t room = width > length(0) ? width - length(0) : 0;
  const std::size_t bar = with_bar ? std::min(max_bar, room - 3) : 0;
  std::string line = head;
  if (bar > 0) {
    const long total = std::max(1L, s.batches);
    const auto filled = static_cast<std::size_t>(static_cast<double>(bar) * static_cast<double>(std::min(s.index, total)) /
                                                 static_cast<double>(total));
    line += " [" + std::string(filled, '=') + std::string(bar - filled, ' ') + "]";
  }
  for (const auto& f : fields) line += " " + f;
  if (line.size() > width) line.resize(width);
  return line;
}

CTNN_INLINE std::string wrap_fields(const std::vector<std::string>& fields, int columns) {
  const std::size_t width = static_cast<std::size_t>(std::max(columns, 2) - 1);
  std::string out, line;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const std::string piece = fields[i] + (i + 1 < fields.size() ? "," : "");
    if (!line.empty() && line.size() + 1 + piece.size() > width) {
      out += line + "\n";
      line = "  " + piece;
    } else {
      line += (line.empty() ? "" : " ") + piece;
    }
  }
  return out + line + "\n";
}

CTNN_INLINE void ProgressPrinter::begin_epoch(int epoch, int epochs, long batches) {
  epoch_ = epoch, epochs_ = epochs, batches_ = batches;
  window_loss_ = 0, window_batches_ = 0;
  last_draw_ = {};
  if (mode_ == Output::lines) fmt::print(out_, "Epoch {}/{}\n", epoch, epochs);
}

CTNN_INLINE void ProgressPrinter::draw(const BarState& s, bool force) {
  const auto now = std::chrono::steady_clock::now();
  if (!force && now - last_draw_ < std::chrono::milliseconds(150)) return;
  last_draw_ = now;
  fmt::print(out_, "\r\033[K{}", render_bar(s, terminal_columns(out_)));
  std::fflush(out_);
  drawn_ = true;
}

CTNN_INLINE void ProgressPrinter::batch(long index, double loss, long correct, long seen, double elapsed_seconds) {
  window_loss_ += loss;
  ++window_batches_;
  sum_loss_ = index == 1 ? loss : sum_loss_ + loss;
  const double accuracy = 100.0 * static_cast<double>(correct) / static_cast<double>(seen);
  if (mode_ == Output::lines && index % log_every_ == 0) {
    fmt::print(out_, "Batch [{}], Loss: {:.4f}, Acc: {:.2f}%\n", index, window_loss_ / window_batches_, accuracy);
    std::fflush(out_);
    window_loss_ = 0, window_batches_ = 0;
  } else if (mode_ == Output::bar) {
    BarState s{epoch_, epochs_, false, index, batches_, sum_loss_ / static_cast<double>(index), accuracy};
    s.images_per_second = elapsed_seconds > 0 ? static_cast<double>(seen) / elapsed_seconds : 0;
    s.eta_seconds = elapsed_seconds * static_cast<double>(batches_ - index) / static_cast<double>(index);
    draw(s, index == batches_);
  }
}

CTNN_INLINE void ProgressPrinter::begin_evaluation(long batches) {
  batches_ = batches;
  last_draw_ = {};
}

CTNN_INLINE void ProgressPrinter::evaluation_batch(long index, double mean_loss, long correct, long seen) {
  if (mode_ != Output::bar) return;
  draw({epoch_, epochs_, true, index, batches_, mean_loss, 100.0 * static_cast<double>(correct) / static_cast<double>(seen)},
       false);
}

CTNN_INLINE void ProgressPrinter::end_epoch(const EpochRecord& e) {
  if (mode_ == Output::quiet) return;
  std::vector<std::string> fields = {fmt::format("epoch {}/{}: train loss {:.4f}", e.epoch, epochs_, e.train_loss),
                                     fmt::format("train accuracy {:.2f}%", e.train_accuracy)};
  if (!std::isnan(e.test_accuracy)) {
    fields.push_back(fmt::format("test loss {:.4f}", e.test_loss));
    fields.push_back(fmt::format("test accuracy {:.2f}%", e.test_accuracy));
  }
  fields.push_back(fmt::format("lr {:.4g}", e.lr));
  fields.push_back(fmt::format("{:.1f} s ({:.0f} img/s)", e.seconds, e.images_per_second));
  if (mode_ == Output::bar) {
    // On a terminal the line wraps where a field ends, not wherever the width runs out.
    fmt::print(out_, "\r\033[K{}", wrap_fields(fields, terminal_columns(out_)));
    drawn_ = false;
  } else {
    std::string line;
    for (const auto& f : fields) line += (line.empty() ? "" : ", ") + f;
    fmt::print(out_, "{}\n", line);
  }
  std::fflush(out_);
}

CTNN_INLINE void ProgressPrinter::message(const std::string& text) {
  if (mode_ == Output::quiet) return;
  if (drawn_) fmt::print(out_, "\r\033[K");
  drawn_ = false;
  fmt::print(out_, "{}\n", text);
  std::fflush(out_);
}
}  // namespace ctnn::train
