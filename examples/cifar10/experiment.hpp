// The cifar10 example's training, written once over the backend: train_cpu.cpp runs it on the
// CPU (g++, oneDNN) and cuda.cu on the GPU (nvcc, cuDNN). This header must not include a
// backend itself: nvcc can't compile oneDNN's header, and g++ can't compile the CUDA one. The
// data arrives as train::DataSource objects that main.cpp made, so the network's translation
// units compile the network and training, not the data pipeline.
#pragma once
#include <cstdint>
#include <cstdio>  // std::fflush
#include <filesystem>
#include <string>
#include <vector>

#include <ctnn/loss/cross_entropy.hpp>
#include <ctnn/model.hpp>
#include <ctnn/models/seed.hpp>
#include <ctnn/optim/adam.hpp>
#include <ctnn/optim/sgd.hpp>
#include <ctnn/schedule/schedules.hpp>
#include <ctnn/train/metrics.hpp>
#include <ctnn/train/trainer.hpp>
#include <fmt/core.h>

#include "recipe.hpp"  // Options

namespace cifar10_example {
using namespace ctnn;
namespace fs = std::filesystem;

using models::SeedNet;  // the seed's network (include/ctnn/models/seed.hpp)

// The data main.cpp prepared for the run.
struct RunData {
  train::DataSource& train_data;
  train::DataSource& test_data;
  std::size_t train_images, test_images;
  std::string name;
  std::vector<std::string> class_names;  // of the test set's labels
};

// True when this program was built with the CUDA backend (cuda.cu linked in).
extern const bool cuda_built;
// Defined in train_cpu.cpp, and in cuda.cu (or as a refusal in main.cpp without CUDA).
int train_on_cpu(const Options& o, const RunData& d);
int train_on_cuda(const Options& o, const RunData& d);

inline train::Output output_mode(const std::string& s) {
  if (s == "bar") return train::Output::bar;
  if (s == "lines") return train::Output::lines;
  if (s == "none") return train::Output::quiet;
  return train::Output::automatic;
}

template <class Backend>
int train_seed(const Options& o, const RunData& d) {
  auto& train_data = d.train_data;
  auto& test_data = d.test_data;
  const auto& data_name = d.name;
  // --- model, optimizer, schedule ------------------------------------------------------------
  using SeedModel = Model<SeedNet, Input<3, 32, 32>, Backend>;
  SeedModel model(o.seed);
  fmt::print("{}", SeedModel::summary());
  const long steps_per_epoch = static_cast<long>(train_data.batches_per_epoch());
  schedule::Schedule lr_schedule;
  if (o.schedule == "onecycle")
    lr_schedule = schedule::OneCycle{.max_lr = o.lr, .total_steps = o.epochs * steps_per_epoch};
  else if (o.schedule == "cosine")
    lr_schedule = schedule::Cosine{.lr = o.lr, .t_max = o.epochs * steps_per_epoch, .per_step = true};
  else if (o.warmup > 0)
    lr_schedule = schedule::Constant{o.lr};
  if (o.warmup > 0) lr_schedule = schedule::LinearWarmup{lr_schedule, o.warmup};

  fmt::print("data: {}\n  {} training images (batch {}, {} steps per epoch), {} test images\n", data_name,
             d.train_images, o.batch, steps_per_epoch, d.test_images);
  fmt::print("recipe: {} lr {}{}{}, schedule {}{}, {} epochs{}, seed {}\n", o.optimizer, o.lr,
             o.optimizer == "sgd" ? fmt::format(", momentum {}{}", o.momentum, o.nesterov ? " (Nesterov)" : "") : "",
             o.weight_decay > 0 ? fmt::format(", weight decay {}{}", o.weight_decay,
                                              o.bias_decay ? "" : " (not on biases and BN)")
                                : "",
             o.schedule,
             o.warmup > 0 ? fmt::format(" after {} warmup steps", o.warmup) : "", o.epochs,
             o.recalibrate_bn ? ", then BN statistics re-estimated without dropout" : "", o.seed);

  train::FitOptions fit;
  fit.epochs = o.epochs;
  fit.output = output_mode(o.progress);
  fit.checkpoint = o.checkpoint;
  fit.history_csv = o.history;
  fit.plot_png = o.plot;
  fit.batch_log = o.batch_log;
  fit.recalibrate_batch_norm = o.recalibrate_bn;
  if (!o.plot.empty() && o.history.empty()) fit.history_csv = fs::path(o.plot).replace_extension(".csv");

  auto go = [&](auto optimizer) -> int {
    train::Trainer trainer{model, std::move(optimizer), loss::CrossEntropy<Backend>{}, lr_schedule};
    if (!o.resume.empty()) {
      trainer.resume(o.resume);
      fmt::print("resumed from {} after epoch {}\n", o.resume, trainer.epochs_done());
    }
    trainer.fit(train_data, test_data, fit);
    if (!fit.history_csv.empty()) fmt::print("history: {}\n", fit.history_csv.string());
    if (!fit.batch_log.empty()) fmt::print("batch log: {}\n", fit.batch_log.string());
    if (!fit.checkpoint.empty()) fmt::print("checkpoint: {}\n", fit.checkpoint.string());
    // The final model on the test set, in detail.
    fmt::print("the final model on the test set:\n");
    std::fflush(stdout);
    const auto evaluation = trainer.evaluate(test_data, {.confusion = true, .top_k = {1, 5}});
    fmt::print("{}", train::format_evaluation(evaluation, d.class_names));
    const double accuracy = evaluation.accuracy;
    fmt::print("test accuracy: {:.2f}%\n", accuracy);
    if (accuracy < o.min_accuracy) {
      fmt::print(stderr, "cifar10: test accuracy {:.2f}% is below --min-accuracy {}\n", accuracy, o.min_accuracy);
      return 1;
    }
    return 0;
  };
  if (o.optimizer == "sgd")
    return go(optim::Sgd(model.parameters(), {.lr = o.lr, .momentum = o.momentum, .weight_decay = o.weight_decay,
                                              .nesterov = o.nesterov, .decay_biases_and_norms = o.bias_decay}));
  optim::AdamOptions adam{.lr = o.lr, .weight_decay = o.weight_decay, .decay_biases_and_norms = o.bias_decay};
  if (o.optimizer == "adamw")
    return go(optim::AdamW(model.parameters(),
                           {.lr = o.lr, .weight_decay = o.weight_decay, .decay_biases_and_norms = o.bias_decay}));
  return go(optim::Adam(model.parameters(), adam));
}

}  // namespace cifar10_example
