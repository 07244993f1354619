// Self-supervised pretraining by rotation prediction (Gidaris et al. 2018) on CIFAR-10, and what
// it is worth downstream. Steps, all on the CPU:
//   1. pretext: the backbone and a 4-way head learn which of 0/90/180/270° each training image
//      was turned by (data::RotationPretext), without the images' labels;
//   2. linear probe: the pretrained backbone frozen (Frozen<>), a new linear head trained on all
//      labels; beside it the same probe on a randomly initialised frozen backbone;
//   3. fine-tuning: the pretrained backbone with a new classifier, everything trained, on 10 %
//      (stratified, seeded) and on 100 % of the labels;
//   4. from scratch: the same network on the same labels, for the same epochs.
// It ends with a table (test accuracy on the CIFAR-10 test set) and the curves.
//
//   ssl_rotation --data /tmp/cifar10 --pretext-epochs 4 --epochs 3 --subset-epochs 10 --out runs/ssl
//   ssl_rotation --quick                     # synthetic data, seconds (the ctest entry)
//
// The backbone is the seed network's convolutional part (examples/common/pretraining.hpp says
// how to swap in ResNet-18, and why it is not the default on a CPU).
#include <cstdio>
#include <exception>
#include <numeric>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <ctnn/backend/cpu/threads.hpp>  // use_passive_openmp_wait
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
  int pretext_epochs = 4, epochs = 3, subset_epochs = 10;
  double fraction = 0.1;
  int batch = 128;
  float lr = 1e-3f;
  float backbone_lr_scale = 1.0f;  // fine-tuning: the backbone's learning rate relative to the head's
  std::string rotations = "random";
  std::uint64_t seed = 1;
  int threads = 0, loader_threads = 1;
  std::string out;
  bool plot = false;
  double min_pretext_accuracy = 0;
};

using PretextNet = Net<Backbone, Classifier<4>>;
using ProbeNet = Net<Frozen<Backbone>, Linear<features, 10>>;
using FullNet = Net<Backbone, Classifier<10>>;

