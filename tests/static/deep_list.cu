// See deep_list.hpp: the same networks with the CUDA backend, compiled by nvcc (EDG's front
// end, which reported "excessive recursion" for long lists stored in a std::tuple).
#include "ctnn/backend/cuda.hpp"
#include "deep_list.hpp"

static_assert(ctnn_deep::instantiate<ctnn::Cuda>());
