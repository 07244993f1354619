// Model<Net, Input, Backend>: a network type bound to an input shape and a backend. It owns
// the layers' parameters and buffers, checks run-time inputs against the compile-time shape,
// and prints a summary of every layer's shape, parameters and FLOPs.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <fmt/core.h>

#include "ctnn/core/config.hpp"      // CTNN_INLINE
#include "ctnn/core/context.hpp"     // Context
#include "ctnn/core/error.hpp"       // Error
#include "ctnn/core/parameters.hpp"  // ParameterList
#include "ctnn/core/shape.hpp"       // Shape, shape_name
#include "ctnn/sequential.hpp"       // Sequential, checked_output, summarize

namespace ctnn {

namespace detail {
template <bool IsShape, class Net, class In> struct model_output { using type = InvalidShape; };
template <class Net, class In> struct model_output<true, Net, In> {
  using type = typename decltype(checked_output<Net, at_root, In>())::type;
};

template <class Backend> struct NoRuntime {
  void initialize(Rng&) {}
  const typename Backend::Tensor& forward(const typename Backend::Tensor& x, Context<Backend>&) { return x; }
  const typename Backend::Tensor* backward(const typename Backend::Tensor& dy, Context<Backend>&, bool) { return &dy; }
  void collect(ParameterList<Backend>&, const std::string&) {}
};

// The summary table of a model with input shape `input` (Model::summary()).
CTNN_INLINE std::string format_summary(const std::vector<SummaryRow>& rows, const std::string& input,
                                       long parameters, long trainable, long flops_per_sample);
}  // namespace detail

template <class Net, class In, class Backend>
class Model {
  static_assert(Shape<In>, "Model<Net, In, Backend>: In must be a shape such as Input<3, 32, 32> or Input<784>");

 public:
  using Network = Net;
  using InputShape = In;
  // The first shape error shows here. A bare layer is checked as a one-layer network.
  using OutputShape = typename detail::model_output<Shape<In>, Net, In>::type;
  using Tensor = typename Backend::Tensor;

  static constexpr long parameter_count = Net::template parameter_count<In>;
  // Those an optimizer updates: all but the ones inside Frozen<...> layers.
  static constexpr long trainable_parameter_count = detail::trainable_parameters<Net, In>();
  static constexpr long flops_per_sample = Net::template flops<In>;  // forward

  explicit Model(std::uint64_t seed = 0) { initialize(seed); }

  // Draws fresh parameters (PyTorch's defaults) and a fresh dropout stream from `seed`.
  void initialize(std::uint64_t seed) {
    Rng rng(seed);
    runtime_.initialize(rng);
    context_.rng = rng.split();
  }

  void train() { context_.mode = Mode::train; }
  void eval() { context_.mode = Mode::eval; }
  Mode mode() const { return context_.mode; }
  Context<Backend>& context() { return context_; }

  // Runs the network on `batch` samples of In, NCHW (or N x features) floats. The returned
  // output stays valid until the next forward.
  const Tensor& forward(std::span<const float> samples, long batch) {
    check_input(samples, batch, "Model::forward");
    Backend::from_host(input_, samples, dims(batch));
    forwarded_ = false;  // until the whole network has run
    const Tensor& out = runtime_.forward(input_, context_);
    forwarded_ = true;
    return out;
  }

  // The network's features at a layer: runs it up to and including the layer at `path` (as
  // parameters name it: "layer4", "layer3.1", "2") and returns that layer's output, in the
  // model's current mode. Valid until the next forward. See Sequential::forward_until.
  const Tensor& forward_to(std::string_view path, std::span<const float> samples, long batch) {
    check_input(samples, batch, "Model::forward_to");
    Backend::from_host(input_, samples, dims(batch));
    forwarded_ = false;  // the layers after `path` didn't run: no backward from this
    if constexpr (requires { runtime_.forward_until(input_, context_, path); })
      return runtime_.forward_until(input_, context_, path);
    else
      throw Error(fmt::format("Model::forward_to(\"{}\"): the network is a single {}, which has no inner layers",
                              path, Net::name()));
  }

