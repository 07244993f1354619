// The training loop behind Trainer: epochs, evaluation, history, progress, schedules, early
// stopping, best-epoch tracking, checkpoints and plots. It is ordinary (non-template) code: it
// reaches the model, optimizer and loss through the small Learner interface that Trainer
// implements, and the data through DataSource, so it is compiled once however many networks
// and optimizers a program trains (and, with CTNN_SEPARATE_COMPILATION, once per program).
#pragma once
#include <cstdio>
#include <filesystem>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <utility>  // std::move
#include <vector>

#include "ctnn/core/config.hpp"         // CTNN_INLINE
#include "ctnn/core/error.hpp"          // Error
#include "ctnn/core/mode.hpp"           // Mode
#include "ctnn/core/op_specs.hpp"       // LossResult
#include "ctnn/io/checkpoint.hpp"       // Metadata
#include "ctnn/io/copy.hpp"             // StateDict: keep_best's snapshot by name
#include "ctnn/schedule/schedule.hpp"   // Schedule
#include "ctnn/train/batch_log.hpp"     // BatchInfo, BatchLog
#include "ctnn/train/collective.hpp"    // Collective
#include "ctnn/train/history.hpp"       // History, EpochRecord
#include "ctnn/train/metrics.hpp"       // Evaluation, EvaluateOptions
#include "ctnn/train/output.hpp"        // Output
#include "ctnn/train/source.hpp"        // DataSource, BatchView

namespace ctnn::train {

class ProgressPrinter;  // progress.hpp

// Training can't go on (a NaN or infinite loss).
class TrainingError : public Error {
 public:
  using Error::Error;
};

struct EarlyStopping {
  enum class Metric { test_accuracy, test_loss };
  Metric metric = Metric::test_accuracy;
  int patience = 5;       // stop after this many epochs without improvement
  double min_delta = 0;   // the least change that counts as improvement
};

struct FitOptions {
  int epochs = 1;                      // total epochs; after resume() the ones already done count
  Output output = Output::automatic;   // progress bar on a terminal, lines otherwise
  std::FILE* out = stdout;
  long log_every = 100;                // batches between progress lines
  std::filesystem::path checkpoint;    // if set: model, optimizer and state after every epoch
  std::filesystem::path history_csv;   // if set: rewritten after every epoch
  std::filesystem::path batch_log;     // if set: a row per training batch, JSON lines or .csv (batch_log.hpp)
  std::filesystem::path plot_png;      // if set: drawn (with gnuplot) when fit() returns
  std::optional<EarlyStopping> early_stopping;
  // The best epoch is the one with the best early-stopping metric (test accuracy without early
  // stopping; the training metric without test data).
  bool keep_best = false;              // end with the parameters of the best epoch
  // If set: the best epoch's weights, saved when it improves. With keep_best and a checkpoint
  // but no best_weights, they go to the checkpoint's name with ".best" before its extension
  // (run.safetensors -> run.best.safetensors), so that a resumed run can end with them too.
  std::filesystem::path best_weights;
  // After the training pass of the last epoch (epoch == epochs), before its evaluation:
  // re-estimate every BN layer's running statistics over one pass of that epoch's training
  // batches with dropout off (Trainer::recalibrate_batch_norm). The epoch's test figures,
  // history row and checkpoint then describe the re-estimated model.
  bool recalibrate_batch_norm = false;
};

namespace detail {

// A model with its optimizer and loss, as the loop drives it.
class Learner {
 public:
  virtual Mode mode() const = 0;
  virtual void set_mode(Mode) = 0;
  virtual float lr() const = 0;
  virtual void set_lr(float) = 0;
  virtual void set_momentum(float) = 0;  // ignored by optimizers without momentum
  virtual long steps() const = 0;        // optimizer steps taken
  // The forward pass and loss of a batch, queued; take_loss() returns the results in order.
  // The loop takes each one loss_lag() batches later: 0 where a result is ready at once (the
  // CPU), 1 where taking it waits for a device (CUDA), so the device always has work.
  virtual void queue_forward_loss(const BatchView&) = 0;
  virtual LossResult take_loss() = 0;
  virtual int loss_lag() const = 0;
  // In eval mode, at once; also copies the model's outputs to `scores` when it isn't null.
  virtual LossResult evaluate_batch(const BatchView&, std::vector<float>* scores) = 0;
  virtual void backward_and_step() = 0;  // of the last queue_forward_loss
  virtual void accumulate_batch_norm_statistics(const BatchView&, long index) = 0;  // index from 1
  virtual void save_checkpoint(const std::filesystem::path&, io::Metadata) = 0;
  virtual io::Metadata load_checkpoint(const std::filesystem::path&) = 0;
  virtual void save_weights(const std::filesystem::path&, const io::Metadata&) = 0;
  virtual void load_weights(const std::filesystem::path&) = 0;
  // keep_best's snapshot of the model: every tensor by name (io::state_dict), restored by name.
  virtual io::StateDict snapshot() = 0;
  virtual void restore(const io::StateDict&) = 0;

