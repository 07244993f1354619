// The CPU half of the agreement tests (g++; oneDNN).
#include <ctnn/backend/cpu.hpp>

#include "sides.hpp"

namespace agreement {
Result cpu_layer_case(std::size_t index) { return run_layer_case<Cpu>(index); }
SeedSteps cpu_seed_steps() { return run_seed_steps<Cpu>(); }
Tensors cpu_optimizer_steps() { return run_optimizer_steps<Cpu>(); }
Tensors cpu_nan_case() { return run_nan_case<Cpu>(); }
}  // namespace agreement
