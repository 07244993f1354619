// Links the installed ctnn::cuda: cuDNN, cuBLAS and the CUDA runtime all resolve.
#include <ctnn/backend/cuda.hpp>
#include <fmt/core.h>

int main() {
  fmt::print("ctnn::cuda consumer built; a GPU is {}\n", ctnn::cuda::device_available() ? "present" : "absent");
}
