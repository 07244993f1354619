// Under `mpirun -np 2`: rank 1 fails in the third batch of training, as argv[1] says, and the
// job must end with an error in bounded time instead of hanging (expect_failure.cmake checks):
//   throw  an exception: rank 1 reports it and ends the job (distributed::run)
//   exit   the process ends at once, without a word (std::_Exit): mpirun ends the job
//   hang   rank 1 stops: rank 0's collective times out (CTNN_DISTRIBUTED_TIMEOUT) and ends the job
#include <unistd.h>  // sleep

#include <cstdio>
#include <cstdlib>  // std::_Exit
#include <string>

#include <ctnn/distributed.hpp>
#include <ctnn/train/train.hpp>

#include "support.hpp"

using namespace ctnn;

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode != "throw" && mode != "exit" && mode != "hang") {
    std::fprintf(stderr, "usage: mpirun -np 2 %s throw|exit|hang\n", argv[0]);
    return 2;
  }
  return distributed::run(argc, argv, [&](distributed::Communicator& world) {
    ctnn_test::PlainModel model(1);
    distributed::DataParallel job(world, model);
    const auto data = ctnn_test::ramps(400, 1);
    data::Loader<> shard{data, 20, {}, {.seed = 2, .threads = 0, .rank = world.rank(), .ranks = world.size()}};
    train::Trainer trainer{model, optim::Sgd(model.parameters(), {.lr = 0.05f}), loss::CrossEntropy<Cpu>{}};
    trainer.distribute(job);
    int batches = 0;
    trainer.on_batch_end([&](const train::BatchInfo&) {
      if (world.rank() != 1 || ++batches != 3) return;
      if (mode == "throw") throw Error("rank 1 fails mid-training (the test's exception)");
      if (mode == "exit") std::_Exit(3);
      for (;;) ::sleep(60);
    });
    train::FitOptions options;
    options.epochs = 3, options.output = train::Output::quiet;
    trainer.fit(shard, options);
    std::fprintf(stderr, "mpi_failure: rank %d finished training, which it should not have\n", world.rank());
  });
}
