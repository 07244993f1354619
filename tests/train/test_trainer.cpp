// The trainer on a small network and a small synthetic problem: it learns, checkpoints round
// trip bit for bit, a resumed run continues the uninterrupted run's trajectory exactly,
// mismatched or corrupt checkpoints fail clearly, and NaN losses stop training.
#include <cmath>
#include <cstdint>
#include <cstdlib>  // setenv
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <vector>

#include <unistd.h>  // getpid

#include <catch2/catch.hpp>
#include <ctnn/ctnn.hpp>
#include <ctnn/data/data.hpp>
#include <ctnn/io/detail/json.hpp>  // the batch log is read back with it
#include <ctnn/train/train.hpp>

using namespace ctnn;

namespace {

// Conv, BN (running statistics are buffers), pooling, dropout (draws from the model's
// generator) and a linear layer: every kind of state a checkpoint must carry.
using Net = Sequential<Conv<3, 8>, BN<8>, ReLU, MaxPool<2>, Dropout<0.25f>, Flatten, Linear<8 * 4 * 4, 4>>;
using Small = Model<Net, Input<3, 8, 8>, Cpu>;

// Four classes of 3x8x8 images: each class a colour and a stripe direction, plus noise.
data::Dataset make_data(int count, std::uint64_t seed) {
  Rng rng(seed);
  data::Dataset d;
  d.shape = {3, 8, 8};
  d.pixels.resize(static_cast<std::size_t>(count) * 192);
  for (int i = 0; i < count; ++i) {
    const int label = static_cast<int>(rng.next_u64() % 4);
    d.labels.push_back(label);
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < 8; ++y)
        for (int x = 0; x < 8; ++x) {
          const float stripe = ((label < 2 ? x : y) % 2 == 0) ? 40.0f : -40.0f;
          const float base = 60.0f + 40.0f * static_cast<float>((label + c) % 4);
          d.pixels[static_cast<std::size_t>(i) * 192 + c * 64 + y * 8 + x] =
              static_cast<std::uint8_t>(std::clamp(base + stripe + rng.uniform(-30, 30), 0.0f, 255.0f));
        }
  }
  return d;
}

std::filesystem::path temp_dir() {
  auto dir = std::filesystem::temp_directory_path() / ("ctnn_test_trainer_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir;
}

std::vector<std::vector<float>> snapshot(Small& model) {
  std::vector<std::vector<float>> out;
  for (auto& p : model.parameters()) out.emplace_back(p.value->host().begin(), p.value->host().end());
  return out;
}

auto adam_for(Small& m) { return optim::Adam(m.parameters(), {.lr = 3e-3f}); }
auto sgd_for(Small& m) {
  return optim::Sgd(m.parameters(), {.lr = 0.05f, .momentum = 0.9f, .weight_decay = 5e-4f, .nesterov = true});
}

train::FitOptions quiet(int epochs) {
  train::FitOptions o;
  o.epochs = epochs;
  o.output = train::Output::quiet;
  return o;
}

}  // namespace

TEST_CASE("the trainer fits a small synthetic problem to near 100% training accuracy", "[trainer]") {
  const auto train_set = make_data(512, 1), test_set = make_data(256, 2);
  data::Loader train_data{train_set, 32, data::augment::ToFloat{}, {.seed = 3, .threads = 0}};
  data::Loader test_data{test_set, 64, data::augment::ToFloat{}, {.shuffle = false, .threads = 0}};
  Small model(4);
  train::Trainer trainer{model, adam_for(model), loss::CrossEntropy<Cpu>{}};
  std::vector<train::BatchInfo> batches;
  std::vector<int> epochs_seen;
  trainer.on_batch_end([&](const train::BatchInfo& b) { batches.push_back(b); });
  trainer.on_epoch_end([&](const train::EpochRecord& e) { epochs_seen.push_back(e.epoch); });
  const auto& history = trainer.fit(train_data, test_data, quiet(8));

  REQUIRE(history.epochs.size() == 8);
  CHECK(epochs_seen == std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8});
  CHECK(batches.size() == 8 * 16);
  CHECK(history.batch_losses.size() == 8 * 16);
  CHECK(batches.back().batch == 16);
  CHECK(batches.back().batches == 16);
  CHECK(batches.front().lr == Approx(3e-3));
  CHECK(history.epochs.front().train_loss > history.epochs.back().train_loss);
  CHECK(history.epochs.back().train_accuracy > 97.0);
  CHECK(history.epochs.back().test_accuracy > 95.0);
  CHECK(history.epochs.back().seconds > 0);
  CHECK(history.epochs.back().images_per_second > 0);

  // evaluate() and predict() agree with each other and with the labels.
  const auto e = trainer.evaluate(test_data);
  CHECK(e.samples == 256);
  CHECK(e.accuracy == Approx(history.epochs.back().test_accuracy));
  const auto classes = trainer.predict(test_data);
  REQUIRE(classes.size() == 256);
  long right = 0;
  for (std::size_t i = 0; i < classes.size(); ++i) right += classes[i] == test_set.labels[i];
  CHECK(right == e.correct);
  CHECK(model.mode() == Mode::train);  // evaluate() leaves the mode as it found it
}

