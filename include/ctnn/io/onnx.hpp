// ONNX export: a model's network, in its inference form, as an ONNX graph.
//
//   io::export_onnx(model, "net.onnx");          // link ctnn::onnx (protobuf and ONNX's schema)
//   io::OnnxGraph graph = io::onnx_graph(model); // the same graph in memory (no protobuf needed)
//
// The file computes what Model::predict computes (eval mode): BN with its running statistics,
// Dropout as nothing. The graph's input is "input" (N x C x H x W, or N x features) and its
// output "output"; the batch dimension is the symbolic "N". Initializers carry the model's
// parameter names ("layer1.0.conv1.weight", "0.1.running_mean"), nodes are named after the
// layer's path ("layer1.0.conv1"). Opset 13 (onnx_opset says why).
//
// The network is walked through the composite protocol (layers/composite.hpp): a composite
// without a join of its own (Sequential) is the chain of its children; the library's joins
// (Residual, Add, Concat) and every leaf layer have an OnnxExport specialization below. A
// layer without one (a user's own) makes onnx_graph throw ctnn::Error naming its path and type
// before anything is written; specializing OnnxExport<MyLayer> (see docs/onnx.md) exports it.
#pragma once
#include <cstddef>  // std::size_t
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <type_traits>
#include <utility>  // std::index_sequence, std::move
#include <vector>

#include <fmt/core.h>
#include <fmt/format.h>  // fmt::join

#include "ctnn/core/error.hpp"        // Error
#include "ctnn/core/path.hpp"         // join_path
#include "ctnn/core/shape.hpp"        // Image, Features
#include "ctnn/layers/activation.hpp"
#include "ctnn/layers/batchnorm.hpp"
#include "ctnn/layers/branches.hpp"   // Residual, Add, Concat, Identity
#include "ctnn/layers/composite.hpp"  // the composite protocol
#include "ctnn/layers/conv.hpp"
#include "ctnn/layers/dropout.hpp"
#include "ctnn/layers/flatten.hpp"
#include "ctnn/layers/linear.hpp"
#include "ctnn/layers/pool.hpp"
#include "ctnn/model.hpp"             // Model

namespace ctnn::io {

using ctnn::detail::join_path;  // "layer1.0" + "conv1"

// Opset 13 (ONNX 1.8, IR version 7): every operator the exporter emits has had its present
// semantics for float tensors since then (later versions of Relu, Add, BatchNormalization and
// Identity only widen types or add training outputs; AveragePool 19 adds dilations), and it is
// read by every maintained runtime (ONNX Runtime since 1.6, TensorRT, OpenVINO) and by
// Debian's ONNX 1.12 checker. A newer opset would buy nothing and lock out older readers.
inline constexpr int onnx_opset = 13;
inline constexpr int onnx_ir_version = 7;

// One attribute of a node: an integer, a list of integers or a float.
struct OnnxAttribute {
  enum class Kind { integer, integers, real };
  std::string name;
  Kind kind = Kind::integer;
  std::vector<std::int64_t> ints;  // one value for Kind::integer
  float real = 0;

  static OnnxAttribute integer(std::string name, std::int64_t value) { return {std::move(name), Kind::integer, {value}, 0}; }
  static OnnxAttribute integers(std::string name, std::vector<std::int64_t> values) {
    return {std::move(name), Kind::integers, std::move(values), 0};
  }
  static OnnxAttribute floating(std::string name, float value) { return {std::move(name), Kind::real, {}, value}; }
};

struct OnnxNode {
  std::string op_type;  // "Conv"
  std::string name;     // the layer's path, "layer1.0.conv1"
  std::vector<std::string> inputs, outputs;
  std::vector<OnnxAttribute> attributes;
};

// A float tensor: an initializer (a parameter or buffer of the model).
struct OnnxTensor {
  std::string name;
  std::vector<std::int64_t> dims;
  std::vector<float> values;
};

// The whole model, independent of protobuf: what write_onnx serializes.
struct OnnxGraph {
  std::string name;                 // the graph's name
  std::string doc;                  // the network's type, for readers
  std::string input = "input", output = "output";
  std::vector<std::int64_t> input_dims, output_dims;  // per sample; the batch "N" comes first
  std::vector<OnnxNode> nodes;      // in execution order
  std::vector<OnnxTensor> initializers;
};

// Collects nodes and initializers while a network is walked. Layer exporters (OnnxExport)
// call node() for each operator and parameter() for each of their tensors.
class OnnxBuilder {
 public:
  // `parameters`: every tensor of the model. Their names, and the graph's input and output,
  // are taken: no node output gets one.
  OnnxBuilder(std::vector<OnnxTensor> parameters, const OnnxGraph& graph) : names_{graph.input, graph.output} {
    for (auto& p : parameters) {
      names_.insert(p.name);
      available_.emplace(p.name, std::move(p));
    }
  }

