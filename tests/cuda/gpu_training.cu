// The GPU half of the training agreement tests, and checks of the CUDA backend that need a GPU
// but no CPU counterpart (nvcc). The second .cu file of test_cuda (see gpu_layers.cu).
#include <ctnn/backend/cuda.hpp>

#include "sides.hpp"

namespace agreement {
static_assert(loss::CrossEntropy<Cuda>::lag == 1, "the CUDA loss is read one step late");

SeedSteps gpu_seed_steps() { return run_seed_steps<Cuda>(); }
Tensors gpu_optimizer_steps() { return run_optimizer_steps<Cuda>(); }
Tensors gpu_nan_case() { return run_nan_case<Cuda>(); }

long gpu_algorithm_searches_for_alternating_batches() {
  Model<Sequential<Conv<3, 4>>, Input<3, 6, 6>, Cuda> model(1);
  const long before = cuda::counters().algorithm_searches;
  for (const long batch : {4, 3, 4, 3}) {
    const auto x = random_values(static_cast<std::size_t>(batch * 3 * 6 * 6), static_cast<std::uint64_t>(batch));
    const auto& y = model.forward(x, batch);
    model.backward(y);  // any gradient will do; no input gradient: forward and filter only
  }
  model.eval();
  for (int i = 0; i < 2; ++i) model.forward(random_values(5 * 3 * 6 * 6, 7), 5);
  Cuda::synchronize();
  return cuda::counters().algorithm_searches - before;
}

Tensors gpu_deterministic_steps() {
  struct Restore {
    ~Restore() { cuda::settings().deterministic = false; }
  } restore;
  cuda::settings().deterministic = true;
  using Net = Sequential<Conv<3, 8>, BN<8>, ReLU, MaxPool<3, 2>, Conv<8, 8>, ReLU, Flatten, Linear<8 * 3 * 3, 4>>;
  Model<Net, Input<3, 7, 7>, Cuda> model(3);
  loss::CrossEntropy<Cuda> loss;
  optim::Sgd sgd(model.parameters(), {.lr = 0.1f, .momentum = 0.9f});
  const std::vector<std::int32_t> labels{0, 1, 2, 3, 1, 0};
  for (int step = 0; step < 3; ++step) {
    loss.forward(model.forward(random_values(6 * 3 * 7 * 7, 20 + static_cast<std::uint64_t>(step)), 6), labels);
    model.backward(loss.gradient());
    sgd.step();
  }
  Tensors result;
  for (auto& p : model.parameters()) result[p.name] = p.value->to_vector();
  return result;
}
}  // namespace agreement
