// Augmentations (each against a hand-derived expectation, and the fused fast path against the
// plain composition) and the batching loader (epochs, shuffling, partial batches, threads).
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <mutex>
#include <numeric>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "ctnn/data/augment.hpp"
#include "ctnn/data/loader.hpp"

using namespace ctnn::data;
using namespace ctnn::data::augment;

namespace {

const ImageShape cifar{3, 32, 32};

// uint8 image whose pixel (c, y, x) is a distinct, easily predicted value.
std::vector<std::uint8_t> pattern(ImageShape s = cifar) {
  std::vector<std::uint8_t> px(s.size());
  for (int c = 0; c < s.channels; ++c)
    for (int y = 0; y < s.height; ++y)
      for (int x = 0; x < s.width; ++x)
        px[(static_cast<std::size_t>(c) * s.height + y) * s.width + x] =
            static_cast<std::uint8_t>(c * 80 + y * 2 + x % 2);
  return px;
}
std::vector<std::uint8_t> noise(std::uint64_t seed, ImageShape s = cifar) {
  Rng r{seed};
  std::vector<std::uint8_t> px(s.size());
  for (auto& p : px) p = static_cast<std::uint8_t>(r() >> 56);
  return px;
}

// Applies a single fixed geometric step by the reference path.
Image apply(const Image& in, const ctnn::data::detail::GeoStep& s) {
  Image out{s.out, std::vector<float>(s.out.size())};
  ctnn::data::detail::apply_step(in.data.data(), s, out.data.data());
  return out;
}

}  // namespace

TEST_CASE("Rng: a seed gives the same stream, draws stay in their ranges", "[data][augment]") {
  Rng a{123}, b{123}, c{124};
  for (int i = 0; i < 10; ++i) {
    const auto x = a();
    CHECK(x == b());
    CHECK(x != c());
  }
  std::set<int> seen;
  for (int i = 0; i < 2000; ++i) {
    const int v = a.uniform_int(-2, 3);
    REQUIRE(v >= -2);
    REQUIRE(v <= 3);
    seen.insert(v);
    const float u = a.uniform01();
    REQUIRE(u >= 0.0f);
    REQUIRE(u < 1.0f);
  }
  CHECK(seen.size() == 6);  // both ends inclusive
  CHECK(image_rng(1, 2, 3)() == image_rng(1, 2, 3)());
  CHECK(image_rng(1, 2, 3)() != image_rng(1, 3, 2)());
}

TEST_CASE("RandomCrop with padding 4 shifts the image and fills zeros", "[data][augment]") {
  const Image in = Image::from_u8(pattern(), cifar);
  const RandomCrop crop{32, 4};
  SECTION("offset (i, j) = (0, 0): the padded image's top-left corner") {
    const Image out = apply(in, crop.step(cifar, 0, 0));
    CHECK(out.at(0, 0, 0) == 0.0f);  // padding
    CHECK(out.at(2, 3, 31) == 0.0f);  // rows 0..3 are padding
    CHECK(out.at(1, 4, 3) == 0.0f);  // columns 0..3 too
    CHECK(out.at(1, 4, 4) == in.at(1, 0, 0));
    CHECK(out.at(2, 31, 31) == in.at(2, 27, 27));
  }
  SECTION("offset (4, 4) is the identity") {
    CHECK(apply(in, crop.step(cifar, 4, 4)).data == in.data);
  }
  SECTION("offset (8, 1): down 4 rows, 3 columns of padding on the left") {
    const Image out = apply(in, crop.step(cifar, 8, 1));
    // out(y, x) = in(y + 8 - 4, x + 1 - 4)
    CHECK(out.at(0, 0, 3) == in.at(0, 4, 0));
    CHECK(out.at(0, 0, 2) == 0.0f);
    CHECK(out.at(2, 27, 31) == in.at(2, 31, 28));
    CHECK(out.at(2, 28, 10) == 0.0f);  // row 32 of the input: bottom padding
  }
  SECTION("drawn offsets cover [0, 8] x [0, 8]") {
    Rng rng{5};
    std::set<std::pair<int, int>> seen;
    for (int k = 0; k < 3000; ++k) {
      const auto s = crop.draw(cifar, rng);
      const int j = s.axis.tx + 4, i = s.axis.ty + 4;
      REQUIRE(i >= 0);
      REQUIRE(i <= 8);
      REQUIRE(j >= 0);
      REQUIRE(j <= 8);
      seen.insert({i, j});
    }
    CHECK(seen.size() == 81);
  }
  SECTION("a crop larger than the padded image is refused") {
    Rng rng{1};
    CHECK_THROWS_AS((RandomCrop{41, 4}.draw(cifar, rng)), std::invalid_argument);
    CHECK(RandomCrop{28, 0}.output_shape(cifar) == ImageShape{3, 28, 28});
  }
}

