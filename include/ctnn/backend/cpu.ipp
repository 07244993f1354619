// Definitions for cpu.hpp (inline, or compiled once with CTNN_SEPARATE_COMPILATION): the
// oneDNN primitives each layer's state holds, and the backend's functions.
#pragma once
#include <algorithm>  // std::max_element
#include <bit>        // std::bit_cast
#include <cmath>      // std::exp, std::sqrt
#include <unordered_map>

#include <fmt/core.h>
#include <oneapi/dnnl/dnnl.hpp>

#include "ctnn/backend/cpu.hpp"
#include "ctnn/backend/cpu/runtime.hpp"  // Runtime, TensorMemory, ensure, mem, desc, view, in_layout
#include "ctnn/backend/cpu/winograd_avx2.hpp"

namespace ctnn::cpu {

struct ConvPrimitives {
dnnl::memory::desc built_for;  // the input layout the primitives below were built for
dnnl::convolution_forward::primitive_desc forward_pd;
dnnl::convolution_forward forward;
dnnl::convolution_backward_data::primitive_desc backward_data_pd;
dnnl::convolution_backward_data backward_data;
dnnl::convolution_backward_weights::primitive_desc backward_weights_pd;
dnnl::convolution_backward_weights backward_weights;
Tensor weights_forward, weights_backward, weights_grad, dy_scratch;
bool built_bf16 = false;       // settings().bf16_convolutions when the primitives were built
Tensor src_bf16, dy_data_bf16;  // bf16 mode: the forward's input, and dy for backward-data
// All three passes by winograd_avx2.hpp's Winograd instead.
bool winograd_avx2 = false;
dnnl::matmul::primitive_desc forward_gemm_pd, backward_gemm_pd, weights_gemm_pd;
dnnl::matmul forward_gemm, backward_gemm, weights_gemm;
// Forward and backward-data by winograd::fused_forward instead; backward-weights as above, or direct.
bool winograd_fused = false;
};
struct BatchNormPrimitives {
dnnl::memory::desc built_for;
Mode built_mode = Mode::train;
dnnl::batch_normalization_forward::primitive_desc forward_pd;
dnnl::batch_normalization_forward forward;
dnnl::batch_normalization_backward::primitive_desc backward_pd;
dnnl::batch_normalization_backward backward;
Buffer batch_mean, batch_variance;  // saved by the training forward for backward
Tensor workspace;                   // the fused ReLU's mask
Tensor dy_scratch;
};
struct ReluPrimitives {
dnnl::memory::desc built_for;
dnnl::eltwise_forward::primitive_desc forward_pd;
dnnl::eltwise_forward forward;
dnnl::eltwise_backward backward;
Tensor dy_scratch;
};
struct PoolPrimitives {
dnnl::memory::desc built_for;
Mode built_mode = Mode::train;
dnnl::pooling_forward::primitive_desc forward_pd;
dnnl::pooling_forward forward;
dnnl::pooling_backward::primitive_desc backward_pd;
dnnl::pooling_backward backward;
bool backward_built = false;
// An eval-mode forward runs oneDNN's inference kind, which keeps no argmax; a backward after
// it (saliency, a frozen network's input gradient) first runs this training kind into scratch.
dnnl::pooling_forward::primitive_desc train_pd;
dnnl::pooling_forward train_forward;
const Tensor* input = nullptr;
Tensor workspace, dy_scratch, train_output;  // workspace: max pooling's argmax, for backward
};
struct FlattenPrimitives {
dnnl::memory::desc input_desc;
};
struct LinearPrimitives {
dnnl::memory::desc built_for;
dnnl::inner_product_forward::primitive_desc forward_pd;
dnnl::inner_product_forward forward;
dnnl::inner_product_backward_data backward_data;
dnnl::inner_product_backward_weights backward_weights;
Tensor dy_scratch;
};
struct SoftmaxPrimitives {
dnnl::memory::desc built_for;
dnnl::logsoftmax_forward forward;
Tensor log_probabilities;
};

struct AddPrimitives {
dnnl::memory::desc built_for;  // a's layout
bool built_relu = false;
dnnl::binary forward;
dnnl::memory::desc relu_built_for;
dnnl::eltwise_backward relu_backward;
Tensor b_scratch, dy_scratch;
};
struct ConcatPrimitives {
std::vector<dnnl::memory::desc> built_for;  // the parts' layouts
dnnl::concat::primitive_desc forward_pd;
dnnl::concat forward;
// Where backward cuts the parts out of dy: the output's layout, or plain NCHW when a part's
// channel offset doesn't fall on a block boundary of a blocked layout.
dnnl::memory::desc split_from;
std::vector<dnnl::memory::desc> part_views;
Tensor dy_scratch;
};

CTNN_INLINE ConvPrimitives* create(ConvPrimitives*) { return new ConvPrimitives; }
CTNN_INLINE void destroy(ConvPrimitives* p) { delete p; }
CTNN_INLINE BatchNormPrimitives* create(BatchNormPrimitives*) { return new BatchNormPrimitives; }
CTNN_INLINE void destroy(BatchNormPrimitives* p) { delete p; }
CTNN_INLINE ReluPrimitives* create(ReluPrimitives*) { return new ReluPrimitives; }
CTNN_INLINE void destroy(ReluPrimitives* p) { delete p; }
CTNN_INLINE PoolPrimitives* create(PoolPrimitives*) { return new PoolPrimitives; }
CTNN_INLINE void destroy(PoolPrimitives* p) { delete p; }
CTNN_INLINE FlattenPrimitives* create(FlattenPrimitives*) { return new FlattenPrimitives; }
CTNN_INLINE void destroy(FlattenPrimitives* p) { delete p; }
CTNN_INLINE LinearPrimitives* create(LinearPrimitives*) { return new LinearPrimitives; }
CTNN_INLINE void destroy(LinearPrimitives* p) { delete p; }
CTNN_INLINE SoftmaxPrimitives* create(SoftmaxPrimitives*) { return new SoftmaxPrimitives; }
CTNN_INLINE void destroy(SoftmaxPrimitives* p) { delete p; }
CTNN_INLINE AddPrimitives* create(AddPrimitives*) { return new AddPrimitives; }
CTNN_INLINE void destroy(AddPrimitives* p) { delete p; }
CTNN_INLINE ConcatPrimitives* create(ConcatPrimitives*) { return new ConcatPrimitives; }
CTNN_INLINE void destroy(ConcatPrimitives* p) { delete p; }

inline Dims conv_weight_dims(const ConvSpec& s) {
  if (s.groups == 1) return {s.out_channels, s.in_channels, s.kernel, s.kernel};
  return {s.groups, s.out_channels / s.groups, s.in_channels / s.groups, s.kernel, s.kernel};
}

inline Format plain_weights(const ConvSpec& s) {
  return s.groups == 1 ? cpu::Format::abcd : cpu::Format::abcde;
}

// Winograd F(4x4, 3x3) beats direct convolution on this network's 3x3 layers in forward and
// backward-data (by 20-40 %, measured with oneDNN 2.6 on AVX-512, batch 128), and in
// backward-weights once the image is small (8x8: 35 % faster; 32x32: 30 % slower). oneDNN
// has no Winograd for every shape (e.g. 3 input channels); those layers stay direct. The
// choice depends only on the shape, so a run repeats exactly.
inline dnnl::algorithm conv_algorithm(const ConvSpec& s, bool backward_weights) {
  const bool winograd_shape = s.kernel == 3 && s.stride == 1 && s.groups == 1 && s.in_channels >= 16;
  if (!settings().winograd || !winograd_shape) return dnnl::algorithm::convolution_direct;
  if (backward_weights && s.out_height * s.out_width > 16 * 16) return dnnl::algorithm::convolution_direct;
  return dnnl::algorithm::convolution_winograd;
}

// A primitive descriptor for the preferred algorithm, or for direct convolution when oneDNN
// has no implementation of the preferred one for this shape.
template <class PrimitiveDesc, class Make>
PrimitiveDesc with_fallback(dnnl::algorithm preferred, Make&& make) {
  if (preferred != dnnl::algorithm::convolution_direct) {
    try {
      return make(preferred);
    } catch (const dnnl::error&) {
    }
  }
  return make(dnnl::algorithm::convolution_direct);
}

CTNN_INLINE bool bf16_supported() {
  const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
  const auto needed = static_cast<unsigned>(dnnl::cpu_isa::avx512_core_bf16);  // ISA values are feature bit sets
  return (isa & needed) == needed;
}

// Whether all three passes go to winograd_avx2.hpp: where oneDNN has no Winograd (below
// AVX-512) and it measured faster than the direct kernel (images of at most 16x16, at least 64
// input channels; 3x3, stride 1, padding 1, sizes in whole 4x4 tiles), on nChw8c throughout.
// fused: whether forward and backward-data go to winograd::fused_forward instead, on any image,
// where its U (36 x in x out) stays in L2 beside a block: at most 128 channels in and out
// together, at least 16 each way (winograd_probe, 1 thread: 1.3x the direct kernel on 32x32
// with 32 channels, 1.6-1.9x on 16x16 with 32 and 64, 1.25x the unfused Winograd on Conv<64, 64>
// 16x16, slower than it on Conv<128, 128>). Backward-weights stays as above: unfused where
// that suits, else direct.
inline bool winograd_avx2_suits(const ConvSpec& s, const ConvPrimitives& st, bool fused = false) {
  const bool tiles = s.kernel == 3 && s.stride == 1 && s.pad == 1 && s.groups == 1 && s.in_channels % 8 == 0 &&
                     s.out_channels % 8 == 0 && s.in_height % 4 == 0 && s.in_width % 4 == 0;
  const bool shape = tiles && (fused ? s.in_channels >= 16 && s.out_channels >= 16 &&
                                           s.in_channels + s.out_channels <= 128
                                     : s.in_channels >= 64 && s.in_height * s.in_width <= 16 * 16);
  if (!settings().winograd || !shape) return false;
  const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
  const auto avx512 = static_cast<unsigned>(dnnl::cpu_isa::avx512_core);
  const auto avx2 = static_cast<unsigned>(dnnl::cpu_isa::avx2);
  if ((isa & avx512) == avx512 || (isa & avx2) != avx2 || !__builtin_cpu_supports("fma")) return false;
  const auto blocked = [](const dnnl::memory::desc& d) { return d == dnnl::memory::desc(d.dims(), f32, Format::aBcd8b); };
  return blocked(st.built_for) && blocked(st.forward_pd.dst_desc()) && blocked(st.backward_data_pd.diff_src_desc()) &&
         st.backward_weights_pd.diff_dst_desc() == st.forward_pd.dst_desc();
}

// Scratch for the transformed weights, tiles and products, shared by every layer (passes run
// one at a time).
struct WinogradScratch {
  Tensor u, v, m;
};
inline WinogradScratch& winograd_scratch() {
  static WinogradScratch scratch;
  return scratch;
}

// One convolution by Winograd: `input` (nChw8c) with oihw `weights` into `output` (nChw8c).
inline void winograd_run(const dnnl::matmul& gemm, const dnnl::matmul::primitive_desc& pd, const winograd::Problem& p,
                         const float* weights, bool flipped, const float* input, const float* bias, float* output) {
  auto& scratch = winograd_scratch();
  const auto& engine = runtime().engine;
  ensure(scratch.u, plain_desc({36L * p.in * p.out}));
  ensure(scratch.v, plain_desc({36L * p.tiles() * p.in}));
  ensure(scratch.m, plain_desc({36L * p.tiles() * p.out}));
  winograd::transform_weights(p, weights, scratch.u.data(), flipped);
  winograd::transform_input(p, input, scratch.v.data());
  gemm.execute(runtime().stream, {{DNNL_ARG_SRC, memory(pd.src_desc(), engine, scratch.v.data())},
                                  {DNNL_ARG_WEIGHTS, memory(pd.weights_desc(), engine, scratch.u.data())},
                                  {DNNL_ARG_DST, memory(pd.dst_desc(), engine, scratch.m.data())}});
  winograd::transform_output(p, scratch.m.data(), bias, output);
}

// The same by winograd::fused_forward, which needs only U.
inline void winograd_fused_run(const winograd::Problem& p, const float* weights, bool flipped, const float* input,
                               const float* bias, float* output) {
  auto& scratch = winograd_scratch();
  ensure(scratch.u, plain_desc({36L * p.in * p.out}));
  winograd::transform_weights(p, weights, scratch.u.data(), flipped);
  winograd::fused_forward(p, scratch.u.data(), input, bias, output);
}

// The weight (and bias) gradient by Winograd: x's tiles transformed again, dy's transformed, their
// products summed over the tiles, and the result written plain (oihw) into dw.
inline void winograd_weight_gradient(ConvPrimitives& st, const winograd::Problem& p, const float* x, const float* dy,
                                     float* dw, float* db) {
  auto& scratch = winograd_scratch();
  const auto& engine = runtime().engine;
  ensure(scratch.u, plain_desc({36L * p.in * p.out}));
  ensure(scratch.v, plain_desc({36L * p.tiles() * p.in}));
  ensure(scratch.m, plain_desc({36L * p.tiles() * p.out}));
  winograd::transform_input(p, x, scratch.v.data());
  winograd::transform_output_gradient(p, dy, scratch.m.data());
  const auto& pd = st.weights_gemm_pd;
  st.weights_gemm.execute(runtime().stream, {{DNNL_ARG_SRC, memory(pd.src_desc(), engine, scratch.v.data())},
                                             {DNNL_ARG_WEIGHTS, memory(pd.weights_desc(), engine, scratch.m.data())},
                                             {DNNL_ARG_DST, memory(pd.dst_desc(), engine, scratch.u.data())}});
  winograd::transform_weight_gradient(p, scratch.u.data(), dw);
  if (db) winograd::bias_gradient(p, dy, db);
}

// In bf16 mode (Settings::bf16_convolutions) the primitives take bf16 input, weights and
// incoming gradient, chosen layouts (`any`), and write fp32; the rest is as in fp32 mode.
inline void conv_build(ConvPrimitives& st, const ConvSpec& s, const dnnl::memory::desc& x) {
  using namespace dnnl;
  const auto& engine = runtime().engine;
  const bool bf16 = settings().bf16_convolutions;
  if (bf16 && !bf16_supported())
    throw Error(fmt::format("Conv<{}, {}, {}>: cpu::settings().bf16_convolutions needs AVX512_BF16, which this CPU "
                            "(or ONEDNN_MAX_CPU_ISA) doesn't offer oneDNN",
                            s.in_channels, s.out_channels, s.kernel));
  const auto low = bf16 ? memory::data_type::bf16 : f32;
  const long n = x.dims()[0];
  const memory::desc src = bf16 ? memory::desc(x.dims(), low, Format::any) : x;
  const memory::desc weights(conv_weight_dims(s), low, Format::any);
  // A zero descriptor tells oneDNN there is no bias (ConvNoBias).
  const memory::desc bias = s.bias ? memory::desc({s.out_channels}, f32, Format::a) : memory::desc();
  const memory::desc dst({n, s.out_channels, s.out_height, s.out_width}, f32, Format::any);
  const memory::dims strides{s.stride, s.stride}, padding{s.pad, s.pad};
  // Bottom/right padding such that oneDNN's output size equals ours (floor division).
  const memory::dims padding_r{(s.out_height - 1) * s.stride + s.kernel - s.in_height - s.pad,
                               (s.out_width - 1) * s.stride + s.kernel - s.in_width - s.pad};
  // oneDNN's Winograd has no bf16 kernels.
  const auto algorithm_for = [&](bool backward_weights) {
    return bf16 ? algorithm::convolution_direct : conv_algorithm(s, backward_weights);
  };
  st.forward_pd = with_fallback<convolution_forward::primitive_desc>(algorithm_for(false), [&](algorithm a) {
    return convolution_forward::primitive_desc(
        {prop_kind::forward_training, a, src, weights, bias, dst, strides, padding, padding_r}, engine);
  });
  st.forward = convolution_forward(st.forward_pd);
  // fp32: dy arrives in the output's layout. bf16: dy is converted to the layout chosen here.
  const auto dst_desc = bf16 ? memory::desc(st.forward_pd.dst_desc().dims(), low, Format::any) : st.forward_pd.dst_desc();
  // dx in x's own layout where the kernel takes it (always in fp32), else in the layout it picks.
  const auto backward_data_desc = [&](const memory::desc& diff_src) {
    return with_fallback<convolution_backward_data::primitive_desc>(algorithm_for(false), [&](algorithm a) {
      return convolution_backward_data::primitive_desc({a, diff_src, weights, dst_desc, strides, padding, padding_r},
                                                       engine, st.forward_pd);
    });
  };
  try {
    st.backward_data_pd = backward_data_desc(x);
  } catch (const dnnl::error&) {
    if (!bf16) throw;
    st.backward_data_pd = backward_data_desc(memory::desc(x.dims(), f32, Format::any));
  }
  st.backward_data = convolution_backward_data(st.backward_data_pd);
  const memory::desc diff_weights(conv_weight_dims(s), f32, Format::any);  // fp32 in both modes
  st.backward_weights_pd = with_fallback<convolution_backward_weights::primitive_desc>(
      algorithm_for(true), [&](algorithm a) {
        return convolution_backward_weights::primitive_desc(
            {a, st.forward_pd.src_desc(), diff_weights, bias, dst_desc, strides, padding, padding_r}, engine,
            st.forward_pd);
      });
  st.backward_weights = convolution_backward_weights(st.backward_weights_pd);
  st.built_for = x;
  st.built_bf16 = bf16;
  st.winograd_avx2 = !bf16 && winograd_avx2_suits(s, st);
  st.winograd_fused = !bf16 && winograd_avx2_suits(s, st, true);
  if (st.winograd_avx2) {
    st.forward_gemm_pd = winograd::gemm_desc({n, s.in_channels, s.out_channels, s.in_height, s.in_width}, engine);
    st.forward_gemm = matmul(st.forward_gemm_pd);
    st.backward_gemm_pd = winograd::gemm_desc({n, s.out_channels, s.in_channels, s.in_height, s.in_width}, engine);
    st.backward_gemm = matmul(st.backward_gemm_pd);
    st.weights_gemm_pd = winograd::weight_gradient_gemm_desc({n, s.in_channels, s.out_channels, s.in_height, s.in_width}, engine);
    st.weights_gemm = matmul(st.weights_gemm_pd);
  }
}

inline void batch_norm_build(BatchNormPrimitives& st, const BatchNormSpec& s, const dnnl::memory::desc& src,
                                       Mode mode) {
  using namespace dnnl;
  const auto& engine = runtime().engine;
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

}  // namespace ctnn::cpu

namespace ctnn {

CTNN_INLINE void Cpu::synchronize() { cpu::runtime().stream.wait(); }

CTNN_INLINE std::vector<float> Cpu::to_host(const Tensor& t) {
  const auto plain = cpu::plain_desc(cpu::desc(t).dims());
  std::vector<float> out(plain.get_size() / sizeof(float));
  cpu::convert(cpu::mem(t), cpu::memory(plain, cpu::runtime().engine, out.data()));
  return out;
}

CTNN_INLINE void Cpu::from_host(Tensor& t, std::span<const float> values, const std::vector<std::int64_t>& dims) {
  cpu::ensure(t, cpu::plain_desc(dims));
  std::copy(values.begin(), values.end(), t.data());
}

CTNN_INLINE void Cpu::conv_forward(ConvState& state, const ConvSpec& s, const Tensor& x, const Buffer& w,
                                   const Buffer& b, Tensor& y, Mode) {
  auto& st = *state;
  const auto x_desc = cpu::desc(x);
  if (st.built_for != x_desc || st.built_bf16 != cpu::settings().bf16_convolutions) cpu::conv_build(st, s, x_desc);
  if (st.winograd_fused) {
    cpu::ensure(y, st.forward_pd.dst_desc());
    cpu::winograd_fused_run({x_desc.dims()[0], s.in_channels, s.out_channels, s.in_height, s.in_width}, w.data(), false,
                            x.data(), s.bias ? b.data() : nullptr, y.data());
    return;
  }
  if (st.winograd_avx2) {
    cpu::ensure(y, st.forward_pd.dst_desc());
    cpu::winograd_run(st.forward_gemm, st.forward_gemm_pd,
                      {x_desc.dims()[0], s.in_channels, s.out_channels, s.in_height, s.in_width}, w.data(), false,
                      x.data(), s.bias ? b.data() : nullptr, y.data());
    return;
  }
  // bf16 mode: a bf16 copy of x, which backward-weights uses too (a backward follows its forward).
  const auto src = st.built_bf16 ? cpu::in_layout(cpu::mem(x), st.forward_pd.src_desc(), st.src_bf16) : cpu::mem(x);
  const auto weights = cpu::in_layout(cpu::view(w, cpu::conv_weight_dims(s), cpu::plain_weights(s)),
                                       st.forward_pd.weights_desc(), st.weights_forward);
  cpu::ensure(y, st.forward_pd.dst_desc());
  std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights},
                                              {DNNL_ARG_DST, cpu::mem(y)}};
  if (s.bias) args.emplace(DNNL_ARG_BIAS, cpu::view(b, {s.out_channels}, cpu::Format::a));
  st.forward.execute(cpu::runtime().stream, args);
}

