// Definitions for cpu.hpp (inline, or compiled once with CTNN_SEPARATE_COMPILATION).
#pragma once
#include <algorithm>  // std::max_element
#include <bit>        // std::bit_cast
#include <cmath>      // std::exp, std::sqrt
#include <unordered_map>

#include <fmt/format.h>

#include "ctnn/backend/cpu.hpp"

namespace ctnn {

CTNN_INLINE std::vector<float> Cpu::to_host(const Tensor& t) {
  const auto plain = cpu::plain_desc(t.desc().dims());
  std::vector<float> out(plain.get_size() / sizeof(float));
  cpu::convert(t.mem(), cpu::memory(plain, cpu::runtime().engine, out.data()));
  return out;
}

CTNN_INLINE void Cpu::from_host(Tensor& t, std::span<const float> values, const std::vector<std::int64_t>& dims) {
  t.ensure(cpu::plain_desc(dims));
  std::copy(values.begin(), values.end(), t.data());
}

CTNN_INLINE cpu::Dims Cpu::conv_weight_dims(const ConvSpec& s) {
  if (s.groups == 1) return {s.out_channels, s.in_channels, s.kernel, s.kernel};
  return {s.groups, s.out_channels / s.groups, s.in_channels / s.groups, s.kernel, s.kernel};
}

CTNN_INLINE dnnl::algorithm Cpu::conv_algorithm(const ConvSpec& s, bool backward_weights) {
  const bool winograd_shape = s.kernel == 3 && s.stride == 1 && s.groups == 1 && s.in_channels >= 16;
  if (!cpu::settings().winograd || !winograd_shape) return dnnl::algorithm::convolution_direct;
  if (backward_weights && s.out_height * s.out_width > 16 * 16) return dnnl::algorithm::convolution_direct;
  return dnnl::algorithm::convolution_winograd;
}

CTNN_INLINE void Cpu::conv_build(ConvState& st, const ConvSpec& s, const dnnl::memory::desc& src) {
  using namespace dnnl;
  const auto& engine = cpu::runtime().engine;
  const long n = src.dims()[0];
  const memory::desc weights(conv_weight_dims(s), cpu::f32, cpu::Format::any);
  const memory::desc bias({s.out_channels}, cpu::f32, cpu::Format::a);
  const memory::desc dst({n, s.out_channels, s.out_height, s.out_width}, cpu::f32, cpu::Format::any);
  const memory::dims strides{s.stride, s.stride}, padding{s.pad, s.pad};
  // Bottom/right padding such that oneDNN's output size equals ours (floor division).
  const memory::dims padding_r{(s.out_height - 1) * s.stride + s.kernel - s.in_height - s.pad,
                               (s.out_width - 1) * s.stride + s.kernel - s.in_width - s.pad};
  st.forward_pd = with_fallback<convolution_forward::primitive_desc>(conv_algorithm(s, false), [&](algorithm a) {
    return convolution_forward::primitive_desc(
        {prop_kind::forward_training, a, src, weights, bias, dst, strides, padding, padding_r}, engine);
  });
  st.forward = convolution_forward(st.forward_pd);
  const auto dst_desc = st.forward_pd.dst_desc();
  st.backward_data_pd = with_fallback<convolution_backward_data::primitive_desc>(
      conv_algorithm(s, false), [&](algorithm a) {
        return convolution_backward_data::primitive_desc({a, src, weights, dst_desc, strides, padding, padding_r},
                                                         engine, st.forward_pd);
      });
  st.backward_data = convolution_backward_data(st.backward_data_pd);
  st.backward_weights_pd = with_fallback<convolution_backward_weights::primitive_desc>(
      conv_algorithm(s, true), [&](algorithm a) {
        return convolution_backward_weights::primitive_desc(
            {a, src, weights, bias, dst_desc, strides, padding, padding_r}, engine, st.forward_pd);
      });
  st.backward_weights = convolution_backward_weights(st.backward_weights_pd);
  st.built_for = src;
}

CTNN_INLINE void Cpu::conv_forward(ConvState& st, const ConvSpec& s, const Tensor& x, const Buffer& w,
                                   const Buffer& b, Tensor& y, Mode) {
  if (st.built_for != x.desc()) conv_build(st, s, x.desc());
  const auto weights = cpu::in_layout(w.as(conv_weight_dims(s), plain_weights(s)),
                                       st.forward_pd.weights_desc(), st.weights_forward);
  y.ensure(st.forward_pd.dst_desc());
  st.forward.execute(cpu::runtime().stream, {{DNNL_ARG_SRC, x.mem()},
                                             {DNNL_ARG_WEIGHTS, weights},
                                             {DNNL_ARG_BIAS, b.as({s.out_channels}, cpu::Format::a)},
                                             {DNNL_ARG_DST, y.mem()}});
}

CTNN_INLINE void Cpu::conv_backward(ConvState& st, const ConvSpec& s, const Tensor& x, const Tensor& dy,
                                    const Buffer& w, Buffer& dw, Buffer& db, Tensor* dx) {
  auto& stream = cpu::runtime().stream;
  const auto diff_dst = cpu::in_layout(dy.mem(), st.forward_pd.dst_desc(), st.dy_scratch);
  st.weights_grad.ensure(st.backward_weights_pd.diff_weights_desc());
  st.backward_weights.execute(stream, {{DNNL_ARG_SRC, x.mem()},
                                       {DNNL_ARG_DIFF_DST, diff_dst},
                                       {DNNL_ARG_DIFF_WEIGHTS, st.weights_grad.mem()},
                                       {DNNL_ARG_DIFF_BIAS, db.as({s.out_channels}, cpu::Format::a)}});
  cpu::convert(st.weights_grad.mem(), dw.as(conv_weight_dims(s), plain_weights(s)));
  if (!dx) return;
  const auto weights = cpu::in_layout(w.as(conv_weight_dims(s), plain_weights(s)),
                                       st.backward_data_pd.weights_desc(), st.weights_backward);
  dx->ensure(st.backward_data_pd.diff_src_desc());
  st.backward_data.execute(stream, {{DNNL_ARG_DIFF_DST, diff_dst},
                                    {DNNL_ARG_WEIGHTS, weights},
                                    {DNNL_ARG_DIFF_SRC, dx->mem()}});
}

CTNN_INLINE void Cpu::batch_norm_build(BatchNormState& st, const BatchNormSpec& s, const dnnl::memory::desc& src,
                                       Mode mode) {
  using namespace dnnl;
  const auto& engine = cpu::runtime().engine;
  auto flags = normalization_flags::use_scale | normalization_flags::use_shift;
  if (mode == Mode::eval) flags = flags | normalization_flags::use_global_stats;
  if (s.fuse_relu) flags = flags | normalization_flags::fuse_norm_relu;
  // A fused ReLU's backward needs the workspace (which elements were positive) that only a
  // training-kind forward writes, so fused layers use it in eval mode too.
  const auto prop = mode == Mode::train || s.fuse_relu ? prop_kind::forward_training : prop_kind::forward_inference;
  st.forward_pd = {{prop, src, s.eps, flags}, engine};
  st.forward = batch_normalization_forward(st.forward_pd);
  st.backward_pd = {{prop_kind::backward, src, src, s.eps, flags}, engine, st.forward_pd};
  st.backward = batch_normalization_backward(st.backward_pd);
  st.batch_mean = Buffer(static_cast<std::size_t>(s.channels));
  st.batch_variance = Buffer(static_cast<std::size_t>(s.channels));
  st.built_for = src;
  st.built_mode = mode;
}

CTNN_INLINE void Cpu::batch_norm_forward(BatchNormState& st, const BatchNormSpec& s, const Tensor& x,
                                         const Buffer& gamma, const Buffer& beta, Buffer& running_mean,
                                         Buffer& running_var, Tensor& y, Mode mode) {
  const cpu::ThreadLimit threads(cpu::settings().batch_norm_threads);  // see Settings
  if (st.built_for != x.desc() || st.built_mode != mode) batch_norm_build(st, s, x.desc(), mode);
  const cpu::Dims c{s.channels};
  const bool train = mode == Mode::train;
  y.ensure(st.forward_pd.dst_desc());
  std::unordered_map<int, dnnl::memory> args{
      {DNNL_ARG_SRC, x.mem()},
      {DNNL_ARG_DST, y.mem()},
      {DNNL_ARG_SCALE, gamma.as(c, cpu::Format::a)},
      {DNNL_ARG_SHIFT, beta.as(c, cpu::Format::a)},
      {DNNL_ARG_MEAN, (train ? st.batch_mean : running_mean).as(c, cpu::Format::a)},
      {DNNL_ARG_VARIANCE, (train ? st.batch_variance : running_var).as(c, cpu::Format::a)}};
  if (s.fuse_relu) {
    st.workspace.ensure(st.forward_pd.workspace_desc());
    args.emplace(DNNL_ARG_WORKSPACE, st.workspace.mem());
  }
  st.forward.execute(cpu::runtime().stream, args);
  if (!train) return;
  const auto dims = x.desc().dims();
  const double count = static_cast<double>(dims[0]) * dims[2] * dims[3];
  const float unbias = count > 1 ? static_cast<float>(count / (count - 1)) : 1.0f;
  for (int i = 0; i < s.channels; ++i) {
    running_mean.data()[i] = (1 - s.momentum) * running_mean.data()[i] + s.momentum * st.batch_mean.data()[i];
    running_var.data()[i] =
        (1 - s.momentum) * running_var.data()[i] + s.momentum * st.batch_variance.data()[i] * unbias;
  }
}

CTNN_INLINE void Cpu::batch_norm_backward(BatchNormState& st, const BatchNormSpec& s, const Tensor& x,
                                          const Tensor& dy, const Buffer& gamma, const Buffer& beta,
                                          const Buffer& running_mean, const Buffer& running_var, Buffer& dgamma,
                                          Buffer& dbeta, Tensor& dx) {
  const cpu::Dims c{s.channels};
  const bool train = st.built_mode == Mode::train;
  const auto diff_dst = cpu::in_layout(dy.mem(), st.backward_pd.diff_dst_desc(), st.dy_scratch);
  const cpu::ThreadLimit threads(cpu::settings().batch_norm_threads);
  dx.ensure(st.backward_pd.diff_src_desc());
  std::unordered_map<int, dnnl::memory> args{
      {DNNL_ARG_SRC, x.mem()},
      {DNNL_ARG_DIFF_DST, diff_dst},
      {DNNL_ARG_MEAN, (train ? st.batch_mean : running_mean).as(c, cpu::Format::a)},
      {DNNL_ARG_VARIANCE, (train ? st.batch_variance : running_var).as(c, cpu::Format::a)},
      {DNNL_ARG_SCALE, gamma.as(c, cpu::Format::a)},
      {DNNL_ARG_SHIFT, beta.as(c, cpu::Format::a)},
      {DNNL_ARG_DIFF_SRC, dx.mem()},
      {DNNL_ARG_DIFF_SCALE, dgamma.as(c, cpu::Format::a)},
      {DNNL_ARG_DIFF_SHIFT, dbeta.as(c, cpu::Format::a)}};
  if (s.fuse_relu) args.emplace(DNNL_ARG_WORKSPACE, st.workspace.mem());
  st.backward.execute(cpu::runtime().stream, args);
}

CTNN_INLINE void Cpu::relu_forward(ReluState& st, const Tensor& x, Tensor& y) {
  using namespace dnnl;
  if (st.built_for != x.desc()) {
    const auto& engine = cpu::runtime().engine;
    st.forward_pd = {{prop_kind::forward_training, algorithm::eltwise_relu, x.desc(), 0.f, 0.f}, engine};
    st.forward = eltwise_forward(st.forward_pd);
    st.backward = eltwise_backward(
        {{algorithm::eltwise_relu, x.desc(), x.desc(), 0.f, 0.f}, engine, st.forward_pd});
    st.built_for = x.desc();
  }
  y.ensure(st.forward_pd.dst_desc());
  st.forward.execute(cpu::runtime().stream, {{DNNL_ARG_SRC, x.mem()}, {DNNL_ARG_DST, y.mem()}});
}

CTNN_INLINE void Cpu::relu_backward(ReluState& st, const Tensor& x, const Tensor& dy, Tensor& dx) {
  const auto diff_dst = cpu::in_layout(dy.mem(), st.built_for, st.dy_scratch);
  dx.ensure(st.built_for);
  st.backward.execute(cpu::runtime().stream,
                      {{DNNL_ARG_SRC, x.mem()}, {DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_DIFF_SRC, dx.mem()}});
}

CTNN_INLINE void Cpu::pool_forward(PoolState& st, const PoolSpec& s, const Tensor& x, Tensor& y, Mode mode) {
  using namespace dnnl;
  if (st.built_for != x.desc() || st.built_mode != mode) {
    const auto& engine = cpu::runtime().engine;
    const auto algo = s.kind == PoolKind::max ? algorithm::pooling_max : algorithm::pooling_avg_exclude_padding;
    const memory::desc dst({x.batch(), s.channels, s.out_height, s.out_width}, cpu::f32, cpu::Format::any);
    const memory::dims strides{s.stride_h, s.stride_w}, kernel{s.kernel_h, s.kernel_w}, padding{0, 0};
    // Floor mode: rows and columns the last window doesn't reach are dropped, as in PyTorch.
    const memory::dims padding_r{(s.out_height - 1) * s.stride_h + s.kernel_h - s.in_height,
                                 (s.out_width - 1) * s.stride_w + s.kernel_w - s.in_width};
    const auto prop = mode == Mode::train ? prop_kind::forward_training : prop_kind::forward_inference;
    st.forward_pd = {{prop, algo, x.desc(), dst, strides, kernel, padding, padding_r}, engine};
    st.forward = pooling_forward(st.forward_pd);
    if (mode == Mode::train) {
      st.backward_pd = {{algo, x.desc(), st.forward_pd.dst_desc(), strides, kernel, padding, padding_r},
                        engine, st.forward_pd};
      st.backward = pooling_backward(st.backward_pd);
    }
    st.built_for = x.desc();
    st.built_mode = mode;
  }
  y.ensure(st.forward_pd.dst_desc());
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, x.mem()}, {DNNL_ARG_DST, y.mem()}};
  if (mode == Mode::train && s.kind == PoolKind::max) {
    st.workspace.ensure(st.forward_pd.workspace_desc());
    args.emplace(DNNL_ARG_WORKSPACE, st.workspace.mem());
  }
  st.forward.execute(cpu::runtime().stream, args);
}

