// Trainer: fit, evaluate and predict for any model, optimizer and loss.
//
//   train::Trainer trainer{model, optim::Adam(model.parameters(), {.lr = 1e-3f}), loss::CrossEntropy<Cpu>{}};
//   trainer.fit(train_loader, test_loader, {.epochs = 50, .checkpoint = "run.safetensors",
//                                           .history_csv = "history.csv", .plot_png = "history.png"});
//   fmt::print("test accuracy: {:.2f}%\n", trainer.evaluate(test_loader).accuracy);
//
// Data sources are ranges of batches, one epoch at a time: `source.epoch(e)` (e from 0) yields
// batches with `size`, `images` (NCHW floats) and `labels`, and `source.batches_per_epoch()`
// counts them. data::Loader is one. Epoch e's batches must depend only on e (data::Loader's
// do: its order and augmentation are functions of its seed and e), so that a resumed run
// sees the same data as an uninterrupted one.
//
// Every epoch: the model trains on all of `train` (the schedule sets the learning rate before
// each step), is evaluated on the validation data, the history gets a row, callbacks run, and
// the checkpoint and history CSV are rewritten (atomically). A non-finite loss stops training
// with a TrainingError naming the epoch and batch; the last checkpoint is not touched.
#pragma once
#include <algorithm>  // std::max_element, std::copy, std::min
#include <chrono>
#include <cmath>  // std::isfinite, std::nan
#include <cstdint>
#include <cstdio>
#include <cstdlib>  // std::strtod
#include <filesystem>
#include <functional>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "ctnn/core/error.hpp"          // Error
#include "ctnn/core/mode.hpp"           // Mode
#include "ctnn/io/checkpoint.hpp"       // save_checkpoint, load_checkpoint, save_weights
#include "ctnn/optim/state.hpp"         // Optimizer, HasMomentum
#include "ctnn/schedule/schedule.hpp"   // Schedule, Progress, EpochMetrics
#include "ctnn/train/history.hpp"       // History, EpochRecord
#include "ctnn/train/plot.hpp"          // plot_history
#include "ctnn/train/progress.hpp"      // ProgressPrinter, Output

namespace ctnn::train {

// Training can't go on (a NaN or infinite loss).
class TrainingError : public Error {
 public:
  using Error::Error;
};

struct Evaluation {
  double loss = 0;      // mean over the samples
  double accuracy = 0;  // percent
  long samples = 0, correct = 0;
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
  std::filesystem::path plot_png;      // if set: drawn (with gnuplot) when fit() returns
  std::optional<EarlyStopping> early_stopping;
  bool keep_best = false;              // end with the parameters of the best epoch (test accuracy)
  std::filesystem::path best_weights;  // if set: the best epoch's weights, saved when it improves
};

// What an end-of-batch callback sees.
struct BatchInfo {
  int epoch = 0;           // from 1
  long batch = 0;          // from 1
  long batches = 0;        // in the epoch
  int size = 0;            // samples in this batch
  float loss = 0;          // this batch's mean loss
  int correct = 0;         // this batch's correct predictions
  float lr = 0;            // the learning rate of this step
};

template <class ModelT, optim::Optimizer Opt, class Loss>
class Trainer {
 public:
  Trainer(ModelT& model, Opt optimizer, Loss loss = {}, schedule::Schedule schedule = {})
      : model_(&model), optimizer_(std::move(optimizer)), loss_(std::move(loss)), schedule_(std::move(schedule)) {}

  // --- training --------------------------------------------------------------------------
  template <class Train, class Test>
  const History& fit(Train& train, Test& test, const FitOptions& options) {
    return run(train, &test, options);
  }
  template <class Train>
  const History& fit(Train& train, const FitOptions& options) {
    return run<Train, Train>(train, nullptr, options);
  }

  // Mean loss and accuracy over one pass of `data` in eval mode (epoch 0 of the source).
  template <class Data>
  Evaluation evaluate(Data& data) {
    const Mode previous = model_->mode();
    model_->eval();
    Evaluation e;
    double loss_sum = 0;
    for (const auto& b : data.epoch(0)) {
      const auto r = loss_.forward(model_->forward(b.images, b.size), b.labels);
      loss_sum += static_cast<double>(r.loss) * b.size;
      e.correct += r.correct;
      e.samples += b.size;
    }
    if (previous == Mode::train) model_->train();
    if (e.samples > 0) {
      e.loss = loss_sum / static_cast<double>(e.samples);
      e.accuracy = 100.0 * static_cast<double>(e.correct) / static_cast<double>(e.samples);
    }
    return e;
  }

