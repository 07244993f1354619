// io::export_onnx on torchvision's ResNet-18 (at 64x64, so that ONNX Runtime's check stays
// short; the head's global pooling takes any size) and on the CIFAR variant: torchvision's
// operators and parameter names. A translation unit of its own, as the ResNets compile slowly.
#include <ctnn/models/resnet.hpp>

#include "onnx_cases.hpp"

using namespace ctnn;
using namespace onnx_test;

namespace {

// Names torchvision's resnet18 has in its state_dict (less num_batches_tracked).
void check_torchvision_names(const onnx::ModelProto& model) {
  std::set<std::string> names;
  for (const auto& t : model.graph().initializer()) names.insert(t.name());
  // 20 convolutions (1 + 16 in the blocks + 3 projections), 20 BNs of 4 tensors, fc's 2.
  CHECK(names.size() == 20 + 20 * 4 + 2);
  for (const char* name : {"conv1.weight", "bn1.running_var", "layer1.0.conv1.weight", "layer1.1.bn2.bias",
                           "layer2.0.downsample.0.weight", "layer2.0.downsample.1.running_mean",
                           "layer4.1.conv2.weight", "fc.weight", "fc.bias"}) {
    INFO(name);
    CHECK(names.contains(name));
  }
}

}  // namespace

TEST_CASE("ResNet-18 exports with torchvision's operators and names", "[onnx][resnet]") {
  const auto model = export_case<models::ResNet18<1000>, Input<3, 64, 64>>("resnet18", 2, 40);
  // 8 BasicBlocks: 2 Conv + 2 BN + 2 Relu + 1 Add each, 3 of them with a projection (Conv, BN);
  // the stem's Conv, BN, Relu and MaxPool; the head's pooling, Flatten and fc.
  CHECK(op_counts(model) == Counts{{"Conv", 20}, {"BatchNormalization", 20}, {"Relu", 17}, {"Add", 8},
                                   {"MaxPool", 1}, {"GlobalAveragePool", 1}, {"Flatten", 1}, {"Gemm", 1}});
  check_torchvision_names(model);
  const auto& conv1 = node_named(model, "conv1");
  CHECK(ints_of(conv1, "kernel_shape") == std::vector<std::int64_t>{7, 7});
  CHECK(ints_of(conv1, "strides") == std::vector<std::int64_t>{2, 2});
  CHECK(ints_of(conv1, "pads") == std::vector<std::int64_t>{3, 3, 3, 3});
  CHECK(ints_of(node_named(model, "maxpool"), "pads") == std::vector<std::int64_t>{1, 1, 1, 1});
  CHECK(ints_of(node_named(model, "layer2.0.downsample.0"), "strides") == std::vector<std::int64_t>{2, 2});
  CHECK(node_named(model, "layer2.0.add").input(1) == "layer2.0.downsample.1");
  CHECK(node_named(model, "layer1.0.add").input(1) == "maxpool");  // identity shortcut
  CHECK(node_named(model, "fc").output(0) == "output");
}

TEST_CASE("the CIFAR ResNet-18 exports without the max pooling", "[onnx][resnet]") {
  const auto model = export_case<models::CifarResNet18<10>, models::CifarInput>("cifar_resnet18", 3, 50);
  CHECK(op_counts(model) == Counts{{"Conv", 20}, {"BatchNormalization", 20}, {"Relu", 17}, {"Add", 8},
                                   {"GlobalAveragePool", 1}, {"Flatten", 1}, {"Gemm", 1}});
  check_torchvision_names(model);
  CHECK(ints_of(node_named(model, "conv1"), "kernel_shape") == std::vector<std::int64_t>{3, 3});
}
