// What a learning-rate schedule is told: where training stands, and each epoch's metrics.
#pragma once

namespace ctnn::schedule {

// The position of the optimizer step about to run.
struct Progress {
  long step = 0;             // optimizer steps already taken (0 for the first step of training)
  long epoch = 0;            // epochs already completed (0 during the first epoch)
  long steps_per_epoch = 1;  // batches per epoch
};

// One finished epoch, for schedules that react to results (ReduceOnPlateau).
struct EpochMetrics {
  double train_loss = 0, train_accuracy = 0;  // accuracies in percent
  double test_loss = 0, test_accuracy = 0;
  bool has_test = false;  // false: fit() ran without validation data
};

}  // namespace ctnn::schedule
