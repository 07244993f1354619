// The rotation pretext task (rotate90 at exact pixel positions, RotationPretext's labels,
// determinism and composition with augmentation) and the data set parts: stratified labelled
// fractions and the class filter.
#include <catch2/catch.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <span>
#include <cstdint>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "ctnn/data/augment.hpp"
#include "ctnn/data/loader.hpp"
#include "ctnn/data/rotation.hpp"
#include "ctnn/data/subset.hpp"

using namespace ctnn::data;
using Catch::Matchers::Contains;

namespace {

std::vector<int> rot(const std::vector<int>& in, ImageShape s, int k) {
  std::vector<int> out(in.size());
  rotate90<int>(in, s, k, out);
  return out;
}

// `n` images of shape `s`, pixel values from image index and position, labels i % classes.
Dataset numbered(int n, ImageShape s, int classes = 3) {
  Dataset d;
  d.shape = s;
  for (int i = 0; i < n; ++i) {
    for (std::size_t p = 0; p < s.size(); ++p) d.pixels.push_back(static_cast<std::uint8_t>((i * 37 + p * 11) % 251));
    d.labels.push_back(i % classes);
  }
  for (int c = 0; c < classes; ++c) d.class_names.push_back(fmt::format("c{}", c));
  return d;
}

// A data set with `counts[c]` images of class c (classes interleaved).
Dataset with_counts(const std::vector<int>& counts) {
  Dataset d;
  d.shape = {1, 2, 2};
  std::vector<int> left = counts;
  for (bool any = true; any;) {
    any = false;
    for (std::size_t c = 0; c < left.size(); ++c)
      if (left[c] > 0) {
        --left[c], any = true;
        d.labels.push_back(static_cast<std::int32_t>(c));
        for (int p = 0; p < 4; ++p) d.pixels.push_back(static_cast<std::uint8_t>(d.labels.size() * 4 + p));
      }
  }
  for (std::size_t c = 0; c < counts.size(); ++c) d.class_names.push_back(fmt::format("c{}", c));
  return d;
}

// The loader's ToFloat scales by a multiplication where Image::from_u8 divides: equal to a
// rounding, far closer than two neighbouring pixel values (1/255 apart).
bool close(const std::vector<float>& want, std::span<const float> got) {
  if (want.size() != got.size()) return false;
  for (std::size_t i = 0; i < want.size(); ++i)
    if (std::abs(want[i] - got[i]) > 1e-6f) return false;
  return true;
}

std::map<int, int> class_counts(const Dataset& d) {
  std::map<int, int> m;
  for (auto l : d.labels) ++m[l];
  return m;
}

}  // namespace

TEST_CASE("rotate90 puts every pixel of an asymmetric image where numpy.rot90 does", "[data][pretext]") {
  // 2 rows x 3 columns:  0 1 2
  //                      3 4 5
  const ImageShape s{1, 2, 3};
  const std::vector<int> img{0, 1, 2, 3, 4, 5};
  CHECK(rot(img, s, 0) == img);
  // numpy.rot90 (counter-clockwise), 3 rows x 2 columns: 2 5 / 1 4 / 0 3
  CHECK(rot(img, s, 1) == std::vector<int>{2, 5, 1, 4, 0, 3});
  CHECK(rotated_shape(s, 1) == ImageShape{1, 3, 2});
  CHECK(rot(img, s, 2) == std::vector<int>{5, 4, 3, 2, 1, 0});
  CHECK(rotated_shape(s, 2) == s);
  CHECK(rot(img, s, 3) == std::vector<int>{3, 0, 4, 1, 5, 2});
  CHECK(rot(img, s, 4) == img);
  CHECK(rot(img, s, -1) == rot(img, s, 3));
  // k turns then 4 - k more (on the turned shape) give the image back.
  for (int k = 0; k < 4; ++k) CHECK(rot(rot(img, s, k), rotated_shape(s, k), 4 - k) == img);
  // Each channel turns on its own.
  const ImageShape s2{2, 2, 3};
  const std::vector<int> two{0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15};
  CHECK(rot(two, s2, 1) == std::vector<int>{2, 5, 1, 4, 0, 3, 12, 15, 11, 14, 10, 13});
  std::vector<int> small(5);
  CHECK_THROWS_WITH(rotate90<int>(img, s, 1, small), Contains("6 and 5 values for a 1x2x3 image"));
}

