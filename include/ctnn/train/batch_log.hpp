// FitOptions::batch_log: one row per training batch, for external plotting tools. JSON lines,
// or CSV when the file name ends in ".csv":
//   {"epoch":1,"batch":1,"batches":391,"step":1,"size":128,"loss":2.3418,"correct":14,"accuracy":10.9375,"lr":0.001,"seconds":0.081}
//   epoch,batch,batches,step,size,loss,correct,accuracy,lr,seconds
// step counts optimizer steps over the whole run, seconds the time since the epoch's training
// pass began; loss and lr are written exactly (the shortest text that reads back the same).
// Each row is flushed as it is written, so a plot can follow a run.
#pragma once
#include <cstdio>
#include <filesystem>

#include "ctnn/core/config.hpp"  // CTNN_INLINE

namespace ctnn::train {

// What an end-of-batch callback sees, and what the log writes.
struct BatchInfo {
  int epoch = 0;           // from 1
  long batch = 0;          // from 1
  long batches = 0;        // in the epoch
  int size = 0;            // samples in this batch
  float loss = 0;          // this batch's mean loss
  int correct = 0;         // this batch's correct predictions
  float lr = 0;            // the learning rate of this step
};

class BatchLog {
 public:
  // Starts the log at `path`. A run that resumed after `epochs_done` epochs keeps the rows of
  // those epochs and drops later ones (an interrupted epoch runs again), so the log reads as
  // an uninterrupted run's; with epochs_done == 0 the file starts empty.
  CTNN_INLINE BatchLog(const std::filesystem::path& path, int epochs_done);
  CTNN_INLINE ~BatchLog();
  BatchLog(const BatchLog&) = delete;
  BatchLog& operator=(const BatchLog&) = delete;

  CTNN_INLINE void write(const BatchInfo& b, long step, double seconds);

  static constexpr const char* csv_header = "epoch,batch,batches,step,size,loss,correct,accuracy,lr,seconds";

 private:
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
  bool csv_ = false;
};

}  // namespace ctnn::train

#ifndef CTNN_SEPARATE_COMPILATION
#include "ctnn/train/batch_log.ipp"
#endif
