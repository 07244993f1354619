// Definitions for loop.hpp (inline, or compiled once with CTNN_SEPARATE_COMPILATION).
#pragma once
#include <chrono>
#include <cmath>    // std::isfinite
#include <cstdlib>  // std::strtof
#include <deque>
#include <optional>
#include <limits>

#include <fmt/format.h>

#include "ctnn/train/batch_log.hpp"  // BatchLog
#include "ctnn/train/loop.hpp"
#include "ctnn/train/plot.hpp"      // plot_history
#include "ctnn/train/progress.hpp"  // ProgressPrinter

namespace ctnn::train::detail {

// The batches whose loss results the loop hasn't taken from the learner yet, oldest first,
// each with what the loop needs to account for it.
template <class Batch>
class PendingLosses {
 public:
  explicit PendingLosses(Learner& learner) : learner_(learner), lag_(static_cast<std::size_t>(learner.loss_lag())) {}
  PendingLosses(const PendingLosses&) = delete;
  PendingLosses& operator=(const PendingLosses&) = delete;
  // After an error (a NaN, a bad label): take what is left, so that the learner's next pass
  // doesn't get this one's results.
  ~PendingLosses() {
    for (; !batches_.empty(); batches_.pop_front()) try {
        learner_.take_loss();
      } catch (...) {
      }
  }

  void push(const Batch& b) { batches_.push_back(b); }
  // f(batch, result) for every pending batch but the `lag` newest (all of them at the end).
  template <class F>
  void take(F&& f, bool all = false) {
    while (batches_.size() > (all ? 0 : lag_)) {
      const Batch b = batches_.front();
      batches_.pop_front();
      f(b, learner_.take_loss());
    }
  }