TEST_CASE("RotationPretext with all rotations: four turns of every image, labelled 0..3", "[data][pretext]") {
  const ImageShape s{3, 4, 4};
  const Dataset d = numbered(10, s);
  Loader images{d, 4, augment::ToFloat{}, {.shuffle = true, .seed = 3, .threads = 0}};
  RotationPretext pretext{images, {.mode = Rotations::all}};
  CHECK(pretext.batches_per_epoch() == 3);
  int seen = 0;
  for (const Batch& b : pretext.epoch(0)) {
    REQUIRE(b.size % 4 == 0);
    for (int n = 0; n < b.size; ++n) {
      const auto idx = static_cast<std::size_t>(b.indices[static_cast<std::size_t>(n)]);
      const int k = b.labels[static_cast<std::size_t>(n)];
      CHECK(k == n % 4);
      const auto plain = augment::Image::from_u8(d.image(idx), s);
      std::vector<float> want(s.size());
      rotate90<float>(plain.data, s, k, want);
      CHECK(close(want, b.image(n)));
      ++seen;
    }
  }
  CHECK(seen == 40);
}

TEST_CASE("RotationPretext with random rotations: k from the image's seed, index and epoch", "[data][pretext]") {
  const ImageShape s{1, 3, 3};
  const Dataset d = numbered(400, s);
  Loader images{d, 64, augment::ToFloat{}, {.seed = 5, .threads = 0}};
  RotationPretext pretext{images, {.mode = Rotations::random, .seed = 9}};
  std::map<int, int> per_k;
  std::set<std::vector<int>> epochs;
  for (std::uint64_t e = 0; e < 3; ++e) {
    std::vector<int> ks(400, -1);
    for (const Batch& b : pretext.epoch(e)) {
      for (int n = 0; n < b.size; ++n) {
        const auto idx = static_cast<std::size_t>(b.indices[static_cast<std::size_t>(n)]);
        const int k = b.labels[static_cast<std::size_t>(n)];
        REQUIRE(k == pretext_rotation(9, e, idx));
        ks[idx] = k;
        ++per_k[k];
        const auto plain = augment::Image::from_u8(d.image(idx), s);
        std::vector<float> want(s.size());
        rotate90<float>(plain.data, s, k, want);
        CHECK(close(want, b.image(n)));
      }
    }
    CHECK(std::count(ks.begin(), ks.end(), -1) == 0);  // every image once per epoch
    epochs.insert(ks);
  }
  CHECK(epochs.size() == 3);  // each epoch turns the images anew
  REQUIRE(per_k.size() == 4);
  for (const auto& [k, n] : per_k) CHECK((n > 240 && n < 360));  // 300 expected of each of 1200

  // The same seeds give the same batches, whatever the loader's threads.
  Loader threaded{d, 64, augment::ToFloat{}, {.seed = 5, .threads = 2}};
  RotationPretext again{threaded, {.mode = Rotations::random, .seed = 9}};
  auto a = pretext.epoch(1).begin();
  auto b = again.epoch(1).begin();
  CHECK(a->labels == b->labels);
  CHECK(a->images == b->images);
}

TEST_CASE("RotationPretext turns the augmented image: augmentation first, the same draws", "[data][pretext]") {
  const ImageShape s{3, 6, 6};
  const Dataset d = numbered(12, s);
  auto pipeline = [] {
    return augment::Compose{augment::RandomCrop{6, 2}, augment::RandomHorizontalFlip{0.5f},
                            augment::Normalize{{0.5f, 0.4f, 0.3f}, {0.2f, 0.25f, 0.3f}}};
  };
  Loader plain{d, 5, pipeline(), {.seed = 11, .threads = 0}};
  Loader augmented{d, 5, pipeline(), {.seed = 11, .threads = 0}};
  RotationPretext pretext{augmented, {.mode = Rotations::random, .seed = 2}};
  auto p = plain.epoch(4).begin();
  int checked = 0, changed = 0;
  for (const Batch& b : pretext.epoch(4)) {
    REQUIRE(p != std::default_sentinel);
    REQUIRE(b.indices == p->indices);
    for (int n = 0; n < b.size; ++n) {
      const int k = b.labels[static_cast<std::size_t>(n)];
      std::vector<float> want(s.size());
      rotate90<float>(p->image(n), s, k, want);
      CHECK(std::equal(want.begin(), want.end(), b.image(n).begin()));
      changed += k != 0;
      ++checked;
    }
    ++p;
  }
  CHECK(checked == 12);
  CHECK(changed > 0);
}

TEST_CASE("RotationPretext refuses images that aren't square", "[data][pretext]") {
  const Dataset d = numbered(3, {1, 4, 5});
  Loader images{d, 3, augment::ToFloat{}, {.threads = 0}};
  RotationPretext pretext{images};
  CHECK_THROWS_WITH(pretext.epoch(0).begin(), Contains("images of 4x5 are not square"));
}

