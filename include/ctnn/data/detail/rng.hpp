// ctnn/data/detail/rng.hpp — the small seedable random generator used by the data pipeline.
//
// Why our own: the data pipeline must give the same images for a given seed on every platform
// and standard library (std::uniform_*_distribution is implementation-defined), and each image
// gets its own stream so the result doesn't depend on which worker thread produced it.
#pragma once

#include <cstdint>  // std::uint64_t, std::uint32_t

namespace ctnn::data::detail {

// SplitMix64 (Steele, Lea, Flood 2014): a 64-bit mixer, used to seed and to hash (seed, epoch,
// index) into independent per-image streams.
constexpr std::uint64_t splitmix64(std::uint64_t& state) noexcept {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Hashes a list of words into one seed; different lists give unrelated seeds.
constexpr std::uint64_t mix_seed(std::uint64_t a, std::uint64_t b = 0, std::uint64_t c = 0) noexcept {
  std::uint64_t s = a;
  std::uint64_t h = splitmix64(s);
  s = h ^ b;
  h = splitmix64(s);
  s = h ^ c;
  return splitmix64(s);
}

}  // namespace ctnn::data::detail

namespace ctnn::data {

// xoshiro256** (Blackman, Vigna 2018), seeded through SplitMix64. Satisfies
// std::uniform_random_bit_generator, and adds the few draws the augmentations need, defined
// exactly here so a seed means the same numbers everywhere.
class Rng {
 public:
  using result_type = std::uint64_t;

  constexpr explicit Rng(std::uint64_t seed = 0) noexcept {
    for (auto& w : s_) w = detail::splitmix64(seed);
  }

  static constexpr result_type min() noexcept { return 0; }
  static constexpr result_type max() noexcept { return ~result_type{0}; }

  constexpr result_type operator()() noexcept {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform integer in [lo, hi] (both inclusive), like torch.randint(lo, hi + 1).
  // Lemire's multiply-shift on 32 bits; the bias (< range / 2^32) is far below anything visible.
  constexpr int uniform_int(int lo, int hi) noexcept {
    const auto range = static_cast<std::uint64_t>(static_cast<std::int64_t>(hi) - lo + 1);
    const std::uint64_t r = (*this)() >> 32;
    return lo + static_cast<int>((r * range) >> 32);
  }

  // Uniform float in [0, 1) with 24 random bits, like torch.rand.
  constexpr float uniform01() noexcept {
    return static_cast<float>((*this)() >> 40) * (1.0f / 16777216.0f);
  }

  // Uniform double in [lo, hi), like torch.empty(1).uniform_(lo, hi).
  constexpr double uniform(double lo, double hi) noexcept {
    const double u = static_cast<double>((*this)() >> 11) * (1.0 / 9007199254740992.0);
    return lo + (hi - lo) * u;
  }

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept {
    return (x << k) | (x >> (64 - k));
  }
  std::uint64_t s_[4]{};
};

// The stream for one image of one epoch: the same (seed, epoch, index) always gives the same
// augmentation, whatever thread or batch produces it.
constexpr Rng image_rng(std::uint64_t seed, std::uint64_t epoch, std::uint64_t index) noexcept {
  return Rng{detail::mix_seed(seed, epoch, index)};
}

}  // namespace ctnn::data
