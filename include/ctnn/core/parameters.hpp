// Named views of a model's parameters and buffers, as optimizers and checkpoints see them.
#pragma once
#include <cstdint>
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

// An integer a layer keeps on the host and a checkpoint stores as an I64 scalar tensor (shape
// []), such as BN's "num_batches_tracked".
struct CounterRef {
  std::string name;
  std::int64_t* value = nullptr;
};

// Every float tensor of a model, in layer order; optimizers iterate these. The counters are kept
// apart, so that everything that walks the list sees float buffers only; checkpoints and
// parameter copies read both.
template <class Backend>
struct ParameterList : std::vector<ParameterRef<Backend>> {
  using std::vector<ParameterRef<Backend>>::vector;
  std::vector<CounterRef> counters;
};

}  // namespace ctnn