CTNN_INLINE void Cpu::pool_backward(PoolState& st, const PoolSpec& s, const Tensor& dy, Tensor& dx) {
  if (st.built_mode != Mode::train)
    throw Error("pooling backward: the last forward ran in eval mode; run forward in train mode first");
  const auto diff_dst = cpu::in_layout(dy.mem(), st.backward_pd.diff_dst_desc(), st.dy_scratch);
  dx.ensure(st.backward_pd.diff_src_desc());
  std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_DIFF_SRC, dx.mem()}};
  if (s.kind == PoolKind::max) args.emplace(DNNL_ARG_WORKSPACE, st.workspace.mem());
  st.backward.execute(cpu::runtime().stream, args);
}

CTNN_INLINE void Cpu::dropout_forward(DropoutState& st, float p, const Tensor& x, Tensor& y, Rng& rng) {
  y.ensure(x.desc());
  const std::size_t count = x.physical_size();
  st.mask.resize(count);
  const float keep_scale = 1.0f / (1.0f - p);
  const auto scale_bits = std::bit_cast<std::uint32_t>(keep_scale);
  const auto threshold = static_cast<std::uint32_t>(static_cast<double>(p) * 65536.0 + 0.5);
  const std::uint64_t seed = rng.next_u64();
  const float* in = x.data();
  float* out = y.data();
  float* mask = st.mask.data();
  const auto groups = static_cast<std::int64_t>((count + 3) / 4);
#pragma omp parallel for schedule(static)
  for (std::int64_t g = 0; g < groups; ++g) {
    std::uint64_t bits = counter_hash(seed, static_cast<std::uint64_t>(g));
    const std::size_t end = std::min<std::size_t>(count, static_cast<std::size_t>(g) * 4 + 4);
    for (std::size_t i = static_cast<std::size_t>(g) * 4; i < end; ++i, bits >>= 16) {
      // Branch-free, as bits (a compiler turns a float select back into a branch, which
      // mispredicts on a fraction p of the elements and cost 5x the loop's time).
      const std::uint32_t keep = 0u - static_cast<std::uint32_t>((bits & 0xFFFF) >= threshold);
      mask[i] = std::bit_cast<float>(scale_bits & keep);
      out[i] = in[i] * mask[i];
    }
  }
}

