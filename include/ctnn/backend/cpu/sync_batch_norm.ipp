// Definitions for sync_batch_norm.hpp (inline, or compiled once with CTNN_SEPARATE_COMPILATION).
#pragma once
#include <unordered_map>

#include <fmt/core.h>
#include <oneapi/dnnl/dnnl.hpp>

#include "ctnn/backend/cpu/runtime.hpp"          // runtime, ensure, mem, desc, view, in_layout
#include "ctnn/backend/cpu/sync_batch_norm.hpp"
#include "ctnn/backend/cpu/threads.hpp"          // ThreadLimit

namespace ctnn::cpu {

struct SyncBatchNormPrimitives {
  dnnl::memory::desc built_for;  // the input layout the primitives below were built for
  dnnl::batch_normalization_forward statistics;  // a training forward, for its mean and variance
  dnnl::batch_normalization_forward normalize;   // a training forward with given statistics
  dnnl::batch_normalization_backward backward;
  dnnl::batch_normalization_backward::primitive_desc backward_pd;
  dnnl::binary affine;  // dx += scale x + shift
  Tensor statistics_output, workspace, dy_scratch;
};

CTNN_INLINE SyncBatchNormPrimitives* create(SyncBatchNormPrimitives*) { return new SyncBatchNormPrimitives; }
CTNN_INLINE void destroy(SyncBatchNormPrimitives* p) { delete p; }

inline void sync_batch_norm_build(SyncBatchNormPrimitives& st, const BatchNormSpec& s, const dnnl::memory::desc& src) {
  using namespace dnnl;
  using flags = normalization_flags;
  const auto& engine = runtime().engine;
  const auto train = prop_kind::forward_training;
  const flags relu = s.fuse_relu ? flags::fuse_norm_relu : flags::none;
  const flags affine = flags::use_scale | flags::use_shift | relu;
  st.statistics = batch_normalization_forward({{train, src, s.eps, flags::none}, engine});
  const batch_normalization_forward::primitive_desc normalize_pd{{train, src, s.eps, affine | flags::use_global_stats},
                                                                 engine};
  st.normalize = batch_normalization_forward(normalize_pd);
  // The backward computes the batch-statistics gradient (no use_global_stats), so its hint is
  // the forward with the same flags; its ReLU mask is the one normalize writes.
  const batch_normalization_forward::primitive_desc hint{{train, src, s.eps, affine}, engine};
  st.backward_pd = {{prop_kind::backward, src, src, s.eps, affine}, engine, hint};
  if (s.fuse_relu && st.backward_pd.workspace_desc() != normalize_pd.workspace_desc())
    throw Error("SyncBN (cpu): oneDNN's batch norm wants a different ReLU mask backward than forward writes");
  st.backward = batch_normalization_backward(st.backward_pd);
  const memory::desc channels({1, s.channels, 1, 1}, f32, Format::abcd);
  post_ops ops;
  ops.append_binary(algorithm::binary_add, channels);
  ops.append_sum(1.0f);
  primitive_attr attr;
  attr.set_post_ops(ops);
  st.affine = binary({{algorithm::binary_mul, src, channels, src}, attr, engine});
  st.built_for = src;
}

}  // namespace ctnn::cpu

