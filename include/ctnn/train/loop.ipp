// Definitions for loop.hpp (inline, or compiled once with CTNN_SEPARATE_COMPILATION).
#pragma once
#include <chrono>
#include <cmath>    // std::isfinite
#include <cstdlib>  // std::strtod, std::strtof
#include <limits>

#include <fmt/format.h>

#include "ctnn/train/loop.hpp"
#include "ctnn/train/plot.hpp"      // plot_history
#include "ctnn/train/progress.hpp"  // ProgressPrinter

namespace ctnn::train::detail {

CTNN_INLINE const History& Loop::run(Learner& learner, DataSource& train, DataSource* test,
                                     const FitOptions& options) {
  ProgressPrinter progress(options.output, options.out, options.log_every);
  stop_requested = false;
  for (int epoch = epochs_done + 1; epoch <= options.epochs && !stop_requested; ++epoch) {
    EpochRecord record = train_epoch(learner, train, epoch, progress, options);
    if (options.recalibrate_batch_norm && epoch == options.epochs) {
      const long batches = recalibrate_batch_norm(learner, train, static_cast<std::uint64_t>(epoch - 1));
      progress.message(fmt::format("re-estimated the BN statistics over {} training batches with dropout off", batches));
    }
    if (test) {
      const Evaluation e = evaluate(learner, *test);
      record.test_loss = e.loss;
      record.test_accuracy = e.accuracy;
    } else {
      record.test_loss = record.test_accuracy = std::numeric_limits<double>::quiet_NaN();
    }
    history.epochs.push_back(record);
    epochs_done = epoch;
    progress.end_epoch(record);
    schedule.end_epoch({record.train_loss, record.train_accuracy, record.test_loss, record.test_accuracy, test != nullptr});
    track_best(learner, record, test != nullptr, options, progress);
    if (!options.checkpoint.empty()) save_checkpoint(learner, options.checkpoint);
    if (!options.history_csv.empty()) history.write_csv(options.history_csv);
    for (auto& f : epoch_callbacks) f(record);
  }
  if (options.keep_best && !best_.empty()) {
    learner.set_parameter_values(best_);
    progress.message(fmt::format("restored the parameters of epoch {}, the best one", best_epoch_));
  }
  if (!options.plot_png.empty()) {
    const std::string problem = plot_history(history, options.plot_png);
    if (!problem.empty()) {
      fmt::print(options.out ? options.out : stderr, "plot: {}; the history is in {}\n", problem,
                 options.history_csv.empty() ? std::string("no CSV (no history file was asked for)")
                                             : options.history_csv.string());
    }
  }
  return history;
}

CTNN_INLINE Evaluation Loop::evaluate(Learner& learner, DataSource& data) {
  const Mode previous = learner.mode();
  learner.set_mode(Mode::eval);
  Evaluation e;
  double loss_sum = 0;
  data.each_batch(0, [&](const BatchView& b) {
    const auto r = learner.forward_loss(b);
    loss_sum += static_cast<double>(r.loss) * b.size;
    e.correct += r.correct;
    e.samples += b.size;
  });
  learner.set_mode(previous);
  if (e.samples > 0) {
    e.loss = loss_sum / static_cast<double>(e.samples);
    e.accuracy = 100.0 * static_cast<double>(e.correct) / static_cast<double>(e.samples);
  }
  return e;
}

CTNN_INLINE long Loop::recalibrate_batch_norm(Learner& learner, DataSource& data, std::uint64_t epoch) {
  long index = 0;
  data.each_batch(epoch, [&](const BatchView& b) { learner.accumulate_batch_norm_statistics(b, ++index); });
  if (index == 0) throw Error("Trainer::recalibrate_batch_norm: the data has no batches");
  return index;
}

CTNN_INLINE EpochRecord Loop::train_epoch(Learner& learner, DataSource& train, int epoch, ProgressPrinter& progress,
                                          const FitOptions& options) {
  const long batches = train.batches_per_epoch();
  learner.set_mode(Mode::train);
  progress.begin_epoch(epoch, options.epochs, batches);
  const auto start = std::chrono::steady_clock::now();
  double loss_sum = 0;
  long seen = 0, correct = 0, index = 0;
  float lr = learner.lr();
  train.each_batch(static_cast<std::uint64_t>(epoch - 1), [&](const BatchView& b) {
    ++index;
    if (schedule) {
      const schedule::Progress p{learner.steps(), epoch - 1, batches};
      learner.set_lr(schedule.at(p));
      if (const auto m = schedule.momentum(p)) learner.set_momentum(*m);
    }
    lr = learner.lr();
    const auto r = learner.forward_loss(b);
    if (!std::isfinite(r.loss))
      throw TrainingError(fmt::format(
          "epoch {}, batch {}/{}: the loss is {}; training stopped{}", epoch, index, batches, r.loss,
          options.checkpoint.empty()
              ? std::string()
              : fmt::format(". The last checkpoint, {} (epoch {}), is left as it was", options.checkpoint.string(),
                            epochs_done)));
    learner.backward_and_step();
    loss_sum += static_cast<double>(r.loss) * b.size;
    correct += r.correct;
    seen += b.size;
    history.batch_losses.push_back(r.loss);
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    progress.batch(index, r.loss, correct, seen, elapsed);
    if (!batch_callbacks.empty()) {
      const BatchInfo info{epoch, index, batches, b.size, r.loss, r.correct, lr};
      for (auto& f : batch_callbacks) f(info);
    }
  });
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

// Best-epoch bookkeeping for keep_best, best_weights and early stopping.
CTNN_INLINE void Loop::track_best(Learner& learner, const EpochRecord& r, bool has_test, const FitOptions& options,
                                  ProgressPrinter& progress) {
  const auto& es = options.early_stopping;
  const bool by_loss = es && es->metric == EarlyStopping::Metric::test_loss;
  // Higher is better: accuracy, or minus the loss (the training metrics without test data).
  const double value = by_loss ? -(has_test ? r.test_loss : r.train_loss) : (has_test ? r.test_accuracy : r.train_accuracy);
  const double min_delta = es ? es->min_delta : 0.0;
  if (value > best_metric_ + min_delta || best_metric_ == -std::numeric_limits<double>::infinity()) {
    best_metric_ = value;
    best_epoch_ = r.epoch;
    stale_epochs_ = 0;
    if (options.keep_best) best_ = learner.parameter_values();
    if (!options.best_weights.empty())
      learner.save_weights(options.best_weights, {{"ctnn.epoch", std::to_string(r.epoch)}});
  } else {
    ++stale_epochs_;
  }
  if (es && stale_epochs_ >= es->patience) {
    progress.message(fmt::format("early stopping: no improvement for {} epochs (best: epoch {})", stale_epochs_,
                                 best_epoch_));
    stop_requested = true;
  }
}

// Model, optimizer, dropout generator, epoch, history and schedule state.
CTNN_INLINE void Loop::save_checkpoint(Learner& learner, const std::filesystem::path& path) {
  io::Metadata m;
  m["ctnn.epoch"] = std::to_string(epochs_done);
  m["ctnn.history"] = history.csv();
  m["ctnn.schedule"] = schedule.state();
  m["ctnn.best_metric"] = fmt::format("{:a}", best_metric_);
  m["ctnn.stale_epochs"] = std::to_string(stale_epochs_);
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
  best_metric_ = std::strtod(io::detail::require(m, "ctnn.best_metric", source).c_str(), nullptr);
  stale_epochs_ = static_cast<int>(
      io::detail::parse_long(io::detail::require(m, "ctnn.stale_epochs", source), "ctnn.stale_epochs", source));
  if (const auto it = m.find("ctnn.batch_losses"); it != m.end()) {
    const char* p = it->second.c_str();
    for (char* end = nullptr;; p = end) {
      const float v = std::strtof(p, &end);
      if (end == p) break;
      history.batch_losses.push_back(v);
    }
  }
  best_.clear();  // keep_best's snapshot is not in the checkpoint; best_weights (a file) is
}

}  // namespace ctnn::train::detail
