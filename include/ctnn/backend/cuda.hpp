// The CUDA backend: cuDNN for convolution, batch norm, pooling, ReLU and softmax; cuBLAS for
// Linear; small kernels for dropout, the loss gradient and the optimizer updates. `Cuda` is
// the backend tag a Model takes; its static functions mirror the Cpu backend's, so every
// layer header runs unchanged on the GPU.
//
// Tensors are plain NCHW fp32 on the device. All work is queued on one stream, and a train
// step never waits for the device: uploads go through pinned memory, and the loss comes back
// through softmax_cross_entropy_queue/_take, which a training loop reads one step late. The
// host waits only where a value must come back at once (to_host, the synchronous loss).
// Convolution algorithms are chosen once per layer and input shape, and one workspace is shared
// by all layers. A translation unit that includes this header must be compiled by nvcc.
#pragma once
#include <algorithm>  // std::copy
#include <array>
#include <cstdint>
#include <cstring>  // std::memcpy
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "ctnn/backend/cuda/kernels.cuh"  // dropout, cross_entropy, adam, ...
#include "ctnn/backend/cuda/runtime.cuh"  // runtime(), settings(), Tensor, Buffer, descriptors, CTNN_CUDA_CHECK
#include "ctnn/backend/cuda/shape_cache.hpp"  // ShapeCache
#include "ctnn/backend/cuda/step_graph.cuh"   // StepGraph
#include "ctnn/core/error.hpp"            // Error
#include "ctnn/core/mode.hpp"             // Mode
#include "ctnn/core/op_specs.hpp"         // ConvSpec, PoolSpec, ...
#include "ctnn/core/rng.hpp"              // Rng

namespace ctnn {

struct Cuda {
  using Tensor = cuda::Tensor;
  using Buffer = cuda::Buffer;
  static constexpr const char* name = "cuda";

  // Upper bound on the workspace a convolution algorithm may use.
  static constexpr std::size_t workspace_limit = std::size_t{512} << 20;

  // --- moving data in and out ------------------------------------------------------------
  static void from_host(Tensor& t, std::span<const float> values, const std::vector<std::int64_t>& dims) {
    t.ensure(dims);
    if (values.size() != t.count())
      throw Error(fmt::format("cuda from_host: {} values for a tensor of {}", values.size(), t.count()));
    // Through pinned memory, without waiting: the caller may free `values` on return. While a
    // CUDA graph is captured, through a cell that each replay refills.
    auto& rt = cuda::runtime();
    const std::size_t bytes = values.size() * sizeof(float);
    if (rt.capture)
      CTNN_CUDA_CHECK(cudaMemcpyAsync(t.data(), rt.capture->input(values.data(), bytes), bytes, cudaMemcpyHostToDevice,
                                      rt.stream));
    else
      rt.uploads.upload(t.data(), values.data(), bytes, rt.stream);
  }
  static std::vector<float> to_host(const Tensor& t) {
    std::vector<float> out(t.count());
    auto& rt = cuda::runtime();
    CTNN_CUDA_CHECK(cudaMemcpyAsync(out.data(), t.data(), out.size() * sizeof(float), cudaMemcpyDeviceToHost, rt.stream));
    CTNN_CUDA_CHECK(cudaStreamSynchronize(rt.stream));
    return out;
  }
  static void synchronize() { CTNN_CUDA_CHECK(cudaStreamSynchronize(cuda::runtime().stream)); }

  // --- convolution -------------------------------------------------------------------------
  // One plan per input shape (batch size included) and determinism setting: its descriptors
  // and, chosen on first use, each direction's algorithm with the math type (TF32 tensor cores
  // or not) and workspace it was chosen with.
  template <class Algorithm>
  struct AlgorithmChoice {
    Algorithm algorithm{};
    cudnnMathType_t math = CUDNN_DEFAULT_MATH;
    std::size_t workspace = 0;
  };
  struct ConvPlan {
    cuda::TensorDescriptor x_desc, y_desc;
    std::optional<AlgorithmChoice<cudnnConvolutionFwdAlgo_t>> forward;
    std::optional<AlgorithmChoice<cudnnConvolutionBwdDataAlgo_t>> backward_data;
    std::optional<AlgorithmChoice<cudnnConvolutionBwdFilterAlgo_t>> backward_filter;
  };
  struct PlanKey {
    cuda::Dims input;
    bool deterministic = false;
    bool operator==(const PlanKey&) const = default;
  };
  struct ConvState {
    bool described = false;  // the filter, convolution and bias descriptors: the same for every shape
    cuda::TensorDescriptor bias_desc;
    cuda::FilterDescriptor w_desc;
    cuda::ConvolutionDescriptor conv;
    cuda::ShapeCache<PlanKey, ConvPlan> plans;
  };

