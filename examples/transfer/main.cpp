// Transfer learning between two tasks of CIFAR-10, on the CPU:
//   1. pretrain the network on classes 0-4 (airplane, automobile, bird, cat, deer) and save its
//      weights (safetensors);
//   2. load them by name into a model with a new head for classes 5-9 (dog, frog, horse, ship,
//      truck), the backbone frozen (Frozen<>: no gradient, BN statistics kept, no backward),
//      and train the head;
//   3. unfreeze: copy that model by name into the same network without Frozen and fine-tune
//      everything, the backbone at a lower learning rate (lr_scales);
//   4. from scratch on classes 5-9 for as many epochs as steps 2 and 3 together.
// It ends with a table (test accuracy on the test images of classes 5-9) and the curves.
//
//   transfer --data /tmp/cifar10 --pretrain-epochs 3 --head-epochs 2 --finetune-epochs 3 --out runs/transfer
//   transfer --quick                         # synthetic data, seconds (the ctest entry)
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/ranges.h>  // fmt::join
#include <ctnn/backend/cpu/threads.hpp>  // use_passive_openmp_wait
#include <ctnn/io/checkpoint.hpp>
#include <ctnn/io/copy.hpp>
#ifdef CTNN_EXAMPLE_HAS_OPENMP
#include <omp.h>
#endif

#include "pretraining.hpp"

using namespace pretraining;