TEST_CASE("RandomHorizontalFlip mirrors columns with probability p", "[data][augment]") {
  const Image in = Image::from_u8(noise(3), cifar);
  const Image out = apply(in, RandomHorizontalFlip::step(cifar, true));
  for (int y : {0, 13, 31})
    for (int x : {0, 5, 31}) CHECK(out.at(1, y, x) == in.at(1, y, 31 - x));
  CHECK(apply(in, RandomHorizontalFlip::step(cifar, false)).data == in.data);

  Rng rng{9};
  int flips = 0;
  for (int k = 0; k < 10000; ++k) flips += RandomHorizontalFlip{0.5f}.draw(cifar, rng).axis.sx < 0;
  CHECK(flips > 4700);  // binomial(10000, 0.5): sd 50, so +-300 is 6 sd
  CHECK(flips < 5300);
  for (int k = 0; k < 100; ++k) {
    CHECK(RandomHorizontalFlip{1.0f}.draw(cifar, rng).axis.sx == -1);
    CHECK(RandomHorizontalFlip{0.0f}.draw(cifar, rng).axis.sx == 1);
  }
}

TEST_CASE("RandomRotation: exact quarter turns, direction, bilinear weights, fill", "[data][augment]") {
  const Image in = Image::from_u8(noise(4), cifar);
  SECTION("+90 degrees (counter-clockwise) is a transpose followed by flipping upside down") {
    // Transpose T(y, x) = in(x, y); flipping rows gives out(y, x) = T(31 - y, x) = in(x, 31 - y).
    const Image out = apply(in, RandomRotation::step(cifar, 90.0));
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < 32; ++y)
        for (int x = 0; x < 32; ++x) REQUIRE(out.at(c, y, x) == Approx(in.at(c, x, 31 - y)).margin(1e-5));
  }
  SECTION("a dot right of the centre moves to the top under +90 degrees") {
    Image dot{cifar, std::vector<float>(cifar.size(), 0.0f)};
    dot.data[15 * 32 + 31] = 1.0f;  // channel 0, row 15, column 31
    const Image out = apply(dot, RandomRotation::step(cifar, 90.0));
    CHECK(out.at(0, 0, 15) == Approx(1.0f));
  }
  SECTION("180 degrees flips both axes; 0 degrees is the identity") {
    const Image half = apply(in, RandomRotation::step(cifar, 180.0));
    for (int y : {0, 7, 31})
      for (int x : {0, 20, 31}) CHECK(half.at(2, y, x) == Approx(in.at(2, 31 - y, 31 - x)).margin(1e-5));
    const Image zero = apply(in, RandomRotation::step(cifar, 0.0));
    CHECK(zero.data == in.data);
  }
  SECTION("a small angle interpolates bilinearly about (15.5, 15.5)") {
    // Worked by hand for angle 10 deg at output (x, y) = (20, 9), with dx = 4.5, dy = -6.5:
    // x_in = 15.5 + cos(10)*4.5 - sin(10)*(-6.5), y_in = 15.5 + sin(10)*4.5 + cos(10)*(-6.5).
    const double t = 10.0 * 3.14159265358979323846 / 180.0;
    const double xi = 15.5 + std::cos(t) * 4.5 + std::sin(t) * 6.5;  // 21.0604...
    const double yi = 15.5 + std::sin(t) * 4.5 - std::cos(t) * 6.5;  // 9.8826...
    const int x0 = static_cast<int>(std::floor(xi)), y0 = static_cast<int>(std::floor(yi));
    const double fx = xi - x0, fy = yi - y0;
    REQUIRE(x0 == 21);
    REQUIRE(y0 == 9);
    const double expect = (1 - fx) * (1 - fy) * in.at(1, 9, 21) + fx * (1 - fy) * in.at(1, 9, 22) +
                          (1 - fx) * fy * in.at(1, 10, 21) + fx * fy * in.at(1, 10, 22);
    CHECK(apply(in, RandomRotation::step(cifar, 10.0)).at(1, 9, 20) == Approx(expect).margin(1e-5));
  }
  SECTION("torchvision's fill rule: the value is scaled by the in-image weight") {
    // A white image rotated 45 deg (c = s = sqrt(1/2)); output (x, y) reads
    // (15.5 + c (x - 15.5) - s (y - 15.5), 15.5 + s (x - 15.5) + c (y - 15.5)).
    // Corner (0, 0) reads (15.5, -6.4): all taps outside, so 0. (31, 15) reads (26.8, 26.1):
    // all inside, so 1.
    Image white{cifar, std::vector<float>(cifar.size(), 1.0f)};
    const Image out = apply(white, RandomRotation::step(cifar, 45.0));
    CHECK(out.at(0, 0, 0) == 0.0f);
    CHECK(out.at(0, 15, 31) == Approx(1.0f));
    // Output (x, y) = (9, 0): dx = -6.5, dy = -15.5; c = s = sqrt(1/2).
    const double c = std::sqrt(0.5);
    const double xi = 15.5 + c * (-6.5) - c * (-15.5), yi = 15.5 + c * (-6.5) + c * (-15.5);
    // xi = 21.86, yi = -0.056: the taps of row -1 are outside, those of row 0 (weight
    // yi - (-1)) inside, so the in-image weight is m = 1 + yi, the value m, and the output m * m.
    REQUIRE(yi < 0);
    REQUIRE(yi > -1);
    const double m = 1 + yi;
    CHECK(out.at(0, 0, 9) == Approx(m * m).margin(1e-5));
    CHECK(xi > 0);
  }
  SECTION("drawn angles stay within +-15 degrees") {
    Rng rng{11};
    double lo = 1e9, hi = -1e9;
    for (int k = 0; k < 2000; ++k) {
      const auto s = RandomRotation{15.0}.draw(cifar, rng);
      const double deg = std::atan2(s.a[3], s.a[0]) * 180.0 / 3.14159265358979323846;
      lo = std::min(lo, deg), hi = std::max(hi, deg);
    }
    CHECK(lo >= -15.0);
    CHECK(hi <= 15.0);
    CHECK(lo < -14.5);
    CHECK(hi > 14.5);
  }
}

