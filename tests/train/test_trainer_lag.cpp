// The trainer with a loss whose results come back one batch late, as CrossEntropy<Cuda>'s do
// (its `lag` is 1, so the GPU never waits for the host). Shown here on the CPU with a loss that
// hands CrossEntropy<Cpu>'s results back through the same queue/take/lag interface: the loop
// takes each result after the next batch is queued, accounts for it exactly as at once, stops
// on a NaN naming the right batch, and leaves no stale result behind.
#include <cmath>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <ctnn/ctnn.hpp>
#include <ctnn/data/data.hpp>
#include <ctnn/train/train.hpp>

using namespace ctnn;

namespace {

using Net = Sequential<Conv<3, 4>, BN<4>, ReLU, MaxPool<2>, Dropout<0.25f>, Flatten, Linear<4 * 4 * 4, 3>>;
using Small = Model<Net, Input<3, 8, 8>, Cpu>;

// Random images and labels: the runs compared here need not learn anything.
data::Dataset noise_data(int count, std::uint64_t seed) {
  Rng rng(seed);
  data::Dataset d;
  d.shape = {3, 8, 8};
  d.pixels.resize(static_cast<std::size_t>(count) * 192);
  for (auto& p : d.pixels) p = static_cast<std::uint8_t>(rng.next_u64() % 256);
  for (int i = 0; i < count; ++i) d.labels.push_back(static_cast<int>(rng.next_u64() % 3));
  return d;
}

// CrossEntropy<Cpu> behind queue/take with lag 1; logs each call ("q3": third queue, "t3":
// third take) and can turn the n-th result taken into a NaN.
struct LateLoss {
  using Tensor = Cpu::Tensor;
  static constexpr int lag = 1;
  loss::CrossEntropy<Cpu> inner;
  std::shared_ptr<std::vector<std::string>> log = std::make_shared<std::vector<std::string>>();
  int nan_on_take = 0, queued = 0, taken = 0;

  void queue(const Tensor& logits, std::span<const std::int32_t> labels) {
    inner.queue(logits, labels);
    log->push_back("q" + std::to_string(++queued));
  }
  LossResult take() {
    LossResult r = inner.take();
    log->push_back("t" + std::to_string(++taken));
    if (taken == nan_on_take) r.loss = std::nanf("");
    return r;
  }
  const Tensor& gradient() const { return inner.gradient(); }
};

struct Run {
  train::History history;
  std::vector<train::BatchInfo> batches;
  std::vector<std::vector<float>> parameters;
  train::Evaluation evaluation;
};

template <class Loss>
Run train_run(Loss loss, const data::Dataset& train_set, const data::Dataset& test_set) {
  data::Loader train_data{train_set, 16, data::augment::ToFloat{}, {.seed = 3, .threads = 0}};
  data::Loader test_data{test_set, 16, data::augment::ToFloat{}, {.shuffle = false, .threads = 0}};
  Small model(4);
  train::Trainer trainer{model, optim::Adam(model.parameters(), {.lr = 3e-3f}), std::move(loss)};
  Run run;
  trainer.on_batch_end([&](const train::BatchInfo& b) { run.batches.push_back(b); });
  train::FitOptions options;
  options.epochs = 2;
  options.output = train::Output::quiet;
  run.history = trainer.fit(train_data, test_data, options);
  run.evaluation = trainer.evaluate(test_data);
  for (auto& p : model.parameters()) run.parameters.push_back(p.value->to_vector());
  return run;
}

}  // namespace

TEST_CASE("CrossEntropy's queue and take hand back forward's results in order", "[trainer][lag]") {
  static_assert(loss::CrossEntropy<Cpu>::lag == 0, "the CPU computes the loss at once");
  Cpu::Tensor a, b;
  Cpu::from_host(a, std::vector<float>{1, 2, 3, 0, 5, 1}, {2, 3});
  Cpu::from_host(b, std::vector<float>{-1, 0, 4, 2, 2, 0}, {2, 3});
  const std::vector<std::int32_t> labels{2, 1};
  loss::CrossEntropy<Cpu> direct, queued;
  const LossResult ra = direct.forward(a, labels), rb = direct.forward(b, labels);
  queued.queue(a, labels);
  queued.queue(b, labels);
  const LossResult qa = queued.take(), qb = queued.take();
  CHECK(qa.loss == ra.loss);
  CHECK(qa.correct == ra.correct);
  CHECK(qb.loss == rb.loss);
  CHECK(qb.correct == rb.correct);
  CHECK(Cpu::to_host(queued.gradient()) == Cpu::to_host(direct.gradient()));  // the last batch's
  CHECK_THROWS_WITH(queued.take(), Catch::Contains("no result is queued"));
}