namespace ctnn {

CTNN_INLINE void SyncBatchNorm<Cpu>::local_statistics(State& state, const BatchNormSpec& s, const Tensor& x,
                                                      Buffer& mean, Buffer& variance) {
  auto& st = *state;
  const auto x_desc = cpu::desc(x);
  const cpu::ThreadLimit threads(cpu::settings().batch_norm_threads);  // as BN (cpu/tensor.hpp says why)
  if (st.built_for != x_desc) cpu::sync_batch_norm_build(st, s, x_desc);
  cpu::ensure(st.statistics_output, x_desc);
  const cpu::Dims c{s.channels};
  st.statistics.execute(cpu::runtime().stream, {{DNNL_ARG_SRC, cpu::mem(x)},
                                                {DNNL_ARG_DST, cpu::mem(st.statistics_output)},
                                                {DNNL_ARG_MEAN, cpu::view(mean, c, cpu::Format::a)},
                                                {DNNL_ARG_VARIANCE, cpu::view(variance, c, cpu::Format::a)}});
}

CTNN_INLINE void SyncBatchNorm<Cpu>::normalize(State& state, const BatchNormSpec& s, const Tensor& x,
                                               const Buffer& gamma, const Buffer& beta, const Buffer& mean,
                                               const Buffer& variance, Tensor& y) {
  auto& st = *state;
  const auto x_desc = cpu::desc(x);
  const cpu::ThreadLimit threads(cpu::settings().batch_norm_threads);
  if (st.built_for != x_desc) cpu::sync_batch_norm_build(st, s, x_desc);
  cpu::ensure(y, x_desc);
  const cpu::Dims c{s.channels};
  std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, cpu::mem(x)},
                                              {DNNL_ARG_DST, cpu::mem(y)},
                                              {DNNL_ARG_SCALE, cpu::view(gamma, c, cpu::Format::a)},
                                              {DNNL_ARG_SHIFT, cpu::view(beta, c, cpu::Format::a)},
                                              {DNNL_ARG_MEAN, cpu::view(mean, c, cpu::Format::a)},
                                              {DNNL_ARG_VARIANCE, cpu::view(variance, c, cpu::Format::a)}};
  if (s.fuse_relu) {
    cpu::ensure(st.workspace, st.backward_pd.workspace_desc());
    args.emplace(DNNL_ARG_WORKSPACE, cpu::mem(st.workspace));
  }
  st.normalize.execute(cpu::runtime().stream, args);
}

CTNN_INLINE void SyncBatchNorm<Cpu>::backward(State& state, const BatchNormSpec& s, const Tensor& x,
                                              const Tensor& dy, const Buffer& gamma, const Buffer& beta,
                                              const Buffer& mean, const Buffer& variance, Buffer& dgamma,
                                              Buffer& dbeta, Tensor& dx) {
  auto& st = *state;
  const cpu::ThreadLimit threads(cpu::settings().batch_norm_threads);
  const auto diff_dst = cpu::in_layout(cpu::mem(dy), st.backward_pd.diff_dst_desc(), st.dy_scratch);
  cpu::ensure(dx, st.backward_pd.diff_src_desc());
  const cpu::Dims c{s.channels};
  std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, cpu::mem(x)},
                                              {DNNL_ARG_DIFF_DST, diff_dst},
                                              {DNNL_ARG_MEAN, cpu::view(mean, c, cpu::Format::a)},
                                              {DNNL_ARG_VARIANCE, cpu::view(variance, c, cpu::Format::a)},
                                              {DNNL_ARG_SCALE, cpu::view(gamma, c, cpu::Format::a)},
                                              {DNNL_ARG_SHIFT, cpu::view(beta, c, cpu::Format::a)},
                                              {DNNL_ARG_DIFF_SRC, cpu::mem(dx)},
                                              {DNNL_ARG_DIFF_SCALE, cpu::view(dgamma, c, cpu::Format::a)},
                                              {DNNL_ARG_DIFF_SHIFT, cpu::view(dbeta, c, cpu::Format::a)}};
  if (s.fuse_relu) args.emplace(DNNL_ARG_WORKSPACE, cpu::mem(st.workspace));
  st.backward.execute(cpu::runtime().stream, args);
}

CTNN_INLINE void SyncBatchNorm<Cpu>::add_channel_affine(State& state, const Tensor& x, const Buffer& scale,
                                                        const Buffer& shift, Tensor& dx) {
  auto& st = *state;
  if (cpu::desc(dx) != cpu::desc(x))
    throw Error("SyncBN (cpu): the input gradient's layout differs from the input's");
  const cpu::Dims channels{1, static_cast<long>(scale.size()), 1, 1};
  st.affine.execute(cpu::runtime().stream,
                    {{DNNL_ARG_SRC_0, cpu::mem(x)},
                     {DNNL_ARG_SRC_1, cpu::view(scale, channels, cpu::Format::abcd)},
                     {DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, cpu::view(shift, channels, cpu::Format::abcd)},
                     {DNNL_ARG_DST, cpu::mem(dx)}});
}

}  // namespace ctnn