TEST_CASE("Normalize uses the seed's exact constants", "[data][augment]") {
  CHECK(cifar10_mean == std::vector<float>{0.4914f, 0.4822f, 0.4465f});
  CHECK(cifar10_std == std::vector<float>{0.2023f, 0.1994f, 0.2010f});
  ImageShape s{3, 1, 2};
  Image img = Image::from_u8(std::vector<std::uint8_t>{255, 0, 0, 51, 128, 255}, s);
  Rng rng{0};
  Normalize{cifar10_mean, cifar10_std}.apply(img.view(), rng);
  CHECK(img.data[0] == Approx((1.0 - 0.4914) / 0.2023).epsilon(1e-6));  // 2.51409...
  CHECK(img.data[1] == Approx((0.0 - 0.4914) / 0.2023).epsilon(1e-6));  // -2.42907...
  CHECK(img.data[2] == Approx(-0.4822 / 0.1994).epsilon(1e-6));
  CHECK(img.data[3] == Approx((0.2 - 0.4822) / 0.1994).epsilon(1e-6));  // 51/255 = 0.2
  CHECK(img.data[4] == Approx((128.0 / 255 - 0.4465) / 0.2010).epsilon(1e-6));
  CHECK(img.data[5] == Approx((1.0 - 0.4465) / 0.2010).epsilon(1e-6));
  Rng r2{0};
  CHECK_THROWS_AS((Normalize{{0.5f}, {0.5f}}.apply(img.view(), r2)), std::invalid_argument);
}

