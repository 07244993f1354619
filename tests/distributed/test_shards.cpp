// The Loader's shards for data-parallel training (LoaderOptions::rank, ranks, even_shards):
// the ranks' batches together are one process's batches of ranks x the size, with padding,
// trimming (drop_last) or uneven shards at the end of an epoch.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "ctnn/data/loader.hpp"

using namespace ctnn::data;

namespace {

// n images whose pixels are their index, labels index % 10.
Dataset numbered(int n) {
  Dataset d;
  d.shape = {1, 1, 2};
  for (int i = 0; i < n; ++i) {
    d.pixels.insert(d.pixels.end(), 2, static_cast<std::uint8_t>(i));
    d.labels.push_back(i % 10);
  }
  return d;
}

// Each batch's data set indices, for epoch `e`.
std::vector<std::vector<std::int64_t>> batches(Loader<>& loader, std::uint64_t e) {
  std::vector<std::vector<std::int64_t>> out;
  for (const Batch& b : loader.epoch(e)) {
    for (int i = 0; i < b.size; ++i) CHECK(b.labels[i] == b.indices[i] % 10);  // images and labels travel together
    out.push_back(b.indices);
  }
  return out;
}

std::vector<std::int64_t> flat(const std::vector<std::vector<std::int64_t>>& batches) {
  std::vector<std::int64_t> all;
  for (const auto& b : batches) all.insert(all.end(), b.begin(), b.end());
  return all;
}

}  // namespace

TEST_CASE("shards: R ranks of batch B together see one process's batches of R x B", "[distributed][loader]") {
  for (const int ranks : {2, 3}) {
    for (const int threads : {0, 2}) {
      CAPTURE(ranks, threads);
      const int batch = 4, n = 7 * ranks * batch + 5 * ranks;  // a partial last batch, divisible by the ranks
      const Dataset d = numbered(n);
      Loader<> whole{d, ranks * batch, {}, {.seed = 5, .threads = threads}};
      std::vector<Loader<>> parts;
      for (int r = 0; r < ranks; ++r) parts.emplace_back(d, batch, augment::ToFloat{}, LoaderOptions{.seed = 5, .threads = threads, .rank = r, .ranks = ranks});
      for (std::uint64_t e = 0; e < 2; ++e) {
        const auto expected = batches(whole, e);
        std::vector<std::vector<std::vector<std::int64_t>>> got;
        for (auto& p : parts) got.push_back(batches(p, e));
        for (int r = 0; r < ranks; ++r) REQUIRE(got[r].size() == expected.size());
        for (std::size_t k = 0; k < expected.size(); ++k) {
          // Batch k of rank r holds positions r, r + R, ... of the whole batch k.
          std::vector<std::int64_t> merged(expected[k].size());
          for (int r = 0; r < ranks; ++r)
            for (std::size_t i = 0; i < got[r][k].size(); ++i) merged[r + i * ranks] = got[r][k][i];
          CHECK(merged == expected[k]);
        }
      }
    }
  }
}

TEST_CASE("shards: padding, trimming and uneven shards at the end of an epoch", "[distributed][loader]") {
  const Dataset d = numbered(11);
  Loader<> whole{d, 11, {}, {.seed = 2, .threads = 0}};
  const auto order = flat(batches(whole, 0));  // the epoch's order
  auto shard = [&](int rank, LoaderOptions o) {
    o.seed = 2, o.threads = 0, o.rank = rank, o.ranks = 3;
    Loader<> l{d, 2, {}, o};
    const auto b = batches(l, 0);
    CHECK(l.batches_per_epoch() == b.size());
    return b;
  };
  SECTION("even (default): padded with the first samples of the order to 12, 4 each in 2 batches") {
    std::vector<std::int64_t> padded(order);
    padded.push_back(order[0]);
    for (int r = 0; r < 3; ++r) {
      const auto b = shard(r, {});
      REQUIRE(b.size() == 2);
      const auto mine = flat(b);
      REQUIRE(mine.size() == 4);
      for (std::size_t i = 0; i < 4; ++i) CHECK(mine[i] == padded[r + 3 * i]);
    }
  }
  SECTION("even with drop_last: cut to 9, 3 each, one full batch") {
    for (int r = 0; r < 3; ++r) {
      const auto b = shard(r, {.drop_last = true});
      REQUIRE(b.size() == 1);
      CHECK(b[0] == std::vector<std::int64_t>{order[r], order[r + 3]});
    }
  }
  SECTION("uneven: every sample exactly once, 4, 4 and 3") {
    std::vector<std::int64_t> all;
    for (int r = 0; r < 3; ++r) {
      const auto mine = flat(shard(r, {.even_shards = false}));
      CHECK(mine.size() == (r < 2 ? 4u : 3u));
      all.insert(all.end(), mine.begin(), mine.end());
    }
    std::sort(all.begin(), all.end());
    std::vector<std::int64_t> every(11);
    std::iota(every.begin(), every.end(), 0);
    CHECK(all == every);
  }
}

TEST_CASE("shards: the rank must be one of the ranks", "[distributed][loader]") {
  const Dataset d = numbered(4);
  CHECK_THROWS_AS((Loader<>{d, 2, {}, {.rank = 2, .ranks = 2}}), std::invalid_argument);
  CHECK_THROWS_AS((Loader<>{d, 2, {}, {.rank = -1, .ranks = 2}}), std::invalid_argument);
  CHECK_THROWS_AS((Loader<>{d, 2, {}, {.ranks = 0}}), std::invalid_argument);
  CHECK_NOTHROW((Loader<>{d, 2, {}, {.rank = 1, .ranks = 2}}));
}