  // Adds a node named after `path` (made unique: "_1", "_2" ... where taken) and returns the
  // name of its one output, which is the node's name.
  std::string node(std::string op_type, const std::string& path, std::vector<std::string> inputs,
                   std::vector<OnnxAttribute> attributes = {}) {
    std::string name = path.empty() ? op_type : path;
    for (int i = 1; names_.contains(name); ++i) name = fmt::format("{}_{}", path.empty() ? op_type : path, i);
    names_.insert(name);
    nodes_.push_back({std::move(op_type), name, std::move(inputs), {name}, std::move(attributes)});
    return name;
  }

  // The model's tensor `name` as an initializer, checked against the shape the operator
  // needs; returns its name.
  std::string parameter(const std::string& name, const std::vector<std::int64_t>& dims) {
    auto it = available_.find(name);
    if (it == available_.end())
      throw Error(fmt::format("io::export_onnx: the model has no parameter named {} (an exporter asked for it)", name));
    if (it->second.dims != dims)
      throw Error(fmt::format("io::export_onnx: parameter {} has shape [{}], the ONNX operator needs [{}]", name,
                              fmt::join(it->second.dims, ", "), fmt::join(dims, ", ")));
    used_.push_back(std::move(it->second));
    available_.erase(it);
    return name;
  }

  // The finished graph: `last` is the network's output tensor. Every parameter of the model
  // must have been used, or the export would silently drop part of the model.
  OnnxGraph finish(std::string last, OnnxGraph graph) && {
    if (!available_.empty())
      throw Error(fmt::format("io::export_onnx: parameter {} was not used by any ONNX node", available_.begin()->first));
    // The output gets its own name: the last node's output is renamed, or (for a network
    // that passes its input through) an Identity node added.
    if (last == graph.input) {
      nodes_.push_back({"Identity", graph.output, {last}, {graph.output}, {}});
    } else {
      for (auto& n : nodes_)
        for (auto& name : n.outputs)
          if (name == last) name = graph.output;
    }
    graph.nodes = std::move(nodes_);
    graph.initializers = std::move(used_);
    return graph;
  }

 private:
  std::map<std::string, OnnxTensor> available_;
  std::vector<OnnxTensor> used_;
  std::vector<OnnxNode> nodes_;
  std::set<std::string> names_;
};

// How layer L (receiving shape In, at `path`) becomes ONNX nodes:
//   template <> struct OnnxExport<MyLayer> {
//     template <class In>
//     static std::string emit(OnnxBuilder& b, const std::string& path, const std::string& x);
//   };
// emit adds the nodes computing L's eval-mode forward of tensor x and returns the name of the
// tensor holding its output. Unspecialized: no ONNX form (composites without a join are
// exported as the chain of their children instead).
template <class L>
struct OnnxExport;

template <class L>
concept OnnxExportable = requires { sizeof(OnnxExport<L>); };

namespace detail {

inline std::vector<std::int64_t> twice(int v) { return {v, v}; }
inline std::vector<std::int64_t> pads(int p) { return {p, p, p, p}; }  // begin h, w; end h, w

template <class L, class In>
std::string export_layer(OnnxBuilder& b, const std::string& path, const std::string& x);

// Child I of composite C (which receives In at `path`), fed with tensor x.
template <class C, class In, std::size_t I>
std::string export_child(OnnxBuilder& b, const std::string& path, const std::string& x) {
  return export_layer<typename C::template child<I>, typename C::template child_input<In, I>>(
      b, join_path(path, C::template key<I>.str()), x);
}

// The children of C in a row, each fed with the one before's output.
template <class C, class In>
std::string export_chain(OnnxBuilder& b, const std::string& path, std::string x) {
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    ((x = export_child<C, In, I>(b, path, x)), ...);
  }(std::make_index_sequence<C::child_count>{});
  return x;
}

template <class L, class In>
std::string export_layer(OnnxBuilder& b, const std::string& path, const std::string& x) {
  if constexpr (OnnxExportable<L>) {
    return OnnxExport<L>::template emit<In>(b, path, x);
  } else if constexpr (Composite<L> && !HasJoin<L>) {
    return export_chain<L, In>(b, path, x);
  } else {
    throw Error(fmt::format("io::export_onnx: layer {} ({}) has no ONNX form; nothing was written. Give it one by "
                            "specializing ctnn::io::OnnxExport<{}> (docs/onnx.md)",
                            path.empty() ? "(the network)" : path, L::name(), L::name()));
  }
}

template <class S>
std::vector<std::int64_t> sample_dims() {
  if constexpr (ImageShape<S>) return {S::channels, S::height, S::width};
  else return {S::features};
}

}  // namespace detail

