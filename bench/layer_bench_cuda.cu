// Per-layer micro-benchmarks of the seed network on the CUDA backend (see layer_bench.hpp).
// Each timed iteration ends with Cuda::synchronize(), so the times are the kernels' own.
#include <ctnn/backend/cuda.hpp>

#include "layer_bench.hpp"

int main(int argc, char** argv) {
  if (const int status = ctnn::cuda::device_exit_status("layer_bench_cuda")) return status;
  return layer_bench::main<ctnn::Cuda>(argc, argv);
}
