// Winograd F(4x4, 3x3) for AVX2-only machines, where oneDNN 2.6 has none and every convolution
// runs its direct kernel. Built from oneDNN's batched matmul: the weights go to U = G g G^T and
// each 6x6 input tile at stride 4 to V = B^T d B, then 36 GEMMs M[a] = V[a] U[a] and the output
// tiles A^T M A. The transforms work on nChw8c (AVX2's blocked layout), one 8-channel vector at
// a time. bench/winograd_probe.cpp measured it against the direct kernel, batch 128, one thread:
// 1.5-1.9x where images are at most 16x16 and there are at least 64 input channels, slower on
// larger images (docs/performance.md, "AVX2-only machines"); conv_build uses it there only.
// Backward-data is the same convolution of dy with the weights flipped and transposed, and
// backward-weights the products of V and the transformed dy (transform_output_gradient).
#pragma once
#include <algorithm>  // std::fill_n
#include <cstdint>
#include <vector>

#include <immintrin.h>

#include <oneapi/dnnl/dnnl.hpp>

namespace ctnn::cpu::winograd {

typedef float v8 __attribute__((vector_size(32)));  // one nChw8c channel block

// B^T applied to 6 vectors d[0], d[s], ..., d[5s], into o[0], o[os], ..., o[5os].
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

// F(4x4, 3x3)'s kernel transform G (6x3): U = G g G^T.
inline constexpr float G[6][3] = {{0.25f, 0, 0},
                                  {-1 / 6.f, -1 / 6.f, -1 / 6.f},
                                  {-1 / 6.f, 1 / 6.f, -1 / 6.f},
                                  {1 / 24.f, 1 / 12.f, 1 / 6.f},
                                  {1 / 24.f, -1 / 12.f, 1 / 6.f},
                                  {0, 0, 1}};

// v = B^T d B for the 6x6 tile of one nChw8c plane (h x w, padding 1) whose output tile is (ty, tx).
__attribute__((target("avx2,fma"), always_inline)) inline void input_tile(const float* plane, int h, int w, int ty,
                                                                           int tx, v8 v[36]) {
  v8 d[36], t[36];
  for (int r = 0; r < 6; ++r)
    for (int c = 0; c < 6; ++c) {
      const int y = ty * 4 - 1 + r, x = tx * 4 - 1 + c;
      if (y >= 0 && y < h && x >= 0 && x < w) __builtin_memcpy(&d[r * 6 + c], plane + (y * w + x) * 8, 32);
      else d[r * 6 + c] = v8{};
    }
  for (int c = 0; c < 6; ++c) input_rows(d + c, 6, t + c, 6);
  for (int r = 0; r < 6; ++r) input_rows(t + r * 6, 1, v + r * 6, 1);
}

// Output tile (ty, tx) of one nChw8c plane (w wide) = A^T m A + add.
__attribute__((target("avx2,fma"), always_inline)) inline void output_tile(const v8 m[36], v8 add, int w, int ty,
                                                                            int tx, float* plane) {
  v8 t[24], o[16];
  for (int c = 0; c < 6; ++c) output_rows(m + c, 6, t + c, 6);
  for (int r = 0; r < 4; ++r) output_rows(t + r * 6, 1, o + r * 4, 1);
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) {
      const v8 value = o[r * 4 + c] + add;
      __builtin_memcpy(plane + ((ty * 4 + r) * w + tx * 4 + c) * 8, &value, 32);
    }
}

// One convolution's shape as the transforms see it: `in` channels to `out`, h x w images.
struct Problem {
  long batch;
  int in, out, h, w;
  long tiles() const { return batch * (h / 4) * (w / 4); }
};

// U[a][i][o] = (G g G^T)[a] for the 3x3 kernel g from input channel i to output channel o, read
// from oihw weights `k` (out_channels x in_channels x 3 x 3). flipped: backward-data's kernel,
// from output channel i to input channel o of the forward: k[i][o] turned 180 degrees.
inline void transform_weights(const Problem& p, const float* k, float* u, bool flipped) {
#pragma omp parallel for schedule(static)
  for (int i = 0; i < p.in; ++i)
    for (int o = 0; o < p.out; ++o) {
      float g[9];
      const float* src = flipped ? k + (static_cast<long>(i) * p.out + o) * 9 : k + (static_cast<long>(o) * p.in + i) * 9;
      for (int e = 0; e < 9; ++e) g[e] = flipped ? src[8 - e] : src[e];
      float t[6][3];
      for (int r = 0; r < 6; ++r)
        for (int c = 0; c < 3; ++c) t[r][c] = G[r][0] * g[c] + G[r][1] * g[3 + c] + G[r][2] * g[6 + c];
      for (int r = 0; r < 6; ++r)
        for (int c = 0; c < 6; ++c)
          u[(static_cast<long>(r * 6 + c) * p.in + i) * p.out + o] = t[r][0] * G[c][0] + t[r][1] * G[c][1] + t[r][2] * G[c][2];
    }
}

