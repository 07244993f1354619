// Exports the networks of the inference benchmark (bench/compare_onnxruntime.sh) as ONNX, for
// ONNX Runtime: the seed network and ResNet-18 with the CIFAR stem, initialized from seed 0.
//   onnx_export_models DIR       writes DIR/ctnn_seed.onnx and DIR/ctnn_cifar_resnet18.onnx
#include <filesystem>

#include <ctnn/ctnn.hpp>
#include <ctnn/io/onnx.hpp>
#include <ctnn/models/resnet.hpp>
#include <ctnn/models/seed.hpp>
#include <fmt/core.h>

template <class Net, class In>
void export_model(const std::filesystem::path& file) {
  ctnn::Model<Net, In, ctnn::Cpu> model(0);
  ctnn::io::export_onnx(model, file);
  fmt::print("{} ({:.1f} MB)\n", file.string(), std::filesystem::file_size(file) / 1e6);
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fmt::print(stderr, "usage: {} DIR\n", argv[0]);
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir);
  export_model<ctnn::models::SeedNet, ctnn::models::SeedInput>(dir / "ctnn_seed.onnx");
  export_model<ctnn::models::CifarResNet18<10>, ctnn::models::CifarInput>(dir / "ctnn_cifar_resnet18.onnx");
}
