// A small, fast, seedable random generator (xoshiro256** seeded through splitmix64).
// Every random choice in ctnn (initialisation, dropout) draws from one of these, so a seed
// reproduces a run exactly.
#pragma once
#include <array>
#include <cstdint>

namespace ctnn {

inline constexpr std::uint64_t golden_gamma = 0x9E3779B97F4A7C15ull;  // 2^64 / golden ratio

// splitmix64's finaliser: mixes 64 bits bijectively.
constexpr std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// A hash of (seed, counter): any thread or GPU kernel can compute draw number `counter` of a
// stream without the ones before it. Dropout masks come from it on both backends.
constexpr std::uint64_t counter_hash(std::uint64_t seed, std::uint64_t counter) {
  return mix64(seed + (counter + 1) * golden_gamma);
}

class Rng {
 public:
  explicit Rng(std::uint64_t seed = 0) { reseed(seed); }

  void reseed(std::uint64_t seed) {
    for (auto& word : state_) word = splitmix64(seed);
  }

  std::uint64_t next_u64() {
    const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const std::uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  // Uniform in [0, 1) with 24 random bits: exactly representable as float.
  float uniform() { return static_cast<float>(next_u64() >> 40) * 0x1.0p-24f; }
  float uniform(float low, float high) { return low + (high - low) * uniform(); }

  // An independent generator for a sub-task (a layer, a worker thread).
  Rng split() { return Rng(next_u64()); }

  // The generator's whole state, for checkpoints: set_state(state()) continues the same stream.
  std::array<std::uint64_t, 4> state() const { return {state_[0], state_[1], state_[2], state_[3]}; }
  void set_state(const std::array<std::uint64_t, 4>& s) {
    for (int i = 0; i < 4; ++i) state_[i] = s[i];
  }

 private:
  static std::uint64_t splitmix64(std::uint64_t& x) { return mix64(x += golden_gamma); }
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  std::uint64_t state_[4];
};

}  // namespace ctnn
