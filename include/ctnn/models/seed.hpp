// The seed network: the PyTorch tutorial's CNN for CIFAR-10 (../shared/seed), the project's
// reference experiment. Three blocks of two 3x3 convolutions with BN and ReLU, 2x2 max
// pooling and dropout, then two linear layers. Parameter names follow the list positions
// ("0.0.weight"), as nn.Sequential would name them.
#pragma once
#include "ctnn/layers/activation.hpp"
#include "ctnn/layers/batchnorm.hpp"
#include "ctnn/layers/conv.hpp"
#include "ctnn/layers/dropout.hpp"
#include "ctnn/layers/flatten.hpp"
#include "ctnn/layers/linear.hpp"
#include "ctnn/layers/pool.hpp"
#include "ctnn/sequential.hpp"

namespace ctnn::models {

template <int In, int Out>
using SeedBlock = Sequential<Conv<In, Out>, BN<Out>, ReLU, Conv<Out, Out>, BN<Out>, ReLU, MaxPool<2>, Dropout<0.25f>>;

template <int Classes = 10>
using SeedNetFor = Sequential<SeedBlock<3, 32>, SeedBlock<32, 64>, SeedBlock<64, 128>, Flatten, Linear<2048, 512>, ReLU,
                              Dropout<0.5f>, Linear<512, Classes>>;

using SeedNet = SeedNetFor<10>;
using SeedInput = Input<3, 32, 32>;

}  // namespace ctnn::models
