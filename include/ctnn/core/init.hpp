// PyTorch's default initialisation: Kaiming-uniform weights (a = sqrt(5)), which reduces to
// U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the same bound for the bias.
#pragma once
#include <cmath>   // std::sqrt
#include <span>
#include <vector>

#include "ctnn/core/rng.hpp"  // Rng

namespace ctnn {

inline std::vector<float> uniform_fill(std::size_t count, float bound, Rng& rng) {
  std::vector<float> values(count);
  for (auto& v : values) v = rng.uniform(-bound, bound);
  return values;
}

inline float kaiming_uniform_bound(long fan_in) { return 1.0f / std::sqrt(static_cast<float>(fan_in)); }

}  // namespace ctnn
