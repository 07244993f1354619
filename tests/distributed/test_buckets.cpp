// Without MPI: the gradient buckets on a real backward (which buckets, started in order while
// backward runs, nested blocks reporting twice, a bare layer reporting never), and the
// Trainer as one rank of a job whose collective is simulated (what rank 0 and the others
// write, the figures summed over the ranks, gradients finished before every step).
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include <unistd.h>  // getpid

#include <catch2/catch.hpp>
#include <ctnn/distributed/gradient_buckets.hpp>
#include <ctnn/train/train.hpp>

#include "support.hpp"

using namespace ctnn;
using namespace ctnn_test;
using distributed::GradientBuckets;

namespace {

// A transport that records which bucket starts when (counted in on_gradients reports).
struct Recorder {
  explicit Recorder(const int* counter) : reports(counter) {}
  const int* reports;
  std::vector<std::size_t> started;
  std::vector<int> started_at_report;
  int finishes = 0;
  void start(std::size_t bucket, std::span<Cpu::Buffer* const>, const std::string& what) {
    CHECK(what.find("gradient bucket " + std::to_string(bucket + 1) + " of") != std::string::npos);
    started.push_back(bucket);
    started_at_report.push_back(*reports);
  }
  void progress() {}
  void finish() { ++finishes; }
};

std::vector<std::string> trainable_names_reversed(PlainModel& model) {
  std::vector<std::string> names;
  for (auto& p : model.parameters())
    if (p.trainable()) names.insert(names.begin(), p.name);
  return names;
}

// One training pass on random data with its gradients reported to `buckets`.
template <class M>
int backward_pass(M& model, GradientBuckets<Cpu>& buckets, Recorder& recorder, int* reports) {
  model.context().on_gradients = [&](const ParameterList<Cpu>& done) {
    ++*reports;
    buckets.ready(done, recorder);
  };
  const long batch = 3;
  Rng rng(4);
  std::vector<float> x(batch * M::InputShape::size);
  for (auto& v : x) v = rng.uniform(-1, 1);
  const auto& y = model.forward(x, batch);
  Cpu::Tensor dy;
  std::vector<float> ones(static_cast<std::size_t>(batch * M::OutputShape::size), 1.0f);
  Cpu::from_host(dy, ones, {batch, M::OutputShape::size});
  (void)y;
  model.backward(dy);
  return *reports;
}

}  // namespace

TEST_CASE("buckets: trainable gradients in reverse order, cut greedily at the byte limit", "[distributed][buckets]") {
  PlainModel model(1);
  const auto names = trainable_names_reversed(model);
  CHECK(names == std::vector<std::string>{"4.bias", "4.weight", "2.0.bias", "2.0.weight", "0.0.bias", "0.0.weight"});
  for (const std::size_t limit : {std::size_t{1}, std::size_t{2100}, std::size_t{3000}, std::size_t{1} << 20}) {
    CAPTURE(limit);
    const GradientBuckets<Cpu> buckets(model.parameters(), limit);
    std::vector<std::string> all;
    for (std::size_t b = 0; b < buckets.size(); ++b) {
      all.insert(all.end(), buckets.names(b).begin(), buckets.names(b).end());
      CHECK((buckets.bytes(b) <= limit || buckets.names(b).size() == 1));  // over the limit only alone
      std::size_t bytes = 0;
      for (const auto* g : buckets.gradients(b)) bytes += g->size() * sizeof(float);
      CHECK(bytes == buckets.bytes(b));
      if (b + 1 < buckets.size())  // greedy: the next gradient didn't fit
        CHECK(buckets.bytes(b) + buckets.gradients(b + 1)[0]->size() * sizeof(float) > limit);
    }
    CHECK(all == names);  // each trainable parameter once, in backward's order; no buffers
  }
  CHECK(GradientBuckets<Cpu>(model.parameters(), 1).size() == 6);
  CHECK(GradientBuckets<Cpu>(model.parameters(), std::size_t{1} << 20).size() == 1);
  CHECK_THROWS_AS(GradientBuckets<Cpu>(model.parameters(), 0), Error);
}

TEST_CASE("buckets: each starts, in order, as soon as backward has produced its gradients", "[distributed][buckets]") {
  PlainModel model(1);
  GradientBuckets<Cpu> buckets(model.parameters(), 1);  // a bucket per parameter
  int reports = 0;
  Recorder recorder(&reports);
  for (int pass = 0; pass < 2; ++pass) {
    CAPTURE(pass);
    reports = 0;
    recorder.started.clear(), recorder.started_at_report.clear();
    const int total = backward_pass(model, buckets, recorder, &reports);
    // Reports: Linear, the second block's Conv then the block, MaxPool (no parameters: not
    // reported), the first block's Conv then the block.
    CHECK(total == 5);
    CHECK(recorder.started == std::vector<std::size_t>{0, 1, 2, 3, 4, 5});
    // The Linear's two gradients start right after its backward, the first Conv's at the end;
    // the blocks' repeated reports start nothing twice.
    CHECK(recorder.started_at_report == std::vector<int>{1, 1, 2, 2, 4, 4});
    buckets.finish(recorder);
    CHECK(recorder.started.size() == 6);  // finish had nothing left to start
    CHECK(buckets.started_during_backward() == 6);
    CHECK(recorder.finishes == pass + 1);
  }
}