  // The predicted class of each of `count` samples (NCHW floats), in eval mode.
  std::vector<int> predict(std::span<const float> samples, long count, long batch = 256) {
    if (count < 0 || (count > 0 && samples.size() % static_cast<std::size_t>(count) != 0))
      throw Error(fmt::format("Trainer::predict: {} floats don't divide into {} samples", samples.size(), count));
    std::vector<int> classes;
    classes.reserve(static_cast<std::size_t>(count));
    const std::size_t per_sample = count ? samples.size() / static_cast<std::size_t>(count) : 0;
    for (long first = 0; first < count; first += batch) {
      const long n = std::min(batch, count - first);
      const auto out = model_->predict(samples.subspan(static_cast<std::size_t>(first) * per_sample,
                                                       static_cast<std::size_t>(n) * per_sample),
                                       n);
      const std::size_t k = out.size() / static_cast<std::size_t>(n);
      for (long i = 0; i < n; ++i) {
        const float* row = out.data() + static_cast<std::size_t>(i) * k;
        classes.push_back(static_cast<int>(std::max_element(row, row + k) - row));
      }
    }
    return classes;
  }
  // The predicted class of every sample of one pass of `data`, in its order.
  template <class Data>
  std::vector<int> predict(Data& data) {
    std::vector<int> classes;
    for (const auto& b : data.epoch(0)) {
      const auto some = predict(b.images, b.size, b.size);
      classes.insert(classes.end(), some.begin(), some.end());
    }
    return classes;
  }

  // --- callbacks -------------------------------------------------------------------------
  void on_batch_end(std::function<void(const BatchInfo&)> f) { batch_callbacks_.push_back(std::move(f)); }
  void on_epoch_end(std::function<void(const EpochRecord&)> f) { epoch_callbacks_.push_back(std::move(f)); }
  // Asks fit() to return once the current epoch is done (for callbacks).
  void stop() { stop_requested_ = true; }

  // --- checkpoints -----------------------------------------------------------------------
  // Model, optimizer, dropout generator, epoch, history and schedule state.
  void save_checkpoint(const std::filesystem::path& path) {
    io::Metadata m;
    m["ctnn.epoch"] = std::to_string(epochs_done_);
    m["ctnn.history"] = history_.csv();
    m["ctnn.schedule"] = schedule_.state();
    m["ctnn.best_metric"] = fmt::format("{:a}", best_metric_);
    m["ctnn.stale_epochs"] = std::to_string(stale_epochs_);
    std::string losses;  // every batch's loss, so a resumed run's plot covers the whole run
    for (const float l : history_.batch_losses) losses += fmt::format("{:.6g} ", l);
    m["ctnn.batch_losses"] = losses;
    io::save_checkpoint(path, *model_, optimizer_, std::move(m));
  }

  // Continues from a checkpoint written by save_checkpoint (or by fit with .checkpoint): the
  // next fit() starts with the epoch after the saved one.
  void resume(const std::filesystem::path& path) {
    const auto m = io::load_checkpoint(path, *model_, optimizer_);
    const std::string source = path.string();
    epochs_done_ = static_cast<int>(io::detail::parse_long(io::detail::require(m, "ctnn.epoch", source), "ctnn.epoch", source));
    history_ = History::from_csv(io::detail::require(m, "ctnn.history", source));
    schedule_.restore(io::detail::require(m, "ctnn.schedule", source));
    best_metric_ = std::strtod(io::detail::require(m, "ctnn.best_metric", source).c_str(), nullptr);
    stale_epochs_ = static_cast<int>(
        io::detail::parse_long(io::detail::require(m, "ctnn.stale_epochs", source), "ctnn.stale_epochs", source));
    if (const auto it = m.find("ctnn.batch_losses"); it != m.end()) {
      const char* p = it->second.c_str();
      for (char* end = nullptr;; p = end) {
        const float v = std::strtof(p, &end);
        if (end == p) break;
        history_.batch_losses.push_back(v);
      }
    }
    best_.clear();  // keep_best's snapshot is not in the checkpoint; best_weights (a file) is
  }

  int epochs_done() const { return epochs_done_; }
  const History& history() const { return history_; }
  ModelT& model() { return *model_; }
  Opt& optimizer() { return optimizer_; }
  Loss& loss() { return loss_; }
  schedule::Schedule& schedule() { return schedule_; }

 private:
  template <class Train, class Test>
  const History& run(Train& train, Test* test, const FitOptions& options) {
    ProgressPrinter progress(options.output, options.out, options.log_every);
    stop_requested_ = false;
    const long batches = static_cast<long>(train.batches_per_epoch());
    const bool restore_best = options.keep_best;
    for (int epoch = epochs_done_ + 1; epoch <= options.epochs && !stop_requested_; ++epoch) {
      EpochRecord record = train_epoch(train, epoch, options.epochs, batches, progress, options);
      if (test) {
        const Evaluation e = evaluate(*test);
        record.test_loss = e.loss;
        record.test_accuracy = e.accuracy;
      } else {
        record.test_loss = record.test_accuracy = std::numeric_limits<double>::quiet_NaN();
      }
      history_.epochs.push_back(record);
      epochs_done_ = epoch;
      progress.end_epoch(record);
      schedule_.end_epoch({record.train_loss, record.train_accuracy, record.test_loss, record.test_accuracy, test != nullptr});
      track_best(record, test != nullptr, options, progress);
      if (!options.checkpoint.empty()) save_checkpoint(options.checkpoint);
      if (!options.history_csv.empty()) history_.write_csv(options.history_csv);
      for (auto& f : epoch_callbacks_) f(record);
    }
    if (restore_best && !best_.empty()) {
      auto params = model_->parameters();
      for (std::size_t i = 0; i < params.size(); ++i) params[i].value->assign(best_[i]);
      progress.message(fmt::format("restored the parameters of epoch {}, the best one", best_epoch_));
    }
    if (!options.plot_png.empty()) {
      const std::string problem = plot_history(history_, options.plot_png);
      if (!problem.empty()) {
        fmt::print(options.out ? options.out : stderr, "plot: {}; the history is in {}\n", problem,
                   options.history_csv.empty() ? std::string("no CSV (no history file was asked for)")
                                               : options.history_csv.string());
      }
    }
    return history_;
  }

