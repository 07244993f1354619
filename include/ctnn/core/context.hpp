// What every layer's forward and backward receives besides its tensors.
#pragma once
#include <functional>
#include <span>

#include "ctnn/core/mode.hpp"        // Mode
#include "ctnn/core/parameters.hpp"  // ParameterList
#include "ctnn/core/rng.hpp"         // Rng

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

  // Data-parallel training (ctnn/distributed) sets these; in a single process both are empty.
  // Called by Sequential after each of its layers' backward with that layer's parameters,
  // whose gradients are final for this pass from then on: their all-reduce can start while
  // the layers before run backward. A parameter may be reported more than once (by a block
  // and by the Sequential around it).
  std::function<void(const ParameterList<Backend>&)> on_gradients;
  // Sums `values` element-wise over every process of the job, in place: SyncBN's statistics.
  std::function<void(std::span<double>)> sum_over_processes;
};

}  // namespace ctnn