int run(const Options& o) {
#ifdef CTNN_EXAMPLE_HAS_OPENMP
  if (o.threads > 0) omp_set_num_threads(o.threads);
#endif
  const auto splits = load_data(o.data, o.quick, 2048, 512);
  const data::Dataset labelled = data::labelled_fraction(splits.train, o.fraction, o.seed);
  fmt::print("data: {}: {} training images ({} of them labelled for the {:g} % runs), {} test images\n",
             o.quick ? "synthetic (--quick)" : "CIFAR-10 from " + o.data, splits.train.size(), labelled.size(),
             100 * o.fraction, splits.test.size());
  const std::string fraction_text = fmt::format("{:g}%", 100 * o.fraction);
  const data::LoaderOptions train_opt{.seed = o.seed, .threads = o.loader_threads};
  const data::LoaderOptions test_opt{.shuffle = false, .threads = o.loader_threads};
  PhaseOptions phase{.epochs = o.epochs, .lr = o.lr, .lr_scales = {}, .out_dir = o.out, .plot = o.plot};
  if (!o.out.empty()) fs::create_directories(o.out);

  // 1. The pretext task on the training images, their labels unused; its test set is all four
  // turns of each of the first 2500 test images (10000 images, as many as the other runs test).
  PhaseResult pretext_result;
  CpuModel<PretextNet> pretext(o.seed);
  {
    data::Loader images{splits.train, o.batch, train_transform(), train_opt};
    data::RotationPretext train{images, {.mode = o.rotations == "all" ? data::Rotations::all : data::Rotations::random,
                                         .seed = o.seed}};
    std::vector<std::size_t> first(std::min<std::size_t>(2500, splits.test.size()));
    std::iota(first.begin(), first.end(), std::size_t{0});
    const data::Dataset pretext_test = data::subset(splits.test, first);
    data::Loader test_images{pretext_test, 125, test_transform(), test_opt};
    data::RotationPretext test{test_images, {.mode = data::Rotations::all}};
    PhaseOptions p = phase;
    p.epochs = o.pretext_epochs;
    pretext_result = train_phase("pretext: rotation prediction", "none", pretext, train, test, p);
  }

  data::Loader train_all{splits.train, o.batch, train_transform(), train_opt};
  data::Loader train_few{labelled, o.batch, train_transform(), train_opt};
  data::Loader test{splits.test, 500, test_transform(), test_opt};
  std::vector<PhaseResult> rows;
  // The pretrained backbone into a model with another head: by name, the head left as drawn.
  auto with_pretrained_backbone = [&](auto& model) {
    const auto report = io::copy_parameters(pretext, model, {.ignore = {"head.*"}, .exclude = {"head.*"}});
    fmt::print("copied {} tensors of the pretext model's backbone; {} left fresh (the new head)\n",
               report.loaded.size(), report.fresh.size());
  };

  // 2. Linear probes: frozen backbone, a linear head on all labels.
  {
    CpuModel<ProbeNet> probe(o.seed + 10);
    with_pretrained_backbone(probe);
    rows.push_back(train_phase("linear probe, rotation-pretrained", "100%", probe, train_all, test, phase));
    CpuModel<ProbeNet> random_probe(o.seed + 10);
    rows.push_back(train_phase("linear probe, random backbone", "100%", random_probe, train_all, test, phase));
  }
  // 3 and 4. Fine-tuning against training from scratch, on a fraction and on all labels.
  PhaseOptions few = phase;
  few.epochs = o.subset_epochs;
  PhaseOptions tuned = phase, tuned_few = few;
  if (o.backbone_lr_scale != 1.0f)
    tuned.lr_scales = tuned_few.lr_scales = {{"backbone.", o.backbone_lr_scale}};
  {
    CpuModel<FullNet> model(o.seed + 20);
    with_pretrained_backbone(model);
    rows.push_back(train_phase("fine-tune, rotation-pretrained", fraction_text, model, train_few, test, tuned_few));
  }
  {
    CpuModel<FullNet> model(o.seed + 20);
    rows.push_back(train_phase("from scratch", fraction_text, model, train_few, test, few));
  }
  {
    CpuModel<FullNet> model(o.seed + 20);
    with_pretrained_backbone(model);
    rows.push_back(train_phase("fine-tune, rotation-pretrained", "100%", model, train_all, test, tuned));
  }
  {
    CpuModel<FullNet> model(o.seed + 20);
    rows.push_back(train_phase("from scratch", "100%", model, train_all, test, phase));
  }

  rows.insert(rows.begin(), pretext_result);
  print_table(rows, fmt::format("results (the pretext row: accuracy at telling the 4 turns of the test images apart; "
                                "the others: CIFAR-10 test accuracy){}",
                                o.quick ? " -- synthetic data, --quick" : ""));
  if (pretext_result.test_accuracy < o.min_pretext_accuracy) {
    fmt::print(stderr, "ssl_rotation: pretext test accuracy {:.2f}% is below --min-pretext-accuracy {}\n",
               pretext_result.test_accuracy, o.min_pretext_accuracy);
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  cpu::use_passive_openmp_wait(argv);
  CLI::App app{"ssl_rotation: rotation-prediction pretraining, linear probe and fine-tuning on CIFAR-10"};
  Options o;
  app.add_option("--data", o.data, "CIFAR-10 folder (data_batch_1.bin ... or cifar-10-batches-bin/)")->capture_default_str();
  app.add_flag("--quick", o.quick, "synthetic data and a few epochs: seconds (for CI)");
  app.add_option("--pretext-epochs", o.pretext_epochs, "epochs of rotation prediction")->capture_default_str();
  app.add_option("--epochs", o.epochs, "epochs of each run on all labels")->capture_default_str();
  app.add_option("--subset-epochs", o.subset_epochs, "epochs of each run on the labelled fraction")->capture_default_str();
  app.add_option("--fraction", o.fraction, "the labelled fraction, stratified per class")
      ->check(CLI::Range(0.0, 1.0))->capture_default_str();
  app.add_option("--batch", o.batch, "batch size")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--lr", o.lr, "Adam's learning rate, every run")->capture_default_str();
  app.add_option("--backbone-lr-scale", o.backbone_lr_scale, "fine-tuning: the backbone's lr relative to the head's")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--rotations", o.rotations, "random: one turn per image and epoch; all: the four, batch x 4")
      ->check(CLI::IsMember({"random", "all"}))->capture_default_str();
  app.add_option("--seed", o.seed, "initialisation, shuffling, augmentation, the labelled subset")->capture_default_str();
  app.add_option("--threads", o.threads, "OpenMP threads for the network (0: OpenMP's default)")->capture_default_str();
  app.add_option("--loader-threads", o.loader_threads, "data loader threads")->capture_default_str();
  app.add_option("--out", o.out, "folder for each run's history CSV (and plot with --plot)");
  app.add_flag("--plot", o.plot, "draw each run's curves (gnuplot) into --out");
  app.add_option("--min-pretext-accuracy", o.min_pretext_accuracy, "exit 1 when the pretext test accuracy is below this");
  CLI11_PARSE(app, argc, argv);
  if (o.quick) {
    if (!app.count("--pretext-epochs")) o.pretext_epochs = 3;
    if (!app.count("--epochs")) o.epochs = 2;
    if (!app.count("--subset-epochs")) o.subset_epochs = 4;
  }
  try {
    return run(o);
  } catch (const std::exception& e) {
    fmt::print(stderr, "ssl_rotation: error: {}\n", e.what());
    return 2;
  }
}
