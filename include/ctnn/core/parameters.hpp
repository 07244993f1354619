// Named views of a model's parameters and buffers, as optimizers and checkpoints see them.
#pragma once
#include <string>
#include <vector>

namespace ctnn {

// One tensor a model owns. Names follow the layer structure: "0.weight", "3.1.running_mean"
// (the position in each Sequential, counting from 0, as PyTorch's nn.Sequential names them).
template <class Backend>
struct ParameterRef {
  std::string name;
  std::vector<long> shape;                    // logical shape, e.g. {out, in, k, k} for Conv
  typename Backend::Buffer* value = nullptr;  // plain row-major storage
  typename Backend::Buffer* grad = nullptr;   // null for buffers such as BN running statistics
  bool trainable() const { return grad != nullptr; }
  // Biases and normalisation scales and shifts: the one-dimensional parameters, which training
  // recipes often exempt from weight decay (the optimizers' decay_biases_and_norms option).
  bool is_bias_or_norm() const { return shape.size() <= 1; }
};

template <class Backend>
using ParameterList = std::vector<ParameterRef<Backend>>;

}  // namespace ctnn