CTNN_INLINE void Cpu::conv_backward(ConvState& state, const ConvSpec& s, const Tensor& x, const Tensor& dy,
                                    const Buffer& w, Buffer& dw, Buffer& db, Tensor* dx) {
  auto& st = *state;
  auto& stream = cpu::runtime().stream;
  const auto diff_dst = cpu::in_layout(cpu::mem(dy), st.backward_weights_pd.diff_dst_desc(), st.dy_scratch);
  if (st.winograd_avx2) {
    // The transforms read x as nChw8c, the layout the forward was built for.
    if (cpu::desc(x) != st.built_for) throw Error("conv backward: the input's layout is not the one its forward saw");
    const cpu::winograd::Problem p{st.built_for.dims()[0], s.in_channels, s.out_channels, s.in_height, s.in_width};
    cpu::winograd_weight_gradient(st, p, x.data(), static_cast<const float*>(diff_dst.get_data_handle()), dw.data(),
                                  s.bias ? db.data() : nullptr);
    if (!dx) return;
    cpu::ensure(*dx, st.backward_data_pd.diff_src_desc());
    if (st.winograd_fused) {
      cpu::winograd_fused_run({p.batch, s.out_channels, s.in_channels, s.in_height, s.in_width}, w.data(), true,
                              static_cast<const float*>(diff_dst.get_data_handle()), nullptr, dx->data());
      return;
    }
    cpu::winograd_run(st.backward_gemm, st.backward_gemm_pd,
                      {p.batch, s.out_channels, s.in_channels, s.in_height, s.in_width}, w.data(), true,
                      static_cast<const float*>(diff_dst.get_data_handle()), nullptr, dx->data());
    return;
  }
  cpu::ensure(st.weights_grad, st.backward_weights_pd.diff_weights_desc());
  std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, st.built_bf16 ? cpu::mem(st.src_bf16) : cpu::mem(x)},
                                              {DNNL_ARG_DIFF_DST, diff_dst},
                                              {DNNL_ARG_DIFF_WEIGHTS, cpu::mem(st.weights_grad)}};
  if (s.bias) args.emplace(DNNL_ARG_DIFF_BIAS, cpu::view(db, {s.out_channels}, cpu::Format::a));
  st.backward_weights.execute(stream, args);
  cpu::convert(cpu::mem(st.weights_grad), cpu::view(dw, cpu::conv_weight_dims(s), cpu::plain_weights(s)));
  if (!dx) return;
  if (st.winograd_fused) {
    cpu::ensure(*dx, st.backward_data_pd.diff_src_desc());
    cpu::winograd_fused_run({st.built_for.dims()[0], s.out_channels, s.in_channels, s.in_height, s.in_width}, w.data(),
                            true, static_cast<const float*>(diff_dst.get_data_handle()), nullptr, dx->data());
    return;
  }
  const auto weights = cpu::in_layout(cpu::view(w, cpu::conv_weight_dims(s), cpu::plain_weights(s)),
                                       st.backward_data_pd.weights_desc(), st.weights_backward);
  cpu::ensure(*dx, st.backward_data_pd.diff_src_desc());
  const auto data_diff_dst = cpu::in_layout(diff_dst, st.backward_data_pd.diff_dst_desc(), st.dy_data_bf16);
  st.backward_data.execute(stream, {{DNNL_ARG_DIFF_DST, data_diff_dst},
                                    {DNNL_ARG_WEIGHTS, weights},
                                    {DNNL_ARG_DIFF_SRC, cpu::mem(*dx)}});
}

