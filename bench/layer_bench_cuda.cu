// Per-layer micro-benchmarks of the seed network on the CUDA backend (see layer_bench.hpp).
// Each timed iteration ends with Cuda::synchronize(), so the times are the kernels' own.
#include <cstdio>

#include <ctnn/backend/cuda.hpp>

#include "layer_bench.hpp"

int main(int argc, char** argv) {
  if (!ctnn::cuda::device_available()) {
    std::fprintf(stderr, "layer_bench_cuda: no GPU on this machine: nothing to measure\n");
    return 77;
  }
  return layer_bench::main<ctnn::Cuda>(argc, argv);
}
