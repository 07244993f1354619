// What the training loop needs from a data-parallel job, of which this process is one rank
// (distributed::DataParallel provides it; Trainer::distribute hands it to the trainer). Through
// it every rank reports the same figures, computed over all ranks' samples, and only rank 0
// writes files and progress.
#pragma once
#include <span>

namespace ctnn::train {

class Collective {
 public:
  virtual int rank() const = 0;  // this process, from 0
  virtual int size() const = 0;  // processes in the job
  // Element-wise over the ranks, in place; every rank gets the same sums.
  virtual void sum(std::span<double> values) = 0;
  // After backward, before the optimizer step: waits until every gradient holds its mean over
  // the ranks.
  virtual void finish_gradients() = 0;
  // After an epoch's training pass (and after re-estimating BN statistics): makes the buffers
  // (BN's running statistics), which each rank updates from its own batches, the same on every
  // rank: their mean over the ranks.
  virtual void synchronize_buffers() = 0;

 protected:
  ~Collective() = default;
};

}  // namespace ctnn::train