CTNN_INLINE void Cpu::batch_norm_forward(BatchNormState& state, const BatchNormSpec& s, const Tensor& x,
                                         const Buffer& gamma, const Buffer& beta, Buffer& running_mean,
                                         Buffer& running_var, Tensor& y, Mode mode) {
  auto& st = *state;
  const auto x_desc = cpu::desc(x);
  const cpu::ThreadLimit threads(cpu::settings().batch_norm_threads);  // see Settings
  if (st.built_for != x_desc || st.built_mode != mode) cpu::batch_norm_build(st, s, x_desc, mode);
  const cpu::Dims c{s.channels};
  const bool train = mode == Mode::train;
  cpu::ensure(y, st.forward_pd.dst_desc());
  std::unordered_map<int, dnnl::memory> args{
      {DNNL_ARG_SRC, cpu::mem(x)},
      {DNNL_ARG_DST, cpu::mem(y)},
      {DNNL_ARG_SCALE, cpu::view(gamma, c, cpu::Format::a)},
      {DNNL_ARG_SHIFT, cpu::view(beta, c, cpu::Format::a)},
      {DNNL_ARG_MEAN, cpu::view(train ? st.batch_mean : running_mean, c, cpu::Format::a)},
      {DNNL_ARG_VARIANCE, cpu::view(train ? st.batch_variance : running_var, c, cpu::Format::a)}};
  if (s.fuse_relu) {
    cpu::ensure(st.workspace, st.forward_pd.workspace_desc());
    args.emplace(DNNL_ARG_WORKSPACE, cpu::mem(st.workspace));
  }
  st.forward.execute(cpu::runtime().stream, args);
  if (!train) return;
  const auto dims = x_desc.dims();
  const double count = static_cast<double>(dims[0]) * dims[2] * dims[3];
  const float unbias = count > 1 ? static_cast<float>(count / (count - 1)) : 1.0f;
  for (int i = 0; i < s.channels; ++i) {
    running_mean.data()[i] = (1 - s.momentum) * running_mean.data()[i] + s.momentum * st.batch_mean.data()[i];
    running_var.data()[i] =
        (1 - s.momentum) * running_var.data()[i] + s.momentum * st.batch_variance.data()[i] * unbias;
  }
}

