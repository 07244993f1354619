// io::export_onnx on the seed network, on a network made to hold every layer and combinator
// (with the cases where ONNX's conventions could differ from ctnn's: padded pools in floor
// mode, padding counted in averages, grouped and bias-free convolutions, BN as a residual's
// Post, three-way sums, concatenation), and on a flat network; then what happens with a layer
// the exporter doesn't know. The ResNets are in test_onnx_resnet.cpp.
#include <ctnn/layers/frozen.hpp>
#include <ctnn/models/seed.hpp>

#include "onnx_cases.hpp"

using namespace ctnn;
using namespace onnx_test;

TEST_CASE("the seed network exports as 25 nodes with its parameter names", "[onnx]") {
  const auto model = export_case<models::SeedNet, models::SeedInput>("seed", 4, 10);
  // Three blocks of (Conv, BN, ReLU) x 2 and a max pool, then Flatten, Linear, ReLU, Linear;
  // BN+ReLU (fused at run time) is two nodes, Dropout none.
  CHECK(op_counts(model) == Counts{{"Conv", 6}, {"BatchNormalization", 6}, {"Relu", 7}, {"MaxPool", 3},
                                   {"Flatten", 1}, {"Gemm", 2}});
  const auto& conv = node_named(model, "0.0");
  CHECK(conv.op_type() == "Conv");
  CHECK(std::vector<std::string>(conv.input().begin(), conv.input().end()) ==
        std::vector<std::string>{"input", "0.0.weight", "0.0.bias"});
  CHECK(ints_of(conv, "pads") == std::vector<std::int64_t>{1, 1, 1, 1});
  CHECK(ints_of(conv, "group") == std::vector<std::int64_t>{1});
  const auto& bn = node_named(model, "0.1");
  CHECK(std::vector<std::string>(bn.input().begin(), bn.input().end()) ==
        std::vector<std::string>{"0.0", "0.1.weight", "0.1.bias", "0.1.running_mean", "0.1.running_var"});
  CHECK(ints_of(node_named(model, "0.6"), "kernel_shape") == std::vector<std::int64_t>{2, 2});
  CHECK(ints_of(node_named(model, "4"), "transB") == std::vector<std::int64_t>{1});
  // The last Linear's output is the graph's, and Dropout<0.5> (6) left no trace.
  const auto& last = node_named(model, "7");
  CHECK(last.output(0) == "output");
  CHECK(last.input(0) == "5");
}

namespace {

// Every layer and combinator (Frozen too: a composite without a join, so its child), on 3x30x30
// inputs:
//   30 -stem-> 30 -MaxPool<3,2,1>-> 15 (floor; ceil mode would give 16) -blocks-> 15
//   -stride 2-> 8 ... -AvgPool<3,2,1>-> 4 (ceil: 5) -MaxPool<2>-> 2 -GlobalAvgPool-> 1.
using Coverage = Sequential<
    Named<"stem", Frozen<Conv<3, 16, 3, 1, 1>>>, Named<"stem_bn", BN<16>>, ReLU,  // BN+ReLU, fused at run time
    MaxPool<3, 2, 1>,                                                    // padded, -inf at the border
    Residual<Sequential<ConvNoBias<16, 16, 3, 1, 1, 4>, BN<16>>, Identity, ReLU>,  // grouped; identity shortcut
    Residual<Sequential<ConvNoBias<16, 32, 3, 2, 1>, BN<32>>, Projection<16, 32, 2>>,  // projection, no Post...
    ReLU,                                                                              // ...a ReLU after it
    Residual<ConvNoBias<32, 32, 1, 1, 0>, Identity, BN<32>>,                           // BN as Post
    Add<Conv<32, 32, 3, 1, 1>, Identity, Sequential<BN<32>, ReLU>>,                    // three terms
    Concat<Conv<32, 8, 1, 1, 0>, Sequential<AvgPool<3, 1, 1>, Conv<32, 8, 1, 1, 0>>, MaxPool<3, 1, 1>>,
    AvgPool<3, 2, 1>,  // padding counted in the average at the borders
    MaxPool<2>, Dropout<0.3f>, GlobalAvgPool, Flatten, Linear<48, 20>, ReLU, Dropout<0.5f>, Linear<20, 7>>;

// Flat input, ending in a Dropout: the output is the last Linear's, renamed.
using Flat = Sequential<Linear<30, 16>, ReLU, Dropout<0.2f>, Linear<16, 5>, Dropout<0.1f>>;

}  // namespace

