// The cifar10 example's GPU half (nvcc): the same training as the CPU's, on the CUDA backend.
#include <ctnn/backend/cuda.hpp>

#include "experiment.hpp"

namespace cifar10_example {

extern const bool cuda_built = true;

int train_on_cuda(const Options& o, const RunData& d) {
  if (!ctnn::cuda::device_available()) {
    fmt::print(stderr, "cifar10: --device cuda: no CUDA device is present; use --device cpu\n");
    return 2;
  }
  return train_seed<ctnn::Cuda>(o, d);
}

}  // namespace cifar10_example