CTNN_INLINE void Cpu::batch_norm_backward(BatchNormState& state, const BatchNormSpec& s, const Tensor& x,
                                          const Tensor& dy, const Buffer& gamma, const Buffer& beta,
                                          const Buffer& running_mean, const Buffer& running_var, Buffer& dgamma,
                                          Buffer& dbeta, Tensor& dx) {
  auto& st = *state;
  const cpu::Dims c{s.channels};
  const bool train = st.built_mode == Mode::train;
  const auto diff_dst = cpu::in_layout(cpu::mem(dy), st.backward_pd.diff_dst_desc(), st.dy_scratch);
  const cpu::ThreadLimit threads(cpu::settings().batch_norm_threads);
  cpu::ensure(dx, st.backward_pd.diff_src_desc());
  std::unordered_map<int, dnnl::memory> args{
      {DNNL_ARG_SRC, cpu::mem(x)},
      {DNNL_ARG_DIFF_DST, diff_dst},
      {DNNL_ARG_MEAN, cpu::view(train ? st.batch_mean : running_mean, c, cpu::Format::a)},
      {DNNL_ARG_VARIANCE, cpu::view(train ? st.batch_variance : running_var, c, cpu::Format::a)},
      {DNNL_ARG_SCALE, cpu::view(gamma, c, cpu::Format::a)},
      {DNNL_ARG_SHIFT, cpu::view(beta, c, cpu::Format::a)},
      {DNNL_ARG_DIFF_SRC, cpu::mem(dx)},
      {DNNL_ARG_DIFF_SCALE, cpu::view(dgamma, c, cpu::Format::a)},
      {DNNL_ARG_DIFF_SHIFT, cpu::view(dbeta, c, cpu::Format::a)}};
  if (s.fuse_relu) args.emplace(DNNL_ARG_WORKSPACE, cpu::mem(st.workspace));
  st.backward.execute(cpu::runtime().stream, args);
}