TEST_CASE("every layer and combinator exports with ONNX's matching operator", "[onnx]") {
  const auto model = export_case<Coverage, Input<3, 30, 30>>("coverage", 3, 20);
  // Conv: stem, grouped, body + projection of the strided block, the 1x1 of the BN-Post block,
  // the Add's, two in the Concat, so 8; BN: stem, 2, 2 (body, projection), Post, Add's = 6.
  // Relu: stem, fused Post, the one after the strided block, the Add's, after Linear = 5.
  // Add: 1 + 1 + 1 (the three residuals) + 2 (three terms) = 5.
  CHECK(op_counts(model) == Counts{{"Conv", 8}, {"BatchNormalization", 6}, {"Relu", 5}, {"Add", 5},
                                   {"MaxPool", 3}, {"AveragePool", 2}, {"Concat", 1}, {"GlobalAveragePool", 1},
                                   {"Flatten", 1}, {"Gemm", 2}});
  CHECK(node_named(model, "stem").op_type() == "Conv");  // Frozen adds no level to the path
  CHECK(ints_of(node_named(model, "4.0"), "group") == std::vector<std::int64_t>{4});
  CHECK(node_named(model, "4.0").input_size() == 2);  // ConvNoBias: no bias input
  CHECK(ints_of(node_named(model, "3"), "pads") == std::vector<std::int64_t>{1, 1, 1, 1});
  CHECK(ints_of(node_named(model, "3"), "ceil_mode") == std::vector<std::int64_t>{0});
  CHECK(ints_of(node_named(model, "10"), "count_include_pad") == std::vector<std::int64_t>{1});
  CHECK(ints_of(node_named(model, "9.concat"), "axis") == std::vector<std::int64_t>{1});
  // The identity shortcut adds the block's input itself; the fused Post is a Relu after the add.
  const auto& add = node_named(model, "4.add");
  CHECK(add.input(0) == "4.1");
  CHECK(add.input(1) == "3");
  CHECK(node_named(model, "4.post").op_type() == "Relu");
  CHECK(node_named(model, "4.post").input(0) == "4.add");
  // The projection shortcut is named as the shortcut: "5.shortcut.0" (conv), "5.shortcut.1" (BN).
  CHECK(node_named(model, "5.add").input(1) == "5.shortcut.1");
  CHECK(node_named(model, "7.post").op_type() == "BatchNormalization");
  // Three terms, summed in order: (branch 0 + branch 1) + branch 2; branch 1 is the input.
  CHECK(node_named(model, "8.add").input(0) == "8.0");
  CHECK(node_named(model, "8.add").input(1) == "7.post");
  CHECK(node_named(model, "8.add_1").input(1) == "8.2.1");
}

TEST_CASE("flat networks export too, and a trailing Dropout leaves the output renamed", "[onnx]") {
  const auto model = export_case<Flat, Input<30>>("flat", 5, 30);
  CHECK(op_counts(model) == Counts{{"Gemm", 2}, {"Relu", 1}});
  CHECK(node_named(model, "3").output(0) == "output");
}

namespace {

// A user's layer: ReLU's work under another name, which the exporter has no form for.
struct Clamp : ReLU {
  static std::string name() { return "Clamp"; }
};
// Another one that comes with its ONNX form (below).
struct Positive : ReLU {
  static std::string name() { return "Positive"; }
};

}  // namespace

template <>
struct ctnn::io::OnnxExport<Positive> {
  template <class In>
  static std::string emit(OnnxBuilder& b, const std::string& path, const std::string& x) {
    return b.node("Relu", path, {x});
  }
};

TEST_CASE("a layer without an ONNX form fails naming its path and type, writing nothing", "[onnx]") {
  Model<Sequential<Conv<3, 4>, Named<"block", Residual<Sequential<BN<4>, Named<"mine", Clamp>>>>>, Input<3, 8, 8>, Cpu>
      model(0);
  const auto file = onnx_test::cases_dir() / "unknown_layer.onnx";
  {
    std::ofstream old(file);
    old << "an older file";
  }
  try {
    io::export_onnx(model, file);
    FAIL("export_onnx accepted a layer it has no form for");
  } catch (const Error& e) {
    const std::string message = e.what();
    INFO(message);
    CHECK(message.find("layer block.mine (Clamp)") != std::string::npos);
    CHECK(message.find("OnnxExport") != std::string::npos);
  }
  std::ifstream old(file);
  std::string content;
  std::getline(old, content);
  CHECK(content == "an older file");
  std::filesystem::remove(file);
}

TEST_CASE("a user's layer exports through its OnnxExport specialization", "[onnx]") {
  Model<Sequential<Conv<3, 4>, Named<"mine", Positive>>, Input<3, 8, 8>, Cpu> model(0);
  const auto graph = io::onnx_graph(model);
  REQUIRE(graph.nodes.size() == 2);
  CHECK(graph.nodes[1].op_type == "Relu");
  CHECK(graph.nodes[1].name == "mine");
  CHECK(graph.nodes[1].outputs == std::vector<std::string>{"output"});
}

TEST_CASE("a network that passes its input on exports as one Identity", "[onnx]") {
  Model<Dropout<0.5f>, Input<6>, Cpu> model(0);
  const auto graph = io::onnx_graph(model);
  REQUIRE(graph.nodes.size() == 1);
  CHECK(graph.nodes[0].op_type == "Identity");
  CHECK(graph.nodes[0].inputs == std::vector<std::string>{"input"});
  CHECK(graph.nodes[0].outputs == std::vector<std::string>{"output"});
}
