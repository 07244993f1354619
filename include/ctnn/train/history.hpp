// What fit() records: one row per epoch, and the loss of every training batch.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "ctnn/core/config.hpp"  // CTNN_INLINE
#include "ctnn/core/error.hpp"  // Error

namespace ctnn::train {

struct EpochRecord {
  int epoch = 0;                 // counting from 1
  double train_loss = 0;         // mean over the epoch's samples
  double train_accuracy = 0;     // percent
  double test_loss = 0;          // NaN without validation data
  double test_accuracy = 0;      // percent; NaN without validation data
  double lr = 0;                 // the learning rate of the epoch's last step
  double seconds = 0;            // the training pass alone
  double images_per_second = 0;  // training images per second
};

struct History {
  std::vector<EpochRecord> epochs;
  std::vector<float> batch_losses;  // every training batch's loss, in order

  static constexpr const char* csv_header = "epoch,train_loss,train_acc,test_loss,test_acc,lr,seconds";

  // How csv() writes the numbers: rounded for reading (4-6 digits), or exactly (the shortest
  // text that reads back as the same double; checkpoints use it).
  enum class Digits { readable, exact };

  // The epoch table as CSV: epoch,train_loss,train_acc,test_loss,test_acc,lr,seconds.
  std::string csv(Digits digits = Digits::readable) const;

  // Reads what csv() wrote, either way (used when resuming, so the history runs on from where it stopped).
  static History from_csv(const std::string& text);

  void write_csv(const std::filesystem::path& path) const;
};

}  // namespace ctnn::train

#ifndef CTNN_SEPARATE_COMPILATION
#include "ctnn/train/history.ipp"
#endif
