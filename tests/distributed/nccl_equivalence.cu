// On GPUs: DataParallel with NcclGradients on the CUDA backend. Run on its own, it is a job of
// one rank (NCCL's communicator, grouped all-reduces, streams and events, all exercised);
// under `mpirun -np N` with a GPU per rank, N ranks of batch 32 train as rank 0's one process
// of batch 32 N does. Exits 77 (skipped) where no GPU is present, 1 where CUDA is broken.
#include <cstdio>

#include <ctnn/ctnn.hpp>
#include <ctnn/data/data.hpp>
#include <ctnn/distributed/data_parallel.hpp>
#include <ctnn/distributed/nccl_gradients.hpp>

#include "mpi_support.hpp"
#include "support.hpp"

using namespace ctnn;

int main(int argc, char** argv) {
  if (const int status = cuda::device_exit_status("nccl_equivalence")) return status;  // 77: no GPU
  return distributed::run(argc, argv, [&](distributed::Communicator& world) {
    distributed::use_local_gpu(world);
    using M = Model<ctnn_test::PlainNet, Input<3, 8, 8>, Cuda>;
    const int ranks = world.size(), batch = 32;
    const auto data = ctnn_test::ramps(ranks * batch * 4 + ranks * 8, 1);  // 4 full batches and one of 8 per rank
    auto sgd = [](M& m) { return optim::Sgd(m.parameters(), {.lr = 0.05f, .momentum = 0.9f}); };
    M model(11 + static_cast<std::uint64_t>(world.rank()));
    distributed::DataParallel<M, distributed::NcclGradients> job(world, model, {.bucket_bytes = 2048});
    auto optimizer = sgd(model);
    data::Loader<> shard{data, batch, {}, {.seed = 5, .threads = 0, .rank = world.rank(), .ranks = ranks}};
    ctnn_test::train_epochs(model, optimizer, shard, 2, &job);
    int failures = 0;
    if (job.buckets().started_during_backward() != job.buckets().size()) {
      std::fprintf(stderr, "rank %d: %zu of %zu buckets started during backward\n", world.rank(),
                   job.buckets().started_during_backward(), job.buckets().size());
      ++failures;
    }
    if (!ctnn_test::same_on_every_rank(world, ctnn_test::flatten(ctnn_test::snapshot(model)))) {
      std::fprintf(stderr, "rank %d: the ranks' parameters differ\n", world.rank());
      ++failures;
    }
    if (world.rank() == 0) {
      M alone(11);
      auto alone_optimizer = sgd(alone);
      data::Loader<> whole{data, batch * ranks, {}, {.seed = 5, .threads = 0}};
      ctnn_test::train_epochs(alone, alone_optimizer, whole, 2, static_cast<decltype(job)*>(nullptr));
      const double difference = ctnn_test::max_difference(ctnn_test::snapshot(model), ctnn_test::snapshot(alone));
      std::printf("nccl_equivalence: %d ranks x batch %d against 1 x %d: max relative difference %.3g\n", ranks,
                  batch, batch * ranks, difference);
      if (!(difference < 1e-4)) ++failures;
    }
    return failures;
  });
}
