// Trainer: fit, evaluate and predict for any model, optimizer and loss.
//
//   train::Trainer trainer{model, optim::Adam(model.parameters(), {.lr = 1e-3f}), loss::CrossEntropy<Cpu>{}};
//   trainer.fit(train_loader, test_loader, {.epochs = 50, .checkpoint = "run.safetensors",
//                                           .history_csv = "history.csv", .plot_png = "history.png"});
//   fmt::print("test accuracy: {:.2f}%\n", trainer.evaluate(test_loader).accuracy);
//
// Data sources are ranges of batches, one epoch at a time (data::Loader is one), or
// train::DataSource objects; see train/source.hpp.
//
// Every epoch: the model trains on all of `train` (the schedule sets the learning rate before
// each step), is evaluated on the validation data, the history gets a row, callbacks run, and
// the checkpoint and history CSV are rewritten (atomically). A non-finite loss stops training
// with a TrainingError naming the epoch and batch; the last checkpoint is not touched. With a
// loss whose results come back late (CrossEntropy<Cuda>: its `lag` is 1), each batch's loss is
// read after the next batch is queued, so the device never waits for the host; a NaN then
// stops training one step late, after the NaN batch's own step ran.
#pragma once
#include <algorithm>  // std::max_element, std::min
#include <concepts>   // std::same_as, std::convertible_to
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <span>
#include <utility>
#include <vector>

#include <fmt/core.h>

#include "ctnn/core/error.hpp"          // Error
#include "ctnn/core/mode.hpp"           // Mode
#include "ctnn/io/checkpoint.hpp"       // save_checkpoint, load_checkpoint, save_weights
#include "ctnn/optim/state.hpp"         // Optimizer, HasMomentum
#include "ctnn/schedule/schedule.hpp"   // Schedule
#include "ctnn/train/collective.hpp"    // Collective
#include "ctnn/train/history.hpp"       // History, EpochRecord
#include "ctnn/train/loop.hpp"          // Loop, Learner, FitOptions, ...
#include "ctnn/train/metrics.hpp"       // Evaluation, EvaluateOptions
#include "ctnn/train/source.hpp"        // DataSource, as_data_source

namespace ctnn {
template <class Net, class In, class Backend>
class Model;  // model.hpp
}  // namespace ctnn

namespace ctnn::train {
namespace detail {
template <class ModelT>
struct model_backend;
template <class Net, class In, class Backend>
struct model_backend<Model<Net, In, Backend>> {
  using type = Backend;
};
}  // namespace detail

// The model-specific half of training: forward, loss, backward and the optimizer step, and
// checkpoints of this model and optimizer. Everything else is detail::Loop's.
template <class ModelT, optim::Optimizer Opt, class Loss>
class Trainer final : private detail::Learner {
 public:
  Trainer(ModelT& model, Opt optimizer, Loss loss = {}, schedule::Schedule schedule = {})
      : model_(&model), optimizer_(std::move(optimizer)), loss_(std::move(loss)), loop_(std::move(schedule)) {}

  // --- training --------------------------------------------------------------------------
  template <class Train, class Test>
  const History& fit(Train& train, Test& test, const FitOptions& options) {
    auto&& train_source = as_data_source(train);
    auto&& test_source = as_data_source(test);
    return loop_.run(*this, train_source, &test_source, options);
  }
  template <class Train>
  const History& fit(Train& train, const FitOptions& options) {
    auto&& train_source = as_data_source(train);
    return loop_.run(*this, train_source, nullptr, options);
  }

  // Mean loss and accuracy over one pass of `data` in eval mode (epoch 0 of the source); with
  // `options`, also the confusion matrix, per-class and top-k accuracies (train/metrics.hpp).
  template <class Data>
  Evaluation evaluate(Data& data, const EvaluateOptions& options = {}) {
    auto&& source = as_data_source(data);
    return loop_.evaluate(*this, source, options);
  }

  // Re-estimates every BN layer's running statistics over one pass of epoch `epoch` of `data`
  // (the training data, augmented as trained on) with dropout off; returns the batches used.
  // Why and how: Model::accumulate_batch_norm_statistics. FitOptions::recalibrate_batch_norm
  // does this after the last epoch.
  template <class Data>
  long recalibrate_batch_norm(Data& data, std::uint64_t epoch = 0) {
    auto&& source = as_data_source(data);
    return loop_.recalibrate_batch_norm(*this, source, epoch);
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
    auto&& source = as_data_source(data);
    source.each_batch(0, [&](const BatchView& b) {
      const auto some = predict(b.images, b.size, b.size);
      classes.insert(classes.end(), some.begin(), some.end());
    });
    return classes;
  }

  // --- data-parallel training --------------------------------------------------------------
  // Makes this trainer one rank of a data-parallel job (distributed::DataParallel is the
  // Collective; docs/distributed.md): gradients are averaged over the ranks before every
  // optimizer step, the reported figures are over all ranks' samples, and only rank 0 writes
  // checkpoints, history, logs, plots and progress. `job` must outlive the trainer's use.
  void distribute(Collective& job) {
    collective_ = &job;
    loop_.collective = &job;
  }

