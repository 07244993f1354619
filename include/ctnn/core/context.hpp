// What every layer's forward and backward receives besides its tensors.
#pragma once
#include "ctnn/core/mode.hpp"  // Mode
#include "ctnn/core/rng.hpp"   // Rng

namespace ctnn {

template <class Backend>
struct Context {
  Mode mode = Mode::train;
  Rng rng;  // dropout masks draw from it, so a seeded model repeats a run exactly
  // Set during a pass that re-estimates BN's running statistics (Model::accumulate_batch_norm_
  // statistics): the number of this batch in the pass, from 1; 0 otherwise. While it is set,
  // Dropout is the identity even in train mode, and BN updates its running statistics with
  // momentum 1/k instead of its own, so after k batches they are the plain mean of the k
  // batches' statistics (PyTorch's momentum=None).
  long statistics_batch = 0;
};

}  // namespace ctnn
