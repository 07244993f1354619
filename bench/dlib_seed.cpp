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
#include <cstdlib>
#include <iostream>
#include <type_traits>

#include "dlib_probe.hpp"

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
  return bench_dlib::run<train_net, test_net>([](train_net& net) {
    // The layer nearest the output is the head's Dropout(0.5); every other one is 0.25.
    int seen = 0;
    visit_computational_layers(net, [&](auto& layer) {
      if constexpr (std::is_same_v<std::decay_t<decltype(layer)>, dropout_>) layer = dropout_(seen++ == 0 ? 0.5f : 0.25f);
    });
    if (std::getenv("PRINT_NET")) std::cout << net << "\n";
  });
}