TEST_CASE("a loss read one batch late trains, evaluates and reports exactly as one read at once", "[trainer][lag]") {
  const auto train_set = noise_data(64, 1), test_set = noise_data(32, 2);
  LateLoss late;
  const auto log = late.log;
  const Run at_once = train_run(loss::CrossEntropy<Cpu>{}, train_set, test_set);
  const Run one_late = train_run(std::move(late), train_set, test_set);

  // Epoch 1 (4 batches): batch k's result is taken after batch k+1 is queued, the last one at
  // the epoch's end; then the evaluation's 2 batches, each taken at once.
  const std::vector<std::string> epoch_one{"q1", "q2", "t1", "q3", "t2", "q4", "t3", "t4", "q5", "t5", "q6", "t6"};
  REQUIRE(log->size() > epoch_one.size());
  CHECK(std::vector<std::string>(log->begin(), log->begin() + static_cast<long>(epoch_one.size())) == epoch_one);

  CHECK(one_late.history.batch_losses == at_once.history.batch_losses);
  REQUIRE(one_late.history.epochs.size() == 2);
  for (std::size_t e = 0; e < 2; ++e) {
    CHECK(one_late.history.epochs[e].train_loss == at_once.history.epochs[e].train_loss);
    CHECK(one_late.history.epochs[e].train_accuracy == at_once.history.epochs[e].train_accuracy);
    CHECK(one_late.history.epochs[e].test_loss == at_once.history.epochs[e].test_loss);
    CHECK(one_late.history.epochs[e].test_accuracy == at_once.history.epochs[e].test_accuracy);
  }
  REQUIRE(one_late.batches.size() == at_once.batches.size());
  for (std::size_t i = 0; i < at_once.batches.size(); ++i) {
    INFO("batch callback " << i);
    CHECK(one_late.batches[i].epoch == at_once.batches[i].epoch);
    CHECK(one_late.batches[i].batch == at_once.batches[i].batch);
    CHECK(one_late.batches[i].size == at_once.batches[i].size);
    CHECK(one_late.batches[i].loss == at_once.batches[i].loss);
    CHECK(one_late.batches[i].correct == at_once.batches[i].correct);
    CHECK(one_late.batches[i].lr == at_once.batches[i].lr);
  }
  CHECK(one_late.parameters == at_once.parameters);
  CHECK(one_late.evaluation.loss == at_once.evaluation.loss);
  CHECK(one_late.evaluation.correct == at_once.evaluation.correct);
}

TEST_CASE("a NaN read one batch late stops training naming its batch, and leaves no result queued", "[trainer][lag]") {
  const auto train_set = noise_data(64, 1);
  data::Loader train_data{train_set, 16, data::augment::ToFloat{}, {.seed = 3, .threads = 0}};
  train::FitOptions options;
  options.epochs = 3;
  options.output = train::Output::quiet;

  SECTION("in the middle of an epoch: taken after the next batch was queued") {
    Small model(4);
    LateLoss loss;
    loss.nan_on_take = 2;
    const auto log = loss.log;
    train::Trainer trainer{model, optim::Adam(model.parameters(), {.lr = 3e-3f}), std::move(loss)};
    CHECK_THROWS_WITH(trainer.fit(train_data, options), Catch::Contains("epoch 1, batch 2/4: the loss is nan"));
    // Batch 3 was queued before batch 2's result was read; its result was taken on the way out.
    CHECK(*log == std::vector<std::string>{"q1", "q2", "t1", "q3", "t2", "t3"});
    CHECK_THROWS_WITH(trainer.loss().inner.take(), Catch::Contains("no result is queued"));
    CHECK(trainer.epochs_done() == 0);
  }
  SECTION("in the last batch of an epoch: taken at its end, before the epoch counts as done") {
    Small model(4);
    LateLoss loss;
    loss.nan_on_take = 8;
    train::Trainer trainer{model, optim::Adam(model.parameters(), {.lr = 3e-3f}), std::move(loss)};
    CHECK_THROWS_WITH(trainer.fit(train_data, options), Catch::Contains("epoch 2, batch 4/4: the loss is nan"));
    CHECK(trainer.epochs_done() == 1);
  }
}
