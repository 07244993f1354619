// The two halves of the agreement tests, compiled by different compilers, and the GPU-only
// checks of the CUDA backend.
#pragma once
#include <cstddef>
#include <vector>

#include "cases.hpp"

namespace agreement {
Result cpu_layer_case(std::size_t index);
Result gpu_layer_case(std::size_t index);  // gpu_layers.cu
SeedSteps cpu_seed_steps();
SeedSteps gpu_seed_steps();  // gpu_training.cu, as are the rest
Tensors cpu_optimizer_steps();
Tensors gpu_optimizer_steps();
Tensors cpu_nan_case();
Tensors gpu_nan_case();

// Algorithm choices made while a convolution runs forward and backward at batch sizes 4, 3, 4,
// 3 and then forward only (eval) at 5, twice: one per direction and shape if plans are kept.
long gpu_algorithm_searches_for_alternating_batches();
// The parameters after three SGD steps of a small network with overlapping max pooling, with
// cuda::settings().deterministic on (restored to off afterwards).
Tensors gpu_deterministic_steps();

// Steps of a small network with dropout (batch 6 six times, 4 four times, an eval forward of 10
// that allocates, then 6 four times; the loss read a step late), deterministic, run eagerly or
// through a cuda::StepGraph with one warm-up step per batch size.
struct GraphRun {
  Tensors parameters;
  std::vector<float> losses;
  long captures = 0, replays = 0;
};
GraphRun gpu_graph_steps(bool use_graph);
}  // namespace agreement