 private:
  Learner& learner_;
  std::size_t lag_;
  std::deque<Batch> batches_;
};

CTNN_INLINE const History& Loop::run(Learner& learner, DataSource& train, DataSource* test,
                                     const FitOptions& options) {
  ProgressPrinter progress(writes() ? options.output : Output::quiet, options.out, options.log_every);
  stop_requested = false;
  // The bookkeeping of the epochs done so far (before resume(), or by an earlier fit()), under
  // this fit's options; early stopping may already have decided.
  best_ = {};
  for (const auto& r : history.epochs) count_epoch(r, options);
  if (best_parameters_epoch_ != best_.epoch) best_parameters_.clear(), best_parameters_epoch_ = 0;
  stop_requested = early_stop_due(options, progress);
  std::optional<BatchLog> log;
  if (!options.batch_log.empty() && writes()) log.emplace(options.batch_log, epochs_done);
  for (int epoch = epochs_done + 1; epoch <= options.epochs && !stop_requested; ++epoch) {
    EpochRecord record = train_epoch(learner, train, epoch, progress, log ? &*log : nullptr, options);
    if (collective) collective->synchronize_buffers();  // before evaluation and the checkpoint
    if (options.recalibrate_batch_norm && epoch == options.epochs) {
      const long batches = recalibrate_batch_norm(learner, train, static_cast<std::uint64_t>(epoch - 1));
      progress.message(fmt::format("re-estimated the BN statistics over {} training batches with dropout off", batches));
    }
    if (test) {
      const Evaluation e = evaluate(learner, *test, {}, &progress);
      record.test_loss = e.loss;
      record.test_accuracy = e.accuracy;
    } else {
      record.test_loss = record.test_accuracy = std::numeric_limits<double>::quiet_NaN();
    }
    history.epochs.push_back(record);
    epochs_done = epoch;
    progress.end_epoch(record);
    schedule.end_epoch({record.train_loss, record.train_accuracy, record.test_loss, record.test_accuracy, test != nullptr});
    track_best(learner, record, options, progress);
    if (!options.checkpoint.empty()) save_checkpoint(learner, options.checkpoint);
    if (!options.history_csv.empty() && writes()) history.write_csv(options.history_csv);
    for (auto& f : epoch_callbacks) f(record);
  }
  if (options.keep_best) restore_best(learner, options, progress);
  if (!options.plot_png.empty() && writes()) {
    const std::string problem = plot_history(history, options.plot_png);
    if (problem.empty()) {
      progress.message(fmt::format("plot: {}", options.plot_png.string()));
    } else {
      fmt::print(options.out ? options.out : stderr, "plot: {}; the history is in {}\n", problem,
                 options.history_csv.empty() ? std::string("no CSV (no history file was asked for)")
                                             : options.history_csv.string());
    }
  }
  return history;
}

CTNN_INLINE Evaluation Loop::evaluate(Learner& learner, DataSource& data, const EvaluateOptions& options,
                                      ProgressPrinter* progress) {
  const Mode previous = learner.mode();
  learner.set_mode(Mode::eval);
  Evaluation e;
  double loss_sum = 0;
  const bool want_scores = options.confusion || !options.top_k.empty();
  ClassificationCounts counts(options);
  std::vector<float> scores;
  const long batches = data.batches_per_epoch();
  long index = 0;
  if (progress) progress->begin_evaluation(batches);
  data.each_batch(0, [&](const BatchView& b) {
    const auto r = learner.evaluate_batch(b, want_scores ? &scores : nullptr);
    if (want_scores) counts.add(scores, b.labels);
    loss_sum += static_cast<double>(r.loss) * b.size;
    e.correct += r.correct;
    e.samples += b.size;
    if (progress) progress->evaluation_batch(++index, loss_sum / static_cast<double>(e.samples), e.correct, e.samples);
  });
  learner.set_mode(previous);
  if (collective) {  // every rank's share of the data: the sums over the ranks
    const int classes = counts.classes();
    double totals[] = {loss_sum, static_cast<double>(e.correct), static_cast<double>(e.samples),
                       static_cast<double>(classes), classes > 0 ? 1.0 : 0.0};
    collective->sum(totals);
    loss_sum = totals[0], e.correct = static_cast<long>(totals[1]), e.samples = static_cast<long>(totals[2]);
    if (want_scores && totals[4] > 0) {
      const int job_classes = static_cast<int>(totals[3] / totals[4] + 0.5);  // the same on every rank that has any
      auto t = counts.totals(job_classes);
      collective->sum(t);
      counts.set_totals(job_classes, t);
    }
  }
  if (e.samples > 0) {
    e.loss = loss_sum / static_cast<double>(e.samples);
    e.accuracy = 100.0 * static_cast<double>(e.correct) / static_cast<double>(e.samples);
  }
  if (want_scores) counts.finish(e);
  return e;
}

CTNN_INLINE long Loop::recalibrate_batch_norm(Learner& learner, DataSource& data, std::uint64_t epoch) {
  long index = 0;
  data.each_batch(epoch, [&](const BatchView& b) { learner.accumulate_batch_norm_statistics(b, ++index); });
  if (index == 0) throw Error("Trainer::recalibrate_batch_norm: the data has no batches");
  if (collective) collective->synchronize_buffers();
  return index;
}

CTNN_INLINE EpochRecord Loop::train_epoch(Learner& learner, DataSource& train, int epoch, ProgressPrinter& progress,
                                          BatchLog* log, const FitOptions& options) {
  const long batches = train.batches_per_epoch();
  learner.set_mode(Mode::train);
  progress.begin_epoch(epoch, options.epochs, batches);
  const auto start = std::chrono::steady_clock::now();
  double loss_sum = 0;
  long seen = 0, correct = 0, index = 0;
  float lr = learner.lr();
  // Each batch's loss is checked when the learner hands it back, and recorded (sums, history,
  // progress, log, callbacks) after the batch's own step and before the next one: at once where
  // results are ready at once (checked before the step, as ever), loss_lag() batches later
  // otherwise (the check then comes after the batch's step).
  struct Batch {
    long index;
    int size;
    float lr;
  };
  PendingLosses<Batch> pending(learner);
  const auto check = [&](const Batch& b, const LossResult& r) {
    if (!std::isfinite(r.loss))
      throw TrainingError(fmt::format(
          "epoch {}, batch {}/{}: the loss is {}; training stopped{}", epoch, b.index, batches, r.loss,
          options.checkpoint.empty()
              ? std::string()
              : fmt::format(". The last checkpoint, {} (epoch {}), is left as it was", options.checkpoint.string(),
                            epochs_done)));
  };
  const auto record = [&](const Batch& b, LossResult r) {
    int size = b.size;
    if (collective) {  // the job's batch: every rank's share (ranks record in the same order)
      double totals[] = {static_cast<double>(r.loss) * b.size, static_cast<double>(r.correct), static_cast<double>(b.size)};
      collective->sum(totals);
      r.loss = static_cast<float>(totals[0] / totals[2]), r.correct = static_cast<int>(totals[1]);
      size = static_cast<int>(totals[2]);
    }
    loss_sum += static_cast<double>(r.loss) * size;
    correct += r.correct;
    seen += size;
    history.batch_losses.push_back(r.loss);
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    progress.batch(b.index, r.loss, correct, seen, elapsed);
    const BatchInfo info{epoch, b.index, batches, size, r.loss, r.correct, b.lr};
    if (log) log->write(info, learner.steps(), elapsed);
    for (auto& f : batch_callbacks) f(info);
  };
  const auto check_and_record = [&](const Batch& b, const LossResult& r) { check(b, r), record(b, r); };
  train.each_batch(static_cast<std::uint64_t>(epoch - 1), [&](const BatchView& b) {
    ++index;
    if (schedule) {
      const schedule::Progress p{learner.steps(), epoch - 1, batches};
      learner.set_lr(schedule.at(p));
      if (const auto m = schedule.momentum(p)) learner.set_momentum(*m);
    }
    lr = learner.lr();
    learner.queue_forward_loss(b);
    pending.push({index, b.size, lr});
    std::optional<std::pair<Batch, LossResult>> this_batch;
    pending.take([&](const Batch& q, const LossResult& r) {
      if (q.index != index) return check_and_record(q, r);
      check(q, r);
      this_batch.emplace(q, r);
    });
    learner.backward_and_step();
    if (this_batch) record(this_batch->first, this_batch->second);
  });
  pending.take(check_and_record, true);
  if (seen == 0) throw Error(fmt::format("Trainer::fit: epoch {} of the training data has no batches", epoch));
  EpochRecord e;
  e.epoch = epoch;
  e.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  e.train_loss = loss_sum / static_cast<double>(seen);
  e.train_accuracy = 100.0 * static_cast<double>(correct) / static_cast<double>(seen);
  e.lr = lr;
  e.images_per_second = e.seconds > 0 ? static_cast<double>(seen) / e.seconds : 0;
  return e;
}

CTNN_INLINE std::filesystem::path best_weights_file(const FitOptions& options) {
  if (!options.best_weights.empty()) return options.best_weights;
  if (!options.keep_best || options.checkpoint.empty()) return {};
  auto file = options.checkpoint;
  const auto extension = file.extension();
  return file.replace_extension(".best" + extension.string());
}

CTNN_INLINE bool Loop::count_epoch(const EpochRecord& r, const FitOptions& options) {
  const auto& es = options.early_stopping;
  const bool by_loss = es && es->metric == EarlyStopping::Metric::test_loss;
  const bool has_test = !std::isnan(r.test_accuracy);
  // Higher is better: accuracy, or minus the loss (the training metrics without test data).
  const double value = by_loss ? -(has_test ? r.test_loss : r.train_loss) : (has_test ? r.test_accuracy : r.train_accuracy);
  const double min_delta = es ? es->min_delta : 0.0;
  if (best_.epoch == 0 || value > best_.metric + min_delta) {
    best_ = {value, r.epoch, 0};
    return true;
  }
  ++best_.stale_epochs;
  return false;
}

CTNN_INLINE void Loop::track_best(Learner& learner, const EpochRecord& r, const FitOptions& options,
                                  ProgressPrinter& progress) {
  if (count_epoch(r, options)) {
    if (options.keep_best) best_parameters_ = learner.snapshot(), best_parameters_epoch_ = r.epoch;
    if (const auto file = best_weights_file(options); !file.empty() && writes())
      learner.save_weights(file, {{"ctnn.epoch", std::to_string(r.epoch)}});
  }
  if (early_stop_due(options, progress)) stop_requested = true;
}

CTNN_INLINE bool Loop::early_stop_due(const FitOptions& options, ProgressPrinter& progress) {
  const auto& es = options.early_stopping;
  if (!es || best_.epoch == 0 || best_.stale_epochs < es->patience) return false;
  progress.message(fmt::format("early stopping: no improvement for {} epochs (best: epoch {})", best_.stale_epochs,
                               best_.epoch));
  return true;
}

// keep_best: the best epoch's parameters from the snapshot, or, when that epoch came before
// resume(), from the best-weights file.
CTNN_INLINE void Loop::restore_best(Learner& learner, const FitOptions& options, ProgressPrinter& progress) {
  if (best_.epoch == 0) return;
  if (best_parameters_epoch_ == best_.epoch) {
    learner.restore(best_parameters_);
  } else {
    const auto file = best_weights_file(options);
    std::string problem;
    std::error_code ec;
    if (file.empty()) {
      problem = "no best-weights file was written (set a checkpoint or FitOptions::best_weights)";
    } else if (!std::filesystem::exists(file, ec)) {
      problem = fmt::format("{} is missing", file.string());
    } else {
      const auto m = io::read_safetensors(file).metadata;
      const auto it = m.find("ctnn.epoch");
      if (it == m.end() || it->second != std::to_string(best_.epoch))
        problem = fmt::format("{} holds epoch {}", file.string(), it == m.end() ? "(none)" : it->second);
    }
    if (!problem.empty()) {
      progress.message(fmt::format("keep_best: can't restore epoch {}, the best one, which came before the resume: "
                                   "{}; the parameters stay those of epoch {}",
                                   best_.epoch, problem, epochs_done));
      return;
    }
    learner.load_weights(file);
  }
  progress.message(fmt::format("restored the parameters of epoch {}, the best one", best_.epoch));
}

// Model, optimizer, dropout generator, epoch, history and schedule state.
CTNN_INLINE void Loop::save_checkpoint(Learner& learner, const std::filesystem::path& path) {
  if (!writes()) return;  // rank 0 writes it for the job
  io::Metadata m;
  m["ctnn.epoch"] = std::to_string(epochs_done);
  // Exact, so that the best-epoch bookkeeping fit() recomputes from it is an uninterrupted run's.
  m["ctnn.history"] = history.csv(History::Digits::exact);
  m["ctnn.schedule"] = schedule.state();
  std::string losses;  // every batch's loss, so a resumed run's plot covers the whole run
  for (const float l : history.batch_losses) losses += fmt::format("{:.6g} ", l);
  m["ctnn.batch_losses"] = losses;
  learner.save_checkpoint(path, std::move(m));
}

CTNN_INLINE void Loop::resume(Learner& learner, const std::filesystem::path& path) {
  const auto m = learner.load_checkpoint(path);
  const std::string source = path.string();
  epochs_done = static_cast<int>(io::detail::parse_long(io::detail::require(m, "ctnn.epoch", source), "ctnn.epoch", source));
  history = History::from_csv(io::detail::require(m, "ctnn.history", source));
  schedule.restore(io::detail::require(m, "ctnn.schedule", source));
  if (const auto it = m.find("ctnn.batch_losses"); it != m.end()) {
    const char* p = it->second.c_str();
    for (char* end = nullptr;; p = end) {
      const float v = std::strtof(p, &end);
      if (end == p) break;
      history.batch_losses.push_back(v);
    }
  }
  // keep_best's snapshot is not in the checkpoint; fit() reads the best-weights file if needed.
  best_parameters_.clear(), best_parameters_epoch_ = 0;
}

}  // namespace ctnn::train::detail