CTNN_INLINE void Cpu::dropout_backward(DropoutState& st, const Tensor& dy, Tensor& dx, const Tensor& x) {
  dx.ensure(x.desc());
  // The mask follows the forward output's physical layout; a gradient in another layout
  // (a user's plain one, say) is brought into it first.
  const auto diff_dst = cpu::in_layout(dy.mem(), x.desc(), st.dy_scratch);
  const float* in = static_cast<const float*>(diff_dst.get_data_handle());
  const float* mask = st.mask.data();
  float* out = dx.data();
  const auto count = static_cast<std::int64_t>(st.mask.size());
#pragma omp parallel for simd schedule(static)
  for (std::int64_t i = 0; i < count; ++i) out[i] = in[i] * mask[i];
}

CTNN_INLINE void Cpu::flatten_forward(FlattenState& st, const Tensor& x, Tensor& y) {
  const auto dims = x.desc().dims();
  st.input_desc = x.desc();
  y.ensure(cpu::plain_desc({dims[0], dims[1] * dims[2] * dims[3]}));
  cpu::convert(x.mem(), cpu::memory(cpu::plain_desc(dims), cpu::runtime().engine, y.data()));
}

CTNN_INLINE void Cpu::flatten_backward(FlattenState& st, const Tensor& dy, Tensor& dx) {
  // dy comes from the next layer's backward in this tensor's own plain N x features layout.
  if (dy.desc() != cpu::plain_desc(dy.desc().dims()))
    throw Error("flatten backward: the incoming gradient is not in plain N x features layout");
  dx.ensure(st.input_desc);
  cpu::convert(cpu::memory(cpu::plain_desc(st.input_desc.dims()), cpu::runtime().engine, dy.data()),
               dx.mem());
}