  static ConvPlan& conv_plan(ConvState& st, const ConvSpec& s, const Tensor& x) {
    if (!st.described) {
      cuda::describe(st.bias_desc, {1, s.out_channels, 1, 1});
      CTNN_CUDA_CHECK(cudnnSetFilter4dDescriptor(st.w_desc, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, s.out_channels,
                                                 s.in_channels / s.groups, s.kernel, s.kernel));
      CTNN_CUDA_CHECK(cudnnSetConvolution2dDescriptor(st.conv, s.pad, s.pad, s.stride, s.stride, 1, 1,
                                                      CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
      CTNN_CUDA_CHECK(cudnnSetConvolutionGroupCount(st.conv, s.groups));
      st.described = true;
    }
    return st.plans.get({x.dims(), cuda::settings().deterministic}, [&](ConvPlan& plan) {
      cuda::describe(plan.x_desc, x.dims());
      cuda::describe(plan.y_desc, {x.batch(), s.out_channels, s.out_height, s.out_width});
      int on = 0, oc = 0, oh = 0, ow = 0;
      CTNN_CUDA_CHECK(cudnnGetConvolution2dForwardOutputDim(st.conv, plan.x_desc, st.w_desc, &on, &oc, &oh, &ow));
      if (oh != s.out_height || ow != s.out_width)
        throw Error(fmt::format("cuDNN computes a {}x{} output where ctnn expects {}x{}", oh, ow, s.out_height,
                                s.out_width));
    });
  }

  static void conv_forward(ConvState& st, const ConvSpec& s, const Tensor& x, const Buffer& w, const Buffer& b,
                           Tensor& y, Mode) {
    auto& rt = cuda::runtime();
    ConvPlan& plan = conv_plan(st, s, x);
    y.ensure({x.batch(), s.out_channels, s.out_height, s.out_width});
    if (!plan.forward) {
      no_search_while_capturing("convolution forward");
      cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
      int found = 0;
      CTNN_CUDA_CHECK(cudnnSetConvolutionMathType(st.conv, CUDNN_DEFAULT_MATH));  // the search may try tensor cores
      if (cuda::settings().deterministic)
        CTNN_CUDA_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(rt.cudnn, plan.x_desc, st.w_desc, st.conv, plan.y_desc,
                                                               CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &found, perf));
      else
        CTNN_CUDA_CHECK(cudnnFindConvolutionForwardAlgorithmEx(
            rt.cudnn, plan.x_desc, x.data(), st.w_desc, w.data(), st.conv, plan.y_desc, y.data(),
            CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &found, perf, rt.workspace_of(workspace_limit), workspace_limit));
      plan.forward =
          choose(st, perf, found, "convolution forward", [&](cudnnConvolutionFwdAlgo_t a, std::size_t* bytes) {
            return cudnnGetConvolutionForwardWorkspaceSize(rt.cudnn, plan.x_desc, st.w_desc, st.conv, plan.y_desc, a,
                                                           bytes);
          });
    }
    const auto& c = *plan.forward;
    CTNN_CUDA_CHECK(cudnnSetConvolutionMathType(st.conv, c.math));
    CTNN_CUDA_CHECK(cudnnConvolutionForward(rt.cudnn, &cuda::one, plan.x_desc, x.data(), st.w_desc, w.data(), st.conv,
                                            c.algorithm, rt.workspace_of(c.workspace), c.workspace, &cuda::zero,
                                            plan.y_desc, y.data()));
    if (s.bias)
      CTNN_CUDA_CHECK(cudnnAddTensor(rt.cudnn, &cuda::one, st.bias_desc, b.data(), &cuda::one, plan.y_desc, y.data()));
  }

  static void conv_backward(ConvState& st, const ConvSpec& s, const Tensor& x, const Tensor& dy, const Buffer& w,
                            Buffer& dw, Buffer& db, Tensor* dx) {
    auto& rt = cuda::runtime();
    ConvPlan& plan = conv_plan(st, s, x);
    if (dx) dx->ensure(x.dims());
    const bool deterministic = cuda::settings().deterministic;
    if (!plan.backward_filter) {
      no_search_while_capturing("convolution backward filter");
      cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
      int found = 0;
      CTNN_CUDA_CHECK(cudnnSetConvolutionMathType(st.conv, CUDNN_DEFAULT_MATH));
      if (deterministic)
        CTNN_CUDA_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(
            rt.cudnn, plan.x_desc, plan.y_desc, st.conv, st.w_desc, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &found,
            perf));
      else  // writes into dw, which the real call below overwrites
        CTNN_CUDA_CHECK(cudnnFindConvolutionBackwardFilterAlgorithmEx(
            rt.cudnn, plan.x_desc, x.data(), plan.y_desc, dy.data(), st.conv, st.w_desc, dw.data(),
            CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &found, perf, rt.workspace_of(workspace_limit), workspace_limit));
      plan.backward_filter = choose(st, perf, found, "convolution backward filter",
                                    [&](cudnnConvolutionBwdFilterAlgo_t a, std::size_t* bytes) {
                                      return cudnnGetConvolutionBackwardFilterWorkspaceSize(
                                          rt.cudnn, plan.x_desc, plan.y_desc, st.conv, st.w_desc, a, bytes);
                                    });
    }
    if (dx && !plan.backward_data) {
      no_search_while_capturing("convolution backward data");
      cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
      int found = 0;
      CTNN_CUDA_CHECK(cudnnSetConvolutionMathType(st.conv, CUDNN_DEFAULT_MATH));
      if (deterministic)
        CTNN_CUDA_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(rt.cudnn, st.w_desc, plan.y_desc, st.conv,
                                                                    plan.x_desc, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT,
                                                                    &found, perf));
      else  // writes into dx, which the real call below overwrites
        CTNN_CUDA_CHECK(cudnnFindConvolutionBackwardDataAlgorithmEx(
            rt.cudnn, st.w_desc, w.data(), plan.y_desc, dy.data(), st.conv, plan.x_desc, dx->data(),
            CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &found, perf, rt.workspace_of(workspace_limit), workspace_limit));
      plan.backward_data = choose(st, perf, found, "convolution backward data",
                                  [&](cudnnConvolutionBwdDataAlgo_t a, std::size_t* bytes) {
                                    return cudnnGetConvolutionBackwardDataWorkspaceSize(
                                        rt.cudnn, st.w_desc, plan.y_desc, st.conv, plan.x_desc, a, bytes);
                                  });
    }
    if (s.bias)
      CTNN_CUDA_CHECK(cudnnConvolutionBackwardBias(rt.cudnn, &cuda::one, plan.y_desc, dy.data(), &cuda::zero,
                                                   st.bias_desc, db.data()));
    const auto& f = *plan.backward_filter;
    CTNN_CUDA_CHECK(cudnnSetConvolutionMathType(st.conv, f.math));
    CTNN_CUDA_CHECK(cudnnConvolutionBackwardFilter(rt.cudnn, &cuda::one, plan.x_desc, x.data(), plan.y_desc, dy.data(),
                                                   st.conv, f.algorithm, rt.workspace_of(f.workspace), f.workspace,
                                                   &cuda::zero, st.w_desc, dw.data()));
    if (!dx) return;
    const auto& d = *plan.backward_data;
    CTNN_CUDA_CHECK(cudnnSetConvolutionMathType(st.conv, d.math));
    CTNN_CUDA_CHECK(cudnnConvolutionBackwardData(rt.cudnn, &cuda::one, st.w_desc, w.data(), plan.y_desc, dy.data(),
                                                 st.conv, d.algorithm, rt.workspace_of(d.workspace), d.workspace,
                                                 &cuda::zero, plan.x_desc, dx->data()));
  }

