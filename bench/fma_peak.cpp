// The fp32 fused-multiply-add peak of this machine, measured: a loop of independent vector
// FMAs (AVX-512 where the CPU has it, else AVX2+FMA) on one thread, then on every hardware
// thread at once. The benchmarks divide achieved FLOP/s by these numbers ("% of peak").
// ONEDNN_MAX_CPU_ISA (or DNNL_MAX_CPU_ISA) set to an AVX2 level caps it at AVX2, as it caps
// oneDNN, so that an AVX-512 machine can stand in for an AVX2-only one.
//   fma_peak [SECONDS_PER_RUN]   (default 0.3; each figure is the best of 3 runs)
// Prints:
//   fma peak fp32 avx512: threads 1: 268.1 GFLOP/s (268.1 per thread)
//   fma peak fp32 avx512: threads 2: 530.2 GFLOP/s (265.1 per thread)
#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <strings.h>  // strcasecmp
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

// Independent accumulators hide the FMA latency (4 cycles) on two FMA pipes: at least 8 are
// needed. All of them and the two constants must fit in the vector registers, or the loop
// spills to memory and measures loads and stores instead: AVX-512 has 32 registers (16
// accumulators), AVX2 16 (12 accumulators, not 16: 16 + 2 spilled and read ~60 % of the peak).
// Each inner iteration is `Accumulators` FMAs of the register's floats.
constexpr long inner = 1 << 14;
constexpr int avx512_accumulators = 16, avx2_accumulators = 12;

__attribute__((target("avx512f"))) double fma_avx512(long rounds) {
  __m512 acc[avx512_accumulators];
  for (int i = 0; i < avx512_accumulators; ++i) acc[i] = _mm512_set1_ps(0.001f * static_cast<float>(i));
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (long r = 0; r < rounds; ++r)
    for (long k = 0; k < inner; ++k)
      for (int i = 0; i < avx512_accumulators; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  __m512 sum = acc[0];
  for (int i = 1; i < avx512_accumulators; ++i) sum = _mm512_add_ps(sum, acc[i]);
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, sum);
  double total = 0;
  for (float v : lanes) total += v;
  return total;
}

__attribute__((target("avx2,fma"))) double fma_avx2(long rounds) {
  __m256 acc[avx2_accumulators];
  for (int i = 0; i < avx2_accumulators; ++i) acc[i] = _mm256_set1_ps(0.001f * static_cast<float>(i));
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (long r = 0; r < rounds; ++r)
    for (long k = 0; k < inner; ++k)
      for (int i = 0; i < avx2_accumulators; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  __m256 sum = acc[0];
  for (int i = 1; i < avx2_accumulators; ++i) sum = _mm256_add_ps(sum, acc[i]);
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, sum);
  double total = 0;
  for (float v : lanes) total += v;
  return total;
}

struct Kernel {
  const char* name;
  int lanes;         // floats per register
  int accumulators;  // FMAs per inner iteration
  double (*run)(long);
};

// Runs `threads` copies of the kernel for about `seconds`; returns total GFLOP/s.
double measure(const Kernel& kernel, int threads, double seconds) {
  // Calibrate the round count on one thread so a run lasts about `seconds`.
  long rounds = 1;
  for (;;) {
    const auto t0 = clock_type::now();
    volatile double sink = kernel.run(rounds);
    (void)sink;
    const double t = std::chrono::duration<double>(clock_type::now() - t0).count();
    if (t > seconds / 4) {
      rounds = std::max(1L, static_cast<long>(static_cast<double>(rounds) * seconds / t));
      break;
    }
    rounds *= 2;
  }
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<double> elapsed(static_cast<std::size_t>(threads));
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      ready.fetch_add(1);
      while (!go.load()) std::this_thread::yield();
      const auto t0 = clock_type::now();
      volatile double sink = kernel.run(rounds);
      (void)sink;
      elapsed[static_cast<std::size_t>(t)] = std::chrono::duration<double>(clock_type::now() - t0).count();
    });
  while (ready.load() < threads) std::this_thread::yield();
  go.store(true);
  for (auto& th : pool) th.join();
  // Each thread's rate, summed: a thread that was descheduled for a while counts less.
  const double flops_per_thread = 2.0 * kernel.lanes * kernel.accumulators * static_cast<double>(inner) * static_cast<double>(rounds);
  double total = 0;
  for (double e : elapsed) total += flops_per_thread / e;
  return total / 1e9;
}

// True when the oneDNN ISA cap names an AVX2 level (AVX2, AVX2_VNNI) or below AVX-512.
bool capped_below_avx512() {
  const char* cap = std::getenv("ONEDNN_MAX_CPU_ISA");
  if (!cap) cap = std::getenv("DNNL_MAX_CPU_ISA");
  if (!cap) return false;
  for (const char* below : {"SSE41", "AVX", "AVX2", "AVX2_VNNI"})
    if (strcasecmp(cap, below) == 0) return true;
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 0.3;
  __builtin_cpu_init();
  Kernel kernel{"none", 0, 0, nullptr};
  if (__builtin_cpu_supports("avx512f") && !capped_below_avx512()) kernel = {"avx512", 16, avx512_accumulators, fma_avx512};
  else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) kernel = {"avx2", 8, avx2_accumulators, fma_avx2};
  else {
    std::printf("fma peak: this CPU has neither AVX-512 nor AVX2+FMA\n");
    return 1;
  }
  const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<int> counts{1};
  if (hw > 1) counts.push_back(hw);
  for (int threads : counts) {
    double best = 0;
    for (int rep = 0; rep < 3; ++rep) best = std::max(best, measure(kernel, threads, seconds));
    std::printf("fma peak fp32 %s: threads %d: %.1f GFLOP/s (%.1f per thread)\n", kernel.name, threads, best,
                best / threads);
    std::fflush(stdout);
  }
  return 0;
}
