// Would Winograd convolution, built from oneDNN's own GEMM, beat oneDNN's direct AVX2 kernel on
// the seed network's 3x3 layers? oneDNN 2.6 has Winograd only for AVX-512, so on an AVX2-only
// machine every convolution is `jit:avx2` direct, the same kernels PyTorch runs. This probe
// times, per layer shape (batch 128, forward, fp32, nChw8c as on AVX2):
//   direct    oneDNN's convolution primitive (what ctnn runs there)
//   winograd  F(4x4, 3x3): weight transform U = G g G^T, input transform V = B^T d B (6x6 tiles
//             at stride 4, in GCC vector code for AVX2), 36 GEMMs
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

#include "ctnn/backend/cpu/winograd_avx2.hpp"  // fused_forward

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

typedef float v8 __attribute__((vector_size(32)));  // one nChw8c channel block

struct Shape {
  int ic, oc, hw;
};

// B^T applied to 6 vectors d[0], d[s], ..., d[5s], into o[0], o[os], ...
__attribute__((target("avx2,fma"))) inline void input_rows(const v8* d, int s, v8* o, int os) {
  const v8 d0 = d[0], d1 = d[s], d2 = d[2 * s], d3 = d[3 * s], d4 = d[4 * s], d5 = d[5 * s];
  o[0] = 4 * d0 - 5 * d2 + d4;
  o[os] = -4 * d1 - 4 * d2 + d3 + d4;
  o[2 * os] = 4 * d1 - 4 * d2 - d3 + d4;
  o[3 * os] = -2 * d1 - d2 + 2 * d3 + d4;
  o[4 * os] = 2 * d1 - d2 - 2 * d3 + d4;
  o[5 * os] = 4 * d1 - 5 * d3 + d5;
}

// A^T applied to 6 vectors, into 4.
__attribute__((target("avx2,fma"))) inline void output_rows(const v8* m, int s, v8* o, int os) {
  const v8 a = m[s] + m[2 * s], b = m[s] - m[2 * s], c = m[3 * s] + m[4 * s], e = m[3 * s] - m[4 * s];
  o[0] = m[0] + a + c;
  o[os] = b + 2 * e;
  o[2 * os] = a + 4 * c;
  o[3 * os] = b + 8 * e + m[5 * s];
}

// U[a][ic][oc] = (G g[oc][ic] G^T)[a], g plain oihw.
void transform_weights(const Shape& s, const float* g, float* u) {
  static const float G[6][3] = {{0.25f, 0, 0},           {-1 / 6.f, -1 / 6.f, -1 / 6.f}, {-1 / 6.f, 1 / 6.f, -1 / 6.f},
                                {1 / 24.f, 1 / 12.f, 1 / 6.f}, {1 / 24.f, -1 / 12.f, 1 / 6.f}, {0, 0, 1}};
#pragma omp parallel for
  for (int ic = 0; ic < s.ic; ++ic)
    for (int oc = 0; oc < s.oc; ++oc) {
      const float* k = g + (static_cast<long>(oc) * s.ic + ic) * 9;
      float t[6][3];
      for (int i = 0; i < 6; ++i)
        for (int j = 0; j < 3; ++j) t[i][j] = G[i][0] * k[j] + G[i][1] * k[3 + j] + G[i][2] * k[6 + j];
      for (int i = 0; i < 6; ++i)
        for (int j = 0; j < 6; ++j)
          u[(static_cast<long>(i * 6 + j) * s.ic + ic) * s.oc + oc] = t[i][0] * G[j][0] + t[i][1] * G[j][1] + t[i][2] * G[j][2];
    }
}

