// The seed network's train-step and inference throughput on the CUDA backend: the GPU twin of
// seed_throughput.cpp (random data, Adam, 3 warm-up steps, then STEPS timed steps), compared
// with PyTorch on the same device by compare_seed_gpu.sh. Compiled by nvcc (a .cu file).
//   seed_throughput_cuda    env: BATCH=128, STEPS=50, GRAPH=1 (forward, loss and backward
//                           replayed as a CUDA graph, cuda::StepGraph; experimental)
// Prints "ctnn cuda[ graph] DEVICE batch B: train img/s X  infer img/s Y", or, where no CUDA
// device is present, why not, and exits with status 77 (1 where CUDA is broken, e.g. the
// driver too old).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "seed_net.hpp"

int main() {
  using namespace ctnn;
  if (const int status = cuda::device_exit_status("ctnn cuda")) return status;
  cudaDeviceProp prop{};
  CTNN_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  const long batch = std::getenv("BATCH") ? std::atol(std::getenv("BATCH")) : 128;
  const int steps = std::getenv("STEPS") ? std::atoi(std::getenv("STEPS")) : 50;
  const bool use_graph = std::getenv("GRAPH") && std::string(std::getenv("GRAPH")) == "1";
  Model<bench::SeedNet, Input<3, 32, 32>, Cuda> model(0);
  Rng rng(1);
  std::vector<float> images(static_cast<std::size_t>(batch * 3 * 32 * 32));
  for (auto& v : images) v = rng.uniform(-2, 2);
  std::vector<std::int32_t> labels(static_cast<std::size_t>(batch));
  for (auto& l : labels) l = static_cast<std::int32_t>(rng.next_u64() % 10);
  loss::CrossEntropy<Cuda> loss;
  optim::Adam adam(model.parameters(), {.lr = 1e-3f});

  // Each step copies the batch to the device, as a training loop fed from host memory does,
  // and reads the previous step's loss, as Trainer does (the loss's `lag`), so the host never
  // waits for the device inside the loop.
  int queued = 0;
  cuda::StepGraph graph(1);  // the first step eager, the next two captured, replays after
  auto train_step = [&] {
    const auto forward_backward = [&] {
      loss.queue(model.forward(images, batch), labels);
      model.backward(loss.gradient());
    };
    if (use_graph)
      graph.run(batch, {std::as_bytes(std::span(images)), std::as_bytes(std::span(labels))}, forward_backward);
    else
      forward_backward();
    adam.step();
    if (++queued > loss.lag) loss.take(), --queued;
  };
  auto take_all = [&] {
    for (; queued > 0; --queued) loss.take();
  };
  using clock = std::chrono::steady_clock;
  auto seconds = [](auto start) { return std::chrono::duration<double>(clock::now() - start).count(); };

  model.train();
  for (int i = 0; i < 3; ++i) train_step();
  take_all();
  auto start = clock::now();
  for (int i = 0; i < steps; ++i) train_step();
  take_all();
  Cuda::synchronize();
  const double train = steps * batch / seconds(start);

  model.eval();
  for (int i = 0; i < 3; ++i) model.forward(images, batch);
  Cuda::synchronize();
  start = clock::now();
  for (int i = 0; i < steps; ++i) model.forward(images, batch);
  Cuda::synchronize();
  const double infer = steps * batch / seconds(start);
  std::printf("ctnn cuda%s %s batch %ld: train img/s %.0f  infer img/s %.0f\n", use_graph ? " graph" : "", prop.name,
              batch, train, infer);
  return 0;
}