CTNN_INLINE void Cpu::relu_forward(ReluState& state, const Tensor& x, Tensor& y) {
  auto& st = *state;
  const auto x_desc = cpu::desc(x);
  using namespace dnnl;
  if (st.built_for != x_desc) {
    const auto& engine = cpu::runtime().engine;
    st.forward_pd = {{prop_kind::forward_training, algorithm::eltwise_relu, x_desc, 0.f, 0.f}, engine};
    st.forward = eltwise_forward(st.forward_pd);
    st.backward = eltwise_backward(
        {{algorithm::eltwise_relu, x_desc, x_desc, 0.f, 0.f}, engine, st.forward_pd});
    st.built_for = x_desc;
  }
  cpu::ensure(y, st.forward_pd.dst_desc());
  st.forward.execute(cpu::runtime().stream, {{DNNL_ARG_SRC, cpu::mem(x)}, {DNNL_ARG_DST, cpu::mem(y)}});
}

CTNN_INLINE void Cpu::relu_backward(ReluState& state, const Tensor& x, const Tensor& dy, Tensor& dx) {
  auto& st = *state;
  const auto diff_dst = cpu::in_layout(cpu::mem(dy), st.built_for, st.dy_scratch);
  cpu::ensure(dx, st.built_for);
  st.backward.execute(cpu::runtime().stream,
                      {{DNNL_ARG_SRC, cpu::mem(x)}, {DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_DIFF_SRC, cpu::mem(dx)}});
}

}  // namespace ctnn

