// The seed's CIFAR-10 network as a type list, shared by the benchmarks.
#pragma once
#include <ctnn/ctnn.hpp>

namespace bench {
using namespace ctnn;
template <int In, int Out>
using ConvBlock = Sequential<Conv<In, Out>, BN<Out>, ReLU, Conv<Out, Out>, BN<Out>, ReLU, MaxPool<2>, Dropout<0.25f>>;
using SeedNet = Sequential<ConvBlock<3, 32>, ConvBlock<32, 64>, ConvBlock<64, 128>, Flatten, Linear<2048, 512>, ReLU,
                           Dropout<0.5f>, Linear<512, 10>>;
}  // namespace bench