// --- leaf layers --------------------------------------------------------------------------

template <int In, int Out, int K, int S, int P, int G, bool Bias>
struct OnnxExport<Conv<In, Out, K, S, P, G, Bias>> {
  template <class Shape>
  static std::string emit(OnnxBuilder& b, const std::string& path, const std::string& x) {
    std::vector<std::string> inputs{x, b.parameter(join_path(path, "weight"), {Out, In / G, K, K})};
    if constexpr (Bias) inputs.push_back(b.parameter(join_path(path, "bias"), {Out}));
    return b.node("Conv", path, std::move(inputs),
                  {OnnxAttribute::integers("kernel_shape", detail::twice(K)), OnnxAttribute::integers("strides", detail::twice(S)),
                   OnnxAttribute::integers("pads", detail::pads(P)), OnnxAttribute::integers("dilations", detail::twice(1)),
                   OnnxAttribute::integer("group", G)});
  }
};

// Eval form: normalized with the running statistics. ONNX's momentum weighs the running value
// (ctnn's and PyTorch's the batch's), so 0.1 here is 0.9 there; inference ignores it.
template <int C>
struct OnnxExport<BN<C>> {
  template <class Shape>
  static std::string emit(OnnxBuilder& b, const std::string& path, const std::string& x) {
    return b.node("BatchNormalization", path,
                  {x, b.parameter(join_path(path, "weight"), {C}), b.parameter(join_path(path, "bias"), {C}),
                   b.parameter(join_path(path, "running_mean"), {C}), b.parameter(join_path(path, "running_var"), {C})},
                  {OnnxAttribute::floating("epsilon", BN<C>::eps), OnnxAttribute::floating("momentum", 1 - BN<C>::momentum)});
  }
};

template <>
struct OnnxExport<ReLU> {
  template <class Shape>
  static std::string emit(OnnxBuilder& b, const std::string& path, const std::string& x) {
    return b.node("Relu", path, {x});
  }
};

// Floor mode (ceil_mode 0), as ctnn's pools; AveragePool divides by the whole window, padding
// included (count_include_pad 1, PyTorch's default).
namespace detail {
inline std::vector<OnnxAttribute> window(int kernel, int stride, int pad) {
  return {OnnxAttribute::integers("kernel_shape", twice(kernel)), OnnxAttribute::integers("strides", twice(stride)),
          OnnxAttribute::integers("pads", pads(pad)), OnnxAttribute::integer("ceil_mode", 0)};
}
}  // namespace detail

template <int K, int S, int P>
struct OnnxExport<MaxPool<K, S, P>> {
  template <class Shape>
  static std::string emit(OnnxBuilder& b, const std::string& path, const std::string& x) {
    return b.node("MaxPool", path, {x}, detail::window(K, S, P));
  }
};

template <int K, int S, int P>
struct OnnxExport<AvgPool<K, S, P>> {
  template <class Shape>
  static std::string emit(OnnxBuilder& b, const std::string& path, const std::string& x) {
    auto attributes = detail::window(K, S, P);
    attributes.push_back(OnnxAttribute::integer("count_include_pad", 1));
    return b.node("AveragePool", path, {x}, std::move(attributes));
  }
};

template <>
struct OnnxExport<GlobalAvgPool> {
  template <class Shape>
  static std::string emit(OnnxBuilder& b, const std::string& path, const std::string& x) {
    return b.node("GlobalAveragePool", path, {x});
  }
};

// C x H x W to C*H*W per sample, in the same (channel, row, column) order.
template <>
struct OnnxExport<Flatten> {
  template <class Shape>
  static std::string emit(OnnxBuilder& b, const std::string& path, const std::string& x) {
    return b.node("Flatten", path, {x}, {OnnxAttribute::integer("axis", 1)});
  }
};

// y = x W^T + b with W stored [Out, In], as ctnn (and PyTorch) store it.
template <int In, int Out>
struct OnnxExport<Linear<In, Out>> {
  template <class Shape>
  static std::string emit(OnnxBuilder& b, const std::string& path, const std::string& x) {
    return b.node("Gemm", path,
                  {x, b.parameter(join_path(path, "weight"), {Out, In}), b.parameter(join_path(path, "bias"), {Out})},
                  {OnnxAttribute::floating("alpha", 1), OnnxAttribute::floating("beta", 1), OnnxAttribute::integer("transB", 1)});
  }
};