CTNN_INLINE void Cpu::linear_forward(LinearState& st, const LinearSpec& s, const Tensor& x, const Buffer& w,
                                     const Buffer& b, Tensor& y, Mode) {
  using namespace dnnl;
  const cpu::Dims weight_dims{s.out_features, s.in_features};
  if (st.built_for != x.desc()) {
    const auto& engine = cpu::runtime().engine;
    const auto weights = cpu::plain_desc(weight_dims);
    const auto bias = cpu::plain_desc({s.out_features});
    const auto dst = cpu::plain_desc({x.batch(), s.out_features});
    st.forward_pd = {{prop_kind::forward_training, x.desc(), weights, bias, dst}, engine};
    st.forward = inner_product_forward(st.forward_pd);
    st.backward_data = inner_product_backward_data({{x.desc(), weights, dst}, engine, st.forward_pd});
    st.backward_weights =
        inner_product_backward_weights({{x.desc(), weights, bias, dst}, engine, st.forward_pd});
    st.built_for = x.desc();
  }
  y.ensure(st.forward_pd.dst_desc());
  st.forward.execute(cpu::runtime().stream, {{DNNL_ARG_SRC, x.mem()},
                                             {DNNL_ARG_WEIGHTS, w.as(weight_dims, cpu::Format::ab)},
                                             {DNNL_ARG_BIAS, b.as({s.out_features}, cpu::Format::a)},
                                             {DNNL_ARG_DST, y.mem()}});
}

