// Under `mpirun -np 2`: two ranks of batch 64 train as one process of batch 128 does. Rank 0
// also trains the one-process reference itself and compares. Both ranks run every test case
// and every collective in the same order, so checks are non-fatal (CHECK, not REQUIRE).
#define CATCH_CONFIG_RUNNER
#include <unistd.h>  // getpid

#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <ctnn/distributed.hpp>
#include <ctnn/train/train.hpp>

#include "mpi_support.hpp"
#include "support.hpp"

using namespace ctnn;
using namespace ctnn_test;

namespace {

distributed::Communicator* world = nullptr;

// 600 samples: one process of batch 128 has 4 full batches and one of 88, each of two ranks
// of batch 64 has 4 and one of 44, so every step of the two is a step of the one.
const data::Dataset& train_set() {
  static const auto d = ramps(600, 1);
  return d;
}

data::Loader<> shard_loader(int batch) {
  return {train_set(), batch, {}, {.seed = 5, .threads = 0, .rank = world->rank(), .ranks = world->size()}};
}
data::Loader<> whole_loader(int batch) { return {train_set(), batch, {}, {.seed = 5, .threads = 0}}; }

auto sgd_for(auto& model) { return optim::Sgd(model.parameters(), {.lr = 0.05f, .momentum = 0.9f}); }

// Trains Distributed on every rank (each starting from its own seed: rank 0's parameters must
// reach the others) and, on rank 0, Alone on batch 128; returns rank 0's difference between
// the two (0 elsewhere) and checks that every rank ends with the same parameters.
template <class Distributed, class Alone, class MakeOptimizer>
double distributed_against_alone(MakeOptimizer make_optimizer, std::size_t bucket_bytes = std::size_t{25} << 20) {
  Distributed model(11 + static_cast<std::uint64_t>(world->rank()));
  distributed::DataParallel job(*world, model, {.bucket_bytes = bucket_bytes});
  const auto start = snapshot(model);
  auto optimizer = make_optimizer(model);
  auto shard = shard_loader(64);
  train_epochs(model, optimizer, shard, 2, &job);
  CHECK(job.buckets().started_during_backward() == job.buckets().size());  // all overlapped backward
  CHECK(same_on_every_rank(*world, flatten(snapshot(model))));
  if (world->rank() != 0) return 0;
  Alone alone(11);
  CHECK(max_difference(start, snapshot(alone)) == 0);  // the same start
  auto alone_optimizer = make_optimizer(alone);
  auto whole = whole_loader(128);
  train_epochs(alone, alone_optimizer, whole, 2, static_cast<distributed::DataParallel<Alone>*>(nullptr));
  CHECK(max_difference(snapshot(alone), start) > 1e-2);  // it trained
  return max_difference(snapshot(model), snapshot(alone));
}

}  // namespace

TEST_CASE("2 ranks x batch 64 take the SGD steps of 1 x 128 (no BN), a bucket per few layers", "[mpi]") {
  const double difference = distributed_against_alone<PlainModel, PlainModel>(
      [](auto& m) { return sgd_for(m); }, 2048);
  CAPTURE(difference);
  CHECK(difference < 1e-5);
}

TEST_CASE("2 ranks x batch 64 take the Adam steps of 1 x 128 (no BN), one bucket", "[mpi]") {
  const double difference = distributed_against_alone<PlainModel, PlainModel>(
      [](auto& m) { return optim::Adam(m.parameters(), {.lr = 3e-3f}); });
  CAPTURE(difference);
  CHECK(difference < 1e-4);
}

TEST_CASE("with SyncBN, 2 ranks x batch 64 train as BN on 1 x 128, with BN they don't", "[mpi][syncbn]") {
  const double sync = distributed_against_alone<SyncBnModel, BnModel>([](auto& m) { return sgd_for(m); });
  const double plain = distributed_against_alone<BnModel, BnModel>([](auto& m) { return sgd_for(m); });
  CAPTURE(sync, plain);
  if (world->rank() == 0) {
    CHECK(sync < 1e-4);    // parameters and running statistics
    CHECK(plain > 1e-3);  // each rank's BN normalises by its own 64 samples
  }
}