  // --- batch normalisation -----------------------------------------------------------------
  struct BatchNormState {
    cuda::Dims built_for;
    cuda::TensorDescriptor x_desc, parameter_desc;
    Buffer saved_mean, saved_inverse_std;
    Mode last_mode = Mode::train;
    cuda::ActivationDescriptor relu;     // the fused ReLU, applied in place on the output; NaN stays NaN
    const Tensor* output = nullptr;
    Tensor relu_grad;                    // dy through the fused ReLU
  };

  // A new batch size only re-describes (host-side). The buffers and the ReLU are made on the
  // first call alone: freeing device memory would wait for the device.
  static void batch_norm_build(BatchNormState& st, const BatchNormSpec& s, const Tensor& x) {
    cuda::describe(st.x_desc, x.dims());
    CTNN_CUDA_CHECK(cudnnDeriveBNTensorDescriptor(st.parameter_desc, st.x_desc, CUDNN_BATCHNORM_SPATIAL));
    if (st.built_for.empty()) {
      CTNN_CUDA_CHECK(cudnnSetActivationDescriptor(st.relu, CUDNN_ACTIVATION_RELU, CUDNN_PROPAGATE_NAN, 0.0));
      st.saved_mean = Buffer(static_cast<std::size_t>(s.channels));
      st.saved_inverse_std = Buffer(static_cast<std::size_t>(s.channels));
    }
    st.built_for = x.dims();
  }

  // cuDNN updates the running statistics with the unbiased batch variance, as PyTorch does.
  static void batch_norm_forward(BatchNormState& st, const BatchNormSpec& s, const Tensor& x, const Buffer& gamma,
                                 const Buffer& beta, Buffer& running_mean, Buffer& running_var, Tensor& y, Mode mode) {
    auto& rt = cuda::runtime();
    if (st.built_for != x.dims()) batch_norm_build(st, s, x);
    y.ensure(x.dims());
    st.last_mode = mode;
    if (mode == Mode::train) {
      CTNN_CUDA_CHECK(cudnnBatchNormalizationForwardTraining(
          rt.cudnn, CUDNN_BATCHNORM_SPATIAL, &cuda::one, &cuda::zero, st.x_desc, x.data(), st.x_desc, y.data(),
          st.parameter_desc, gamma.data(), beta.data(), s.momentum, running_mean.data(), running_var.data(), s.eps,
          st.saved_mean.data(), st.saved_inverse_std.data()));
    } else {
      CTNN_CUDA_CHECK(cudnnBatchNormalizationForwardInference(
          rt.cudnn, CUDNN_BATCHNORM_SPATIAL, &cuda::one, &cuda::zero, st.x_desc, x.data(), st.x_desc, y.data(),
          st.parameter_desc, gamma.data(), beta.data(), running_mean.data(), running_var.data(), s.eps));
    }
    st.output = &y;
    if (s.fuse_relu)
      CTNN_CUDA_CHECK(cudnnActivationForward(rt.cudnn, st.relu, &cuda::one, st.x_desc, y.data(), &cuda::zero,
                                             st.x_desc, y.data()));
  }