CTNN_INLINE void Cpu::linear_backward(LinearState& st, const LinearSpec& s, const Tensor& x, const Tensor& dy,
                                      const Buffer& w, Buffer& dw, Buffer& db, Tensor* dx) {
  auto& stream = cpu::runtime().stream;
  const cpu::Dims weight_dims{s.out_features, s.in_features};
  const auto diff_dst = cpu::in_layout(dy.mem(), st.forward_pd.dst_desc(), st.dy_scratch);
  st.backward_weights.execute(stream, {{DNNL_ARG_SRC, x.mem()},
                                       {DNNL_ARG_DIFF_DST, diff_dst},
                                       {DNNL_ARG_DIFF_WEIGHTS, dw.as(weight_dims, cpu::Format::ab)},
                                       {DNNL_ARG_DIFF_BIAS, db.as({s.out_features}, cpu::Format::a)}});
  if (!dx) return;
  dx->ensure(x.desc());
  st.backward_data.execute(stream, {{DNNL_ARG_DIFF_DST, diff_dst},
                                    {DNNL_ARG_WEIGHTS, w.as(weight_dims, cpu::Format::ab)},
                                    {DNNL_ARG_DIFF_SRC, dx->mem()}});
}

CTNN_INLINE LossResult Cpu::softmax_cross_entropy(SoftmaxCrossEntropyState& st, const Tensor& logits,
                                                  std::span<const std::int32_t> labels, Tensor& dlogits) {
  using namespace dnnl;
  const auto dims = logits.desc().dims();
  const long n = dims[0], classes = dims[1];
  if (static_cast<long>(labels.size()) != n)
    throw Error(fmt::format("softmax cross-entropy: {} labels for a batch of {}", labels.size(), n));
  if (st.built_for != logits.desc()) {
    st.forward = logsoftmax_forward(
        {{prop_kind::forward_training, logits.desc(), 1}, cpu::runtime().engine});
    st.built_for = logits.desc();
  }
  st.log_probabilities.ensure(logits.desc());
  st.forward.execute(cpu::runtime().stream,
                     {{DNNL_ARG_SRC, logits.mem()}, {DNNL_ARG_DST, st.log_probabilities.mem()}});
  dlogits.ensure(logits.desc());
  const float* logp = st.log_probabilities.data();
  float* grad = dlogits.data();
  double total = 0;
  int correct = 0;
  for (long i = 0; i < n; ++i) {
    const int label = labels[i];
    if (label < 0 || label >= classes)
      throw Error(fmt::format("softmax cross-entropy: label {} of sample {} is outside [0, {})", label, i,
                              classes));
    const float* row = logp + i * classes;
    total -= row[label];
    correct += (std::max_element(row, row + classes) - row) == label;
    for (long k = 0; k < classes; ++k)
      grad[i * classes + k] = (std::exp(row[k]) - (k == label ? 1.0f : 0.0f)) / static_cast<float>(n);
  }
  return {static_cast<float>(total / n), correct};
}