TEST_CASE("the Trainer on 2 ranks: the figures of 1 x 128, agreed on every rank, rank 0 writes", "[mpi][trainer]") {
  static const auto test_set = ramps(101, 2);  // uneven: 51 and 50 samples
  double pid[] = {world->rank() == 0 ? static_cast<double>(::getpid()) : 0.0};
  world->sum(pid, "the test's directory");
  const auto dir = std::filesystem::temp_directory_path() / ("ctnn_mpi_trainer_" + std::to_string(static_cast<long>(pid[0])));
  std::filesystem::create_directories(dir);
  auto fit = [&](PlainModel& model, data::Loader<>& train_data, data::Loader<>& test_data, train::Collective* job,
                 const std::string& name) {
    train::Trainer trainer{model, optim::Adam(model.parameters(), {.lr = 3e-3f}), loss::CrossEntropy<Cpu>{}};
    if (job) trainer.distribute(*job);
    train::FitOptions o;
    o.epochs = 2, o.output = train::Output::quiet, o.checkpoint = dir / (name + ".safetensors");
    trainer.fit(train_data, test_data, o);
    return std::pair{trainer.history(), trainer.evaluate(test_data)};
  };
  PlainModel model(11);
  distributed::DataParallel job(*world, model);
  auto shard = shard_loader(64);
  data::Loader<> test_shard{test_set, 20, {}, {.shuffle = false, .threads = 0, .rank = world->rank(), .ranks = 2, .even_shards = false}};
  const auto [history, evaluation] = fit(model, shard, test_shard, &job, "rank" + std::to_string(world->rank()));
  std::vector<float> figures;
  for (const auto& e : history.epochs)
    figures.insert(figures.end(), {static_cast<float>(e.train_loss), static_cast<float>(e.train_accuracy),
                                   static_cast<float>(e.test_loss), static_cast<float>(e.test_accuracy)});
  CHECK(same_on_every_rank(*world, figures));
  CHECK(evaluation.samples == 101);
  world->barrier("the test's files");
  CHECK(std::filesystem::exists(dir / "rank0.safetensors"));
  CHECK(!std::filesystem::exists(dir / "rank1.safetensors"));
  if (world->rank() == 0) {
    PlainModel alone(11);
    auto whole = whole_loader(128);
    data::Loader<> test_whole{test_set, 20, {}, {.shuffle = false, .threads = 0}};
    const auto [alone_history, alone_evaluation] = fit(alone, whole, test_whole, nullptr, "alone");
    for (std::size_t i = 0; i < 2; ++i) {
      CAPTURE(i);
      CHECK(history.epochs[i].train_loss == Approx(alone_history.epochs[i].train_loss).epsilon(1e-5));
      CHECK(history.epochs[i].train_accuracy == Approx(alone_history.epochs[i].train_accuracy));
      CHECK(history.epochs[i].test_loss == Approx(alone_history.epochs[i].test_loss).epsilon(1e-4));
    }
    // Evaluating the same parameters on all 101 samples at once gives the ranks' sum.
    for (auto [mine, theirs] = std::pair{model.parameters(), alone.parameters()}; auto i : {0, 1, 2, 3, 4, 5})
      theirs[static_cast<std::size_t>(i)].value->assign(mine[static_cast<std::size_t>(i)].value->to_vector());
    train::Trainer reference{alone, optim::Adam(alone.parameters()), loss::CrossEntropy<Cpu>{}};
    const auto e = reference.evaluate(test_whole);
    CHECK(evaluation.correct == e.correct);
    CHECK(evaluation.loss == Approx(e.loss).epsilon(1e-5));
    std::filesystem::remove_all(dir);
  }
}

int main(int argc, char** argv) {
  return distributed::run(argc, argv, [&](distributed::Communicator& w) {
    world = &w;
    if (w.size() != 2) {
      std::fprintf(stderr, "mpi_equivalence: run with mpirun -np 2 (this job has %d ranks)\n", w.size());
      return 2;
    }
    return Catch::Session().run(argc, argv);
  });
}
