// Definitions for batch_log.hpp (inline, or compiled once with CTNN_SEPARATE_COMPILATION).
#pragma once
#include <cerrno>
#include <cstring>  // std::strerror
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "ctnn/core/error.hpp"  // Error
#include "ctnn/train/batch_log.hpp"

namespace ctnn::train {

CTNN_INLINE BatchLog::BatchLog(const std::filesystem::path& path, int epochs_done)
    : path_(path), csv_(path.extension() == ".csv") {
  std::vector<std::string> kept;  // the rows of the epochs already done
  if (epochs_done > 0) {
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) {
      int epoch = 0;
      const bool row = csv_ ? std::sscanf(line.c_str(), "%d,", &epoch) == 1
                            : std::sscanf(line.c_str(), "{\"epoch\":%d,", &epoch) == 1;
      if (row && epoch >= 1 && epoch <= epochs_done) kept.push_back(line);
    }
  }
  file_ = std::fopen(path.c_str(), "w");
  if (!file_) throw Error(fmt::format("batch log: can't write {}: {}", path.string(), std::strerror(errno)));
  if (csv_) fmt::print(file_, "{}\n", csv_header);
  for (const auto& line : kept) fmt::print(file_, "{}\n", line);
  std::fflush(file_);
}

CTNN_INLINE BatchLog::~BatchLog() {
  if (file_) std::fclose(file_);
}

CTNN_INLINE void BatchLog::write(const BatchInfo& b, long step, double seconds) {
  const double accuracy = b.size > 0 ? 100.0 * b.correct / b.size : 0.0;
  if (csv_)
    fmt::print(file_, "{},{},{},{},{},{},{},{},{},{:.4f}\n", b.epoch, b.batch, b.batches, step, b.size, b.loss, b.correct,
               accuracy, b.lr, seconds);
  else
    fmt::print(file_,
               "{{\"epoch\":{},\"batch\":{},\"batches\":{},\"step\":{},\"size\":{},\"loss\":{},\"correct\":{},"
               "\"accuracy\":{},\"lr\":{},\"seconds\":{:.4f}}}\n",
               b.epoch, b.batch, b.batches, step, b.size, b.loss, b.correct, accuracy, b.lr, seconds);
  if (std::fflush(file_) != 0 || std::ferror(file_))
    throw Error(fmt::format("batch log: writing {} failed: {}", path_.string(), std::strerror(errno)));
}

}  // namespace ctnn::train