// The identity in inference: no node, the input flows on.
template <float P>
struct OnnxExport<Dropout<P>> {
  template <class Shape>
  static std::string emit(OnnxBuilder&, const std::string&, const std::string& x) { return x; }
};

template <>
struct OnnxExport<Identity> {
  template <class Shape>
  static std::string emit(OnnxBuilder&, const std::string&, const std::string& x) { return x; }
};

// --- joins ----------------------------------------------------------------------------------

namespace detail {

// Every child of C on the same input x, in child order.
template <class C, class In>
std::vector<std::string> export_branches(OnnxBuilder& b, const std::string& path, const std::string& x) {
  return [&]<std::size_t... I>(std::index_sequence<I...>) {
    std::vector<std::string> outputs;
    (outputs.push_back(export_child<C, In, I>(b, path, x)), ...);
    return outputs;
  }(std::make_index_sequence<C::child_count>{});
}

// Branch outputs summed in order, ((b0 + b1) + b2) ..., as ctnn sums them.
inline std::string export_sum(OnnxBuilder& b, const std::string& path, const std::vector<std::string>& terms) {
  std::string sum = terms[0];
  for (std::size_t i = 1; i < terms.size(); ++i) sum = b.node("Add", join_path(path, "add"), {sum, terms[i]});
  return sum;
}

}  // namespace detail

template <class... Branches>
struct OnnxExport<Add<Branches...>> {
  template <class In>
  static std::string emit(OnnxBuilder& b, const std::string& path, const std::string& x) {
    return detail::export_sum(b, path, detail::export_branches<Add<Branches...>, In>(b, path, x));
  }
};

template <class... Branches>
struct OnnxExport<Concat<Branches...>> {
  template <class In>
  static std::string emit(OnnxBuilder& b, const std::string& path, const std::string& x) {
    return b.node("Concat", join_path(path, "concat"), detail::export_branches<Concat<Branches...>, In>(b, path, x),
                  {OnnxAttribute::integer("axis", 1)});
  }
};

// Post(Body(x) + Shortcut(x)): the body is child 0, the shortcut child 1 unless it is the
// identity (then x itself), and Post the last child unless it is the identity or a ReLU (which
// the runtime fuses into the add, and which is a Relu node here, named after Post's key).
template <class Body, class Shortcut, class Post>
struct OnnxExport<Residual<Body, Shortcut, Post>> {
  using R = Residual<Body, Shortcut, Post>;
  template <class In>
  static std::string emit(OnnxBuilder& b, const std::string& path, const std::string& x) {
    const std::string body = detail::export_child<R, In, 0>(b, path, x);
    std::string shortcut = x;
    if constexpr (R::has_shortcut) shortcut = detail::export_child<R, In, 1>(b, path, x);
    const std::string sum = detail::export_sum(b, path, {body, shortcut});
    if constexpr (R::post_fused) return b.node("Relu", join_path(path, R::template role_key<2>().str()), {sum});
    else if constexpr (R::has_post) return detail::export_child<R, In, R::child_count - 1>(b, path, sum);
    else return sum;
  }
};

// --- the model ------------------------------------------------------------------------------

// The ONNX graph of `model`'s network with its current parameters (read to the host).
template <class Net, class In, class Backend>
OnnxGraph onnx_graph(Model<Net, In, Backend>& model) {
  using M = Model<Net, In, Backend>;
  std::vector<OnnxTensor> parameters;
  for (auto& p : model.parameters()) parameters.push_back({p.name, {p.shape.begin(), p.shape.end()}, p.value->to_vector()});
  OnnxGraph graph;
  graph.name = "ctnn";
  graph.doc = Net::name();
  graph.input_dims = detail::sample_dims<In>();
  graph.output_dims = detail::sample_dims<typename M::OutputShape>();
  OnnxBuilder builder(std::move(parameters), graph);
  const std::string last = detail::export_layer<unnamed<Net>, In>(builder, "", graph.input);
  return std::move(builder).finish(last, std::move(graph));
}

// Serializes `graph` (ONNX's protobuf schema) into `file`, atomically: a temporary file
// beside it, then renamed. Compiled in ctnn::onnx (onnx.ipp).
void write_onnx(const OnnxGraph& graph, const std::filesystem::path& file);

// onnx_graph, then write_onnx: a graph that can't be built (an unknown layer) throws before
// the file is touched.
template <class Net, class In, class Backend>
void export_onnx(Model<Net, In, Backend>& model, const std::filesystem::path& file) {
  write_onnx(onnx_graph(model), file);
}

}  // namespace ctnn::io
