// The two halves of the agreement tests, compiled by different compilers.
#pragma once
#include <cstddef>

#include "cases.hpp"

namespace agreement {
Result cpu_layer_case(std::size_t index);
Result gpu_layer_case(std::size_t index);
Result cpu_seed_steps();
Result gpu_seed_steps();
bool gpu_available();
}  // namespace agreement