  static void batch_norm_backward(BatchNormState& st, const BatchNormSpec& s, const Tensor& x, const Tensor& dy,
                                  const Buffer& gamma, const Buffer&, const Buffer& running_mean,
                                  const Buffer& running_var, Buffer& dgamma, Buffer& dbeta, Tensor& dx) {
    auto& rt = cuda::runtime();
    dx.ensure(x.dims());
    const Tensor* grad = &dy;
    if (s.fuse_relu) {
      st.relu_grad.ensure(dy.dims());
      cuda::kernels::relu_backward_from_output<<<cuda::kernels::blocks_for(dy.count()), cuda::kernels::threads, 0,
                                                 rt.stream>>>(st.output->data(), dy.data(), st.relu_grad.data(),
                                                              dy.count());
      CTNN_CUDA_CHECK(cudaGetLastError());
      grad = &st.relu_grad;
    }
    const Tensor& dy_bn = *grad;
    if (st.last_mode == Mode::train) {
      CTNN_CUDA_CHECK(cudnnBatchNormalizationBackward(
          rt.cudnn, CUDNN_BATCHNORM_SPATIAL, &cuda::one, &cuda::zero, &cuda::one, &cuda::zero, st.x_desc, x.data(),
          st.x_desc, dy_bn.data(), st.x_desc, dx.data(), st.parameter_desc, gamma.data(), dgamma.data(), dbeta.data(),
          s.eps, st.saved_mean.data(), st.saved_inverse_std.data()));
      return;
    }
    // No cuDNN call back-propagates through fixed statistics: one small kernel does.
    const auto& d = x.dims();
    const int plane = static_cast<int>(d[2] * d[3]);
    cuda::kernels::batch_norm_backward_fixed<<<s.channels, cuda::kernels::threads, 0, rt.stream>>>(
        x.data(), dy_bn.data(), gamma.data(), running_mean.data(), running_var.data(), s.eps, dx.data(), dgamma.data(),
        dbeta.data(), static_cast<int>(d[0]), s.channels, plane);
    CTNN_CUDA_CHECK(cudaGetLastError());
  }

  // --- ReLU --------------------------------------------------------------------------------
  struct ReluState {
    cuda::Dims built_for;
    cuda::TensorDescriptor desc;
    cuda::ActivationDescriptor activation;
    const float* output = nullptr;
  };

  static void relu_forward(ReluState& st, const Tensor& x, Tensor& y) {
    auto& rt = cuda::runtime();
    if (st.built_for != x.dims()) {
      cuda::describe(st.desc, x.dims());
      // NaN stays NaN, as on the CPU, so that a diverging run trips the trainer's NaN stop.
      CTNN_CUDA_CHECK(cudnnSetActivationDescriptor(st.activation, CUDNN_ACTIVATION_RELU, CUDNN_PROPAGATE_NAN, 0.0));
      st.built_for = x.dims();
    }
    y.ensure(x.dims());
    CTNN_CUDA_CHECK(cudnnActivationForward(rt.cudnn, st.activation, &cuda::one, st.desc, x.data(), &cuda::zero,
                                           st.desc, y.data()));
    st.output = y.data();
  }

  static void relu_backward(ReluState& st, const Tensor& x, const Tensor& dy, Tensor& dx) {
    dx.ensure(x.dims());
    CTNN_CUDA_CHECK(cudnnActivationBackward(cuda::runtime().cudnn, st.activation, &cuda::one, st.desc, st.output,
                                            st.desc, dy.data(), st.desc, x.data(), &cuda::zero, st.desc, dx.data()));
  }

  // --- pooling -----------------------------------------------------------------------------
  struct PoolState {
    cuda::Dims built_for;
    bool built_deterministic = false;
    cuda::TensorDescriptor x_desc, y_desc;
    cuda::PoolingDescriptor pooling;
    const Tensor* input = nullptr;
    const Tensor* output = nullptr;
  };

  static void pool_forward(PoolState& st, const PoolSpec& s, const Tensor& x, Tensor& y, Mode) {
    auto& rt = cuda::runtime();
    const cuda::Dims out{x.batch(), s.channels, s.out_height, s.out_width};
    const bool deterministic = cuda::settings().deterministic;
    if (st.built_for != x.dims() || st.built_deterministic != deterministic) {
      cuda::describe(st.x_desc, x.dims());
      cuda::describe(st.y_desc, out);
      // Max pooling's backward scatters with atomics unless asked to be deterministic.
      const auto max_kind = deterministic ? CUDNN_POOLING_MAX_DETERMINISTIC : CUDNN_POOLING_MAX;
      // Average pooling counts the padding in its divisor, as PyTorch's AvgPool2d does by default.
      const auto kind = s.kind == PoolKind::max ? max_kind : CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING;
      // NaN in a window gives NaN, as on the CPU.
      CTNN_CUDA_CHECK(cudnnSetPooling2dDescriptor(st.pooling, kind, CUDNN_PROPAGATE_NAN, s.kernel_h, s.kernel_w,
                                                  s.pad_h, s.pad_w, s.stride_h, s.stride_w));
      st.built_for = x.dims();
      st.built_deterministic = deterministic;
    }
    y.ensure(out);
    CTNN_CUDA_CHECK(cudnnPoolingForward(rt.cudnn, st.pooling, &cuda::one, st.x_desc, x.data(), &cuda::zero, st.y_desc,
                                        y.data()));
    st.input = &x;
    st.output = &y;
  }

