// The seed network's blocks, shared by the cases that break it (not a test case itself).
#pragma once
#include "ctnn/layers/activation.hpp"
#include "ctnn/layers/batchnorm.hpp"
#include "ctnn/layers/conv.hpp"
#include "ctnn/layers/dropout.hpp"
#include "ctnn/layers/flatten.hpp"
#include "ctnn/layers/linear.hpp"
#include "ctnn/layers/pool.hpp"
#include "ctnn/sequential.hpp"

template <int In, int Out>
using ConvBlock = ctnn::Sequential<ctnn::Conv<In, Out>, ctnn::BN<Out>, ctnn::ReLU, ctnn::Conv<Out, Out>,
                                   ctnn::BN<Out>, ctnn::ReLU, ctnn::MaxPool<2>, ctnn::Dropout<0.25f>>;
