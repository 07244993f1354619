// Definitions for history.hpp (inline, or compiled once with CTNN_SEPARATE_COMPILATION).
#pragma once
#include <cerrno>
#include <cstdio>
#include <cstring>  // std::strerror
#include <sstream>

#include <fmt/format.h>

#include "ctnn/train/history.hpp"

namespace ctnn::train {

CTNN_INLINE std::string History::csv(Digits digits) const {
  std::string out = std::string(csv_header) + "\n";
  for (const auto& e : epochs)
    out += digits == Digits::exact
               ? fmt::format("{},{},{},{},{},{},{}\n", e.epoch, e.train_loss, e.train_accuracy, e.test_loss,
                             e.test_accuracy, e.lr, e.seconds)
               : fmt::format("{},{:.6f},{:.4f},{:.6f},{:.4f},{:.6g},{:.3f}\n", e.epoch, e.train_loss,
                             e.train_accuracy, e.test_loss, e.test_accuracy, e.lr, e.seconds);
  return out;
}

CTNN_INLINE History History::from_csv(const std::string& text) {
  History h;
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);
  if (line != csv_header) throw Error(fmt::format("history: unexpected CSV header '{}'", line));
  int row = 1;
  while (std::getline(in, line)) {
    ++row;
    if (line.empty()) continue;
    EpochRecord e;
    if (std::sscanf(line.c_str(), "%d,%lf,%lf,%lf,%lf,%lf,%lf", &e.epoch, &e.train_loss, &e.train_accuracy,
                    &e.test_loss, &e.test_accuracy, &e.lr, &e.seconds) != 7)
      throw Error(fmt::format("history: row {} '{}' doesn't have the 7 columns of '{}'", row, line, csv_header));
    e.images_per_second = 0;
    h.epochs.push_back(e);
  }
  return h;
}

CTNN_INLINE void History::write_csv(const std::filesystem::path& path) const {
  const auto tmp = path.string() + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "w");
  if (!f) throw Error(fmt::format("history: can't write {}: {}", tmp, std::strerror(errno)));
  const std::string text = csv();
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  if (std::fclose(f) != 0 || !ok) throw Error(fmt::format("history: writing {} failed", tmp));
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw Error(fmt::format("history: can't rename {} to {}: {}", tmp, path.string(), ec.message()));
}
}  // namespace ctnn::train
