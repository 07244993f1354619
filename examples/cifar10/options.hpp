// The cifar10 example's command line (CLI11): the flags, their checks and the two recipes.
// Kept apart from main.cpp so tests can check the parsing without training anything.
#pragma once
#include <algorithm>  // std::reverse
#include <cstdint>
#include <cstdlib>  // std::getenv
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "recipe.hpp"  // Options

namespace cifar10_example {


// `text` broken into lines of at most `width` characters at spaces (CLI11 indents the lines
// after the first to the description column), so --help fits an 80-column terminal.
inline std::string wrap(const std::string& text, std::size_t width = 48) {
  std::string out, line, word;
  auto flush_word = [&] {
    if (word.empty()) return;
    if (!line.empty() && line.size() + 1 + word.size() > width) out += line + "\n", line.clear();
    line += (line.empty() ? "" : " ") + word;
    word.clear();
  };
  for (const char c : text) {
    if (c == ' ' || c == '\n') {
      flush_word();
      if (c == '\n') out += line + "\n", line.clear();
    } else {
      word += c;
    }
  }
  flush_word();
  return out + line;
}

// An on/off pair of flags for `value`, each with its own help line.
inline void add_switch(CLI::App& app, const std::string& on, const std::string& off, bool& value,
                       const std::string& on_help, const std::string& off_help) {
  app.add_flag_callback(on, [&value] { value = true; }, wrap(on_help));
  app.add_flag_callback(off, [&value] { value = false; }, wrap(off_help));
}

inline std::string default_data_dir() {
  const char* env = std::getenv("CTNN_CIFAR10_DIR");
  return env && *env ? env : "data/cifar-10-batches-bin";
}

// Fills `app` with the flags, bound to `o`.
inline void add_flags(CLI::App& app, Options& o) {
  o.data = default_data_dir();
  app.description(wrap(
      "Trains the seed CNN on CIFAR-10 with the seed's recipe (crop, flip, rotation; batch 128; Adam 1e-3; 50 "
      "epochs), or with --recipe onecycle: SGD Nesterov 0.9, weight decay 5e-4, OneCycle to lr 0.1, then BN "
      "statistics re-estimated without dropout. At the end: the test set's confusion matrix, per-class and top-5 "
      "accuracy.\nWithout CIFAR-10 it trains a short run on a small synthetic data set.",
      79));
  app.add_option("--data", o.data, wrap("CIFAR-10 folder (cifar-10-batches-bin or its parent); default "
                                        "$CTNN_CIFAR10_DIR or data/cifar-10-batches-bin"))
      ->capture_default_str();
  app.add_option("--recipe", o.recipe, wrap("seed: Adam 1e-3, constant; onecycle: SGD Nesterov, wd 5e-4, OneCycle "
                                            "max lr 0.1, --recalibrate-bn (flags given explicitly override the "
                                            "recipe)"))
      ->check(CLI::IsMember({"seed", "onecycle"}))->capture_default_str();
  app.add_option("--epochs", o.epochs, "epochs to train")->check(CLI::Range(1, 100000))->capture_default_str();
  app.add_option("--batch", o.batch, "batch size")->check(CLI::Range(1, 65536))->capture_default_str();
  app.add_option("--lr", o.lr, "learning rate (OneCycle: the peak)")->check(CLI::Range(1e-8, 10.0))->capture_default_str();
  app.add_option("--optimizer", o.optimizer, "adam, adamw or sgd")
      ->check(CLI::IsMember({"adam", "adamw", "sgd"}))->capture_default_str();
  app.add_option("--schedule", o.schedule, "constant, onecycle or cosine")
      ->check(CLI::IsMember({"constant", "onecycle", "cosine"}))->capture_default_str();
  app.add_option("--momentum", o.momentum, "SGD momentum")->check(CLI::Range(0.0, 0.999999))->capture_default_str();
  add_switch(app, "--nesterov", "--no-nesterov", o.nesterov, "SGD with Nesterov momentum (on in --recipe onecycle)",
             "SGD with plain momentum (the default, except in --recipe onecycle)");
  app.add_option("--weight-decay", o.weight_decay, wrap("weight decay (L2 for adam and sgd, decoupled for adamw)"))
      ->check(CLI::Range(0.0, 1.0))->capture_default_str();
  add_switch(app, "--bias-decay", "--no-bias-decay", o.bias_decay,
             "weight decay on biases and BN's scale and shift too (the default, as in PyTorch)",
             "no weight decay on biases and BN's scale and shift");
  add_switch(app, "--recalibrate-bn", "--no-recalibrate-bn", o.recalibrate_bn,
             "after the last epoch, re-estimate BN's running statistics over the training data with dropout off "
             "(on in --recipe onecycle)",
             "don't (the default, except in --recipe onecycle)");
  app.add_option("--warmup", o.warmup, "linear warmup over this many steps")->check(CLI::Range(0L, 100000000L));
  app.add_option("--device", o.device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}))->capture_default_str();
  app.add_option("--threads", o.threads, wrap("compute threads (default: OpenMP's, from OMP_NUM_THREADS)"))
      ->check(CLI::Range(1, 1024));
  app.add_option("--loader-threads", o.loader_threads, wrap("augmentation threads (0: in the training thread)"))
      ->check(CLI::Range(0, 256));
  app.add_option("--seed", o.seed, wrap("seed of the initial weights, dropout, shuffling and augmentation"))
      ->capture_default_str();
  app.add_option("--train-limit", o.train_limit, wrap("train on the first N training images only (quick runs)"))
      ->check(CLI::Range(1L, 100000000L));
  app.add_option("--history", o.history, "write the per-epoch history to this CSV file");
  app.add_option("--plot", o.plot, wrap("draw the loss and accuracy curves into this PNG (needs gnuplot)"));
  app.add_option("--batch-log", o.batch_log,
                 wrap("log every training batch to this file: JSON lines, or CSV if it ends in .csv"));
  app.add_option("--checkpoint", o.checkpoint,
                 wrap("save model and optimizer state here (safetensors) after every epoch"));
  app.add_option("--resume", o.resume, "continue training from this checkpoint")->check(CLI::ExistingFile);
  app.add_option("--progress", o.progress, "auto, bar, lines or none")
      ->check(CLI::IsMember({"auto", "bar", "lines", "none"}))->capture_default_str();
  app.add_flag("--synthetic", o.synthetic, wrap("train on the synthetic data set even when CIFAR-10 is there"));
  add_switch(app, "--download", "--no-download", o.download, "try to download CIFAR-10 when it is missing (the default)",
             "don't try to download CIFAR-10");
  app.add_option("--min-accuracy", o.min_accuracy, wrap("exit with status 1 when the final test accuracy is below this"))
      ->check(CLI::Range(0.0, 100.0));
}