// V laid out [tile][a][channel], so that a tile's 36 points are written together; the matmul
// reads V[a] as a tiles x in matrix with row stride 36 in. x is nChw8c with padding 1.
__attribute__((target("avx2,fma"))) inline void transform_input(const Problem& p, const float* x, float* v) {
  const int ty_count = p.h / 4, tx_count = p.w / 4, blocks = p.in / 8, h = p.h, w = p.w;
#pragma omp parallel for collapse(2) schedule(static)
  for (long n = 0; n < p.batch; ++n)
    for (int cb = 0; cb < blocks; ++cb) {
      const float* plane = x + (n * blocks + cb) * h * w * 8;
      for (int ty = 0; ty < ty_count; ++ty)
        for (int tx = 0; tx < tx_count; ++tx) {
          v8 o[36];
          input_tile(plane, h, w, ty, tx, o);
          const long tile = (n * ty_count + ty) * tx_count + tx;
          for (int a = 0; a < 36; ++a) __builtin_memcpy(v + (tile * 36 + a) * p.in + cb * 8, &o[a], 32);
        }
    }
}

// y (nChw8c) = A^T M A for each tile, plus bias when given.
__attribute__((target("avx2,fma"))) inline void transform_output(const Problem& p, const float* m, const float* bias,
                                                                 float* y) {
  const int ty_count = p.h / 4, tx_count = p.w / 4, blocks = p.out / 8, h = p.h, w = p.w;
#pragma omp parallel for collapse(2) schedule(static)
  for (long n = 0; n < p.batch; ++n)
    for (int ob = 0; ob < blocks; ++ob) {
      float* plane = y + (n * blocks + ob) * h * w * 8;
      v8 add{};
      if (bias) __builtin_memcpy(&add, bias + ob * 8, 32);
      for (int ty = 0; ty < ty_count; ++ty)
        for (int tx = 0; tx < tx_count; ++tx) {
          v8 q[36];
          const long tile = (n * ty_count + ty) * tx_count + tx;
          for (int a = 0; a < 36; ++a) __builtin_memcpy(&q[a], m + (tile * 36 + a) * p.out + ob * 8, 32);
          output_tile(q, add, w, ty, tx, plane);
        }
    }
}

// Backward-weights. Each output tile is y = A^T (U . V) A, so dU[a] = sum over tiles of
// V[a]^T dM[a] with dM = A dy A^T; then dg = G^T dU G. dM is laid out as M is.
__attribute__((target("avx2,fma"))) inline void transform_output_gradient(const Problem& p, const float* dy, float* dm) {
  const int ty_count = p.h / 4, tx_count = p.w / 4, blocks = p.out / 8, h = p.h, w = p.w;
  // A applied to 4 vectors, into 6 (the transpose of output_rows).
  const auto rows = [](const v8* u, int s, v8* o, int os) {
    const v8 u0 = u[0], u1 = u[s], u2 = u[2 * s], u3 = u[3 * s];
    o[0] = u0;
    o[os] = u0 + u1 + u2 + u3;
    o[2 * os] = u0 - u1 + u2 - u3;
    o[3 * os] = u0 + 2 * u1 + 4 * u2 + 8 * u3;
    o[4 * os] = u0 - 2 * u1 + 4 * u2 - 8 * u3;
    o[5 * os] = u3;
  };
#pragma omp parallel for collapse(2) schedule(static)
  for (long n = 0; n < p.batch; ++n)
    for (int ob = 0; ob < blocks; ++ob) {
      const float* plane = dy + (n * blocks + ob) * h * w * 8;
      for (int ty = 0; ty < ty_count; ++ty)
        for (int tx = 0; tx < tx_count; ++tx) {
          v8 d[16], t[24], o[36];
          for (int r = 0; r < 4; ++r)
            for (int c = 0; c < 4; ++c) __builtin_memcpy(&d[r * 4 + c], plane + ((ty * 4 + r) * w + tx * 4 + c) * 8, 32);
          for (int c = 0; c < 4; ++c) rows(d + c, 4, t + c, 4);      // 6 x 4
          for (int r = 0; r < 6; ++r) rows(t + r * 4, 1, o + r * 6, 1);  // 6 x 6
          const long tile = (n * ty_count + ty) * tx_count + tx;
          for (int a = 0; a < 36; ++a) __builtin_memcpy(dm + (tile * 36 + a) * p.out + ob * 8, &o[a], 32);
        }
    }
}

