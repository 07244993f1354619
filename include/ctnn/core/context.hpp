// What every layer's forward and backward receives besides its tensors.
#pragma once
#include "ctnn/core/mode.hpp"  // Mode
#include "ctnn/core/rng.hpp"   // Rng

namespace ctnn {

template <class Backend>
struct Context {
  Mode mode = Mode::train;
  Rng rng;  // dropout masks draw from it, so a seeded model repeats a run exactly
};

}  // namespace ctnn