TEST_CASE("ColorJitter: brightness, contrast and saturation by hand", "[data][augment]") {
  // Two RGB pixels: p0 = (0.2, 0.4, 0.6), p1 = (1.0, 0.5, 0.0).
  const ImageShape s{3, 1, 2};
  const std::vector<float> base{0.2f, 1.0f, 0.4f, 0.5f, 0.6f, 0.0f};  // CHW
  auto run = [&](std::array<int, 3> order, float fb, float fc, float fs) {
    Image img{s, base};
    ColorJitter::adjust(img.view(), order, fb, fc, fs);
    return img.data;
  };
  SECTION("brightness 1.5 scales and clamps at 1") {
    const auto o = run({0, 1, 2}, 1.5f, 1, 1);
    CHECK(o[0] == Approx(0.3f));
    CHECK(o[1] == 1.0f);  // 1.5 clamped
    CHECK(o[2] == Approx(0.6f));
    CHECK(o[4] == Approx(0.9f));
  }
  SECTION("contrast 0.5 moves halfway to the mean grey level") {
    // grey(p0) = 0.2989*0.2 + 0.587*0.4 + 0.114*0.6 = 0.36298; grey(p1) = 0.2989 + 0.2935 = 0.5924
    const double m = (0.36298 + 0.5924) / 2;  // 0.47769
    const auto o = run({1, 0, 2}, 1, 0.5f, 1);
    CHECK(o[0] == Approx(0.5 * 0.2 + 0.5 * m).epsilon(1e-5));
    CHECK(o[5] == Approx(0.5 * 0.0 + 0.5 * m).epsilon(1e-5));
  }
  SECTION("saturation 0 gives the grey image; 2 doubles the distance from grey") {
    const auto g = run({2, 0, 1}, 1, 1, 0.0f);
    CHECK(g[0] == Approx(0.36298).epsilon(1e-5));
    CHECK(g[2] == Approx(0.36298).epsilon(1e-5));
    CHECK(g[5] == Approx(0.5924).epsilon(1e-5));
    const auto d = run({2, 0, 1}, 1, 1, 2.0f);
    CHECK(d[0] == Approx(2 * 0.2 - 0.36298).epsilon(1e-5));
    CHECK(d[1] == 1.0f);  // 2*1.0 - 0.5924 clamped
    CHECK(d[5] == 0.0f);  // 0 - 0.5924 clamped
  }
  SECTION("order matters: brightness then saturation differs from the reverse only by clamping") {
    const auto a = run({0, 2, 1}, 1.5f, 1, 2.0f);
    const auto b = run({2, 0, 1}, 1.5f, 1, 2.0f);
    // brightness first: p0 = (0.3, 0.6, 0.9), grey 0.54447 -> R = 0.6 - 0.54447 = 0.05553.
    CHECK(a[0] == Approx(0.05553).epsilon(1e-4));
    // saturation first: R = 0.4 - 0.36298 = 0.03702, then x1.5 = 0.05553: the same (linear).
    CHECK(b[0] == Approx(0.05553).epsilon(1e-4));
    // B of p0: brightness first 2*0.9 - 0.54447 = 1.2555 -> 1; saturation first: 0.83702*1.5 -> 1.
    CHECK(a[4] == 1.0f);
    CHECK(b[4] == 1.0f);
    // p1's G: brightness first: 0.75 -> 2*0.75 - grey(1, 0.75, 0) with R clamped at 1:
    // grey = 0.2989 + 0.44025 = 0.73915 -> 0.76085. Saturation first: 2*0.5 - 0.5924 = 0.4076,
    // then 0.6114. Clamping R in between makes them differ.
    CHECK(a[3] == Approx(0.76085).epsilon(1e-4));
    CHECK(b[3] == Approx(0.6114).epsilon(1e-4));
  }
  SECTION("drawn factors stay in [1 - v, 1 + v]") {
    Rng rng{2};
    for (int k = 0; k < 200; ++k) {
      Image img{s, std::vector<float>(6, 0.5f)};
      ColorJitter{0.4f, 0, 0}.apply(img.view(), rng);
      REQUIRE(img.data[0] >= 0.5f * 0.6f - 1e-6f);
      REQUIRE(img.data[0] <= 0.5f * 1.4f + 1e-6f);
      REQUIRE(img.data[3] == img.data[0]);
    }
  }
}

