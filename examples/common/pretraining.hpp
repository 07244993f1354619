// What examples/ssl_rotation and examples/transfer share: the backbone and heads, the data
// (CIFAR-10 or a small synthetic stand-in), and one training phase with its result.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <ctnn/backend/cpu.hpp>
#include <ctnn/core/rng.hpp>
#include <ctnn/data/data.hpp>
#include <ctnn/layers/frozen.hpp>
#include <ctnn/loss/cross_entropy.hpp>
#include <ctnn/model.hpp>
#include <ctnn/models/resnet.hpp>
#include <ctnn/models/seed.hpp>
#include <ctnn/optim/adam.hpp>
#include <ctnn/train/trainer.hpp>
#include <fmt/core.h>

namespace pretraining {
using namespace ctnn;
namespace fs = std::filesystem;

// --- the networks ------------------------------------------------------------------------------
// The backbone: the seed network's convolutional part (three blocks of conv-BN-ReLU x 2, max
// pooling, dropout), flattened to 128 x 4 x 4 = 2048 features.
using SeedBackbone = Sequential<models::SeedBlock<3, 32>, models::SeedBlock<32, 64>, models::SeedBlock<64, 128>, Flatten>;

// CifarResNet18 without its classifier: 512 features after global average pooling. It trains at
// about 25 images/s on a 2-core CPU (a CIFAR-10 epoch in half an hour), which is why the
// examples default to the seed backbone; set `Backbone = ResNet18Backbone` below to use it.
using ResNet18Backbone =
    Sequential<Named<"conv1", ConvNoBias<3, 64, 3, 1, 1>>, Named<"bn1", BN<64>>, Named<"relu", ReLU>,
               Named<"layer1", models::Stage<models::BasicBlock, 64, 64, 2, 1, 1>>,
               Named<"layer2", models::Stage<models::BasicBlock, 64, 128, 2, 2, 1>>,
               Named<"layer3", models::Stage<models::BasicBlock, 128, 256, 2, 2, 1>>,
               Named<"layer4", models::Stage<models::BasicBlock, 256, 512, 2, 2, 1>>,
               Named<"avgpool", GlobalAvgPool>, Flatten>;

using Backbone = SeedBackbone;  // the one alias to change
using ImageInput = Input<3, 32, 32>;
inline constexpr int features = static_cast<int>(Model<Backbone, ImageInput, Cpu>::OutputShape::size);

// The seed network's classifier on the backbone's features (so Net<Backbone, Classifier<10>> is
// the seed network itself, layer for layer).
template <int Classes>
using Classifier = Sequential<Linear<features, 512>, ReLU, Dropout<0.5f>, Linear<512, Classes>>;

// A backbone and a head, named so that weights move by name: "backbone.*" and "head.*".
template <class B, class Head>
using Net = Sequential<Named<"backbone", B>, Named<"head", Head>>;

template <class N>
using CpuModel = Model<N, ImageInput, Cpu>;

// --- data ------------------------------------------------------------------------------------
// A small stand-in for CIFAR-10 for --quick runs, in its format (uint8 3x32x32, 10 classes).
// Each class has its own colour and the period of horizontal stripes; every image is lit from
// the top (a vertical gradient), so a quarter turn is visible and the rotation task learnable,
// and adds its own phase, brightness and noise.
inline data::Dataset synthetic_images(int count, std::uint64_t seed) {
  Rng rng(seed ^ 0x3a7bu);
  Rng palette(0x51u);  // the class colours: the same in every split
  float colour[10][3];
  for (auto& c : colour)
    for (auto& v : c) v = palette.uniform(50, 200);
  data::Dataset d;
  d.shape = {3, 32, 32};
  d.pixels.resize(static_cast<std::size_t>(count) * 3072);
  for (int i = 0; i < count; ++i) {
    const int label = static_cast<int>(rng.next_u64() % 10);
    const float phase = rng.uniform(0, 6.2832f), brightness = rng.uniform(-20, 20);
    d.labels.push_back(label);
    std::uint8_t* image = d.pixels.data() + static_cast<std::size_t>(i) * 3072;
    for (int ch = 0; ch < 3; ++ch)
      for (int y = 0; y < 32; ++y)
        for (int x = 0; x < 32; ++x) {
          const float stripes = 30.0f * std::sin((0.2f + 0.12f * static_cast<float>(label)) * static_cast<float>(y) + phase);
          const float light = 40.0f - 2.5f * static_cast<float>(y);
          const float v = colour[label][ch] + brightness + stripes + light + rng.uniform(-20, 20);
          image[ch * 1024 + y * 32 + x] = static_cast<std::uint8_t>(std::clamp(v, 0.0f, 255.0f));
        }
  }
  for (int c = 0; c < 10; ++c) d.class_names.push_back(fmt::format("class{}", c));
  return d;
}

// CIFAR-10 from `dir`, or with `quick` the synthetic stand-in (train, test images).
inline data::Splits load_data(const std::string& dir, bool quick, int quick_train, int quick_test) {
  if (quick) {
    data::Splits s;
    s.train = synthetic_images(quick_train, 1);
    s.test = synthetic_images(quick_test, 2);
    return s;
  }
  return data::cifar10::load(dir);
}

// The augmentation of every training phase: random crop with 4 pixels of padding, horizontal
// flip, normalisation (the seed recipe without its 15° rotation, which would blur the pretext
// task's turns). The test transform normalises only.
inline auto train_transform() {
  return data::augment::Compose{data::augment::RandomCrop{32, 4}, data::augment::RandomHorizontalFlip{0.5f},
                                data::augment::Normalize{data::augment::cifar10_mean, data::augment::cifar10_std}};
}
inline auto test_transform() { return data::augment::seed_cifar10_test(); }

// --- one training phase ------------------------------------------------------------------------
struct PhaseOptions {
  int epochs = 1;
  float lr = 1e-3f;
  optim::LrScales lr_scales = {};
  fs::path out_dir;  // if set: <run>.csv (the Trainer's history) and <run>.png (its plot)
  bool plot = false;
};

struct PhaseResult {
  std::string name, labels;
  int epochs = 0;
  long trainable = 0;
  double test_accuracy = 0, seconds = 0;
  std::vector<double> curve;  // test accuracy after each epoch
};

// A file name for a run: "task B: from scratch" -> "task_b_from_scratch".
inline std::string file_stem(const std::string& name) {
  std::string s;
  for (const char c : name) {
    const bool word = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z');
    if (word) s += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    else if (!s.empty() && s.back() != '_') s += '_';
  }
  while (!s.empty() && s.back() == '_') s.pop_back();
  return s;
}

// Trains `model` with Adam on `train` for o.epochs, evaluating on `test` after each epoch.
template <class ModelT, class Train, class Test>
PhaseResult train_phase(const std::string& name, const std::string& labels, ModelT& model, Train& train, Test& test,
                        const PhaseOptions& o) {
  fmt::print("\n=== {} ({} labels, {} epochs, {} trainable parameters) ===\n", name, labels, o.epochs,
             ModelT::trainable_parameter_count);
  std::fflush(stdout);
  train::Trainer trainer{model, optim::Adam(model.parameters(), {.lr = o.lr, .lr_scales = o.lr_scales}),
                         loss::CrossEntropy<Cpu>{}};
  train::FitOptions fit;
  fit.epochs = o.epochs;
  fit.output = train::Output::lines;
  fit.log_every = 1000000;  // one line per epoch
  if (!o.out_dir.empty()) {
    const std::string stem = file_stem(name + " " + labels);
    fit.history_csv = o.out_dir / (stem + ".csv");
    if (o.plot) fit.plot_png = o.out_dir / (stem + ".png");
  }
  const auto& history = trainer.fit(train, test, fit);
  PhaseResult r{name, labels, o.epochs, ModelT::trainable_parameter_count, 0, 0, {}};
  for (const auto& e : history.epochs) {
    r.curve.push_back(e.test_accuracy);
    r.seconds += e.seconds;
  }
  r.test_accuracy = history.epochs.empty() ? 0.0 : history.epochs.back().test_accuracy;
  return r;
}

inline void print_table(const std::vector<PhaseResult>& rows, const std::string& title) {
  fmt::print("\n{}\n", title);
  fmt::print("| {:<40} | {:>7} | {:>6} | {:>10} | {:>8} | {:>7} |\n", "run", "labels", "epochs", "trainable",
             "test acc", "train s");
  fmt::print("|{:-<42}|{:->9}|{:->8}|{:->12}|{:->10}|{:->9}|\n", "", "", "", "", "", "");
  for (const auto& r : rows)
    fmt::print("| {:<40} | {:>7} | {:>6} | {:>10} | {:>7.2f}% | {:>7.0f} |\n", r.name, r.labels, r.epochs, r.trainable,
               r.test_accuracy, r.seconds);
  fmt::print("\ntest accuracy after each epoch:\n");
  for (const auto& r : rows) {
    fmt::print("  {:<40}", r.name);
    for (const double a : r.curve) fmt::print(" {:5.2f}", a);
    fmt::print("\n");
  }
  std::fflush(stdout);
}

}  // namespace pretraining