 protected:
  ~Learner() = default;
};

class Loop {
 public:
  explicit Loop(schedule::Schedule s) : schedule(std::move(s)) {}

  CTNN_INLINE const History& run(Learner& learner, DataSource& train, DataSource* test, const FitOptions& options);
  // One pass of epoch 0 of `data` in eval mode; `progress`, when given, shows it.
  CTNN_INLINE Evaluation evaluate(Learner& learner, DataSource& data, const EvaluateOptions& options = {},
                                  ProgressPrinter* progress = nullptr);
  // Re-estimates BN's running statistics over epoch `epoch` of `data`; returns the batches used.
  CTNN_INLINE long recalibrate_batch_norm(Learner& learner, DataSource& data, std::uint64_t epoch);
  CTNN_INLINE void save_checkpoint(Learner& learner, const std::filesystem::path& path);
  CTNN_INLINE void resume(Learner& learner, const std::filesystem::path& path);

  std::vector<std::function<void(const BatchInfo&)>> batch_callbacks;
  std::vector<std::function<void(const EpochRecord&)>> epoch_callbacks;
  bool stop_requested = false;
  // Data-parallel training (Trainer::distribute): the job this process is a rank of. Figures
  // are then summed over the ranks, and only rank 0 writes files and progress.
  Collective* collective = nullptr;
  schedule::Schedule schedule;
  History history;
  int epochs_done = 0;

 private:
  CTNN_INLINE EpochRecord train_epoch(Learner& learner, DataSource& train, int epoch, ProgressPrinter& progress,
                                      BatchLog* log, const FitOptions& options);
  // Best-epoch bookkeeping for keep_best, best_weights and early stopping. It is a function of
  // the history and the options alone, so fit() recomputes it from the history when it starts:
  // after resume() (the checkpoint holds the history exactly) its decisions are those of an
  // uninterrupted run, even with other options than the first run's.
  struct Best {
    double metric = -std::numeric_limits<double>::infinity();  // higher is better
    int epoch = 0;                                              // 0: none yet
    int stale_epochs = 0;                                       // since the best one
  };
  // Counts `r` into best_; true when it is the new best.
  CTNN_INLINE bool count_epoch(const EpochRecord& r, const FitOptions& options);
  CTNN_INLINE void track_best(Learner& learner, const EpochRecord& r, const FitOptions& options,
                              ProgressPrinter& progress);
  CTNN_INLINE bool early_stop_due(const FitOptions& options, ProgressPrinter& progress);
  CTNN_INLINE void restore_best(Learner& learner, const FitOptions& options, ProgressPrinter& progress);
  // False on the ranks other than 0 of a data-parallel job: they write no files and no progress.
  bool writes() const { return !collective || collective->rank() == 0; }

  Best best_;
  io::StateDict best_parameters_;  // keep_best's snapshot, of epoch best_parameters_epoch_
  int best_parameters_epoch_ = 0;
};

// Where the best epoch's weights are written (empty: nowhere); see FitOptions::best_weights.
CTNN_INLINE std::filesystem::path best_weights_file(const FitOptions& options);

}  // namespace detail
}  // namespace ctnn::train

#ifndef CTNN_SEPARATE_COMPILATION
#include "ctnn/train/loop.ipp"
#endif