namespace ctnn::cpu {

// Pooling `s` on `src`, as oneDNN describes it.
struct PoolGeometry {
  dnnl::algorithm algorithm;
  dnnl::memory::dims strides, kernel, padding, padding_r;
};

inline PoolGeometry pool_geometry(const PoolSpec& s) {
  using namespace dnnl;
  // Average pooling divides by the whole window, padding included (PyTorch's default). In
  // floor mode no window reaches past the padding, so that is always kernel_h * kernel_w.
  // Floor mode: rows and columns the last window doesn't reach are dropped, as in PyTorch.
  return {s.kind == PoolKind::max ? algorithm::pooling_max : algorithm::pooling_avg_include_padding,
          {s.stride_h, s.stride_w},
          {s.kernel_h, s.kernel_w},
          {s.pad_h, s.pad_w},
          {(s.out_height - 1) * s.stride_h + s.kernel_h - s.in_height - s.pad_h,
           (s.out_width - 1) * s.stride_w + s.kernel_w - s.in_width - s.pad_w}};
}

inline dnnl::pooling_forward::primitive_desc pool_forward_desc(const PoolSpec& s, const dnnl::memory::desc& src,
                                                               dnnl::prop_kind kind) {
  const auto g = pool_geometry(s);
  const dnnl::memory::desc dst({src.dims()[0], s.channels, s.out_height, s.out_width}, f32, Format::any);
  return {{kind, g.algorithm, src, dst, g.strides, g.kernel, g.padding, g.padding_r}, runtime().engine};
}

// Backward for the training-kind forward `hint` on `src`.
inline void pool_backward_build(PoolPrimitives& st, const PoolSpec& s, const dnnl::memory::desc& src,
                                const dnnl::pooling_forward::primitive_desc& hint) {
  const auto g = pool_geometry(s);
  st.backward_pd = {{g.algorithm, src, hint.dst_desc(), g.strides, g.kernel, g.padding, g.padding_r},
                    runtime().engine, hint};
  st.backward = dnnl::pooling_backward(st.backward_pd);
  st.backward_built = true;
}

}  // namespace ctnn::cpu

namespace ctnn {

CTNN_INLINE void Cpu::pool_forward(PoolState& state, const PoolSpec& s, const Tensor& x, Tensor& y, Mode mode) {
  auto& st = *state;
  const auto x_desc = cpu::desc(x);
  using namespace dnnl;
  if (st.built_for != x_desc || st.built_mode != mode) {
    const auto kind = mode == Mode::train ? prop_kind::forward_training : prop_kind::forward_inference;
    st.forward_pd = cpu::pool_forward_desc(s, x_desc, kind);
    st.forward = pooling_forward(st.forward_pd);
    st.backward_built = false;
    if (mode == Mode::train) cpu::pool_backward_build(st, s, x_desc, st.forward_pd);
    st.built_for = x_desc;
    st.built_mode = mode;
  }
  st.input = &x;
  cpu::ensure(y, st.forward_pd.dst_desc());
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, cpu::mem(x)}, {DNNL_ARG_DST, cpu::mem(y)}};
  if (mode == Mode::train && s.kind == PoolKind::max) {
    cpu::ensure(st.workspace, st.forward_pd.workspace_desc());
    args.emplace(DNNL_ARG_WORKSPACE, cpu::mem(st.workspace));
  }
  st.forward.execute(cpu::runtime().stream, args);
}

