// SyncBN<C>: batch normalisation whose train-mode statistics are those of the whole
// data-parallel job's batch, not of this process's share of it (PyTorch's SyncBatchNorm).
// With R processes of batch B, a network of SyncBN trains as one process of batch R x B does;
// with BN each process normalises by its own B samples. In a single process, and in eval mode,
// it is BN. It needs no MPI itself: the sums over the processes go through
// Context::sum_over_processes, which distributed::DataParallel sets.
//
// Per train-mode pass it sums 2C + 1 numbers over the processes in forward (each channel's
// sum and sum of squares, and the count: the job's mean and biased variance follow) and 2C in
// backward (each channel's sums of dy and dy * x_hat, which the input gradient needs over the
// whole batch). Each is a blocking all-reduce, so SyncBN costs a round trip per layer and
// direction, and on the CPU two normalisation passes forward (this process's statistics,
// then normalising by the job's) and a correction pass backward.
//
// The CPU backend has it (backend/cpu/sync_batch_norm.hpp); the CUDA backend doesn't yet.
#pragma once
#include <algorithm>  // std::max
#include <cmath>      // std::sqrt
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include <fmt/core.h>

#include "ctnn/layers/batchnorm.hpp"  // BN: SyncBN has its shapes, parameters and eval mode

namespace ctnn {

// A backend's operations for SyncBN: specialised by the backends that have them.
template <class Backend>
struct SyncBatchNorm {
  static constexpr bool available = false;
};

template <int Channels>
struct SyncBN : BN<Channels> {
  static std::string name() { return fmt::format("SyncBN<{}>", Channels); }

  // Fuses with a following ReLU, as BN does (the names hide BN's, whose runtime is BN's own).
  template <class Next> static constexpr bool fuses_with = std::is_same_v<Next, ReLU>;

  template <class In, class B, bool FuseRelu = false>
  class Runtime {
    using Ops = SyncBatchNorm<B>;
    static_assert(Ops::available, "SyncBN: this backend has no synchronized batch norm (the CPU backend has one)");
    static constexpr std::size_t C = Channels;

   public:
    static constexpr BatchNormSpec spec{Channels, BN<Channels>::eps, BN<Channels>::momentum, FuseRelu};
    using Tensor = typename B::Tensor;

    void initialize(Rng&) {
      weight_.assign(std::vector<float>(C, 1.0f));
      bias_.assign(std::vector<float>(C, 0.0f));
      running_mean_.assign(std::vector<float>(C, 0.0f));
      running_var_.assign(std::vector<float>(C, 1.0f));
      batches_tracked_ = 0;
    }

    const Tensor& forward(const Tensor& x, Context<B>& context) {
      input_ = &x;
      BatchNormSpec s = spec;
      if (context.statistics_batch > 0) s.momentum = 1.0f / static_cast<float>(context.statistics_batch);
      train_ = context.mode == Mode::train;
      if (!train_) {  // the running statistics, as BN
        B::batch_norm_forward(eval_state_, s, x, weight_, bias_, running_mean_, running_var_, output_, Mode::eval);
        return output_;
      }
      batches_tracked_ = context.statistics_batch > 0 ? context.statistics_batch : batches_tracked_ + 1;  // as BN
      Ops::local_statistics(state_, s, x, mean_, variance_);
      // This batch's sums, then the job's: mean = S1 / N, biased variance = S2 / N - mean^2.
      // The local variance comes from a two-pass computation, so only the sums are at risk of
      // cancellation, and they are carried in double precision.
      const auto mean = mean_.to_vector(), variance = variance_.to_vector();
      const double n = static_cast<double>(x.batch()) * In::height * In::width;
      std::vector<double> sums(2 * C + 1);
      for (std::size_t c = 0; c < C; ++c) {
        sums[c] = n * mean[c];
        sums[C + c] = n * (static_cast<double>(variance[c]) + static_cast<double>(mean[c]) * mean[c]);
      }
      sums[2 * C] = n;
      synchronized_ = static_cast<bool>(context.sum_over_processes);
      if (synchronized_) context.sum_over_processes(sums);
      local_count_ = n;
      count_ = sums[2 * C];
      std::vector<float> job_mean(C), job_variance(C);
      for (std::size_t c = 0; c < C; ++c) {
        const double m = sums[c] / count_;
        job_mean[c] = static_cast<float>(m);
        job_variance[c] = static_cast<float>(std::max(0.0, sums[C + c] / count_ - m * m));
      }
      mean_.assign(job_mean);
      variance_.assign(job_variance);
      Ops::normalize(state_, s, x, weight_, bias_, mean_, variance_, output_);
      // PyTorch's update: the running variance takes the unbiased variance of the job's batch.
      const double unbias = count_ > 1 ? count_ / (count_ - 1) : 1.0;
      auto running_mean = running_mean_.to_vector(), running_var = running_var_.to_vector();
      for (std::size_t c = 0; c < C; ++c) {
        running_mean[c] = (1 - s.momentum) * running_mean[c] + s.momentum * job_mean[c];
        running_var[c] = (1 - s.momentum) * running_var[c] + s.momentum * static_cast<float>(job_variance[c] * unbias);
      }
      running_mean_.assign(running_mean);
      running_var_.assign(running_var);
      return output_;
    }