  // cuDNN's pooling backward reads the forward's input and output, which an eval-mode forward
  // leaves as a training one does, so backward works after either.
  static void pool_backward(PoolState& st, const PoolSpec&, const Tensor& dy, Tensor& dx) {
    if (!st.input) throw Error("pooling backward: no forward has run");
    dx.ensure(st.input->dims());
    CTNN_CUDA_CHECK(cudnnPoolingBackward(cuda::runtime().cudnn, st.pooling, &cuda::one, st.y_desc, st.output->data(),
                                         st.y_desc, dy.data(), st.x_desc, st.input->data(), &cuda::zero, st.x_desc,
                                         dx.data()));
  }

  // --- dropout: the mask is a hash of (seed, index), recomputed in backward -----------------
  struct DropoutState {
    std::uint64_t seed = 0;
    std::uint32_t threshold = 0;
    float keep_scale = 1;
    // In a CUDA graph the kernels read the seed from here, where each replay uploads a new one.
    cuda::DeviceMemory device_seed;
    bool seed_on_device = false;
  };

  static void dropout_forward(DropoutState& st, float p, const Tensor& x, Tensor& y, Rng& rng) {
    auto& rt = cuda::runtime();
    y.ensure(x.dims());
    st.threshold = static_cast<std::uint32_t>(static_cast<double>(p) * (1u << 24));
    st.keep_scale = 1.0f / (1.0f - p);
    st.seed_on_device = rt.capture != nullptr;
    if (st.seed_on_device) {
      // Drawn from the generator now and before each replay, in the order an eager step draws.
      void* cell = rt.capture->generated(sizeof(std::uint64_t), [&rng](void* to) {
        const std::uint64_t seed = rng.next_u64();
        std::memcpy(to, &seed, sizeof seed);
      });
      st.device_seed.reserve(sizeof(std::uint64_t));
      CTNN_CUDA_CHECK(
          cudaMemcpyAsync(st.device_seed.get(), cell, sizeof(std::uint64_t), cudaMemcpyHostToDevice, rt.stream));
    } else {
      st.seed = rng.next_u64();
    }
    launch_dropout(st, x, y);
  }

  static void dropout_backward(DropoutState& st, const Tensor& dy, Tensor& dx, const Tensor& x) {
    dx.ensure(x.dims());
    launch_dropout(st, dy, dx);
  }

  // --- flatten: NCHW is already N x (C*H*W) in memory; a copy keeps each layer's tensors its own
  struct FlattenState {
    cuda::Dims input_dims;
  };

  static void flatten_forward(FlattenState& st, const Tensor& x, Tensor& y) {
    const auto& d = x.dims();
    st.input_dims = d;
    y.ensure({d[0], d[1] * d[2] * d[3]});
    copy(x, y);
  }

  static void flatten_backward(FlattenState& st, const Tensor& dy, Tensor& dx) {
    dx.ensure(st.input_dims);
    copy(dy, dx);
  }

  // --- linear (cuBLAS; row-major tensors read as transposed column-major matrices) ---------
  struct LinearState {
    Buffer ones;  // a column of 1s, as long as the largest batch yet: the bias gradient is dy^T * ones
  };

  static void linear_forward(LinearState&, const LinearSpec& s, const Tensor& x, const Buffer& w, const Buffer& b,
                             Tensor& y, Mode) {
    auto& rt = cuda::runtime();
    const int n = static_cast<int>(x.batch());
    y.ensure({n, s.out_features});
    // y^T (out x n) = W (out x in, stored row-major = in x out column-major, so op T) * x^T.
    CTNN_CUDA_CHECK(cublasSgemm(rt.cublas, CUBLAS_OP_T, CUBLAS_OP_N, s.out_features, n, s.in_features, &cuda::one,
                                w.data(), s.in_features, x.data(), s.in_features, &cuda::zero, y.data(),
                                s.out_features));
    const std::size_t count = static_cast<std::size_t>(n) * s.out_features;
    cuda::kernels::add_bias<<<cuda::kernels::blocks_for(count), cuda::kernels::threads, 0, rt.stream>>>(
        y.data(), b.data(), n, s.out_features);
    CTNN_CUDA_CHECK(cudaGetLastError());
  }