CTNN_INLINE void Cpu::adam_update(Buffer& value, const Buffer& grad, Buffer& m, Buffer& v, const AdamStep& s) {
  float* p = value.data();
  const float* g = grad.data();
  float* m1 = m.data();
  float* m2 = v.data();
  const float step_size = s.lr / s.bias_correction1;
  const float root_correction2 = std::sqrt(s.bias_correction2);
  const float decay = s.decoupled_weight_decay ? 1.0f - s.lr * s.weight_decay : 1.0f;
  const float l2 = s.decoupled_weight_decay ? 0.0f : s.weight_decay;
  const auto n = static_cast<std::int64_t>(value.size());
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (std::int64_t i = 0; i < n; ++i) {
    const float gi = g[i] + l2 * p[i];
    m1[i] = s.beta1 * m1[i] + (1 - s.beta1) * gi;
    m2[i] = s.beta2 * m2[i] + (1 - s.beta2) * gi * gi;
    p[i] = p[i] * decay - step_size * m1[i] / (std::sqrt(m2[i]) / root_correction2 + s.eps);
  }
}

CTNN_INLINE void Cpu::sgd_update(Buffer& value, const Buffer& grad, Buffer& momentum, const SgdStep& s) {
  float* p = value.data();
  const float* g = grad.data();
  float* buf = momentum.data();
  const auto n = static_cast<std::int64_t>(value.size());
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (std::int64_t i = 0; i < n; ++i) {
    float gi = g[i] + s.weight_decay * p[i];
    if (s.momentum != 0) {
      buf[i] = s.first_step ? gi : s.momentum * buf[i] + (1 - s.dampening) * gi;
      gi = s.nesterov ? gi + s.momentum * buf[i] : buf[i];
    }
    p[i] -= s.lr * gi;
  }
}

CTNN_INLINE cpu::Format Cpu::plain_weights(const ConvSpec& s) {
  return s.groups == 1 ? cpu::Format::abcd : cpu::Format::abcde;
}
}  // namespace ctnn