TEST_CASE("a checkpoint round trip is bit-exact: parameters, BN statistics, optimizer state, generator", "[trainer][checkpoint]") {
  const auto dir = temp_dir();
  const auto train_set = make_data(128, 5);
  data::Loader train_data{train_set, 32, data::augment::ToFloat{}, {.seed = 1, .threads = 0}};
  Small a(1);
  auto opt_a = sgd_for(a);
  {
    train::Trainer trainer{a, sgd_for(a), loss::CrossEntropy<Cpu>{}};
    trainer.fit(train_data, quiet(2));
    trainer.save_checkpoint(dir / "a.safetensors");
    opt_a = trainer.optimizer();
  }
  Small b(99);  // different initial weights and generator
  auto opt_b = sgd_for(b);
  io::load_checkpoint(dir / "a.safetensors", b, opt_b);
  CHECK(snapshot(a) == snapshot(b));  // exact equality, running statistics included
  auto sa = opt_a.state(), sb = opt_b.state();
  REQUIRE(sa.size() == sb.size());
  REQUIRE(!sa.empty());
  for (std::size_t i = 0; i < sa.size(); ++i) {
    CHECK(sa[i].name == sb[i].name);
    CHECK(std::vector<float>(sa[i].value->host().begin(), sa[i].value->host().end()) ==
          std::vector<float>(sb[i].value->host().begin(), sb[i].value->host().end()));
  }
  CHECK(opt_b.steps() == opt_a.steps());
  CHECK(opt_b.steps() == 8);
  CHECK(b.context().rng.state() == a.context().rng.state());

  // Weights alone: names follow the layer structure.
  io::save_weights(dir / "w.safetensors", a, {{"note", "hi"}});
  const auto file = io::read_safetensors(dir / "w.safetensors");
  CHECK(file.find("0.weight"));
  CHECK(file.find("1.running_mean"));
  CHECK(file.at("6.weight").shape == std::vector<std::int64_t>{4, 128});
  CHECK(file.metadata.at("note") == "hi");
  CHECK(file.metadata.at("format") == "pt");
  Small c(7);
  io::load_weights(dir / "w.safetensors", c);
  CHECK(snapshot(c) == snapshot(a));
  io::load_weights(dir / "a.safetensors", c);  // a full checkpoint's weights, optimizer state skipped
  std::filesystem::remove_all(dir);
}