  static void linear_backward(LinearState& st, const LinearSpec& s, const Tensor& x, const Tensor& dy, const Buffer& w,
                              Buffer& dw, Buffer& db, Tensor* dx) {
    auto& rt = cuda::runtime();
    const int n = static_cast<int>(x.batch());
    if (st.ones.size() < static_cast<std::size_t>(n)) {
      st.ones = Buffer(static_cast<std::size_t>(n));
      cuda::kernels::fill<<<cuda::kernels::blocks_for(st.ones.size()), cuda::kernels::threads, 0, rt.stream>>>(
          st.ones.data(), 1.0f, st.ones.size());
      CTNN_CUDA_CHECK(cudaGetLastError());
    }
    // dW^T (in x out) = x^T (in x n) * dy (n x out).
    CTNN_CUDA_CHECK(cublasSgemm(rt.cublas, CUBLAS_OP_N, CUBLAS_OP_T, s.in_features, s.out_features, n, &cuda::one,
                                x.data(), s.in_features, dy.data(), s.out_features, &cuda::zero, dw.data(),
                                s.in_features));
    // db (out) = dy^T (out x n) * ones (n).
    CTNN_CUDA_CHECK(cublasSgemv(rt.cublas, CUBLAS_OP_N, s.out_features, n, &cuda::one, dy.data(), s.out_features,
                                st.ones.data(), 1, &cuda::zero, db.data(), 1));
    if (!dx) return;
    dx->ensure(x.dims());
    // dx^T (in x n) = W^T (in x out) * dy^T (out x n).
    CTNN_CUDA_CHECK(cublasSgemm(rt.cublas, CUBLAS_OP_N, CUBLAS_OP_N, s.in_features, n, s.out_features, &cuda::one,
                                w.data(), s.in_features, dy.data(), s.out_features, &cuda::zero, dx->data(),
                                s.in_features));
  }

  // --- elementwise sum: the join of residual and parallel branches ------------------------
  // One kernel adds and applies the ReLU in the same pass (cudnnOpTensor would need a second
  // pass for the ReLU); tensors are plain NCHW, so there are no layouts to reconcile.
  struct AddState {};

  static void add_forward(AddState&, const Tensor& a, const Tensor& b, Tensor& y, bool relu) {
    if (a.dims() != b.dims())
      throw Error(fmt::format("cuda add: the branches' tensors hold {} and {} values", a.count(), b.count()));
    y.ensure(a.dims());
    const std::size_t count = a.count();
    auto& rt = cuda::runtime();
    if (relu)
      cuda::kernels::add_tensors<true><<<cuda::kernels::blocks_for(count), cuda::kernels::threads, 0, rt.stream>>>(
          a.data(), b.data(), y.data(), count);
    else
      cuda::kernels::add_tensors<false><<<cuda::kernels::blocks_for(count), cuda::kernels::threads, 0, rt.stream>>>(
          a.data(), b.data(), y.data(), count);
    CTNN_CUDA_CHECK(cudaGetLastError());
  }

  static void add_relu_backward(AddState&, const Tensor& y, const Tensor& dy, Tensor& dx) {
    dx.ensure(y.dims());
    cuda::kernels::relu_backward_from_output<<<cuda::kernels::blocks_for(y.count()), cuda::kernels::threads, 0,
                                               cuda::runtime().stream>>>(y.data(), dy.data(), dx.data(), y.count());
    CTNN_CUDA_CHECK(cudaGetLastError());
  }

  // --- channel concatenation: in NCHW each sample's part is one contiguous run of C_i*H*W
  // floats, so a strided 2-d copy per part (a row per sample) does it either way.
  struct ConcatState {
    cuda::Dims output_dims;
    std::vector<cuda::Dims> part_dims;
  };

  static void concat_forward(ConcatState& st, std::span<const Tensor* const> parts, Tensor& y) {
    const auto& first = parts[0]->dims();
    st.part_dims.clear();
    std::int64_t channels = 0;
    for (const Tensor* part : parts) st.part_dims.push_back(part->dims()), channels += part->dims()[1];
    st.output_dims = {first[0], channels, first[2], first[3]};
    y.ensure(st.output_dims);
    std::int64_t offset = 0;
    for (const Tensor* part : parts) {
      strided_copy(part->data(), part->dims()[1], y.data() + offset * first[2] * first[3], channels, part->dims());
      offset += part->dims()[1];
    }
  }

  static void concat_backward(ConcatState& st, const Tensor& dy, std::span<Tensor* const> part_grads) {
    if (part_grads.size() != st.part_dims.size())
      throw Error(fmt::format("concat backward: {} gradients asked for {} parts", part_grads.size(), st.part_dims.size()));
    const auto& out = st.output_dims;
    std::int64_t offset = 0;
    for (std::size_t i = 0; i < part_grads.size(); ++i) {
      const auto& d = st.part_dims[i];
      part_grads[i]->ensure(d);
      // From dy's rows of out[1] channels into the part's rows of d[1].
      CTNN_CUDA_CHECK(cudaMemcpy2DAsync(part_grads[i]->data(), d[1] * d[2] * d[3] * sizeof(float),
                                        dy.data() + offset * out[2] * out[3], out[1] * out[2] * out[3] * sizeof(float),
                                        d[1] * d[2] * d[3] * sizeof(float), d[0], cudaMemcpyDeviceToDevice,
                                        cuda::runtime().stream));
      offset += d[1];
    }
  }