  // forward_to in eval mode (BN's running statistics, no dropout), copied to the host: N rows of
  // the layer's output size, in plain order (NCHW for images).
  std::vector<float> features(std::string_view path, std::span<const float> samples, long batch) {
    const Mode previous = context_.mode;
    context_.mode = Mode::eval;
    struct Restore {
      Context<Backend>& c;
      Mode mode;
      ~Restore() { c.mode = mode; }
    } restore{context_, previous};
    return Backend::to_host(forward_to(path, samples, batch));
  }

  // Back-propagates the gradient of the loss with respect to the last forward's output.
  // Parameter gradients are overwritten (not accumulated). Returns the input gradient when
  // asked for it, otherwise nullptr.
  const Tensor* backward(const Tensor& output_grad, bool want_input_grad = false) {
    if (!forwarded_)
      throw Error("Model::backward: no complete forward has run since the model was made (or since forward_to); "
                  "backward differentiates the last forward");
    return runtime_.backward(output_grad, context_, want_input_grad);
  }

  // Eval-mode forward returning the outputs on the host (N x output size).
  std::vector<float> predict(std::span<const float> samples, long batch) {
    const Mode previous = context_.mode;
    context_.mode = Mode::eval;
    std::vector<float> out = Backend::to_host(forward(samples, batch));
    context_.mode = previous;
    return out;
  }

  // One batch of a pass that re-estimates every BN layer's running statistics from the
  // network as it is now: a train-mode forward with Dropout as the identity. After the
  // batches numbered 1..k (`index` = k) of a pass, each BN's running mean and variance are the
  // mean of those k batches' statistics; the first batch overwrites what was there.
  // Training with dropout makes the statistics BN keeps describe inputs with dropout's extra
  // variance, which eval mode never sees; re-estimating them without dropout removes that
  // mismatch. Parameters and the dropout generator are untouched.
  void accumulate_batch_norm_statistics(std::span<const float> samples, long batch, long index) {
    if (index < 1)
      throw Error(fmt::format("Model::accumulate_batch_norm_statistics: the batch index counts from 1, got {}", index));
    struct Restore {
      Context<Backend>& c;
      Mode mode;
      ~Restore() { c.mode = mode, c.statistics_batch = 0; }
    } restore{context_, context_.mode};
    context_.mode = Mode::train;
    context_.statistics_batch = index;
    forward(samples, batch);
  }

  // Every parameter and buffer, named after the layer structure ("3.weight").
  ParameterList<Backend> parameters() {
    ParameterList<Backend> list;
    runtime_.collect(list, "");
    return list;
  }

  auto& network() { return runtime_; }

  static std::vector<SummaryRow> summary_rows() {
    std::vector<SummaryRow> rows;
    detail::summarize<Net, In>(rows, "");
    return rows;
  }

  // A table of every layer: output shape, parameters and forward FLOPs per sample.
  static std::string summary() {
    return detail::format_summary(summary_rows(), shape_name<In>(), parameter_count, trainable_parameter_count,
                                  flops_per_sample);
  }

 private:
  static void check_input(std::span<const float> samples, long batch, const char* where) {
    if (batch < 1) throw Error(fmt::format("{}: the batch size must be at least 1, got {}", where, batch));
    if (static_cast<long>(samples.size()) != batch * In::size)
      throw Error(fmt::format("{}: {} floats given for a batch of {} samples of shape {} (expected {} = {} x {})",
                              where, samples.size(), batch, shape_name<In>(), batch * In::size, batch, In::size));
  }

  static std::vector<std::int64_t> dims(long batch) {
    if constexpr (ImageShape<In>) return {batch, In::channels, In::height, In::width};
    else return {batch, In::features};
  }

  // After a shape error (already reported) an empty stand-in keeps further errors away.
  using NetworkRuntime = std::conditional_t<std::is_same_v<OutputShape, InvalidShape>, detail::NoRuntime<Backend>,
                                            typename Net::template Runtime<In, Backend>>;
  NetworkRuntime runtime_;
  Context<Backend> context_;
  Tensor input_;
  bool forwarded_ = false;  // the last forward ran the whole network, so backward may follow
};

}  // namespace ctnn

#ifndef CTNN_SEPARATE_COMPILATION
#include "ctnn/model.ipp"
#endif