// dg (oihw) = G^T dU[.][i][o] G for each pair of channels.
inline void transform_weight_gradient(const Problem& p, const float* du, float* dg) {
#pragma omp parallel for schedule(static)
  for (int o = 0; o < p.out; ++o)
    for (int i = 0; i < p.in; ++i) {
      float x[6][6], t[3][6];
      for (int a = 0; a < 36; ++a) x[a / 6][a % 6] = du[(static_cast<long>(a) * p.in + i) * p.out + o];
      for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 6; ++c) {
          float sum = 0;
          for (int k = 0; k < 6; ++k) sum += G[k][r] * x[k][c];
          t[r][c] = sum;
        }
      float* g = dg + (static_cast<long>(o) * p.in + i) * 9;
      for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 3; ++c) {
          float sum = 0;
          for (int k = 0; k < 6; ++k) sum += t[r][k] * G[k][c];
          g[r * 3 + c] = sum;
        }
    }
}

// db[o] = the sum of dy (nChw8c) over the batch and the image.
__attribute__((target("avx2,fma"))) inline void bias_gradient(const Problem& p, const float* dy, float* db) {
  const int blocks = p.out / 8;
  const long pixels = static_cast<long>(p.h) * p.w;
#pragma omp parallel for schedule(static)
  for (int ob = 0; ob < blocks; ++ob) {
    v8 sum{};
    for (long n = 0; n < p.batch; ++n) {
      const float* plane = dy + (n * blocks + ob) * pixels * 8;
      for (long q = 0; q < pixels; ++q) {
        v8 value;
        __builtin_memcpy(&value, plane + q * 8, 32);
        sum += value;
      }
    }
    __builtin_memcpy(db + ob * 8, &sum, 32);
  }
}

// Fused forward (and backward-data) for layers with up to 128 channels in and out together: there
// the unfused V and M (2.25x the activations each, written and read back) and the matmul's short
// inner dimension cost more than the 4x fewer multiplications save (winograd_probe: 0.76x and
// 0.99x the direct kernel on 32x32 and 16x16 with 32 channels). Here each thread takes a block
// of tiles small enough that its V[a][tile][in] and M[a][tile][out] stay in L2, transforms it,
// multiplies with its own 6x16 AVX2 kernel against U[a][in][out] (at most 16 KB a point), and
// writes the output tiles at once (1.3x and 1.85x the direct kernel on those two layers).
constexpr int fused_rows = 6;  // tiles per micro-kernel call