CTNN_INLINE void Cpu::pool_backward(PoolState& state, const PoolSpec& s, const Tensor& dy, Tensor& dx) {
  auto& st = *state;
  using namespace dnnl;
  if (!st.input) throw Error("pooling backward: no forward has run");
  if (st.built_mode == Mode::eval) {
    // The eval forward kept no argmax: run the training kind on the same input for it.
    if (!st.backward_built) {
      st.train_pd = cpu::pool_forward_desc(s, st.built_for, prop_kind::forward_training);
      st.train_forward = pooling_forward(st.train_pd);
      cpu::pool_backward_build(st, s, st.built_for, st.train_pd);
    }
    if (s.kind == PoolKind::max) {
      cpu::ensure(st.workspace, st.train_pd.workspace_desc());
      cpu::ensure(st.train_output, st.train_pd.dst_desc());
      st.train_forward.execute(cpu::runtime().stream, {{DNNL_ARG_SRC, cpu::mem(*st.input)},
                                                       {DNNL_ARG_DST, cpu::mem(st.train_output)},
                                                       {DNNL_ARG_WORKSPACE, cpu::mem(st.workspace)}});
    }
  }
  const auto diff_dst = cpu::in_layout(cpu::mem(dy), st.backward_pd.diff_dst_desc(), st.dy_scratch);
  cpu::ensure(dx, st.backward_pd.diff_src_desc());
  std::unordered_map<int, memory> args{{DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_DIFF_SRC, cpu::mem(dx)}};
  if (s.kind == PoolKind::max) args.emplace(DNNL_ARG_WORKSPACE, cpu::mem(st.workspace));
  st.backward.execute(cpu::runtime().stream, args);
}

CTNN_INLINE void Cpu::dropout_forward(DropoutState& st, float p, const Tensor& x, Tensor& y, Rng& rng) {
  cpu::ensure(y, cpu::desc(x));
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
  const auto x_desc = cpu::desc(x);
  cpu::ensure(dx, x_desc);
  // The mask follows the forward output's physical layout; a gradient in another layout
  // (a user's plain one, say) is brought into it first.
  const auto diff_dst = cpu::in_layout(cpu::mem(dy), x_desc, st.dy_scratch);
  const float* in = static_cast<const float*>(diff_dst.get_data_handle());
  const float* mask = st.mask.data();
  float* out = dx.data();
  const auto count = static_cast<std::int64_t>(st.mask.size());
#pragma omp parallel for simd schedule(static)
  for (std::int64_t i = 0; i < count; ++i) out[i] = in[i] * mask[i];
}

CTNN_INLINE void Cpu::flatten_forward(FlattenState& state, const Tensor& x, Tensor& y) {
  auto& st = *state;
  const auto x_desc = cpu::desc(x);
  const auto dims = x_desc.dims();
  st.input_desc = x_desc;
  cpu::ensure(y, cpu::plain_desc({dims[0], dims[1] * dims[2] * dims[3]}));
  cpu::convert(cpu::mem(x), cpu::memory(cpu::plain_desc(dims), cpu::runtime().engine, y.data()));
}

CTNN_INLINE void Cpu::flatten_backward(FlattenState& state, const Tensor& dy, Tensor& dx) {
  auto& st = *state;
  const auto dy_desc = cpu::desc(dy);
  // dy comes from the next layer's backward in this tensor's own plain N x features layout.
  if (dy_desc != cpu::plain_desc(dy_desc.dims()))
    throw Error("flatten backward: the incoming gradient is not in plain N x features layout");
  cpu::ensure(dx, st.input_desc);
  cpu::convert(cpu::memory(cpu::plain_desc(st.input_desc.dims()), cpu::runtime().engine, dy.data()),
               cpu::mem(dx));
}

CTNN_INLINE void Cpu::linear_forward(LinearState& state, const LinearSpec& s, const Tensor& x, const Buffer& w,
                                     const Buffer& b, Tensor& y, Mode) {
  auto& st = *state;
  const auto x_desc = cpu::desc(x);
  using namespace dnnl;
  const cpu::Dims weight_dims{s.out_features, s.in_features};
  if (st.built_for != x_desc) {
    const auto& engine = cpu::runtime().engine;
    const auto weights = cpu::plain_desc(weight_dims);
    const auto bias = cpu::plain_desc({s.out_features});
    const auto dst = cpu::plain_desc({x.batch(), s.out_features});
    st.forward_pd = {{prop_kind::forward_training, x_desc, weights, bias, dst}, engine};
    st.forward = inner_product_forward(st.forward_pd);
    st.backward_data = inner_product_backward_data({{x_desc, weights, dst}, engine, st.forward_pd});
    st.backward_weights =
        inner_product_backward_weights({{x_desc, weights, bias, dst}, engine, st.forward_pd});
    st.built_for = x_desc;
  }
  cpu::ensure(y, st.forward_pd.dst_desc());
  st.forward.execute(cpu::runtime().stream, {{DNNL_ARG_SRC, cpu::mem(x)},
                                             {DNNL_ARG_WEIGHTS, cpu::view(w, weight_dims, cpu::Format::ab)},
                                             {DNNL_ARG_BIAS, cpu::view(b, {s.out_features}, cpu::Format::a)},
                                             {DNNL_ARG_DST, cpu::mem(y)}});
}

CTNN_INLINE void Cpu::linear_backward(LinearState& state, const LinearSpec& s, const Tensor& x, const Tensor& dy,
                                      const Buffer& w, Buffer& dw, Buffer& db, Tensor* dx) {
  auto& st = *state;
  auto& stream = cpu::runtime().stream;
  const cpu::Dims weight_dims{s.out_features, s.in_features};
  const auto diff_dst = cpu::in_layout(cpu::mem(dy), st.forward_pd.dst_desc(), st.dy_scratch);
  st.backward_weights.execute(stream, {{DNNL_ARG_SRC, cpu::mem(x)},
                                       {DNNL_ARG_DIFF_DST, diff_dst},
                                       {DNNL_ARG_DIFF_WEIGHTS, cpu::view(dw, weight_dims, cpu::Format::ab)},
                                       {DNNL_ARG_DIFF_BIAS, cpu::view(db, {s.out_features}, cpu::Format::a)}});
  if (!dx) return;
  cpu::ensure(*dx, cpu::desc(x));
  st.backward_data.execute(stream, {{DNNL_ARG_DIFF_DST, diff_dst},
                                    {DNNL_ARG_WEIGHTS, cpu::view(w, weight_dims, cpu::Format::ab)},
                                    {DNNL_ARG_DIFF_SRC, cpu::mem(*dx)}});
}