  // --- callbacks -------------------------------------------------------------------------
  void on_batch_end(std::function<void(const BatchInfo&)> f) { loop_.batch_callbacks.push_back(std::move(f)); }
  void on_epoch_end(std::function<void(const EpochRecord&)> f) { loop_.epoch_callbacks.push_back(std::move(f)); }
  // Asks fit() to return once the current epoch is done (for callbacks).
  void stop() { loop_.stop_requested = true; }

  // --- checkpoints -----------------------------------------------------------------------
  // Model, optimizer, dropout generator, epoch, history and schedule state.
  void save_checkpoint(const std::filesystem::path& path) { loop_.save_checkpoint(*this, path); }
  // Continues from a checkpoint written by save_checkpoint (or by fit with .checkpoint): the
  // next fit() starts with the epoch after the saved one.
  void resume(const std::filesystem::path& path) { loop_.resume(*this, path); }

  int epochs_done() const { return loop_.epochs_done; }
  const History& history() const { return loop_.history; }
  ModelT& model() { return *model_; }
  Opt& optimizer() { return optimizer_; }
  Loss& loss() { return loss_; }
  schedule::Schedule& schedule() { return loop_.schedule; }

 private:
  // --- detail::Learner: what the loop asks of this model, optimizer and loss ---------------
  Mode mode() const override { return model_->mode(); }
  void set_mode(Mode m) override { m == Mode::train ? model_->train() : model_->eval(); }
  float lr() const override { return optimizer_.lr(); }
  void set_lr(float lr) override { optimizer_.set_lr(lr); }
  void set_momentum(float m) override {
    if constexpr (optim::HasMomentum<Opt>) optimizer_.set_momentum(m);
  }
  long steps() const override { return optimizer_.steps(); }
  // A loss with queue/take/lag (loss::CrossEntropy) may hand results back late; any other
  // (forward and gradient only) is taken at once.
  static constexpr bool queued_loss = requires(Loss& l, const typename ModelT::Tensor& t) {
    l.queue(t, std::span<const std::int32_t>{});
    { l.take() } -> std::same_as<LossResult>;
    { Loss::lag } -> std::convertible_to<int>;
  };
  void queue_forward_loss(const BatchView& b) override {
    const auto& logits = model_->forward(b.images, b.size);
    if constexpr (queued_loss) loss_.queue(logits, b.labels);
    else computed_.push_back(loss_.forward(logits, b.labels));
  }
  LossResult take_loss() override {
    if constexpr (queued_loss) {
      return loss_.take();
    } else {
      const LossResult r = computed_.at(0);
      computed_.pop_front();
      return r;
    }
  }
  int loss_lag() const override {
    if constexpr (queued_loss) return Loss::lag;
    else return 0;
  }
  LossResult evaluate_batch(const BatchView& b, std::vector<float>* scores) override {
    const auto& out = model_->forward(b.images, b.size);
    if (scores) *scores = detail::model_backend<ModelT>::type::to_host(out);
    if constexpr (queued_loss) {
      loss_.queue(out, b.labels);
      return loss_.take();
    } else {
      return loss_.forward(out, b.labels);
    }
  }
  void backward_and_step() override {
    model_->backward(loss_.gradient());
    if (collective_) collective_->finish_gradients();
    optimizer_.step();
  }
  void accumulate_batch_norm_statistics(const BatchView& b, long index) override {
    model_->accumulate_batch_norm_statistics(b.images, b.size, index);
  }
  void save_checkpoint(const std::filesystem::path& path, io::Metadata m) override {
    io::save_checkpoint(path, *model_, optimizer_, std::move(m));
  }
  io::Metadata load_checkpoint(const std::filesystem::path& path) override {
    return io::load_checkpoint(path, *model_, optimizer_);
  }
  void save_weights(const std::filesystem::path& path, const io::Metadata& m) override {
    io::save_weights(path, *model_, m);
  }
  void load_weights(const std::filesystem::path& path) override { io::load_weights(path, *model_); }
  io::StateDict snapshot() override { return io::state_dict(*model_); }
  void restore(const io::StateDict& state) override { io::load_state_dict(*model_, state); }

  ModelT* model_;
  Collective* collective_ = nullptr;
  Opt optimizer_;
  Loss loss_;
  std::deque<LossResult> computed_;  // results of a loss without queue/take
  detail::Loop loop_;
};

template <class ModelT, class Opt, class Loss>
Trainer(ModelT&, Opt, Loss) -> Trainer<ModelT, Opt, Loss>;
template <class ModelT, class Opt, class Loss, class S>
Trainer(ModelT&, Opt, Loss, S) -> Trainer<ModelT, Opt, Loss>;

}  // namespace ctnn::train
