// Data-parallel train-step throughput of the seed network on the CPU backend: run alone (one
// rank) or under `mpirun -np R`. The total batch (BATCH, 128) is split over the ranks; each
// rank trains on random data of its own with Adam and DataParallel (gradient buckets of
// BUCKET_MB, 25), 3 warm-up steps, then STEPS (20) timed steps between two barriers. Rank 0
// prints one line for the job:
//   ctnn ddp ranks R threads T: train img/s X  (batch B per rank, K buckets, waiting for gradients W ms per step)
// The wait is the time finish_gradients() blocks after backward: the all-reduce that backward
// didn't hide. bench/compare_ddp.sh runs this beside PyTorch's DDP (ddp_torch.py).
#include <chrono>
#include <cstdlib>

#include <ctnn/distributed.hpp>
#include <fmt/format.h>
#include <omp.h>

#include "seed_net.hpp"

using namespace ctnn;

int main(int argc, char** argv) {
  cpu::use_passive_openmp_wait(argv);  // before MPI starts: it may restart the program
  return distributed::run(argc, argv, [&](distributed::Communicator& world) {
    const long total = std::getenv("BATCH") ? std::atol(std::getenv("BATCH")) : 128;
    const int steps = std::getenv("STEPS") ? std::atoi(std::getenv("STEPS")) : 20;
    const double bucket_mb = std::getenv("BUCKET_MB") ? std::atof(std::getenv("BUCKET_MB")) : 25;
    if (total % world.size() != 0) throw Error(fmt::format("BATCH {} doesn't divide over {} ranks", total, world.size()));
    const long batch = total / world.size();

    Model<bench::SeedNet, Input<3, 32, 32>, Cpu> model(0);
    distributed::DataParallel job(world, model, {.bucket_bytes = static_cast<std::size_t>(bucket_mb * (1 << 20))});
    Rng rng(1 + static_cast<std::uint64_t>(world.rank()));
    std::vector<float> images(static_cast<std::size_t>(batch) * 3 * 32 * 32);
    for (auto& v : images) v = rng.uniform(-2, 2);
    std::vector<std::int32_t> labels(static_cast<std::size_t>(batch));
    for (auto& l : labels) l = static_cast<std::int32_t>(rng.next_u64() % 10);
    loss::CrossEntropy<Cpu> loss;
    optim::Adam adam(model.parameters(), {.lr = 1e-3f});

    using clock = std::chrono::steady_clock;
    double waiting = 0;
    auto step = [&] {
      loss.forward(model.forward(images, batch), labels);
      model.backward(loss.gradient());
      const auto before = clock::now();
      job.finish_gradients();
      waiting += std::chrono::duration<double>(clock::now() - before).count();
      adam.step();
    };
    model.train();
    for (int i = 0; i < 3; ++i) step();
    waiting = 0;
    world.barrier("the benchmark's start");
    const auto start = clock::now();
    for (int i = 0; i < steps; ++i) step();
    world.barrier("the benchmark's end");
    const double seconds = std::chrono::duration<double>(clock::now() - start).count();
    if (world.rank() == 0)
      fmt::print("ctnn ddp ranks {} threads {}: train img/s {:.0f}  (batch {} per rank, {} buckets, waiting for "
                 "gradients {:.1f} ms per step)\n",
                 world.size(), omp_get_max_threads(), steps * total / seconds, batch, job.buckets().size(),
                 1e3 * waiting / steps);
  });
}