  template <class Train>
  EpochRecord train_epoch(Train& train, int epoch, int epochs, long batches, ProgressPrinter& progress,
                          const FitOptions& options) {
    model_->train();
    progress.begin_epoch(epoch, epochs, batches);
    const auto start = std::chrono::steady_clock::now();
    double loss_sum = 0;
    long seen = 0, correct = 0, index = 0;
    float lr = optimizer_.lr();
    for (const auto& b : train.epoch(static_cast<std::uint64_t>(epoch - 1))) {
      ++index;
      if (schedule_) {
        const schedule::Progress p{optimizer_.steps(), epoch - 1, batches};
        optimizer_.set_lr(schedule_.at(p));
        if constexpr (optim::HasMomentum<Opt>)
          if (const auto m = schedule_.momentum(p)) optimizer_.set_momentum(*m);
      }
      lr = optimizer_.lr();
      const auto r = loss_.forward(model_->forward(b.images, b.size), b.labels);
      if (!std::isfinite(r.loss))
        throw TrainingError(fmt::format(
            "epoch {}, batch {}/{}: the loss is {}; training stopped{}", epoch, index, batches, r.loss,
            options.checkpoint.empty()
                ? std::string()
                : fmt::format(". The last checkpoint, {} (epoch {}), is left as it was", options.checkpoint.string(),
                              epochs_done_)));
      model_->backward(loss_.gradient());
      optimizer_.step();
      loss_sum += static_cast<double>(r.loss) * b.size;
      correct += r.correct;
      seen += b.size;
      history_.batch_losses.push_back(r.loss);
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      progress.batch(index, r.loss, correct, seen, elapsed);
      if (!batch_callbacks_.empty()) {
        const BatchInfo info{epoch, index, batches, b.size, r.loss, r.correct, lr};
        for (auto& f : batch_callbacks_) f(info);
      }
    }
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
  void track_best(const EpochRecord& r, bool has_test, const FitOptions& options, ProgressPrinter& progress) {
    const auto& es = options.early_stopping;
    const bool by_loss = es && es->metric == EarlyStopping::Metric::test_loss;
    // Higher is better: accuracy, or minus the loss (the training metrics without test data).
    const double value = by_loss ? -(has_test ? r.test_loss : r.train_loss) : (has_test ? r.test_accuracy : r.train_accuracy);
    const double min_delta = es ? es->min_delta : 0.0;
    if (value > best_metric_ + min_delta || best_metric_ == -std::numeric_limits<double>::infinity()) {
      best_metric_ = value;
      best_epoch_ = r.epoch;
      stale_epochs_ = 0;
      if (options.keep_best) {
        best_.clear();
        for (auto& p : model_->parameters()) best_.push_back(p.value->to_vector());
      }
      if (!options.best_weights.empty())
        io::save_weights(options.best_weights, *model_, {{"ctnn.epoch", std::to_string(r.epoch)}});
    } else {
      ++stale_epochs_;
    }
    if (es && stale_epochs_ >= es->patience) {
      progress.message(fmt::format("early stopping: no improvement for {} epochs (best: epoch {})", stale_epochs_,
                                   best_epoch_));
      stop_requested_ = true;
    }
  }

  ModelT* model_;
  Opt optimizer_;
  Loss loss_;
  schedule::Schedule schedule_;
  History history_;
  int epochs_done_ = 0;
  std::vector<std::function<void(const BatchInfo&)>> batch_callbacks_;
  std::vector<std::function<void(const EpochRecord&)>> epoch_callbacks_;
  bool stop_requested_ = false;
  double best_metric_ = -std::numeric_limits<double>::infinity();
  int best_epoch_ = 0, stale_epochs_ = 0;
  std::vector<std::vector<float>> best_;
};

template <class ModelT, class Opt, class Loss>
Trainer(ModelT&, Opt, Loss) -> Trainer<ModelT, Opt, Loss>;
template <class ModelT, class Opt, class Loss, class S>
Trainer(ModelT&, Opt, Loss, S) -> Trainer<ModelT, Opt, Loss>;

}  // namespace ctnn::train