namespace {

struct Options {
  std::string data = "data";
  bool quick = false;
  int pretrain_epochs = 3, head_epochs = 2, finetune_epochs = 3;
  int batch = 128;
  float lr = 1e-3f;
  float backbone_lr_scale = 0.1f;
  std::uint64_t seed = 1;
  int threads = 0, loader_threads = 1;
  std::string out;
  bool plot = false;
};

using TaskNet = Net<Backbone, Classifier<5>>;
using FrozenNet = Net<Frozen<Backbone>, Classifier<5>>;

// True when every "backbone." tensor of `a` equals `b`'s bit for bit.
template <class A, class B>
bool same_backbone(A& a, B& b) {
  const auto sa = io::state_dict(a), sb = io::state_dict(b);
  std::size_t compared = 0;
  for (const auto& t : sa) {
    if (!t.name.starts_with("backbone.")) continue;
    const auto it = std::find_if(sb.begin(), sb.end(), [&](const io::StateTensor& u) { return u.name == t.name; });
    if (it == sb.end() || it->values != t.values || it->count != t.count) return false;
    ++compared;
  }
  return compared > 0;
}

int run(const Options& o) {
#ifdef CTNN_EXAMPLE_HAS_OPENMP
  if (o.threads > 0) omp_set_num_threads(o.threads);
#endif
  const auto splits = load_data(o.data, o.quick, 2048, 512);
  const auto first_train = data::select_classes(splits.train, {0, 1, 2, 3, 4});
  const auto first_test = data::select_classes(splits.test, {0, 1, 2, 3, 4});
  const auto second_train = data::select_classes(splits.train, {5, 6, 7, 8, 9});
  const auto second_test = data::select_classes(splits.test, {5, 6, 7, 8, 9});
  fmt::print("data: {}\n  task A, classes 0-4 ({}): {} training, {} test images\n"
             "  task B, classes 5-9 ({}): {} training, {} test images\n",
             o.quick ? "synthetic (--quick)" : "CIFAR-10 from " + o.data, fmt::join(first_train.class_names, ", "),
             first_train.size(), first_test.size(), fmt::join(second_train.class_names, ", "), second_train.size(),
             second_test.size());
  const fs::path out = o.out.empty() ? fs::path(".") : fs::path(o.out);
  fs::create_directories(out);
  const data::LoaderOptions train_opt{.seed = o.seed, .threads = o.loader_threads};
  const data::LoaderOptions test_opt{.shuffle = false, .threads = o.loader_threads};
  const PhaseOptions phase{.epochs = 1, .lr = o.lr, .lr_scales = {}, .out_dir = out, .plot = o.plot};
  std::vector<PhaseResult> rows;

  // 1. Task A, saved.
  const fs::path weights = out / "pretrained_classes_0-4.safetensors";
  {
    data::Loader train{first_train, o.batch, train_transform(), train_opt};
    data::Loader test{first_test, 500, test_transform(), test_opt};
    CpuModel<TaskNet> model(o.seed);
    PhaseOptions p = phase;
    p.epochs = o.pretrain_epochs;
    rows.push_back(train_phase("task A (0-4): pretrain", "A", model, train, test, p));
    io::save_weights(weights, model, {{"trained_on", "CIFAR-10 classes 0-4"}});
    fmt::print("saved {}\n", weights.string());
  }

  data::Loader train{second_train, o.batch, train_transform(), train_opt};
  data::Loader test{second_test, 500, test_transform(), test_opt};
  // 2. Task B with the loaded backbone frozen and a new head (the file's head is task A's).
  CpuModel<FrozenNet> frozen(o.seed + 10);
  const auto report = io::load_weights(weights, frozen, {.ignore = {"head.*"}, .exclude = {"head.*"}});
  fmt::print("loaded {} into the frozen model:\n{}", weights.string(), report.summary());
  {
    CpuModel<TaskNet> pretrained;
    io::load_weights(weights, pretrained);
    PhaseOptions p = phase;
    p.epochs = o.head_epochs;
    rows.push_back(train_phase("task B (5-9): frozen backbone, new head", "B", frozen, train, test, p));
    if (!same_backbone(pretrained, frozen)) {
      fmt::print(stderr, "transfer: the frozen backbone changed while the head trained\n");
      return 1;
    }
    fmt::print("the frozen backbone's weights and BN statistics are bit-identical to the saved ones\n");
  }
  // 3. Unfrozen: the same names, so the frozen model copies over strictly.
  {
    CpuModel<TaskNet> tuned(o.seed + 20);
    io::copy_parameters(frozen, tuned);
    PhaseOptions p = phase;
    p.epochs = o.finetune_epochs;
    if (o.backbone_lr_scale != 1.0f) p.lr_scales = {{"backbone.", o.backbone_lr_scale}};
    auto r = train_phase("task B: then unfrozen, fine-tuned", "B", tuned, train, test, p);
    r.curve.insert(r.curve.begin(), rows.back().curve.begin(), rows.back().curve.end());
    r.epochs += o.head_epochs;
    r.seconds += rows.back().seconds;
    rows.push_back(r);
  }
  // 4. The baseline: task B alone, as many epochs.
  {
    CpuModel<TaskNet> scratch(o.seed + 20);
    PhaseOptions p = phase;
    p.epochs = o.head_epochs + o.finetune_epochs;
    rows.push_back(train_phase("task B: from scratch", "B", scratch, train, test, p));
  }
  print_table(rows, fmt::format("results: test accuracy on the task's own test images (5 classes; epochs of the "
                                "fine-tuned row count the frozen ones){}",
                                o.quick ? " -- synthetic data, --quick" : ""));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  cpu::use_passive_openmp_wait(argv);
  CLI::App app{"transfer: pretrain on CIFAR-10 classes 0-4, transfer to 5-9 (frozen, then fine-tuned)"};
  Options o;
  app.add_option("--data", o.data, "CIFAR-10 folder (data_batch_1.bin ... or cifar-10-batches-bin/)")->capture_default_str();
  app.add_flag("--quick", o.quick, "synthetic data and a few epochs: seconds (for CI)");
  app.add_option("--pretrain-epochs", o.pretrain_epochs, "epochs on classes 0-4")->capture_default_str();
  app.add_option("--head-epochs", o.head_epochs, "epochs of the new head on the frozen backbone")->capture_default_str();
  app.add_option("--finetune-epochs", o.finetune_epochs, "epochs of fine-tuning after unfreezing")->capture_default_str();
  app.add_option("--batch", o.batch, "batch size")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--lr", o.lr, "Adam's learning rate, every run")->capture_default_str();
  app.add_option("--backbone-lr-scale", o.backbone_lr_scale, "fine-tuning: the backbone's lr relative to the head's")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--seed", o.seed, "initialisation, shuffling, augmentation")->capture_default_str();
  app.add_option("--threads", o.threads, "OpenMP threads for the network (0: OpenMP's default)")->capture_default_str();
  app.add_option("--loader-threads", o.loader_threads, "data loader threads")->capture_default_str();
  app.add_option("--out", o.out, "folder for the saved weights and each run's history CSV (default: .)");
  app.add_flag("--plot", o.plot, "draw each run's curves (gnuplot) into --out");
  CLI11_PARSE(app, argc, argv);
  if (o.quick) {
    if (!app.count("--pretrain-epochs")) o.pretrain_epochs = 2;
    if (!app.count("--head-epochs")) o.head_epochs = 1;
    if (!app.count("--finetune-epochs")) o.finetune_epochs = 1;
  }
  try {
    return run(o);
  } catch (const std::exception& e) {
    fmt::print(stderr, "transfer: error: {}\n", e.what());
    return 2;
  }
}
