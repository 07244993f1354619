// The seed network in dlib 19.24 (Debian libdlib-dev), the peer of seed_throughput.cpp: the
// same train-step and inference measurement (batch 128 of random data, Adam, 3 warm-up steps,
// then STEPS timed steps), and the same network for the compile-time comparison
// (bench/compile_time.sh compiles this file beside the ctnn example).
//   dlib_seed    env: STEPS=20, BATCH=128, PRINT_NET=1 (print dlib's listing of the network); dlib's matrix products run on the system BLAS
//                (OpenBLAS when LD_LIBRARY_PATH picks it: see compare_seed.sh)
// Prints: "dlib 19.24 threads T: train img/s X  infer img/s Y"
//
// A dlib network is written inside-out: the loss comes first and the input last, so read the
// type below from the bottom up. It is the seed network:
//   [Conv(3->32) BN ReLU Conv(32->32) BN ReLU MaxPool2 Dropout(0.25)]   (block<32>)
//   [... 64 ...] [... 128 ...], Linear(2048->512) ReLU Dropout(0.5) Linear(512->10), softmax loss
// dlib's fc flattens its input itself, and dropout's rate is a run-time value (set below).
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <random>
#include <type_traits>
#include <vector>

#include <dlib/dnn.h>
#include <dlib/revision.h>  // DLIB_MAJOR_VERSION

using namespace dlib;

// Training uses bn_con and dropout; inference uses dlib's test-time forms, affine (BN folded
// into a scale and shift) and multiply (dropout's expectation), as dlib's examples do.
template <template <typename> class BN, template <typename> class Drop, long N, typename SUBNET>
using block = Drop<max_pool<2, 2, 2, 2, relu<BN<con<N, 3, 3, 1, 1, relu<BN<con<N, 3, 3, 1, 1, SUBNET>>>>>>>>;

template <template <typename> class BN, template <typename> class Drop>
using seed_net = loss_multiclass_log<
    fc<10, Drop<relu<fc<512,
    block<BN, Drop, 128,
    block<BN, Drop, 64,
    block<BN, Drop, 32,
    input<std::array<matrix<float>, 3>>>>>>>>>>;

using train_net = seed_net<bn_con, dropout>;
using test_net = seed_net<affine, multiply>;

int main() {
  const long batch = std::getenv("BATCH") ? std::atol(std::getenv("BATCH")) : 128;
  const int steps = std::getenv("STEPS") ? std::atoi(std::getenv("STEPS")) : 20;
  const char* blas_threads = std::getenv("OPENBLAS_NUM_THREADS");

  train_net net;
  // The layer nearest the output is the head's Dropout(0.5); every other one is 0.25.
  int seen = 0;
  visit_computational_layers(net, [&](auto& layer) {
    if constexpr (std::is_same_v<std::decay_t<decltype(layer)>, dropout_>) layer = dropout_(seen++ == 0 ? 0.5f : 0.25f);
  });

  if (std::getenv("PRINT_NET")) std::cout << net << "\n";

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
  std::vector<adam> solvers(train_net::num_computational_layers, adam(0.0f, 0.9f, 0.999f));
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

  test_net tnet = net;
  for (int i = 0; i < 3; ++i) tnet.subnet().forward(x);
  start = clock::now();
  for (int i = 0; i < steps; ++i) tnet.subnet().forward(x);
  const double infer = steps * batch / seconds(start);
  std::printf("dlib %d.%d threads %s: train img/s %.0f  infer img/s %.0f\n", DLIB_MAJOR_VERSION, DLIB_MINOR_VERSION,
              blas_threads ? blas_threads : "?", train, infer);
  return 0;
}
