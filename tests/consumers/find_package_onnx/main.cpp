// A small conv net exported to ONNX through the installed ctnn::onnx; prints the file's size.
#include <filesystem>

#include <ctnn/ctnn.hpp>
#include <ctnn/io/onnx.hpp>
#include <fmt/core.h>

using namespace ctnn;

int main() {
  Model<Sequential<Conv<3, 8>, BN<8>, ReLU, MaxPool<2>, Flatten, Linear<8 * 8 * 8, 10>>, Input<3, 16, 16>, Cpu> model(0);
  const std::filesystem::path file = "consumer.onnx";
  io::export_onnx(model, file);
  fmt::print("exported {} ({} bytes)\n", file.string(), std::filesystem::file_size(file));
}
