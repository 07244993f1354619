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

namespace {
struct Deterministic {
  Deterministic() { cuda::settings().deterministic = true; }
  ~Deterministic() { cuda::settings().deterministic = false; }
};
}  // namespace

Tensors gpu_deterministic_steps() {
  Deterministic deterministic;
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
GraphRun gpu_graph_steps(bool use_graph) {
  Deterministic deterministic;
  using Net = Sequential<Conv<3, 8>, BN<8>, ReLU, MaxPool<2>, Dropout<0.3f>, Flatten, Linear<8 * 3 * 3, 4>>;
  Model<Net, Input<3, 6, 6>, Cuda> model(11);
  loss::CrossEntropy<Cuda> loss;
  optim::Sgd sgd(model.parameters(), {.lr = 0.1f, .momentum = 0.9f});
  cuda::StepGraph graph(1);
  GraphRun run;
  int queued = 0;
  std::uint64_t seed = 50;
  const auto step = [&](long batch) {
    const auto x = random_values(static_cast<std::size_t>(batch * 3 * 6 * 6), ++seed);
    std::vector<std::int32_t> labels(static_cast<std::size_t>(batch));
    for (long i = 0; i < batch; ++i) labels[static_cast<std::size_t>(i)] = static_cast<std::int32_t>((i + seed) % 4);
    const auto body = [&] {
      loss.queue(model.forward(x, batch), labels);
      model.backward(loss.gradient());
    };
    if (use_graph) graph.run(batch, {std::as_bytes(std::span(x)), std::as_bytes(std::span(labels))}, body);
    else body();
    sgd.step();
    if (++queued > loss.lag) run.losses.push_back(loss.take().loss), --queued;
  };
  for (int i = 0; i < 6; ++i) step(6);
  for (int i = 0; i < 4; ++i) step(4);
  model.eval();
  model.forward(random_values(10 * 3 * 6 * 6, 99), 10);
  model.train();
  for (int i = 0; i < 4; ++i) step(6);
  for (; queued > 0; --queued) run.losses.push_back(loss.take().loss);
  for (auto& p : model.parameters()) run.parameters[p.name] = p.value->to_vector();
  run.captures = graph.captures();
  run.replays = graph.replays();
  return run;
}
}  // namespace agreement