  // --- softmax cross-entropy ---------------------------------------------------------------
  // queue() starts a batch's loss and gradient and returns at once (the gradient is ready for
  // backward in stream order); take() hands back the oldest result not taken yet, waiting for it
  // if the device isn't there yet. A training loop that takes each result a step late never
  // waits for the device. softmax_cross_entropy() is the two at once.
  struct SoftmaxCrossEntropyState {
    static constexpr int max_queued = 4;
    // One queued batch's host side: its labels (uploaded from here) and, once `done`, the
    // per-sample losses and the counters (correct; rows - first bad sample, or 0).
    struct Result {
      cuda::PinnedMemory host;
      cuda::Event done;
      int rows = 0, classes = 0;
      std::int32_t* labels() const { return static_cast<std::int32_t*>(host.get()); }
      float* losses() const { return reinterpret_cast<float*>(labels() + rows); }
      int* counters() const { return reinterpret_cast<int*>(losses() + rows); }
    };
    cuda::Dims built_for;
    cuda::TensorDescriptor desc;
    Tensor log_probabilities;
    cuda::DeviceMemory labels, losses, counters;
    std::array<Result, max_queued> results;
    int first = 0, queued = 0;  // results[first] is the oldest of `queued`
  };

  static void softmax_cross_entropy_queue(SoftmaxCrossEntropyState& st, const Tensor& logits,
                                          std::span<const std::int32_t> labels, Tensor& dlogits) {
    auto& rt = cuda::runtime();
    const auto& d = logits.dims();
    const int n = static_cast<int>(d[0]), classes = static_cast<int>(d[1]);
    if (static_cast<long>(labels.size()) != n)
      throw Error(fmt::format("softmax cross-entropy: {} labels for a batch of {}", labels.size(), n));
    if (st.built_for != d) {
      cuda::describe(st.desc, d);
      st.built_for = d;
    }
    st.log_probabilities.ensure(d);
    dlogits.ensure(d);
    st.labels.reserve(n * sizeof(std::int32_t));
    st.losses.reserve(n * sizeof(float));
    st.counters.reserve(2 * sizeof(int));
    // The labels go up from pinned memory: the result's slot or, while a CUDA graph is captured,
    // a cell that each replay refills; the slot is then taken after each launch.
    SoftmaxCrossEntropyState::Result* result = rt.capture ? nullptr : &next_result(st, n, classes, labels.data());
    const void* labels_from = result ? static_cast<const void*>(result->labels())
                                     : rt.capture->input(labels.data(), n * sizeof(std::int32_t));
    auto* counters = static_cast<int*>(st.counters.get());
    CTNN_CUDA_CHECK(cudnnSoftmaxForward(rt.cudnn, CUDNN_SOFTMAX_LOG, CUDNN_SOFTMAX_MODE_INSTANCE, &cuda::one, st.desc,
                                        logits.data(), &cuda::zero, st.desc, st.log_probabilities.data()));
    CTNN_CUDA_CHECK(cudaMemcpyAsync(st.labels.get(), labels_from, n * sizeof(std::int32_t), cudaMemcpyHostToDevice,
                                    rt.stream));
    CTNN_CUDA_CHECK(cudaMemsetAsync(counters, 0, 2 * sizeof(int), rt.stream));
    cuda::kernels::cross_entropy<<<cuda::kernels::blocks_for(n), cuda::kernels::threads, 0, rt.stream>>>(
        st.log_probabilities.data(), static_cast<const std::int32_t*>(st.labels.get()), dlogits.data(),
        static_cast<float*>(st.losses.get()), counters, counters + 1, n, classes);
    CTNN_CUDA_CHECK(cudaGetLastError());
    if (result) return copy_back(st, *result);
    rt.capture->after_launch.push_back([&st, labels_from, n, classes] {
      copy_back(st, next_result(st, n, classes, static_cast<const std::int32_t*>(labels_from)));
    });
  }

  static LossResult softmax_cross_entropy_take(SoftmaxCrossEntropyState& st) {
    if (st.queued == 0) throw Error("softmax cross-entropy: take() with no result queued");
    const auto& r = st.results[st.first];
    st.first = (st.first + 1) % st.max_queued;
    --st.queued;
    r.done.wait();
    if (const int bad = r.counters()[1]; bad != 0) {
      const int sample = r.rows - bad;
      throw Error(fmt::format("softmax cross-entropy: label {} of sample {} is outside [0, {})", r.labels()[sample],
                              sample, r.classes));
    }
    double total = 0;
    for (int i = 0; i < r.rows; ++i) total += r.losses()[i];
    return {static_cast<float>(total / r.rows), r.counters()[0]};
  }

  static LossResult softmax_cross_entropy(SoftmaxCrossEntropyState& st, const Tensor& logits,
                                          std::span<const std::int32_t> labels, Tensor& dlogits) {
    if (st.queued != 0)
      throw Error("softmax cross-entropy: a synchronous forward while queued results wait; take() them first");
    softmax_cross_entropy_queue(st, logits, labels, dlogits);
    return softmax_cross_entropy_take(st);
  }

  // --- optimizer updates -------------------------------------------------------------------
  static void adam_update(Buffer& value, const Buffer& grad, Buffer& m, Buffer& v, const AdamStep& s) {
    cuda::kernels::adam<<<cuda::kernels::blocks_for(value.size()), cuda::kernels::threads, 0, cuda::runtime().stream>>>(
        value.data(), grad.data(), m.data(), v.data(), value.size(), s);
    CTNN_CUDA_CHECK(cudaGetLastError());
  }

