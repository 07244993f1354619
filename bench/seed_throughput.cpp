// Train-step and inference throughput of the seed network on the CPU backend, the same
// measurement as ../shared/peers/seed_torch.py makes for PyTorch: batch 128 of random data,
// Adam, 3 warm-up steps, then STEPS timed steps. Prints one line:
//   ctnn cpu threads T: train img/s X  infer img/s Y
#include <chrono>
#include <cstdlib>
#include <vector>

#include <fmt/format.h>
#include <omp.h>

#include "seed_net.hpp"

int main(int, char** argv) {
  using namespace ctnn;
  cpu::use_passive_openmp_wait(argv);  // unless the caller chose a policy
  const long batch = std::getenv("BATCH") ? std::atol(std::getenv("BATCH")) : 128;
  const int steps = std::getenv("STEPS") ? std::atoi(std::getenv("STEPS")) : 20;
  Model<bench::SeedNet, Input<3, 32, 32>, Cpu> model(0);
  Rng rng(1);
  std::vector<float> images(static_cast<std::size_t>(batch * 3 * 32 * 32));
  for (auto& v : images) v = rng.uniform(-2, 2);
  std::vector<std::int32_t> labels(static_cast<std::size_t>(batch));
  for (auto& l : labels) l = static_cast<std::int32_t>(rng.next_u64() % 10);
  loss::CrossEntropy<Cpu> loss;
  optim::Adam adam(model.parameters(), {.lr = 1e-3f});

  auto train_step = [&] {
    loss.forward(model.forward(images, batch), labels);
    model.backward(loss.gradient());
    adam.step();
    Cpu::synchronize();
  };
  using clock = std::chrono::steady_clock;
  auto seconds = [](auto start) { return std::chrono::duration<double>(clock::now() - start).count(); };

  model.train();
  for (int i = 0; i < 3; ++i) train_step();
  auto start = clock::now();
  for (int i = 0; i < steps; ++i) train_step();
  const double train = steps * batch / seconds(start);

  if (std::getenv("TRAIN_ONLY")) {  // for profiling the training step alone
    fmt::print("ctnn cpu threads {}: train img/s {:.0f}\n", omp_get_max_threads(), train);
    return 0;
  }
  model.eval();
  for (int i = 0; i < 3; ++i) model.forward(images, batch);
  start = clock::now();
  for (int i = 0; i < steps; ++i) model.forward(images, batch);
  Cpu::synchronize();
  const double infer = steps * batch / seconds(start);
  fmt::print("ctnn cpu threads {}: train img/s {:.0f}  infer img/s {:.0f}\n", omp_get_max_threads(), train, infer);
}
