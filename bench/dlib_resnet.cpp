// ResNet-18 with the CIFAR stem in dlib 19.24 (Debian libdlib-dev), the peer of
// resnet_throughput.cpp: the same measurement (dlib_probe.hpp) and the same network for the
// compile-time comparison (bench/compile_time.sh). Env: STEPS=20, BATCH=128, PRINT_NET=1.
//
// A dlib network is written inside-out (read from the bottom up): a 3x3 convolution, BN and
// ReLU, then four stages of two basic blocks (64, 128, 256, 512 channels), the first block of
// stages 2-4 strided with a 1x1 projection shortcut (tag1 marks a block's input, tag2 its
// body's output, skip1 returns to the input for the shortcut), global average pooling and
// the classifier. dlib's convolutions always carry a bias; torchvision's have none here.
#include <array>
#include <cstdlib>
#include <iostream>

#include "dlib_probe.hpp"

using namespace dlib;

template <template <typename> class BN, long N, int S, typename SUBNET>
using body = BN<con<N, 3, 3, 1, 1, relu<BN<con<N, 3, 3, S, S, SUBNET>>>>>;
template <template <typename> class BN, long N, typename SUBNET>
using block = relu<add_prev1<body<BN, N, 1, tag1<SUBNET>>>>;
template <template <typename> class BN, long N, typename SUBNET>
using block_down = relu<add_prev2<BN<con<N, 1, 1, 2, 2, skip1<tag2<body<BN, N, 2, tag1<SUBNET>>>>>>>>;

template <template <typename> class BN>
using resnet18 = loss_multiclass_log<fc<10, avg_pool_everything<
    block<BN, 512, block_down<BN, 512,
    block<BN, 256, block_down<BN, 256,
    block<BN, 128, block_down<BN, 128,
    block<BN, 64, block<BN, 64,
    relu<BN<con<64, 3, 3, 1, 1, input<std::array<matrix<float>, 3>>>>>>>>>>>>>>>>;

using train_net = resnet18<bn_con>;
using test_net = resnet18<affine>;

int main() {
  return bench_dlib::run<train_net, test_net>([](train_net& net) {
    if (std::getenv("PRINT_NET")) std::cout << net << "\n";
  });
}
