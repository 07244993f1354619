// The GPU half of the agreement tests (nvcc; cuDNN and cuBLAS).
#include <ctnn/backend/cuda.hpp>

#include "sides.hpp"

namespace agreement {
Result gpu_layer_case(std::size_t index) { return run_layer_case<Cuda>(index); }
Result gpu_seed_steps() { return run_seed_steps<Cuda>(); }
bool gpu_available() { return cuda::device_available(); }
}  // namespace agreement
