// The ONNX export tests' shared part: export a model, read the file back with protobuf and
// ONNX's own checker and shape inference, and leave the case (the file, an input and ctnn's
// eval-mode output for it) where the ONNX Runtime test (compare_with_onnxruntime.js) finds it.
#pragma once
#include <cstdint>
#include <cstdlib>  // std::getenv
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <ctnn/ctnn.hpp>
#include <ctnn/io/onnx.hpp>

namespace onnx_test {

using namespace ctnn;

// Where cases go: $CTNN_ONNX_CASES (ctest sets it), else a folder under the temporary one.
inline std::filesystem::path cases_dir() {
  const char* env = std::getenv("CTNN_ONNX_CASES");
  std::filesystem::path dir = env ? env : std::filesystem::temp_directory_path() / "ctnn_onnx_cases";
  std::filesystem::create_directories(dir);
  return dir;
}

inline onnx::ModelProto read_model(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  REQUIRE(in);
  onnx::ModelProto model;
  REQUIRE(model.ParseFromIstream(&in));
  return model;
}

// "N", 3, 32, 32 -> "N,3,32,32"; -1 for a dimension with neither a value nor a name.
inline std::string dims_text(const onnx::TypeProto& type) {
  std::string text;
  for (const auto& d : type.tensor_type().shape().dim())
    text += (text.empty() ? "" : ",") + (d.has_dim_param() ? d.dim_param() : std::to_string(d.has_dim_value() ? d.dim_value() : -1));
  return text;
}

// "64x16x16" (a summary row's shape) -> "N,64,16,16".
inline std::string batched(std::string shape) {
  for (auto& c : shape)
    if (c == 'x') c = ',';
  return "N," + shape;
}

using Counts = std::map<std::string, int>;  // operator type -> nodes

inline Counts op_counts(const onnx::ModelProto& model) {
  Counts counts;
  for (const auto& n : model.graph().node()) ++counts[n.op_type()];
  return counts;
}

inline const onnx::NodeProto& node_named(const onnx::ModelProto& model, const std::string& name) {
  for (const auto& n : model.graph().node())
    if (n.name() == name) return n;
  FAIL("no node named " << name);
  throw;
}

// The integer (list) attribute `name` of `node`.
inline std::vector<std::int64_t> ints_of(const onnx::NodeProto& node, const std::string& name) {
  for (const auto& a : node.attribute())
    if (a.name() == name) return a.type() == onnx::AttributeProto::INT ? std::vector<std::int64_t>{a.i()}
                                                                        : std::vector<std::int64_t>(a.ints().begin(), a.ints().end());
  FAIL("node " << node.name() << " has no attribute " << name);
  throw;
}

// Every BN's running statistics and affine parameters drawn away from their initial values
// (mean 0, variance 1, scale 1, shift 0), so that an exporter mixing them up is caught.
template <class M>
void randomize_batch_norm(M& model, std::uint64_t seed) {
  Rng rng(seed);
  for (auto& p : model.parameters()) {
    auto fill = [&](float low, float high) {
      std::vector<float> v(p.value->size());
      for (auto& x : v) x = rng.uniform(low, high);
      p.value->assign(v);
    };
    if (p.name.ends_with("running_mean")) fill(-0.5f, 0.5f);
    else if (p.name.ends_with("running_var")) fill(0.5f, 2.0f);
    else if (p.shape.size() == 1 && !p.name.ends_with("bias")) fill(0.5f, 1.5f);  // BN's scale
    else if (p.shape.size() == 1) fill(-0.3f, 0.3f);
  }
}

inline void write_floats(const std::filesystem::path& file, const std::vector<float>& values) {
  std::ofstream out(file, std::ios::binary);
  out.write(reinterpret_cast<const char*>(values.data()), static_cast<std::streamsize>(values.size() * sizeof(float)));
  REQUIRE(out);
}

// Exports a model of Net (seeded, BN randomized) as `name`.onnx, checks the file against the
// model, and writes the case for ONNX Runtime: `name`.input (batch samples, float32), `name`.expected
// (Model::predict's output) and `name`.json (their dims). Returns the parsed file.
template <class Net, class In>
onnx::ModelProto export_case(const std::string& name, long batch, std::uint64_t seed) {
  using M = Model<Net, In, Cpu>;
  M model(seed);
  randomize_batch_norm(model, seed + 1);
  const auto dir = cases_dir();
  const auto file = dir / (name + ".onnx");
  io::export_onnx(model, file);
  onnx::ModelProto proto = read_model(file);

  // The header: IR version, opset, the symbolic batch.
  CHECK(proto.ir_version() == io::onnx_ir_version);
  REQUIRE(proto.opset_import_size() == 1);
  CHECK(proto.opset_import(0).domain().empty());
  CHECK(proto.opset_import(0).version() == io::onnx_opset);
  const auto& graph = proto.graph();
  REQUIRE(graph.input_size() == 1);
  REQUIRE(graph.output_size() == 1);
  CHECK(graph.input(0).name() == "input");
  CHECK(graph.output(0).name() == "output");
  CHECK(dims_text(graph.input(0).type()) == batched(shape_name<In>()));
  CHECK(dims_text(graph.output(0).type()) == batched(shape_name<typename M::OutputShape>()));

  // Initializers: exactly the model's tensors, by name, shape and value.
  std::map<std::string, const onnx::TensorProto*> initializers;
  for (const auto& t : graph.initializer()) initializers[t.name()] = &t;
  auto parameters = model.parameters();
  CHECK(initializers.size() == parameters.size());
  for (auto& p : parameters) {
    INFO("parameter " << p.name);
    REQUIRE(initializers.contains(p.name));
    const auto& t = *initializers[p.name];
    CHECK(t.data_type() == onnx::TensorProto::FLOAT);
    CHECK(std::vector<long>(t.dims().begin(), t.dims().end()) == p.shape);
    const auto values = p.value->to_vector();
    REQUIRE(t.raw_data().size() == values.size() * sizeof(float));
    CHECK(std::memcmp(t.raw_data().data(), values.data(), t.raw_data().size()) == 0);
  }

  // ONNX's checker, then its shape inference in strict mode: every node's output shape, as
  // ONNX's operator definitions compute it, is ctnn's compile-time shape at that layer.
  onnx::checker::check_model(proto);
  onnx::ModelProto inferred = proto;
  onnx::ShapeInferenceOptions strict{/*check_type=*/true, /*error_mode=*/1};
  onnx::shape_inference::InferShapes(inferred, onnx::OpSchemaRegistry::Instance(), strict);
  std::map<std::string, std::string> inferred_dims;
  for (const auto& v : inferred.graph().value_info()) inferred_dims[v.name()] = dims_text(v.type());
  int compared = 0;
  for (const auto& row : M::summary_rows()) {
    if (!inferred_dims.contains(row.path)) continue;  // no node of its own (Dropout), or the output
    INFO("layer " << row.path << " (" << row.layer << ")");
    CHECK(inferred_dims[row.path] == batched(row.output));
    ++compared;
  }
  CHECK(compared >= graph.node_size() / 2);  // most nodes are leaves named by their path

  // The case for ONNX Runtime.
  Rng rng(seed + 2);
  std::vector<float> input(static_cast<std::size_t>(batch * In::size));
  for (auto& x : input) x = rng.uniform(-2.0f, 2.0f);
  write_floats(dir / (name + ".input"), input);
  write_floats(dir / (name + ".expected"), model.predict(input, batch));
  std::ofstream meta(dir / (name + ".json"));
  meta << fmt::format(R"({{"input": [{}, {}], "output": [{}, {}]}})", batch,
                      fmt::join(io::detail::sample_dims<In>(), ", "), batch,
                      fmt::join(io::detail::sample_dims<typename M::OutputShape>(), ", "))
       << "\n";
  REQUIRE(meta);
  return proto;
}

}  // namespace onnx_test