TEST_CASE("Cutout zeroes one clipped length x length square in every channel", "[data][augment]") {
  Rng rng{21};
  int clipped = 0;
  for (int k = 0; k < 300; ++k) {
    Image img{cifar, std::vector<float>(cifar.size(), 1.0f)};
    Cutout{16, 1}.apply(img.view(), rng);
    int x0 = 32, x1 = -1, y0 = 32, y1 = -1, zeros = 0;
    for (int y = 0; y < 32; ++y)
      for (int x = 0; x < 32; ++x)
        if (img.at(0, y, x) == 0.0f) {
          ++zeros;
          x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
          REQUIRE(img.at(1, y, x) == 0.0f);
          REQUIRE(img.at(2, y, x) == 0.0f);
        }
    REQUIRE(zeros > 0);  // the centre pixel is always inside its own square
    const int w = x1 - x0 + 1, h = y1 - y0 + 1;
    REQUIRE(zeros == w * h);  // a rectangle
    REQUIRE(w <= 16);
    REQUIRE(h <= 16);
    // Sides shorter than 16 only where the square was clipped by a border.
    if (w < 16) REQUIRE((x0 == 0 || x1 == 31));
    if (h < 16) REQUIRE((y0 == 0 || y1 == 31));
    clipped += (w < 16 || h < 16);
  }
  CHECK(clipped > 0);
  CHECK(clipped < 300);
}

namespace {
// Runs a pipeline both ways on many images and returns the largest difference.
template <class P>
float fused_vs_plain(const P& pipeline, int images, ImageShape s = cifar) {
  float worst = 0;
  for (int k = 0; k < images; ++k) {
    const auto src = noise(1000 + k, s);
    const ImageShape os = pipeline.output_shape(s);
    std::vector<float> fast(os.size());
    Rng r1 = image_rng(77, 0, k), r2 = image_rng(77, 0, k);
    pipeline.run(src, s, fast, r1);
    Image plain = Image::from_u8(src, s);
    pipeline.apply(plain, r2);
    REQUIRE(plain.shape == os);
    REQUIRE(r1() == r2());  // both drew the same random numbers
    for (std::size_t i = 0; i < fast.size(); ++i) worst = std::max(worst, std::abs(fast[i] - plain.data[i]));
  }
  return worst;
}
}  // namespace

TEST_CASE("the fused fast path equals the plain composition", "[data][augment]") {
  // Tolerance: the fused path folds 1/255 and Normalize into one multiply-add and composes the
  // coordinates in another order. Both are float rounding: ~1e-5 in [0, 1] units, ~5x that after
  // Normalize (1/std). One grey level is 0.004 in [0, 1] units and 0.02 normalized, and any real
  // mistake (a pixel off, a wrong border) shows as differences of that size or more.
  SECTION("the seed recipe: crop, flip, rotation, normalize (all four fused)") {
    const auto p = seed_cifar10();
    STATIC_REQUIRE(decltype(p)::fused_stages == 3);
    CHECK(fused_vs_plain(p, 200) < 1e-4f);
  }
  SECTION("crop and flip only: exact copies") {
    CHECK(fused_vs_plain(Compose{RandomCrop{32, 4}, RandomHorizontalFlip{}}, 100) < 1e-6f);
  }
  SECTION("rotation first, then crop and flip; crops that change the size") {
    CHECK(fused_vs_plain(Compose{RandomRotation{30.0}, RandomCrop{28, 2}, RandomHorizontalFlip{}}, 100) <
          1e-5f);
    CHECK(fused_vs_plain(Compose{RandomCrop{28, 0}, RandomRotation{20.0}, RandomCrop{24, 3},
                                 Normalize{cifar10_mean, cifar10_std}},
                         100) < 1e-4f);
    // Two crops before the rotation: the second one's padding lies over real source pixels
    // outside the first crop's window, and those must stay zero.
    CHECK(fused_vs_plain(Compose{RandomCrop{28, 0}, RandomCrop{30, 4}, RandomRotation{20.0}}, 100) <
          1e-5f);
  }
  SECTION("two rotations: only the first is fused, the second runs plainly") {
    using P = Compose<RandomRotation, RandomHorizontalFlip, RandomRotation>;
    STATIC_REQUIRE(P::fused_stages == 2);
    CHECK(fused_vs_plain(P{RandomRotation{10.0}, RandomHorizontalFlip{}, RandomRotation{10.0}}, 50) < 1e-5f);
  }
  SECTION("pixel stages after the fused part: jitter, normalize, cutout") {
    const auto p = Compose{RandomCrop{32, 4}, RandomHorizontalFlip{}, RandomRotation{15.0},
                           ColorJitter{0.4f, 0.4f, 0.4f}, Normalize{cifar10_mean, cifar10_std},
                           Cutout{16, 1}};
    CHECK(fused_vs_plain(p, 100) < 1e-4f);
  }
  SECTION("no stages: ToFloat (x * (1/255) against x / 255: one rounding apart)") {
    CHECK(fused_vs_plain(ToFloat{}, 10) < 1e-7f);
  }
}