TEST_CASE("resuming continues the uninterrupted run's trajectory exactly", "[trainer][checkpoint]") {
  const auto dir = temp_dir();
  const auto train_set = make_data(160, 6), test_set = make_data(64, 7);
  auto run = [&](auto make_optimizer, schedule::Schedule s, int stop_after, const std::filesystem::path& ckpt) {
    data::Loader train_data{train_set, 32, data::augment::Compose{data::augment::RandomHorizontalFlip{0.5f}},
                            {.seed = 11, .threads = 1}};
    data::Loader test_data{test_set, 32, data::augment::ToFloat{}, {.shuffle = false, .threads = 0}};
    Small model(21);
    train::Trainer trainer{model, make_optimizer(model), loss::CrossEntropy<Cpu>{}, s};
    if (stop_after > 0) {  // the interrupted run: a first process stops, a second one resumes
      auto first = quiet(stop_after);
      first.checkpoint = ckpt;
      trainer.fit(train_data, test_data, first);
      Small fresh(12345);
      train::Trainer resumed{fresh, make_optimizer(fresh), loss::CrossEntropy<Cpu>{}, s};
      resumed.resume(ckpt);
      CHECK(resumed.epochs_done() == stop_after);
      const auto& h = resumed.fit(train_data, test_data, quiet(3));
      CHECK(h.epochs.size() == 3);  // the history runs on from the checkpoint's
      CHECK(h.batch_losses.size() == 3 * 5);
      return std::make_pair(snapshot(fresh), h.epochs.back().test_loss);
    }
    const auto& h = trainer.fit(train_data, test_data, quiet(3));
    return std::make_pair(snapshot(model), h.epochs.back().test_loss);
  };
  SECTION("Adam, constant learning rate") {
    const auto whole = run(adam_for, {}, 0, {});
    const auto resumed = run(adam_for, {}, 2, dir / "adam.safetensors");
    CHECK(whole.first == resumed.first);
    CHECK(whole.second == resumed.second);
  }
  SECTION("SGD Nesterov with OneCycle (lr and momentum cycled per step)") {
    const schedule::Schedule s = schedule::OneCycle{.max_lr = 0.1f, .total_steps = 3 * 5};
    const auto whole = run(sgd_for, s, 0, {});
    const auto resumed = run(sgd_for, s, 1, dir / "sgd.safetensors");
    CHECK(whole.first == resumed.first);
    CHECK(whole.second == resumed.second);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("mismatched and corrupt checkpoints give clear errors and change nothing", "[trainer][checkpoint][errors]") {
  const auto dir = temp_dir();
  Small model(1);
  auto opt = adam_for(model);
  io::save_checkpoint(dir / "good.safetensors", model, opt);
  const auto file = io::read_safetensors(dir / "good.safetensors");
  Small other(2);
  auto other_opt = adam_for(other);
  const auto before = snapshot(other);

  // Rewrites the checkpoint with `change` applied to one tensor.
  auto rewrite = [&](const std::string& path, auto change) {
    io::SafetensorsWriter w;
    w.metadata = file.metadata;
    for (const auto& t : file.tensors) {
      if (io::is_integer_dtype(t.dtype)) {  // BN's batch counters, kept as they are
        w.add(t.name, t.shape, file.integers(t));
        continue;
      }
      std::string name = t.name;
      std::vector<std::int64_t> shape = t.shape;
      std::vector<float> values = file.floats(t);
      if (!change(name, shape, values)) continue;
      w.add(name, shape, values);
    }
    w.write(dir / path);
    return dir / path;
  };
  SECTION("a shape that differs names the tensor and both shapes") {
    const auto p = rewrite("shape.safetensors", [](std::string& name, std::vector<std::int64_t>& shape, auto&) {
      if (name == "6.weight") shape = {8, 64};
      return true;
    });
    CHECK_THROWS_WITH(io::load_checkpoint(p, other, other_opt),
                      Catch::Contains("tensor '6.weight' has shape [8, 64] in the file but [4, 128] in the model"));
    CHECK_THROWS_WITH(io::load_weights(p, other), Catch::Contains("'6.weight'") && Catch::Contains("[4, 128]"));
  }
  SECTION("a missing tensor") {
    const auto p = rewrite("missing.safetensors", [](std::string& name, auto&, auto&) { return name != "1.running_var"; });
    CHECK_THROWS_WITH(io::load_weights(p, other),
                      Catch::Contains("has no tensor '1.running_var'") && Catch::Contains("shape [8]"));
  }
  SECTION("a tensor the model lacks") {
    const auto p = rewrite("extra.safetensors", [](std::string& name, auto&, auto&) {
      if (name == "0.bias") name = "0.bais";
      return true;
    });
    CHECK_THROWS_WITH(io::load_weights(p, other), Catch::Contains("has no tensor '0.bias'"));
  }
  SECTION("another optimizer's checkpoint") {
    auto sgd = sgd_for(other);
    CHECK_THROWS_WITH(io::load_checkpoint(dir / "good.safetensors", other, sgd),
                      Catch::Contains("written with optimizer 'adam', but this run uses 'sgd'"));
  }
  SECTION("a truncated file") {
    std::ifstream in(dir / "good.safetensors", std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream(dir / "cut.safetensors", std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size() - 10));
    CHECK_THROWS_WITH(io::load_checkpoint(dir / "cut.safetensors", other, other_opt),
                      Catch::Contains("cut.safetensors") && Catch::Contains("run past the data buffer"));
  }
  SECTION("garbage") {
    std::ofstream(dir / "junk.safetensors", std::ios::binary) << "this is not a checkpoint at all";
    CHECK_THROWS_WITH(io::load_weights(dir / "junk.safetensors", other), Catch::Contains("bad header length"));
  }
  CHECK(snapshot(other) == before);  // a failed load changes nothing
  std::filesystem::remove_all(dir);
}

namespace {
// Cross-entropy whose n-th call reports a NaN loss, as a diverging run would.
struct NanOnCall {
  using Tensor = Cpu::Tensor;
  explicit NanOnCall(int n) : nan_call(n) {}
  loss::CrossEntropy<Cpu> inner;
  int calls = 0, nan_call;
  LossResult forward(const Tensor& logits, std::span<const std::int32_t> labels) {
    auto r = inner.forward(logits, labels);
    if (++calls == nan_call) r.loss = std::nanf("");
    return r;
  }
  const Tensor& gradient() const { return inner.gradient(); }
};
}  // namespace

TEST_CASE("a NaN loss stops training naming epoch and batch, the last checkpoint stays intact", "[trainer][errors]") {
  const auto dir = temp_dir();
  const auto train_set = make_data(64, 8);
  data::Loader train_data{train_set, 32, data::augment::ToFloat{}, {.seed = 1, .threads = 0}};
  Small model(3);
  // Two batches per epoch and no validation: call 4 is epoch 2's second batch.
  train::Trainer trainer{model, adam_for(model), NanOnCall{4}};
  auto options = quiet(5);
  options.checkpoint = dir / "last.safetensors";
  CHECK_THROWS_AS(trainer.fit(train_data, options), train::TrainingError);
  CHECK(trainer.epochs_done() == 1);
  Small again(3);
  train::Trainer second{again, adam_for(again), NanOnCall{4}};
  CHECK_THROWS_WITH(second.fit(train_data, options), Catch::Contains("epoch 2, batch 2/2: the loss is nan") &&
                                                         Catch::Contains("last.safetensors (epoch 1), is left as it was"));
  // The checkpoint is epoch 1's, and loads.
  Small loaded(0);
  train::Trainer third{loaded, adam_for(loaded), loss::CrossEntropy<Cpu>{}};
  third.resume(options.checkpoint);
  CHECK(third.epochs_done() == 1);
  std::filesystem::remove_all(dir);
}

TEST_CASE("early stopping, keeping the best epoch, history CSV and plot", "[trainer]") {
  const auto dir = temp_dir();
  const auto train_set = make_data(128, 9), test_set = make_data(64, 10);
  data::Loader train_data{train_set, 32, data::augment::ToFloat{}, {.seed = 1, .threads = 0}};
  data::Loader test_data{test_set, 64, data::augment::ToFloat{}, {.shuffle = false, .threads = 0}};

  SECTION("early stopping after `patience` epochs without improvement; the best weights are saved") {
    Small model(5);
    train::Trainer trainer{model, adam_for(model), loss::CrossEntropy<Cpu>{}};
    auto options = quiet(20);
    // No later epoch can beat the first by a loss of 1e9: epochs 2 and 3 don't improve.
    options.early_stopping =
        train::EarlyStopping{.metric = train::EarlyStopping::Metric::test_loss, .patience = 2, .min_delta = 1e9};
    options.keep_best = true;
    options.best_weights = dir / "best.safetensors";
    const auto& h = trainer.fit(train_data, test_data, options);
    CHECK(h.epochs.size() == 3);  // epoch 1 is the best; 2 and 3 don't improve
    CHECK(std::filesystem::exists(options.best_weights));
  }
  SECTION("keep_best: the final parameters are those of the best test accuracy") {
    Small model(5);
    train::Trainer trainer{model, optim::Adam(model.parameters(), {.lr = 0.5f}), loss::CrossEntropy<Cpu>{}};
    std::vector<std::vector<std::vector<float>>> after_epoch;
    trainer.on_epoch_end([&](const train::EpochRecord&) { after_epoch.push_back(snapshot(model)); });
    auto options = quiet(4);
    options.keep_best = true;
    const auto& h = trainer.fit(train_data, test_data, options);
    std::size_t best = 0;
    for (std::size_t i = 1; i < h.epochs.size(); ++i)
      if (h.epochs[i].test_accuracy > h.epochs[best].test_accuracy) best = i;
    CHECK(snapshot(model) == after_epoch[best]);
  }
  SECTION("the history CSV has the issue's columns; without gnuplot a notice, and the CSV is still written") {
    Small model(5);
    train::Trainer trainer{model, adam_for(model), loss::CrossEntropy<Cpu>{}};
    auto options = quiet(2);
    options.history_csv = dir / "h.csv";
    options.plot_png = dir / "h.png";
    const auto empty_bin = dir / "empty-bin";
    std::filesystem::create_directories(empty_bin);
    const std::string saved_path = std::getenv("PATH") ? std::getenv("PATH") : "";
    ::setenv("PATH", empty_bin.c_str(), 1);
    std::FILE* notice = std::tmpfile();
    options.out = notice;
    trainer.fit(train_data, test_data, options);
    ::setenv("PATH", saved_path.c_str(), 1);
    std::rewind(notice);
    char text[512] = {};
    CHECK(std::fread(text, 1, sizeof text - 1, notice) > 0);
    std::fclose(notice);
    CHECK_THAT(std::string(text), Catch::Contains("gnuplot is not installed") && Catch::Contains("h.csv"));
    CHECK_FALSE(std::filesystem::exists(options.plot_png));
    std::ifstream in(options.history_csv);
    std::string header, row1, row2;
    std::getline(in, header), std::getline(in, row1), std::getline(in, row2);
    CHECK(header == "epoch,train_loss,train_acc,test_loss,test_acc,lr,seconds");
    CHECK(row1.rfind("1,", 0) == 0);
    CHECK(row2.rfind("2,", 0) == 0);
    const auto parsed = train::History::from_csv(trainer.history().csv());
    CHECK(parsed.epochs.size() == 2);
    CHECK(parsed.epochs[1].test_accuracy == Approx(trainer.history().epochs[1].test_accuracy).margin(1e-4));
  }
  std::filesystem::remove_all(dir);
}

namespace {
// What a fit() decided: the epochs it ran to, the decisions it printed (early stopping,
// keep_best), the final parameters and the bytes of the best-weights file.
struct Decisions {
  std::size_t epochs = 0;
  std::vector<std::string> messages;
  std::vector<std::vector<float>> parameters;
  std::vector<char> best_file;
};

std::vector<char> file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// fit() with `options`, its lines captured; keeps the lines about early stopping and keep_best.
template <class TrainerT, class Train, class Test>
std::vector<std::string> fit_capturing(TrainerT& trainer, Train& train_data, Test& test_data,
                                       train::FitOptions options) {
  std::FILE* out = std::tmpfile();
  options.output = train::Output::lines;
  options.out = out;
  trainer.fit(train_data, test_data, options);
  std::rewind(out);
  std::vector<std::string> kept;
  char line[512];
  while (std::fgets(line, sizeof line, out)) {
    const std::string text(line);
    if (text.starts_with("early stopping") || text.starts_with("restored") || text.starts_with("keep_best"))
      kept.push_back(text);
  }
  std::fclose(out);
  return kept;
}
}  // namespace

TEST_CASE("an interrupted and resumed run makes the uninterrupted run's early-stopping and keep_best decisions",
          "[trainer][checkpoint]") {
  const auto dir = temp_dir();
  const auto train_set = make_data(160, 15), test_set = make_data(64, 16);
  data::Loader train_data{train_set, 32, data::augment::Compose{data::augment::RandomHorizontalFlip{0.5f}},
                          {.seed = 4, .threads = 0}};
  data::Loader test_data{test_set, 64, data::augment::ToFloat{}, {.shuffle = false, .threads = 0}};
  auto optimizer_for = [](Small& m) { return optim::Adam(m.parameters(), {.lr = 1e-2f}); };
  const auto es_on_loss = train::EarlyStopping{.metric = train::EarlyStopping::Metric::test_loss, .patience = 2, .min_delta = 0.02};

  // `first` epochs with `first_options` in one process, then resume() and the rest with
  // `options` in another (first == 0: uninterrupted).
  auto run = [&](int first, train::FitOptions first_options, train::FitOptions options, const std::string& name) {
    const auto folder = dir / name;
    std::filesystem::create_directories(folder);
    options.checkpoint = first_options.checkpoint = folder / "run.safetensors";
    if (!options.best_weights.empty()) options.best_weights = first_options.best_weights = folder / "best.safetensors";
    Decisions d;
    Small model(31);
    train::Trainer trainer{model, optimizer_for(model), loss::CrossEntropy<Cpu>{}};
    if (first > 0) {
      first_options.epochs = first;
      trainer.fit(train_data, test_data, first_options);
      Small fresh(777);
      train::Trainer resumed{fresh, optimizer_for(fresh), loss::CrossEntropy<Cpu>{}};
      resumed.resume(options.checkpoint);
      d.messages = fit_capturing(resumed, train_data, test_data, options);
      d.epochs = resumed.history().epochs.size();
      d.parameters = snapshot(fresh);
    } else {
      d.messages = fit_capturing(trainer, train_data, test_data, options);
      d.epochs = trainer.history().epochs.size();
      d.parameters = snapshot(model);
    }
    d.best_file = file_bytes(train::detail::best_weights_file(options));
    return d;
  };
  auto options = quiet(30);
  options.early_stopping = es_on_loss;
  options.keep_best = true;

  SECTION("interrupted after every epoch before the stop, with the same options") {
    for (const bool named_file : {true, false}) {
      INFO((named_file ? "best_weights named" : "the .best file beside the checkpoint"));
      if (named_file) options.best_weights = "best.safetensors";  // run() puts it in the run's folder
      const auto whole = run(0, options, options, "whole");
      // The data make the test meaningful: the best epoch is not the first, and the run stops.
      REQUIRE(whole.epochs < 30);
      REQUIRE(whole.messages.size() == 2);
      CHECK_THAT(whole.messages[0], Catch::StartsWith("early stopping: no improvement for 2 epochs (best: epoch"));
      CHECK(whole.messages[1] == fmt::format("restored the parameters of epoch {}, the best one\n", whole.epochs - 2));
      REQUIRE(whole.epochs - 2 >= 2);
      REQUIRE(!whole.best_file.empty());
      for (int k = 1; k < static_cast<int>(whole.epochs); ++k) {
        INFO("interrupted after epoch " << k);
        const auto resumed = run(k, options, options, "after" + std::to_string(k));
        CHECK(resumed.epochs == whole.epochs);
        CHECK(resumed.messages == whole.messages);
        CHECK(resumed.parameters == whole.parameters);
        CHECK(resumed.best_file == whole.best_file);
      }
    }
  }
  SECTION("the first part without early stopping, the resumed one with it on the test loss (as reported)") {
    const auto whole = run(0, options, options, "whole");
    REQUIRE(whole.epochs < 30);
    auto plain = quiet(30);
    for (int k = 1; k < static_cast<int>(whole.epochs); ++k) {
      INFO("interrupted after epoch " << k);
      const auto resumed = run(k, plain, options, "plain" + std::to_string(k));
      CHECK(resumed.epochs == whole.epochs);
      REQUIRE(!resumed.messages.empty());
      CHECK(resumed.messages[0] == whole.messages[0]);  // the same best epoch, the same stop
    }
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("recalibrate_batch_norm after the last epoch: the same as re-estimating by hand", "[trainer][batchnorm]") {
  const auto train_set = make_data(128, 13), test_set = make_data(64, 14);
  auto train_run = [&](bool recalibrate_in_fit) {
    data::Loader train_data{train_set, 32, data::augment::Compose{data::augment::RandomHorizontalFlip{0.5f}},
                            {.seed = 2, .threads = 0}};
    data::Loader test_data{test_set, 64, data::augment::ToFloat{}, {.shuffle = false, .threads = 0}};
    Small model(8);
    train::Trainer trainer{model, sgd_for(model), loss::CrossEntropy<Cpu>{}};
    auto options = quiet(2);
    options.recalibrate_batch_norm = recalibrate_in_fit;
    const double last_test_accuracy = trainer.fit(train_data, test_data, options).epochs.back().test_accuracy;
    struct Result {
      std::vector<std::vector<float>> as_trained, recalibrated;
      double test_accuracy_in_history, test_accuracy_after;
    } r{snapshot(model), {}, last_test_accuracy, 0};
    if (!recalibrate_in_fit) CHECK(trainer.recalibrate_batch_norm(train_data, 1) == 4);  // epoch 2's batches
    r.recalibrated = snapshot(model);
    r.test_accuracy_after = trainer.evaluate(test_data).accuracy;
    return r;
  };
  const auto in_fit = train_run(true), by_hand = train_run(false);
  // Same training, then the same pass over epoch 2's batches: identical parameters and statistics.
  CHECK(in_fit.recalibrated == by_hand.recalibrated);
  // The history's last row describes the re-estimated model.
  CHECK(in_fit.test_accuracy_in_history == by_hand.test_accuracy_after);
  // The pass changed BN's running statistics and nothing else.
  const auto& before = by_hand.as_trained;
  const auto& after = by_hand.recalibrated;
  Small names(0);
  const auto params = names.parameters();
  for (std::size_t i = 0; i < params.size(); ++i) {
    INFO(params[i].name);
    const bool statistics = params[i].name.find("running_") != std::string::npos;
    CHECK((before[i] != after[i]) == statistics);
  }
}

TEST_CASE("evaluate's confusion matrix, per-class and top-k accuracy match a computation from predict's scores",
          "[trainer][metrics]") {
  const auto train_set = make_data(128, 17), test_set = make_data(200, 18);
  data::Loader train_data{train_set, 32, data::augment::ToFloat{}, {.seed = 1, .threads = 0}};
  data::Loader test_data{test_set, 64, data::augment::ToFloat{}, {.shuffle = false, .threads = 0}};
  Small model(6);
  train::Trainer trainer{model, adam_for(model), loss::CrossEntropy<Cpu>{}};
  trainer.fit(train_data, quiet(1));  // one epoch: right and wrong predictions
  const auto e = trainer.evaluate(test_data, {.confusion = true, .top_k = {1, 2, 3}});

  // Independently: Model::predict's scores of the same images, ranked by a stable sort.
  std::vector<float> images;
  for (const auto& b : test_data.epoch(0)) images.insert(images.end(), b.images.begin(), b.images.end());
  const auto scores = model.predict(images, 200);
  REQUIRE(scores.size() == 200 * 4);
  std::vector<long> confusion(16, 0), hits(3, 0);
  for (int i = 0; i < 200; ++i) {
    std::vector<int> order = {0, 1, 2, 3};
    const float* row = scores.data() + i * 4;
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return row[a] > row[b]; });
    const int label = test_set.labels[static_cast<std::size_t>(i)];
    ++confusion[static_cast<std::size_t>(label * 4 + order[0])];
    const auto position = std::find(order.begin(), order.end(), label) - order.begin();
    for (int k = 1; k <= 3; ++k) hits[static_cast<std::size_t>(k - 1)] += position < k;
  }
  REQUIRE(e.classes == 4);
  CHECK(e.confusion == confusion);
  long diagonal = 0;
  for (int c = 0; c < 4; ++c) diagonal += e.confused(c, c);
  CHECK(diagonal == e.correct);
  CHECK(e.correct < 200);  // the check means something: some predictions are wrong
  for (int k = 1; k <= 3; ++k) CHECK(e.top_k[static_cast<std::size_t>(k - 1)].accuracy == Approx(hits[k - 1] / 2.0));
  CHECK(e.top_k[0].accuracy == Approx(e.accuracy));
  for (int c = 0; c < 4; ++c) {
    long row = 0;
    for (int p = 0; p < 4; ++p) row += confusion[static_cast<std::size_t>(c * 4 + p)];
    CHECK(e.class_accuracy[static_cast<std::size_t>(c)] == Approx(100.0 * e.confused(c, c) / row));
  }
  // Without options: loss and accuracy only, the same ones.
  const auto plain = trainer.evaluate(test_data);
  CHECK(plain.confusion.empty());
  CHECK(plain.top_k.empty());
  CHECK(plain.correct == e.correct);
  CHECK(plain.loss == e.loss);
}

TEST_CASE("the batch log has a row per batch with the callback's values, and a resumed run's log reads as "
          "an uninterrupted one's", "[trainer][batch_log]") {
  const auto dir = temp_dir();
  const auto train_set = make_data(96, 19);
  auto run = [&](const std::filesystem::path& log, int interrupt_after) {
    data::Loader train_data{train_set, 32, data::augment::ToFloat{}, {.seed = 1, .threads = 0}};
    Small model(2);
    train::Trainer trainer{model, adam_for(model), loss::CrossEntropy<Cpu>{}};
    std::vector<train::BatchInfo> seen;
    trainer.on_batch_end([&](const train::BatchInfo& b) { seen.push_back(b); });
    auto options = quiet(3);
    options.batch_log = log;
    options.checkpoint = dir / (log.filename().string() + ".safetensors");
    if (interrupt_after > 0) {
      auto first = options;
      first.epochs = interrupt_after;
      trainer.fit(train_data, first);
      // The interrupted process had logged part of the next epoch.
      std::ofstream(log, std::ios::app) << (log.extension() == ".csv" ? fmt::format("{},1,3,99,32,9,9,9,9,9\n", interrupt_after + 1)
                                                                       : fmt::format("{{\"epoch\":{},\"batch\":1}}\n", interrupt_after + 1));
      Small fresh(0);
      train::Trainer resumed{fresh, adam_for(fresh), loss::CrossEntropy<Cpu>{}};
      resumed.resume(options.checkpoint);
      resumed.fit(train_data, options);
    } else {
      trainer.fit(train_data, options);
    }
    return seen;
  };
  // Every row without its last field (the time, which differs between runs).
  auto rows_without_time = [](const std::filesystem::path& path) {
    std::vector<std::string> rows;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) rows.push_back(line.substr(0, line.rfind(path.extension() == ".csv" ? ',' : ':')));
    return rows;
  };

  SECTION("JSON lines") {
    const auto seen = run(dir / "log.jsonl", 0);
    REQUIRE(seen.size() == 9);
    std::ifstream in(dir / "log.jsonl");
    std::size_t i = 0;
    for (std::string line; std::getline(in, line); ++i) {
      REQUIRE(i < seen.size());
      const auto row = io::detail::JsonReader<Error>(line).parse();  // valid JSON, or this throws
      auto field = [&](const std::string& key) {
        for (std::size_t k = 0; k < row.keys.size(); ++k)
          if (row.keys[k] == key) return row.items[k].text;
        FAIL("no field " << key);
        return std::string();
      };
      CHECK(std::stoi(field("epoch")) == seen[i].epoch);
      CHECK(std::stol(field("batch")) == seen[i].batch);
      CHECK(std::stol(field("batches")) == 3);
      CHECK(std::stol(field("step")) == static_cast<long>(i + 1));
      CHECK(std::stoi(field("size")) == seen[i].size);
      CHECK(std::strtof(field("loss").c_str(), nullptr) == seen[i].loss);  // exact
      CHECK(std::stoi(field("correct")) == seen[i].correct);
      CHECK(std::strtod(field("accuracy").c_str(), nullptr) == Approx(100.0 * seen[i].correct / seen[i].size));
      CHECK(std::strtof(field("lr").c_str(), nullptr) == seen[i].lr);
      CHECK(std::strtod(field("seconds").c_str(), nullptr) >= 0);
    }
    CHECK(i == 9);
    run(dir / "resumed.jsonl", 2);
    CHECK(rows_without_time(dir / "resumed.jsonl") == rows_without_time(dir / "log.jsonl"));
  }
  SECTION("CSV") {
    const auto seen = run(dir / "log.csv", 0);
    std::ifstream in(dir / "log.csv");
    std::string header;
    std::getline(in, header);
    CHECK(header == "epoch,batch,batches,step,size,loss,correct,accuracy,lr,seconds");
    std::size_t i = 0;
    for (std::string line; std::getline(in, line); ++i) {
      REQUIRE(i < seen.size());
      int epoch = 0, size = 0, correct = 0;
      long batch = 0, batches = 0, step = 0;
      float loss = 0, lr = 0;
      double accuracy = 0, seconds = 0;
      REQUIRE(std::sscanf(line.c_str(), "%d,%ld,%ld,%ld,%d,%f,%d,%lf,%f,%lf", &epoch, &batch, &batches, &step, &size,
                          &loss, &correct, &accuracy, &lr, &seconds) == 10);
      CHECK(epoch == seen[i].epoch);
      CHECK(batch == seen[i].batch);
      CHECK(step == static_cast<long>(i + 1));
      CHECK(loss == seen[i].loss);
      CHECK(correct == seen[i].correct);
      CHECK(lr == seen[i].lr);
    }
    CHECK(i == 9);
    run(dir / "resumed.csv", 1);
    CHECK(rows_without_time(dir / "resumed.csv") == rows_without_time(dir / "log.csv"));
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("on a terminal 40 columns wide no redraw is wider, the test pass shows progress, and the plot is named",
          "[trainer][progress]") {
  const auto dir = temp_dir();
  const auto train_set = make_data(96, 20), test_set = make_data(64, 21);
  data::Loader train_data{train_set, 32, data::augment::ToFloat{}, {.seed = 1, .threads = 0}};
  data::Loader test_data{test_set, 16, data::augment::ToFloat{}, {.shuffle = false, .threads = 0}};
  Small model(2);
  train::Trainer trainer{model, adam_for(model), loss::CrossEntropy<Cpu>{}};
  auto options = quiet(2);
  options.output = train::Output::bar;
  std::FILE* out = std::tmpfile();  // not a terminal: the width comes from $COLUMNS
  options.out = out;
  options.plot_png = dir / "run.png";
  ::setenv("COLUMNS", "40", 1);
  trainer.fit(train_data, test_data, options);
  ::unsetenv("COLUMNS");
  std::rewind(out);
  std::string text;
  for (int c; (c = std::fgetc(out)) != EOF;) text += static_cast<char>(c);
  std::fclose(out);
  // What the terminal shows: each redraw starts with \r and clears the line (\033[K).
  std::vector<std::string> shown;
  std::string current;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 3, "\033[K") == 0) {
      i += 2;
    } else if (text[i] == '\r' || text[i] == '\n') {
      shown.push_back(current), current.clear();
    } else {
      current += text[i];
    }
  }
  shown.push_back(current);
  bool testing = false;
  for (const auto& line : shown) {
    INFO(line);
    if (!line.starts_with("plot: ")) CHECK(line.size() <= 39);  // the bars, and the epoch lines wrapped
    testing = testing || line.starts_with("epoch 2/2 test [");
  }
  CHECK(testing);
  if (train::find_program("gnuplot").empty()) {
    WARN("gnuplot is not installed (scripts/install-deps installs gnuplot-nox): the plot line is not checked");
  } else {
    CHECK(std::filesystem::file_size(options.plot_png) > 0);
    CHECK(std::find(shown.begin(), shown.end(), "plot: " + options.plot_png.string()) != shown.end());
  }
  std::filesystem::remove_all(dir);
}