TEST_CASE("stratified_split takes the fraction of every class, seeded", "[data][subset]") {
  const Dataset d = with_counts({50, 30, 20, 7});
  const auto split = stratified_split(d, 0.1, 1);
  const Dataset chosen = subset(d, split.chosen);
  CHECK(class_counts(chosen) == std::map<int, int>{{0, 5}, {1, 3}, {2, 2}, {3, 1}});  // 0.7 rounds to 1
  CHECK(class_counts(subset(d, split.rest)) == std::map<int, int>{{0, 45}, {1, 27}, {2, 18}, {3, 6}});
  // Disjoint, ascending, and together every image once.
  std::vector<std::size_t> all = split.chosen;
  all.insert(all.end(), split.rest.begin(), split.rest.end());
  std::sort(all.begin(), all.end());
  CHECK(std::adjacent_find(all.begin(), all.end()) == all.end());
  CHECK(all.size() == d.size());
  CHECK(std::is_sorted(split.chosen.begin(), split.chosen.end()));
  // The chosen images keep their pixels and labels.
  for (std::size_t n = 0; n < split.chosen.size(); ++n) {
    CHECK(chosen.labels[n] == d.labels[split.chosen[n]]);
    CHECK(std::equal(chosen.image(n).begin(), chosen.image(n).end(), d.image(split.chosen[n]).begin()));
  }
  CHECK(labelled_fraction(d, 0.1, 1).pixels == chosen.pixels);

  CHECK(stratified_split(d, 0.1, 1).chosen == split.chosen);  // same seed, same subset
  CHECK(stratified_split(d, 0.1, 2).chosen != split.chosen);  // another seed, another
  // A larger fraction with the same seed contains the smaller one.
  const auto half = stratified_split(d, 0.5, 1).chosen;
  CHECK(class_counts(subset(d, half)) == std::map<int, int>{{0, 25}, {1, 15}, {2, 10}, {3, 4}});  // 3.5 -> 4
  CHECK(std::includes(half.begin(), half.end(), split.chosen.begin(), split.chosen.end()));
  CHECK(stratified_split(d, 1.0, 3).chosen.size() == d.size());
}

TEST_CASE("stratified_split names a bad fraction and an empty class", "[data][subset]") {
  const Dataset d = with_counts({4, 4});
  CHECK_THROWS_WITH(stratified_split(d, 0.0, 1), Contains("fraction 0 is not in (0, 1]"));
  CHECK_THROWS_WITH(stratified_split(d, 1.5, 1), Contains("fraction 1.5 is not in (0, 1]"));
  CHECK_THROWS_WITH(stratified_split(d, -0.1, 1), Contains("fraction -0.1"));
  Dataset gap = with_counts({3, 0, 2});
  CHECK_THROWS_WITH(stratified_split(gap, 0.5, 1), Contains("class 1 ('c1') has no images"));
  Dataset bad = with_counts({2, 2});
  bad.labels[0] = 7;
  CHECK_THROWS_WITH(stratified_split(bad, 0.5, 1), Contains("label 7 is outside the 2 classes"));
}

TEST_CASE("select_classes keeps the listed classes and relabels them by position", "[data][subset]") {
  const Dataset d = with_counts({3, 4, 5, 6});
  const Dataset two = select_classes(d, {3, 1});
  CHECK(two.class_names == std::vector<std::string>{"c3", "c1"});
  CHECK(class_counts(two) == std::map<int, int>{{0, 6}, {1, 4}});
  // In data set order, each with its own pixels.
  std::size_t n = 0;
  for (std::size_t i = 0; i < d.size(); ++i) {
    if (d.labels[i] != 3 && d.labels[i] != 1) continue;
    REQUIRE(n < two.size());
    CHECK(two.labels[n] == (d.labels[i] == 3 ? 0 : 1));
    CHECK(std::equal(two.image(n).begin(), two.image(n).end(), d.image(i).begin()));
    ++n;
  }
  CHECK(n == two.size());
  CHECK_THROWS_WITH(select_classes(d, {1, 4}), Contains("class 4 is not one of the 4 classes"));
  CHECK_THROWS_WITH(select_classes(d, {2, 2}), Contains("class 2 is listed twice"));
  CHECK_THROWS_WITH(select_classes(d, {}), Contains("no classes"));
  CHECK_THROWS_WITH(select_classes(with_counts({2, 0}), {1}), Contains("class 1 has no images"));
}