TEST_CASE("the seed pipeline gives the same image for the same seed", "[data][augment]") {
  const auto p = seed_cifar10();
  const auto src = noise(5);
  std::vector<float> a(3072), b(3072), c(3072);
  Rng r1 = image_rng(1, 0, 7), r2 = image_rng(1, 0, 7), r3 = image_rng(1, 1, 7);
  p.run(src, cifar, a, r1);
  p.run(src, cifar, b, r2);
  p.run(src, cifar, c, r3);
  CHECK(a == b);
  CHECK(a != c);
}

// --- loader -------------------------------------------------------------------------------------

namespace {
// n images of shape 1x2x2 whose pixels all equal their index (mod 256); label = index % 10.
Dataset tiny(int n, ImageShape s = {1, 2, 2}) {
  Dataset d;
  d.shape = s;
  for (int i = 0; i < n; ++i) {
    d.pixels.insert(d.pixels.end(), s.size(), static_cast<std::uint8_t>(i));
    d.labels.push_back(i % 10);
  }
  return d;
}
std::vector<std::int64_t> epoch_indices(auto& range, std::vector<int>* sizes = nullptr) {
  std::vector<std::int64_t> all;
  for (const Batch& b : range) {
    if (sizes) sizes->push_back(b.size);
    all.insert(all.end(), b.indices.begin(), b.indices.end());
  }
  return all;
}
}  // namespace

TEST_CASE("Loader: batches, partial last batch, drop_last, contents", "[data][loader]") {
  const Dataset d = tiny(10);
  for (int threads : {0, 2}) {
    CAPTURE(threads);
    Loader loader{d, 4, ToFloat{}, {.shuffle = false, .threads = threads}};
    CHECK(loader.batches_per_epoch() == 3);
    std::vector<int> sizes;
    std::vector<std::int64_t> idx;
    for (const Batch& b : loader) {
      sizes.push_back(b.size);
      CHECK(b.channels == 1);
      CHECK(b.height == 2);
      CHECK(b.width == 2);
      REQUIRE(b.images.size() == static_cast<std::size_t>(b.size) * 4);
      for (int i = 0; i < b.size; ++i) {
        idx.push_back(b.indices[i]);
        CHECK(b.labels[i] == b.indices[i] % 10);
        for (float v : b.image(i)) CHECK(v == Approx(b.indices[i] / 255.0f));
      }
    }
    CHECK(sizes == std::vector<int>{4, 4, 2});
    CHECK(idx == std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});

    Loader dropping{d, 4, ToFloat{}, {.shuffle = false, .drop_last = true, .threads = threads}};
    std::vector<int> dsizes;
    CHECK(epoch_indices(dropping, &dsizes).size() == 8);
    CHECK(dsizes == std::vector<int>{4, 4});
  }
}

TEST_CASE("Loader: each epoch is a fresh seeded permutation", "[data][loader]") {
  const Dataset d = tiny(50);
  Loader a{d, 8, ToFloat{}, {.seed = 3, .threads = 1}};
  Loader b{d, 8, ToFloat{}, {.seed = 3, .threads = 0}};
  Loader c{d, 8, ToFloat{}, {.seed = 4, .threads = 1}};
  const auto a0 = epoch_indices(a), a1 = epoch_indices(a);
  const auto b0 = epoch_indices(b), b1 = epoch_indices(b);
  auto sorted = a0;
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::int64_t> all(50);
  std::iota(all.begin(), all.end(), 0);
  CHECK(sorted == all);  // a permutation
  CHECK(a0 != all);      // shuffled (a fixed order has chance 1/50!)
  CHECK(a0 != a1);       // a new order each epoch
  CHECK(a0 == b0);       // seeded: the same for the same seed, whatever the threads
  CHECK(a1 == b1);
  auto e1 = a.epoch(1);
  CHECK(epoch_indices(e1) == a1);  // epoch(e) replays epoch e
  CHECK(epoch_indices(c) != a0);
}

