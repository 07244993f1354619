// The train-step and inference measurement of the dlib peers (dlib_seed.cpp, dlib_resnet.cpp),
// the same as ctnn's throughput.hpp: a batch (BATCH, 128) of random 32x32 images, Adam, 3
// warm-up steps, then STEPS (20) timed steps. Prints
//   "dlib 19.24 threads T: train img/s X  infer img/s Y"
#pragma once
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include <dlib/dnn.h>
#include <dlib/revision.h>  // DLIB_MAJOR_VERSION

namespace bench_dlib {

// Trains TrainNet (prepared by `setup`), then copies it into TestNet for inference.
template <class TrainNet, class TestNet, class Setup>
int run(Setup&& setup) {
  using namespace dlib;
  const long batch = std::getenv("BATCH") ? std::atol(std::getenv("BATCH")) : 128;
  const int steps = std::getenv("STEPS") ? std::atoi(std::getenv("STEPS")) : 20;
  const char* blas_threads = std::getenv("OPENBLAS_NUM_THREADS");

  TrainNet net;
  setup(net);
  std::mt19937 gen(1);
  std::uniform_real_distribution<float> uniform(-2, 2);
  std::vector<std::array<matrix<float>, 3>> images(static_cast<std::size_t>(batch));
  for (auto& image : images)
    for (auto& channel : image) {
      channel.set_size(32, 32);
      for (auto& v : channel) v = uniform(gen);
    }
  std::vector<unsigned long> labels(static_cast<std::size_t>(batch));
  for (auto& l : labels) l = gen() % 10;
  resizable_tensor x;
  net.to_tensor(images.begin(), images.end(), x);

  // Adam as dnn_trainer runs it (one solver per layer), without dnn_trainer's own thread.
  std::vector<adam> solvers(TrainNet::num_computational_layers, adam(0.0f, 0.9f, 0.999f));
  auto train_step = [&] {
    net.compute_parameter_gradients(x, labels.begin());
    net.update_parameters(solvers, 1e-3);
  };
  using clock = std::chrono::steady_clock;
  auto seconds = [](auto start) { return std::chrono::duration<double>(clock::now() - start).count(); };

  for (int i = 0; i < 3; ++i) train_step();
  auto start = clock::now();
  for (int i = 0; i < steps; ++i) train_step();
  const double train = steps * batch / seconds(start);

  TestNet tnet = net;
  for (int i = 0; i < 3; ++i) tnet.subnet().forward(x);
  start = clock::now();
  for (int i = 0; i < steps; ++i) tnet.subnet().forward(x);
  const double infer = steps * batch / seconds(start);
  std::printf("dlib %d.%d threads %s: train img/s %.0f  infer img/s %.0f\n", DLIB_MAJOR_VERSION, DLIB_MINOR_VERSION,
              blas_threads ? blas_threads : "?", train, infer);
  return 0;
}

}  // namespace bench_dlib
