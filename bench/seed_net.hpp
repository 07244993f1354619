// The seed's CIFAR-10 network as a type list, shared by the benchmarks.
#pragma once
#include <ctnn/ctnn.hpp>
#include <ctnn/models/seed.hpp>

namespace bench {
using namespace ctnn;
using models::SeedNet;
}  // namespace bench