// m[r][o0..o0+8*C) = v[r][:] u[:][o0..): rows 6 tiles of v (row stride `in`), C vectors of out.
template <int C>
__attribute__((target("avx2,fma"))) inline void gemm_6xc(int in, int out, const float* v, const float* u, float* m) {
  __m256 acc[fused_rows][C];
#pragma GCC unroll 6
  for (int r = 0; r < fused_rows; ++r)
#pragma GCC unroll 2
    for (int c = 0; c < C; ++c) acc[r][c] = _mm256_setzero_ps();
  for (int k = 0; k < in; ++k) {
    __m256 b[C];
#pragma GCC unroll 2
    for (int c = 0; c < C; ++c) b[c] = _mm256_loadu_ps(u + static_cast<long>(k) * out + 8 * c);
#pragma GCC unroll 6
    for (int r = 0; r < fused_rows; ++r) {
      const __m256 a = _mm256_broadcast_ss(v + r * in + k);
#pragma GCC unroll 2
      for (int c = 0; c < C; ++c) acc[r][c] = _mm256_fmadd_ps(a, b[c], acc[r][c]);
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < fused_rows; ++r)
#pragma GCC unroll 2
    for (int c = 0; c < C; ++c) _mm256_storeu_ps(m + r * out + 8 * c, acc[r][c]);
}

// Tiles per block: V and M of a block within about 256 KB, a whole number of kernel rows.
inline int fused_block_tiles(const Problem& p) {
  const int tiles = (64 * 1024) / (36 * (p.in + p.out)) / fused_rows * fused_rows;
  return tiles < fused_rows ? fused_rows : tiles;
}

// y (nChw8c) = the convolution of x (nChw8c, padding 1) by the transformed weights u
// ([36][in][out], transform_weights), plus bias when given.
__attribute__((target("avx2,fma"))) inline void fused_forward(const Problem& p, const float* u, const float* x,
                                                              const float* bias, float* y) {
  const int ty_count = p.h / 4, tx_count = p.w / 4, in_blocks = p.in / 8, out_blocks = p.out / 8, h = p.h, w = p.w;
  const long total = p.tiles(), per_image = static_cast<long>(ty_count) * tx_count;
  const int block = fused_block_tiles(p);
  const long blocks = (total + block - 1) / block;
#pragma omp parallel
  {
    static thread_local std::vector<float> v_buffer, m_buffer;
    v_buffer.resize(36L * block * p.in);
    m_buffer.resize(36L * block * p.out);
    float* const vb = v_buffer.data();
    float* const mb = m_buffer.data();
#pragma omp for schedule(static)
    for (long b = 0; b < blocks; ++b) {
      const long first = b * block;
      const int count = static_cast<int>(total - first < block ? total - first : block);
      // V[a][t][in] for the block's tiles; rows past the last tile zero (computed, never written).
      for (int t = 0; t < block; ++t) {
        if (t >= count) {
          for (int a = 0; a < 36; ++a) std::fill_n(vb + (static_cast<long>(a) * block + t) * p.in, p.in, 0.0f);
          continue;
        }
        const long tile = first + t, n = tile / per_image;
        const int ty = static_cast<int>(tile % per_image) / tx_count, tx = static_cast<int>(tile % per_image) % tx_count;
        for (int cb = 0; cb < in_blocks; ++cb) {
          const float* plane = x + (n * in_blocks + cb) * h * w * 8;
          v8 o[36];
          input_tile(plane, h, w, ty, tx, o);
          for (int a = 0; a < 36; ++a) __builtin_memcpy(vb + (static_cast<long>(a) * block + t) * p.in + cb * 8, &o[a], 32);
        }
      }
      // M[a] = V[a] U[a], 6 tiles by 16 (then 8) outputs at a time.
      for (int a = 0; a < 36; ++a) {
        const float* va = vb + static_cast<long>(a) * block * p.in;
        const float* ua = u + static_cast<long>(a) * p.in * p.out;
        float* ma = mb + static_cast<long>(a) * block * p.out;
        for (int t = 0; t < count; t += fused_rows) {
          int o = 0;
          for (; o + 16 <= p.out; o += 16) gemm_6xc<2>(p.in, p.out, va + t * p.in, ua + o, ma + t * p.out + o);
          if (o < p.out) gemm_6xc<1>(p.in, p.out, va + t * p.in, ua + o, ma + t * p.out + o);
        }
      }
      // The output tiles A^T M A (+ bias).
      for (int t = 0; t < count; ++t) {
        const long tile = first + t, n = tile / per_image;
        const int ty = static_cast<int>(tile % per_image) / tx_count, tx = static_cast<int>(tile % per_image) % tx_count;
        for (int ob = 0; ob < out_blocks; ++ob) {
          float* plane = y + (n * out_blocks + ob) * h * w * 8;
          v8 add{};
          if (bias) __builtin_memcpy(&add, bias + ob * 8, 32);
          v8 q[36];
          for (int a = 0; a < 36; ++a) __builtin_memcpy(&q[a], mb + (static_cast<long>(a) * block + t) * p.out + ob * 8, 32);
          output_tile(q, add, w, ty, tx, plane);
        }
      }
    }
  }
}

// dU[a] = V[a]^T dM[a]: V read transposed (in x tiles) from its [tile][a][in] layout.
inline dnnl::matmul::primitive_desc weight_gradient_gemm_desc(const Problem& p, const dnnl::engine& engine) {
  using dnnl::memory;
  const memory::dim t = p.tiles(), in = p.in, out = p.out;
  const memory::desc vt({36, in, t}, memory::data_type::f32, memory::dims{in, 1, 36 * in});
  const memory::desc dm({36, t, out}, memory::data_type::f32, memory::dims{out, 36 * out, 1});
  const memory::desc du({36, in, out}, memory::data_type::f32, memory::format_tag::abc);
  return dnnl::matmul::primitive_desc({vt, dm, du}, engine);
}

// The 36 GEMMs as one oneDNN matmul, over V and M in the layouts above and U plain.
inline dnnl::matmul::primitive_desc gemm_desc(const Problem& p, const dnnl::engine& engine) {
  using dnnl::memory;
  const memory::dim t = p.tiles(), in = p.in, out = p.out;
  const memory::desc v({36, t, in}, memory::data_type::f32, memory::dims{in, 36 * in, 1});
  const memory::desc u({36, in, out}, memory::data_type::f32, memory::format_tag::abc);
  const memory::desc m({36, t, out}, memory::data_type::f32, memory::dims{out, 36 * out, 1});
  return dnnl::matmul::primitive_desc({v, u, m}, engine);
}

}  // namespace ctnn::cpu::winograd
