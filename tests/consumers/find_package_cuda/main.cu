// Links the installed ctnn::cuda: cuDNN, cuBLAS and the CUDA runtime all resolve.
#include <ctnn/backend/cuda.hpp>
#include <fmt/core.h>

int main() {
  const auto probe = ctnn::cuda::probe_device();
  fmt::print("ctnn::cuda consumer built; a GPU is {} ({})\n",
             probe.state == ctnn::cuda::DeviceState::usable ? "present" : "absent", probe.message);
}
