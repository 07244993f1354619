// Train-step and inference throughput of ResNet-18 with the CIFAR stem (models/resnet.hpp)
// on 32x32 inputs, 10 classes, on the CPU backend (throughput.hpp says what is measured and
// printed); bench/resnet_torch.py measures torchvision's resnet18 with the same stem.
#include <ctnn/models/resnet.hpp>

#include "throughput.hpp"

int main(int, char** argv) {
  return bench::run_throughput<ctnn::models::CifarResNet18<10>, ctnn::models::CifarInput, 10>(argv);
}