TEST_CASE("buckets: without reports (a bare layer), finish starts them all", "[distributed][buckets]") {
  Model<Linear<5, 3>, Input<5>, Cpu> model(2);
  GradientBuckets<Cpu> buckets(model.parameters(), 1);
  int reports = 0;
  Recorder recorder(&reports);
  CHECK(backward_pass(model, buckets, recorder, &reports) == 0);
  CHECK(recorder.started.empty());
  buckets.finish(recorder);
  CHECK(recorder.started == std::vector<std::size_t>{0, 1});
  CHECK(buckets.started_during_backward() == 0);
}

namespace {

// One rank of a simulated two-rank job whose other rank sees the same figures: sums double.
struct TwinJob final : train::Collective {
  int my_rank = 0;
  int finishes = 0, synchronizations = 0;
  int rank() const override { return my_rank; }
  int size() const override { return 2; }
  void sum(std::span<double> values) override {
    for (double& v : values) v *= 2;
  }
  void finish_gradients() override { ++finishes; }
  void synchronize_buffers() override { ++synchronizations; }
};

std::filesystem::path fresh_dir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("ctnn_distributed_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace

TEST_CASE("the trainer as a rank: figures summed over the ranks, only rank 0 writes", "[distributed][trainer]") {
  const auto train_set = ramps(96, 1), test_set = ramps(40, 2);
  data::Loader train_data{train_set, 32, data::augment::ToFloat{}, {.seed = 3, .threads = 0}};
  data::Loader test_data{test_set, 16, data::augment::ToFloat{}, {.shuffle = false, .threads = 0}};
  auto fit = [&](train::Collective* job, const std::filesystem::path& dir, PlainModel& model) {
    train::Trainer trainer{model, optim::Sgd(model.parameters(), {.lr = 0.05f, .momentum = 0.9f}),
                           loss::CrossEntropy<Cpu>{}};
    if (job) trainer.distribute(*job);
    const auto out = dir / "progress.txt";
    std::FILE* progress = std::fopen(out.c_str(), "w");
    REQUIRE(progress);
    train::FitOptions o;
    o.epochs = 2, o.output = train::Output::lines, o.out = progress, o.log_every = 1;
    o.checkpoint = dir / "run.safetensors", o.history_csv = dir / "history.csv", o.batch_log = dir / "batches.jsonl";
    o.best_weights = dir / "best.safetensors";
    trainer.fit(train_data, test_data, o);
    std::fclose(progress);
    const auto e = trainer.evaluate(test_data, {.confusion = true, .top_k = {2}});
    return std::tuple{trainer.history(), e, std::filesystem::file_size(out), trainer.optimizer().steps()};
  };
  PlainModel alone_model(7), rank0_model(7), rank1_model(7);
  const auto [alone, alone_eval, alone_printed, steps] = fit(nullptr, fresh_dir("alone"), alone_model);
  TwinJob rank0, rank1;
  rank1.my_rank = 1;
  const auto dir0 = fresh_dir("rank0"), dir1 = fresh_dir("rank1");
  const auto [h0, e0, printed0, steps0] = fit(&rank0, dir0, rank0_model);
  const auto [h1, e1, printed1, steps1] = fit(&rank1, dir1, rank1_model);

  CHECK(rank0.finishes == steps);  // before every optimizer step
  CHECK(rank0.synchronizations == 2);  // after every epoch
  for (const auto* h : {&h0, &h1}) {  // the figures are the job's: twice the samples, the same means
    REQUIRE(h->epochs.size() == 2);
    for (int i = 0; i < 2; ++i) {
      CHECK(h->epochs[i].train_loss == Approx(alone.epochs[i].train_loss).epsilon(1e-6));
      CHECK(h->epochs[i].train_accuracy == Approx(alone.epochs[i].train_accuracy));
      CHECK(h->epochs[i].test_accuracy == Approx(alone.epochs[i].test_accuracy));
    }
  }
  CHECK(e0.samples == 2 * alone_eval.samples);
  CHECK(e0.correct == 2 * alone_eval.correct);
  CHECK(e0.accuracy == Approx(alone_eval.accuracy));
  CHECK(e0.top_k[0].accuracy == Approx(alone_eval.top_k[0].accuracy));
  for (int label = 0; label < 4; ++label)
    for (int predicted = 0; predicted < 4; ++predicted)
      CHECK(e1.confused(label, predicted) == 2 * alone_eval.confused(label, predicted));
  // Rank 0 writes and prints as one process does; rank 1 neither.
  CHECK(printed0 > 0);
  CHECK(printed1 == 0);
  for (const char* file : {"run.safetensors", "history.csv", "batches.jsonl", "best.safetensors"}) {
    CAPTURE(file);
    CHECK(std::filesystem::exists(dir0 / file));
    CHECK(!std::filesystem::exists(dir1 / file));
  }
  for (const auto& dir : {dir0, dir1}) std::filesystem::remove_all(dir);
}
