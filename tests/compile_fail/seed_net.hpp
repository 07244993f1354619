// The seed network's blocks, shared by the cases that break it (not a test case itself).
#pragma once
#include "ctnn/layers/activation.hpp"
#include "ctnn/layers/batchnorm.hpp"
#include "ctnn/layers/conv.hpp"
#include "ctnn/layers/dropout.hpp"
#include "ctnn/layers/flatten.hpp"
#include "ctnn/layers/linear.hpp"
#include "ctnn/layers/pool.hpp"
#include "ctnn/models/seed.hpp"
#include "ctnn/sequential.hpp"

template <int In, int Out>
using ConvBlock = ctnn::models::SeedBlock<In, Out>;