// V laid out [tile][a][ic], so that one tile's 36 points are written together; the matmul
// reads V[a] as a T x IC matrix with row stride 36 IC.
__attribute__((target("avx2,fma"))) void transform_input(const Shape& s, long n, const float* x, float* v) {
  const int tiles = s.hw / 4, blocks = s.ic / 8, hw = s.hw;
#pragma omp parallel for collapse(2)
  for (long b = 0; b < n; ++b)
    for (int cb = 0; cb < blocks; ++cb) {
      const float* plane = x + (b * blocks + cb) * hw * hw * 8;
      for (int ty = 0; ty < tiles; ++ty)
        for (int tx = 0; tx < tiles; ++tx) {
          v8 d[36], t[36], o[36];
          for (int i = 0; i < 6; ++i)
            for (int j = 0; j < 6; ++j) {
              const int yy = ty * 4 - 1 + i, xx = tx * 4 - 1 + j;  // padding 1
              if (yy >= 0 && yy < hw && xx >= 0 && xx < hw) __builtin_memcpy(&d[i * 6 + j], plane + (yy * hw + xx) * 8, 32);
              else d[i * 6 + j] = v8{};
            }
          for (int j = 0; j < 6; ++j) input_rows(d + j, 6, t + j, 6);
          for (int i = 0; i < 6; ++i) input_rows(t + i * 6, 1, o + i * 6, 1);
          const long tile = (b * tiles + ty) * tiles + tx;
          for (int a = 0; a < 36; ++a) __builtin_memcpy(v + (tile * 36 + a) * s.ic + cb * 8, &o[a], 32);
        }
    }
}

__attribute__((target("avx2,fma"))) void transform_output(const Shape& s, long n, const float* m, const float* bias,
                                                          float* y) {
  const int tiles = s.hw / 4, blocks = s.oc / 8, hw = s.hw;
#pragma omp parallel for collapse(2)
  for (long b = 0; b < n; ++b)
    for (int ob = 0; ob < blocks; ++ob) {
      float* plane = y + (b * blocks + ob) * hw * hw * 8;
      v8 add;
      __builtin_memcpy(&add, bias + ob * 8, 32);
      for (int ty = 0; ty < tiles; ++ty)
        for (int tx = 0; tx < tiles; ++tx) {
          v8 p[36], t[24], o[16];
          const long tile = (b * tiles + ty) * tiles + tx;
          for (int a = 0; a < 36; ++a) __builtin_memcpy(&p[a], m + (tile * 36 + a) * s.oc + ob * 8, 32);
          for (int j = 0; j < 6; ++j) output_rows(p + j, 6, t + j, 6);
          for (int i = 0; i < 4; ++i) output_rows(t + i * 6, 1, o + i * 4, 1);
          for (int i = 0; i < 4; ++i)
            for (int j = 0; j < 4; ++j) {
              const v8 r = o[i * 4 + j] + add;
              __builtin_memcpy(plane + ((ty * 4 + i) * hw + tx * 4 + j) * 8, &r, 32);
            }
        }
    }
}

void probe(const Shape& s, int reps) {
  const long n = 128, T = n * (s.hw / 4) * (s.hw / 4);
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

  const memory::desc v_desc({36, T, s.ic}, dt::f32, memory::dims{s.ic, 36L * s.ic, 1});
  const memory::desc u_desc({36, s.ic, s.oc}, dt::f32, tag::abc);
  const memory::desc m_desc({36, T, s.oc}, dt::f32, memory::dims{s.oc, 36L * s.oc, 1});
  const matmul::primitive_desc gemm_pd({v_desc, u_desc, m_desc}, eng());
  matmul gemm(gemm_pd);
  memory v(v_desc, eng()), u(u_desc, eng()), m(m_desc, eng());
  double parts[4] = {0, 0, 0, 0};
  const auto run = [&] {
    using clock = std::chrono::steady_clock;
    const auto t0 = clock::now();
    transform_weights(s, wp, static_cast<float*>(u.get_data_handle()));
    const auto t1 = clock::now();
    transform_input(s, n, xp, static_cast<float*>(v.get_data_handle()));
    const auto t2 = clock::now();
    gemm.execute(strm(), {{DNNL_ARG_SRC, v}, {DNNL_ARG_WEIGHTS, u}, {DNNL_ARG_DST, m}});
    strm().wait();
    const auto t3 = clock::now();
    transform_output(s, n, static_cast<float*>(m.get_data_handle()), bp, static_cast<float*>(y_winograd.get_data_handle()));
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
  // ctnn's fused Winograd (winograd_avx2.hpp): the weight transform, then blocks of tiles kept in L2.
  namespace wg = ctnn::cpu::winograd;
  const wg::Problem problem{n, s.ic, s.oc, s.hw, s.hw};
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
