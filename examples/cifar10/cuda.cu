// The cifar10 example's GPU half (nvcc): the same training as the CPU's, on the CUDA backend.
#include <ctnn/backend/cuda.hpp>

#include "experiment.hpp"

namespace cifar10_example {

extern const bool cuda_built = true;

int train_on_cuda(const Options& o, const RunData& d) {
  if (const auto probe = ctnn::cuda::probe_device(); probe.state != ctnn::cuda::DeviceState::usable) {
    fmt::print(stderr, "cifar10: --device cuda: {}{}\n", probe.message,
               probe.state == ctnn::cuda::DeviceState::absent ? "; use --device cpu" : "");
    return 2;
  }
  return train_seed<ctnn::Cuda>(o, d);
}

}  // namespace cifar10_example
