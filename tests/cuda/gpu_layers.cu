// The GPU half of the per-layer agreement tests (nvcc; cuDNN and cuBLAS). One of two .cu
// files in test_cuda, both including the CUDA backend: the program links only if the
// backend's kernels may be defined in more than one translation unit.
#include <ctnn/backend/cuda.hpp>

#include "sides.hpp"

namespace agreement {
Result gpu_layer_case(std::size_t index) { return run_layer_case<Cuda>(index); }
}  // namespace agreement