// Applies the recipe to whatever the command line didn't set explicitly.
inline void apply_recipe(const CLI::App& app, Options& o) {
  if (o.recipe != "onecycle") return;
  if (!app.count("--optimizer")) o.optimizer = "sgd";
  if (!app.count("--lr")) o.lr = 0.1f;
  if (!app.count("--schedule")) o.schedule = "onecycle";
  if (!app.count("--nesterov") && !app.count("--no-nesterov")) o.nesterov = true;
  if (!app.count("--weight-decay")) o.weight_decay = 5e-4f;
  if (!app.count("--momentum")) o.momentum = 0.9f;
  // Worth +0.4-0.6 points at the end of this recipe (docs/training.md).
  if (!app.count("--recalibrate-bn") && !app.count("--no-recalibrate-bn")) o.recalibrate_bn = true;
}

// What --help prints.
inline std::string help_text() {
  CLI::App app{"cifar10"};
  Options o;
  add_flags(app, o);
  return app.help();
}

// Parses `args` (without the program name). Throws CLI::ParseError (CLI::CallForHelp for --help).
inline Options parse(std::vector<std::string> args) {
  CLI::App app{"cifar10"};
  Options o;
  add_flags(app, o);
  std::reverse(args.begin(), args.end());  // CLI11 takes a reversed vector
  app.parse(args);
  apply_recipe(app, o);
  if (o.nesterov && o.optimizer == "sgd" && o.momentum <= 0)
    throw CLI::ValidationError("--nesterov", "Nesterov momentum needs --momentum above 0");
  return o;
}

}  // namespace cifar10_example