CTNN_INLINE void Cpu::add_forward(AddState& state, const Tensor& a, const Tensor& b, Tensor& y, bool relu) {
  auto& st = *state;
  const auto a_desc = cpu::desc(a);
  using namespace dnnl;
  if (st.built_for != a_desc || st.built_relu != relu) {
    primitive_attr attr;
    if (relu) {
      post_ops ops;
      ops.append_eltwise(1.0f, algorithm::eltwise_relu, 0.0f, 0.0f);
      attr.set_post_ops(ops);
    }
    st.forward = binary({{algorithm::binary_add, a_desc, a_desc, a_desc}, attr, cpu::runtime().engine});
    st.built_for = a_desc;
    st.built_relu = relu;
  }
  const auto b_mem = cpu::in_layout(cpu::mem(b), a_desc, st.b_scratch);
  cpu::ensure(y, a_desc);
  st.forward.execute(cpu::runtime().stream,
                     {{DNNL_ARG_SRC_0, cpu::mem(a)}, {DNNL_ARG_SRC_1, b_mem}, {DNNL_ARG_DST, cpu::mem(y)}});
}

CTNN_INLINE void Cpu::add_relu_backward(AddState& state, const Tensor& y, const Tensor& dy, Tensor& dx) {
  auto& st = *state;
  const auto y_desc = cpu::desc(y);
  using namespace dnnl;
  if (st.relu_built_for != y_desc) {
    const auto& engine = cpu::runtime().engine;
    const eltwise_forward::primitive_desc hint(
        {prop_kind::forward_training, algorithm::eltwise_relu_use_dst_for_bwd, y_desc, 0.0f, 0.0f}, engine);
    st.relu_backward =
        eltwise_backward({{algorithm::eltwise_relu_use_dst_for_bwd, y_desc, y_desc, 0.0f, 0.0f}, engine, hint});
    st.relu_built_for = y_desc;
  }
  const auto diff_dst = cpu::in_layout(cpu::mem(dy), y_desc, st.dy_scratch);
  cpu::ensure(dx, y_desc);
  st.relu_backward.execute(cpu::runtime().stream,
                           {{DNNL_ARG_DST, cpu::mem(y)}, {DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_DIFF_SRC, cpu::mem(dx)}});
}

CTNN_INLINE void Cpu::concat_forward(ConcatState& state, std::span<const Tensor* const> parts, Tensor& y) {
  auto& st = *state;
  std::vector<dnnl::memory::desc> descs;
  for (const Tensor* part : parts) descs.push_back(cpu::desc(*part));
  if (st.built_for != descs) {
    const auto& engine = cpu::runtime().engine;
    st.forward_pd = dnnl::concat::primitive_desc(1, descs, engine);  // oneDNN picks the output layout
    st.forward = dnnl::concat(st.forward_pd);
    // Backward cuts each part's gradient out of dy with a sub-memory view, which a blocked
    // layout allows only at channel offsets on its block boundaries.
    const auto make_views = [&](const dnnl::memory::desc& whole) {
      std::vector<dnnl::memory::desc> views;
      dnnl::memory::dim offset = 0;
      for (const auto& d : descs) {
        const auto dims = d.dims();
        views.push_back(whole.submemory_desc(dims, {0, offset, 0, 0}));
        offset += dims[1];
      }
      return views;
    };
    st.split_from = st.forward_pd.dst_desc();
    try {
      st.part_views = make_views(st.split_from);
    } catch (const dnnl::error&) {
      st.split_from = cpu::plain_desc(st.split_from.dims());
      st.part_views = make_views(st.split_from);
    }
    st.built_for = descs;
  }
  cpu::ensure(y, st.forward_pd.dst_desc());
  std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_DST, cpu::mem(y)}};
  for (std::size_t i = 0; i < parts.size(); ++i) args.emplace(DNNL_ARG_MULTIPLE_SRC + static_cast<int>(i), cpu::mem(*parts[i]));
  st.forward.execute(cpu::runtime().stream, args);
}

CTNN_INLINE void Cpu::concat_backward(ConcatState& state, const Tensor& dy, std::span<Tensor* const> part_grads) {
  auto& st = *state;
  if (part_grads.size() != st.built_for.size())
    throw Error(fmt::format("concat backward: {} gradients asked for {} parts", part_grads.size(), st.built_for.size()));
  const auto whole = cpu::in_layout(cpu::mem(dy), st.split_from, st.dy_scratch);
  for (std::size_t i = 0; i < part_grads.size(); ++i) {
    cpu::ensure(*part_grads[i], st.built_for[i]);
    cpu::convert(cpu::memory(st.part_views[i], cpu::runtime().engine, whole.get_data_handle()),
                 cpu::mem(*part_grads[i]));
  }
}

CTNN_INLINE LossResult Cpu::softmax_cross_entropy(SoftmaxCrossEntropyState& state, const Tensor& logits,
                                                  std::span<const std::int32_t> labels, Tensor& dlogits) {
  auto& st = *state;
  const auto logits_desc = cpu::desc(logits);
  using namespace dnnl;
  const auto dims = logits_desc.dims();
  const long n = dims[0], classes = dims[1];
  if (static_cast<long>(labels.size()) != n)
    throw Error(fmt::format("softmax cross-entropy: {} labels for a batch of {}", labels.size(), n));
  if (st.built_for != logits_desc) {
    st.forward = logsoftmax_forward(
        {{prop_kind::forward_training, logits_desc, 1}, cpu::runtime().engine});
    st.built_for = logits_desc;
  }
  cpu::ensure(st.log_probabilities, logits_desc);
  st.forward.execute(cpu::runtime().stream,
                     {{DNNL_ARG_SRC, cpu::mem(logits)}, {DNNL_ARG_DST, cpu::mem(st.log_probabilities)}});
  cpu::ensure(dlogits, logits_desc);
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

}  // namespace ctnn