TEST_CASE("Loader: augmented batches don't depend on the number of threads", "[data][loader]") {
  Dataset d;
  for (int i = 0; i < 37; ++i) {
    const auto px = noise(500 + i);
    d.pixels.insert(d.pixels.end(), px.begin(), px.end());
    d.labels.push_back(i % 10);
  }
  auto collect = [&](int threads, int prefetch) {
    Loader l{d, 5, seed_cifar10(), {.seed = 9, .threads = threads, .prefetch = prefetch}};
    std::vector<float> all;
    for (int e = 0; e < 2; ++e)
      for (const Batch& b : l) all.insert(all.end(), b.images.begin(), b.images.end());
    return all;
  };
  const auto ref = collect(0, 0);
  CHECK(ref.size() == 2 * 37 * 3072);
  CHECK(collect(1, 1) == ref);
  CHECK(collect(2, 0) == ref);
  CHECK(collect(3, 2) == ref);
}

namespace {
// A pipeline that records which thread ran it, and throws for one index.
struct Probe {
  std::mutex* m;
  std::set<std::thread::id>* threads;
  int throw_at = -1;
  ImageShape output_shape(ImageShape s) const { return s; }
  void run(std::span<const std::uint8_t> in, ImageShape, std::span<float> out, Rng&) const {
    {
      std::lock_guard lk(*m);
      threads->insert(std::this_thread::get_id());
    }
    if (in[0] == throw_at) throw std::runtime_error("probe: bad image");
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = in[i];
  }
};
}  // namespace

TEST_CASE("Loader: work runs on background threads, errors reach the consumer", "[data][loader]") {
  const Dataset d = tiny(40);
  std::mutex m;
  std::set<std::thread::id> seen;
  {
    Loader l{d, 4, Probe{&m, &seen}, {.threads = 2}};
    CHECK(epoch_indices(l).size() == 40);
  }
  CHECK(!seen.empty());
  CHECK(seen.count(std::this_thread::get_id()) == 0);
  seen.clear();
  {
    Loader l{d, 4, Probe{&m, &seen}, {.threads = 0}};
    CHECK(epoch_indices(l).size() == 40);
  }
  CHECK(seen == std::set<std::thread::id>{std::this_thread::get_id()});

  for (int threads : {0, 2}) {
    Loader l{d, 4, Probe{&m, &seen, 13}, {.shuffle = false, .threads = threads}};
    int batches = 0;
    auto consume = [&] {
      for (const Batch& b : l) {
        (void)b;
        ++batches;
      }
    };
    CHECK_THROWS_WITH(consume(), "probe: bad image");
    CHECK(batches == 3);  // image 13 is in batch 3 (0-based)
  }
}

TEST_CASE("Loader: abandoning an epoch, or the loader, mid-way is safe", "[data][loader]") {
  const Dataset d = tiny(100);
  Loader l{d, 3, ToFloat{}, {.seed = 1, .threads = 2, .prefetch = 3}};
  for (int e = 0; e < 5; ++e) {
    int n = 0;
    for (const Batch& b : l) {
      (void)b;
      if (++n == 2) break;  // leave the workers mid-epoch
    }
  }
  auto full = l.epoch(7);
  CHECK(epoch_indices(full).size() == 100);
  {
    Loader gone{d, 3, ToFloat{}, {.threads = 2}};
    auto it = gone.begin();
    CHECK(it->size == 3);
  }  // destroyed while its workers are filling slots
  const Dataset empty = tiny(0);
  Loader none{empty, 4};
  CHECK(none.batches_per_epoch() == 0);
  CHECK(epoch_indices(none).empty());
  CHECK_THROWS_AS((Loader{d, 0}), std::invalid_argument);
}
