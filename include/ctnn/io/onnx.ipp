// io::write_onnx: an OnnxGraph (onnx.hpp) as an ONNX ModelProto, through protobuf and the
// classes protoc generated from ONNX's own onnx.proto (Debian's libonnx-dev ships them, with
// libonnx_proto). Compiled once into ctnn::onnx, so that only programs that export ONNX need
// protobuf; onnx.hpp itself doesn't include it.
#include <bit>  // std::endian
#include <string>

#include <fmt/core.h>
#include <onnx/onnx_pb.h>

#include "ctnn/io/detail/atomic_file.hpp"  // write_file_atomically
#include "ctnn/io/onnx.hpp"

namespace ctnn::io {

namespace detail {

inline void set_shape(onnx::ValueInfoProto& value, const std::string& name, const std::vector<std::int64_t>& sample_dims) {
  value.set_name(name);
  auto* tensor = value.mutable_type()->mutable_tensor_type();
  tensor->set_elem_type(onnx::TensorProto::FLOAT);
  auto* shape = tensor->mutable_shape();
  shape->add_dim()->set_dim_param("N");
  for (auto d : sample_dims) shape->add_dim()->set_dim_value(d);
}

inline void set_attribute(onnx::AttributeProto& out, const OnnxAttribute& a) {
  out.set_name(a.name);
  switch (a.kind) {
    case OnnxAttribute::Kind::integer:
      out.set_type(onnx::AttributeProto::INT);
      out.set_i(a.ints.at(0));
      break;
    case OnnxAttribute::Kind::integers:
      out.set_type(onnx::AttributeProto::INTS);
      for (auto v : a.ints) out.add_ints(v);
      break;
    case OnnxAttribute::Kind::real:
      out.set_type(onnx::AttributeProto::FLOAT);
      out.set_f(a.real);
      break;
  }
}

inline void set_tensor(onnx::TensorProto& out, const OnnxTensor& t) {
  out.set_name(t.name);
  out.set_data_type(onnx::TensorProto::FLOAT);
  for (auto d : t.dims) out.add_dims(d);
  // raw_data is little-endian by the standard: the floats' bytes as they are on this host.
  static_assert(std::endian::native == std::endian::little, "write_onnx: raw_data needs a little-endian host");
  out.set_raw_data(t.values.data(), t.values.size() * sizeof(float));
}

inline onnx::ModelProto model_proto(const OnnxGraph& g) {
  onnx::ModelProto model;
  model.set_ir_version(onnx_ir_version);
  model.set_producer_name("ctnn");
  model.set_doc_string(g.doc);
  auto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(onnx_opset);
  auto* graph = model.mutable_graph();
  graph->set_name(g.name);
  set_shape(*graph->add_input(), g.input, g.input_dims);
  set_shape(*graph->add_output(), g.output, g.output_dims);
  for (const auto& t : g.initializers) set_tensor(*graph->add_initializer(), t);
  for (const auto& n : g.nodes) {
    auto* node = graph->add_node();
    node->set_op_type(n.op_type);
    node->set_name(n.name);
    for (const auto& i : n.inputs) node->add_input(i);
    for (const auto& o : n.outputs) node->add_output(o);
    for (const auto& a : n.attributes) set_attribute(*node->add_attribute(), a);
  }
  return model;
}

}  // namespace detail

void write_onnx(const OnnxGraph& graph, const std::filesystem::path& file) {
  const onnx::ModelProto model = detail::model_proto(graph);
  // protobuf can't serialize a message of 2 GiB or more (ONNX's external data would be
  // needed); ResNet-152 is about 240 MB.
  const std::size_t bytes = model.ByteSizeLong();
  if (bytes >= (std::size_t{1} << 31))
    throw Error(fmt::format("io::export_onnx: {}: the model is {} bytes, over protobuf's 2 GiB limit", file.string(), bytes));
  std::string content;
  if (!model.SerializeToString(&content))
    throw Error(fmt::format("io::export_onnx: {}: protobuf could not serialize the model", file.string()));

  detail::write_file_atomically<Error>(file, content, "io::export_onnx");
}

}  // namespace ctnn::io
