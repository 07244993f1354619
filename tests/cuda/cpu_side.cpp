// The CPU half of the agreement tests (g++; oneDNN).
#include <ctnn/backend/cpu.hpp>

#include "sides.hpp"

namespace agreement {
Result cpu_layer_case(std::size_t index) { return run_layer_case<Cpu>(index); }
Result cpu_seed_steps() { return run_seed_steps<Cpu>(); }
}  // namespace agreement