  static void sgd_update(Buffer& value, const Buffer& grad, Buffer& momentum, const SgdStep& s) {
    cuda::kernels::sgd<<<cuda::kernels::blocks_for(value.size()), cuda::kernels::threads, 0, cuda::runtime().stream>>>(
        value.data(), grad.data(), momentum.data(), value.size(), s);
    CTNN_CUDA_CHECK(cudaGetLastError());
  }

 private:
  // The slot for the next result, holding its labels (for a bad label's message).
  static SoftmaxCrossEntropyState::Result& next_result(SoftmaxCrossEntropyState& st, int n, int classes,
                                                       const std::int32_t* labels) {
    if (st.queued == st.max_queued)
      throw Error(fmt::format("softmax cross-entropy: {} results are queued already; take() one first", st.queued));
    auto& r = st.results[(st.first + st.queued) % st.max_queued];  // taken, so its copies are done
    r.host.reserve(static_cast<std::size_t>(n) * (sizeof(std::int32_t) + sizeof(float)) + 2 * sizeof(int));
    r.rows = n;
    r.classes = classes;
    std::copy(labels, labels + n, r.labels());
    return r;
  }

  // Queues the copies of the per-sample losses and counters into the slot; take() waits for them.
  static void copy_back(SoftmaxCrossEntropyState& st, SoftmaxCrossEntropyState::Result& r) {
    auto& rt = cuda::runtime();
    CTNN_CUDA_CHECK(
        cudaMemcpyAsync(r.losses(), st.losses.get(), r.rows * sizeof(float), cudaMemcpyDeviceToHost, rt.stream));
    CTNN_CUDA_CHECK(
        cudaMemcpyAsync(r.counters(), st.counters.get(), 2 * sizeof(int), cudaMemcpyDeviceToHost, rt.stream));
    r.done.record(rt.stream);
    ++st.queued;
  }

  // cudnnFind runs the candidates and waits for them, which a stream being captured can't do.
  static void no_search_while_capturing(const char* direction) {
    if (cuda::runtime().capture)
      throw Error(fmt::format("{}: no algorithm is chosen for this shape yet, and none can be searched for while a "
                              "CUDA graph is captured: run the step once without capturing first",
                              direction));
  }

  // The first of `found` candidates (fastest first, measured or by cuDNN's heuristics) that
  // ran, fits the workspace limit with the math type it was measured with, and, in
  // deterministic mode, is deterministic. The math type is left set on the descriptor.
  template <class Perf, class WorkspaceSize>
  static auto choose(ConvState& st, const Perf* perf, int found, const char* direction, WorkspaceSize workspace_size)
      -> AlgorithmChoice<decltype(perf->algo)> {
    ++cuda::counters().algorithm_searches;
    const bool deterministic = cuda::settings().deterministic;
    for (int i = 0; i < found; ++i) {
      const Perf& p = perf[i];
      if (p.status != CUDNN_STATUS_SUCCESS || (deterministic && p.determinism != CUDNN_DETERMINISTIC)) continue;
      CTNN_CUDA_CHECK(cudnnSetConvolutionMathType(st.conv, p.mathType));
      std::size_t bytes = 0;
      if (workspace_size(p.algo, &bytes) != CUDNN_STATUS_SUCCESS || bytes > workspace_limit) continue;
      return {p.algo, p.mathType, bytes};
    }
    throw Error(fmt::format("{}: none of cuDNN's {} candidate algorithms is {}usable within the {} MiB workspace limit",
                            direction, found, deterministic ? "deterministic and " : "", workspace_limit >> 20));
  }

  static void launch_dropout(const DropoutState& st, const Tensor& in, Tensor& out) {
    const std::size_t count = in.count();
    const auto* device_seed = st.seed_on_device ? static_cast<const std::uint64_t*>(st.device_seed.get()) : nullptr;
    cuda::kernels::dropout<<<cuda::kernels::blocks_for(count), cuda::kernels::threads, 0, cuda::runtime().stream>>>(
        in.data(), out.data(), count, device_seed, st.seed, st.threshold, st.keep_scale);
    CTNN_CUDA_CHECK(cudaGetLastError());
  }

  // Copies a part of `part_channels` channels (dims d) into rows of `total_channels` channels.
  static void strided_copy(const float* part, std::int64_t part_channels, float* whole, std::int64_t total_channels,
                           const cuda::Dims& d) {
    const std::size_t plane = static_cast<std::size_t>(d[2] * d[3]) * sizeof(float);
    CTNN_CUDA_CHECK(cudaMemcpy2DAsync(whole, total_channels * plane, part, part_channels * plane, part_channels * plane,
                                      d[0], cudaMemcpyDeviceToDevice, cuda::runtime().stream));
  }

  static void copy(const Tensor& from, Tensor& to) {
    CTNN_CUDA_CHECK(cudaMemcpyAsync(to.data(), from.data(), from.count() * sizeof(float), cudaMemcpyDeviceToDevice,
                                    cuda::runtime().stream));
  }
};

}  // namespace ctnn
