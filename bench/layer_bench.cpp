// Per-layer micro-benchmarks of the seed network on the CPU backend (see layer_bench.hpp).
#include <ctnn/backend/cpu.hpp>

#include "layer_bench.hpp"

int main(int argc, char** argv) {
  ctnn::cpu::use_passive_openmp_wait(argv);  // unless the caller chose a policy
  return layer_bench::main<ctnn::Cpu>(argc, argv);
}