    const Tensor* backward(const Tensor& dy, Context<B>& context, bool want_dx) {
      if (!train_) {
        B::batch_norm_backward(eval_state_, spec, *input_, dy, weight_, bias_, running_mean_, running_var_,
                               weight_grad_, bias_grad_, input_grad_);
        return want_dx ? &input_grad_ : nullptr;
      }
      // The gradient as if the job's statistics were this batch's: dgamma = sum(dy x_hat) and
      // dbeta = sum(dy) over this batch (data-parallel training averages them over the
      // processes, as any gradient), and dx = gamma / sigma (dy - S1 / n - x_hat S2 / n) with
      // this batch's sums S1, S2 and count n.
      Ops::backward(state_, spec, *input_, dy, weight_, bias_, mean_, variance_, weight_grad_, bias_grad_, input_grad_);
      if (!want_dx || !synchronized_) return want_dx ? &input_grad_ : nullptr;
      // dx needs the job's sums and count instead: the difference is a_c x + b_c per channel,
      // with d1 = S1/n - S1_job/N, d2 = S2/n - S2_job/N, a = gamma d2 / sigma^2 and
      // b = gamma (d1 - d2 mean / sigma) / sigma.
      const auto dbeta = bias_grad_.to_vector(), dgamma = weight_grad_.to_vector();
      std::vector<double> sums(2 * C);
      for (std::size_t c = 0; c < C; ++c) sums[c] = dbeta[c], sums[C + c] = dgamma[c];
      context.sum_over_processes(sums);
      const auto gamma = weight_.to_vector(), mean = mean_.to_vector(), variance = variance_.to_vector();
      std::vector<float> a(C), b(C);
      for (std::size_t c = 0; c < C; ++c) {
        const double sigma = std::sqrt(static_cast<double>(variance[c]) + spec.eps);
        const double d1 = dbeta[c] / local_count_ - sums[c] / count_;
        const double d2 = dgamma[c] / local_count_ - sums[C + c] / count_;
        a[c] = static_cast<float>(gamma[c] * d2 / (sigma * sigma));
        b[c] = static_cast<float>(gamma[c] * (d1 - d2 * mean[c] / sigma) / sigma);
      }
      correction_scale_.assign(a);
      correction_shift_.assign(b);
      Ops::add_channel_affine(state_, *input_, correction_scale_, correction_shift_, input_grad_);
      return &input_grad_;
    }

    void collect(ParameterList<B>& list, const std::string& prefix) {
      list.push_back({prefix + "weight", {Channels}, &weight_, &weight_grad_});
      list.push_back({prefix + "bias", {Channels}, &bias_, &bias_grad_});
      list.push_back({prefix + "running_mean", {Channels}, &running_mean_, nullptr});
      list.push_back({prefix + "running_var", {Channels}, &running_var_, nullptr});
      list.counters.push_back({prefix + "num_batches_tracked", &batches_tracked_});
    }

   private:
    typename B::Buffer weight_{C}, bias_{C}, weight_grad_{C}, bias_grad_{C};
    typename B::Buffer running_mean_{C}, running_var_{C};
    std::int64_t batches_tracked_ = 0;  // as BN's: checkpoints store it
    typename B::Buffer mean_{C}, variance_{C};  // the last train-mode pass's: the job's batch statistics
    typename B::Buffer correction_scale_{C}, correction_shift_{C};
    typename Ops::State state_;
    typename B::BatchNormState eval_state_;
    Tensor output_, input_grad_;
    const Tensor* input_ = nullptr;
    bool train_ = true, synchronized_ = false;
    double local_count_ = 0, count_ = 0;  // samples x pixels per channel: this process's, the job's
  };

  template <class In, class B>
  using FusedRuntime = Runtime<In, B, true>;
};

}  // namespace ctnn

#if !defined(__CUDACC__) && (defined(CTNN_HAS_CPU_BACKEND) || __has_include(<oneapi/dnnl/dnnl.hpp>))
#include "ctnn/backend/cpu/sync_batch_norm.hpp"
#endif
