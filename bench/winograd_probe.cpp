// Would Winograd convolution, built from oneDNN's own GEMM, beat oneDNN's direct AVX2 kernel on
// the seed network's 3x3 layers? oneDNN 2.6 has Winograd only for AVX-512, so on an AVX2-only
// machine every convolution is `jit:avx2` direct, the same kernels PyTorch runs. This probe
// times, per layer shape (batch 128, forward, fp32, nChw8c as on AVX2):
//   direct    oneDNN's convolution primitive (what ctnn runs there)
//   winograd  F(4x4, 3x3): weight transform U = G g G^T, input transform V = B^T d B (6x6 tiles
//             at stride 4, ctnn's winograd_avx2.hpp), 36 GEMMs
//             M[a] = V[a] U[a] as one batched oneDNN matmul, output transform A^T M A + bias
// and checks that the two agree. Run it capped at AVX2 on an AVX-512 machine:
//   ONEDNN_MAX_CPU_ISA=AVX2 OMP_NUM_THREADS=1 build/bench/winograd_probe
// docs/performance.md ("AVX2-only machines") has what it printed.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "ctnn/backend/cpu/winograd_avx2.hpp"  // the transforms, gemm_desc, fused_forward

namespace {

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

engine& eng() {
  static engine e(engine::kind::cpu, 0);
  return e;
}
stream& strm() {
  static stream s(eng());
  return s;
}

// Milliseconds per call of f, after one untimed call.
template <class F>
double time_ms(F&& f, int reps) {
  f();
  strm().wait();
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < reps; ++i) f();
  strm().wait();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() / reps;
}

struct Shape {
  int ic, oc, hw;
};

void probe(const Shape& s, int reps) {
  const long n = 128;
  const memory::dims dims_x{n, s.ic, s.hw, s.hw}, dims_y{n, s.oc, s.hw, s.hw}, dims_w{s.oc, s.ic, 3, 3};
  const memory::desc x_desc(dims_x, dt::f32, tag::aBcd8b), y_desc(dims_y, dt::f32, tag::aBcd8b);
  const memory::desc bias_desc({s.oc}, dt::f32, tag::a);
  const convolution_forward::primitive_desc conv_pd(
      {prop_kind::forward_training, algorithm::convolution_direct, x_desc, {dims_w, dt::f32, tag::any}, bias_desc,
       y_desc, {1, 1}, {1, 1}, {1, 1}},
      eng());
  memory x(x_desc, eng()), w({dims_w, dt::f32, tag::abcd}, eng()), w_blocked(conv_pd.weights_desc(), eng());
  memory bias(bias_desc, eng()), y_direct(y_desc, eng()), y_winograd(y_desc, eng());
  auto* xp = static_cast<float*>(x.get_data_handle());
  for (long i = 0; i < n * s.ic * s.hw * s.hw; ++i) xp[i] = std::sin(0.37f * static_cast<float>(i));
  auto* wp = static_cast<float*>(w.get_data_handle());
  for (long i = 0; i < s.oc * s.ic * 9L; ++i) wp[i] = 0.1f * std::cos(0.11f * static_cast<float>(i));
  auto* bp = static_cast<float*>(bias.get_data_handle());
  for (int i = 0; i < s.oc; ++i) bp[i] = 0.01f * static_cast<float>(i);
  reorder(w, w_blocked).execute(strm(), w, w_blocked);
  convolution_forward conv(conv_pd);
  const double direct = time_ms(
      [&] {
        conv.execute(strm(), {{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, w_blocked}, {DNNL_ARG_BIAS, bias}, {DNNL_ARG_DST, y_direct}});
      },
      reps);

  // ctnn's Winograd (winograd_avx2.hpp), unfused: the transforms around one batched matmul.
  namespace wg = ctnn::cpu::winograd;
  const wg::Problem problem{n, s.ic, s.oc, s.hw, s.hw};
  const matmul::primitive_desc gemm_pd = wg::gemm_desc(problem, eng());
  matmul gemm(gemm_pd);
  memory v(gemm_pd.src_desc(), eng()), u(gemm_pd.weights_desc(), eng()), m(gemm_pd.dst_desc(), eng());
  double parts[4] = {0, 0, 0, 0};
  const auto run = [&] {
    using clock = std::chrono::steady_clock;
    const auto t0 = clock::now();
    wg::transform_weights(problem, wp, static_cast<float*>(u.get_data_handle()), false);
    const auto t1 = clock::now();
    wg::transform_input(problem, xp, static_cast<float*>(v.get_data_handle()));
    const auto t2 = clock::now();
    gemm.execute(strm(), {{DNNL_ARG_SRC, v}, {DNNL_ARG_WEIGHTS, u}, {DNNL_ARG_DST, m}});
    strm().wait();
    const auto t3 = clock::now();
    wg::transform_output(problem, static_cast<float*>(m.get_data_handle()), bp, static_cast<float*>(y_winograd.get_data_handle()));
    const auto t4 = clock::now();
    const auto ms = [](auto a, auto b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
    parts[0] += ms(t0, t1), parts[1] += ms(t1, t2), parts[2] += ms(t2, t3), parts[3] += ms(t3, t4);
  };
  const double winograd = time_ms(run, reps);
  double worst = 0, largest = 0;
  const auto* a = static_cast<const float*>(y_direct.get_data_handle());
  const auto* b = static_cast<const float*>(y_winograd.get_data_handle());
  for (long i = 0; i < n * s.oc * s.hw * s.hw; ++i) {
    worst = std::max(worst, static_cast<double>(std::fabs(a[i] - b[i])));
    largest = std::max(largest, static_cast<double>(std::fabs(a[i])));
  }
  for (double& p : parts) p /= reps + 1;
  // ctnn's fused Winograd: the weight transform, then blocks of tiles kept in L2.
  std::vector<float> u_fused(36L * s.ic * s.oc), y_fused(static_cast<std::size_t>(n) * s.oc * s.hw * s.hw);
  const double fused = time_ms(
      [&] {
        wg::transform_weights(problem, wp, u_fused.data(), false);
        wg::fused_forward(problem, u_fused.data(), xp, bp, y_fused.data());
      },
      reps);
  double worst_fused = 0;
  for (long i = 0; i < n * s.oc * s.hw * s.hw; ++i)
    worst_fused = std::max(worst_fused, static_cast<double>(std::fabs(a[i] - y_fused[static_cast<std::size_t>(i)])));
  std::printf("Conv<%d,%d> %dx%d: direct %.2f ms, winograd %.2f ms (%.2fx; weights %.2f, input %.2f, %s matmul %.2f, "
              "output %.2f); largest difference %.1e of outputs up to %.2f\n",
              s.ic, s.oc, s.hw, s.hw, direct, winograd, direct / winograd, parts[0], parts[1], gemm_pd.impl_info_str(),
              parts[2], parts[3], worst, largest);
  std::printf("  fused winograd %.2f ms (%.2fx direct), largest difference %.1e\n", fused, direct / fused, worst_fused);
}

}  // namespace

int main(int argc, char** argv) {
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
    std::printf("winograd_probe: needs AVX2 and FMA\n");
    return 1;
  }
  const int reps = argc > 1 ? std::atoi(argv[1]) : 5;
  for (const Shape s : {Shape{128, 128, 8}, Shape{64, 128, 8}, Shape{64, 64, 16}, Shape{32, 64, 16}, Shape{64, 32, 16},
                        Shape{32, 32, 32}, Shape{64, 64, 32}})
    probe(s, reps);
  return 0;
}
