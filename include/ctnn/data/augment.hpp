// ctnn/data/augment.hpp — composable image augmentations with torchvision's semantics.
//
// Each augmentation is a small value type. Images are float CHW; before Normalize the values are
// in [0, 1] (torchvision's ToTensor scale). Two kinds:
//   geometric (RandomCrop, RandomHorizontalFlip, RandomRotation): `GeoStep draw(ImageShape, Rng&)`
//     picks this image's parameters and returns the step as an inverse map; `apply(Image&, Rng&)`
//     runs it on its own.
//   pixel (ColorJitter, Normalize, Cutout, or your own type): `apply(ImageView, Rng&)` works in
//     place and keeps the shape.
// Compose<Ts...> chains them. Compose::apply runs each stage in turn (the plain definition);
// Compose::run starts from uint8 and fuses the leading geometric stages, the 1/255 scaling and a
// Normalize that follows them into one bilinear pass (the fast path the loader uses). Both draw
// the same random numbers in the same order and give the same images (tests/data checks it).
#pragma once

#include <algorithm>    // std::clamp, std::fill, std::min, std::max
#include <array>        // std::array
#include <cmath>        // std::cos, std::sin
#include <concepts>     // std::same_as
#include <cstddef>      // std::size_t
#include <cstdint>      // std::uint8_t
#include <numbers>      // std::numbers::pi
#include <span>         // std::span
#include <stdexcept>    // std::invalid_argument
#include <tuple>        // std::tuple, std::get
#include <type_traits>  // std::is_same_v
#include <utility>      // std::index_sequence
#include <vector>       // std::vector

#include <fmt/core.h>  // fmt::format

#include "ctnn/data/dataset.hpp"          // ImageShape
#include "ctnn/data/detail/geometry.hpp"  // GeoStep, apply_step, fuse_steps, sample_fused
#include "ctnn/data/detail/rng.hpp"       // Rng

namespace ctnn::data::augment {

// A mutable view of one float CHW image.
struct ImageView {
  ImageShape shape;
  float* data;
  float* plane(int c) const noexcept { return data + static_cast<std::size_t>(c) * plane_size(); }
  std::size_t plane_size() const noexcept {
    return static_cast<std::size_t>(shape.height) * shape.width;
  }
  float& at(int c, int y, int x) const noexcept {
    return plane(c)[static_cast<std::size_t>(y) * shape.width + x];
  }
};

// An owning float CHW image.
struct Image {
  ImageShape shape;
  std::vector<float> data;
  ImageView view() noexcept { return {shape, data.data()}; }
  float at(int c, int y, int x) const noexcept {
    return data[(static_cast<std::size_t>(c) * shape.height + y) * shape.width + x];
  }
  // ToTensor: uint8 CHW -> float in [0, 1].
  static Image from_u8(std::span<const std::uint8_t> px, ImageShape s) {
    Image im{s, std::vector<float>(s.size())};
    for (std::size_t i = 0; i < im.data.size(); ++i) im.data[i] = static_cast<float>(px[i]) / 255.0f;
    return im;
  }
};

// --- the two kinds, as concepts --------------------------------------------------------------
template <class T>
concept GeometricTransform = requires(const T& t, ImageShape s, Rng& r) {
  { t.draw(s, r) } -> std::same_as<detail::GeoStep>;
};
// A geometric transform says whether it resamples (bilinear) or maps pixels exactly; the fast
// path fuses any number of exact ones but only one resampling one.
template <class T>
inline constexpr bool resamples_v = requires { requires T::resamples; };

template <class T>
concept PixelTransform = requires(const T& t, ImageView v, Rng& r) { t.apply(v, r); };

namespace detail {
// Runs a geometric step on an owning image (the plain path).
inline void apply_geo(Image& img, const ctnn::data::detail::GeoStep& s) {
  Image out{s.out, std::vector<float>(s.out.size())};
  ctnn::data::detail::apply_step(img.data.data(), s, out.data.data());
  img = std::move(out);
}
}  // namespace detail

// --- geometric --------------------------------------------------------------------------------

// torchvision.transforms.RandomCrop(size, padding): pads `padding` zero pixels on every side,
// then takes a size x size window at a uniform offset i in [0, H + 2p - size] (rows, drawn
// first), j in [0, W + 2p - size] (columns).
struct RandomCrop {
  static constexpr bool resamples = false;
  int size = 32;
  int padding = 4;

  ImageShape output_shape(ImageShape in) const noexcept { return {in.channels, size, size}; }
  ctnn::data::detail::GeoStep draw(ImageShape in, Rng& rng) const {
    const int ph = in.height + 2 * padding, pw = in.width + 2 * padding;
    if (size < 1 || padding < 0 || size > ph || size > pw)
      throw std::invalid_argument(fmt::format(
          "RandomCrop(size={}, padding={}): the crop is larger than the padded {}x{} image", size,
          padding, ph, pw));
    const int i = rng.uniform_int(0, ph - size);
    const int j = rng.uniform_int(0, pw - size);
    return step(in, i, j);
  }
  // The crop whose top-left corner is row i, column j of the padded image.
  ctnn::data::detail::GeoStep step(ImageShape in, int i, int j) const noexcept {
    // Output (x, y) reads the padded image at (x + j, y + i), the input at (x + j - p, y + i - p).
    return ctnn::data::detail::GeoStep::exact(in, output_shape(in), {1, j - padding, 1, i - padding});
  }
  void apply(Image& img, Rng& rng) const { detail::apply_geo(img, draw(img.shape, rng)); }
};

// torchvision.transforms.RandomHorizontalFlip(p): mirrors left-right when uniform01() < p.
struct RandomHorizontalFlip {
  static constexpr bool resamples = false;
  float p = 0.5f;

  ImageShape output_shape(ImageShape in) const noexcept { return in; }
  ctnn::data::detail::GeoStep draw(ImageShape in, Rng& rng) const {
    return step(in, rng.uniform01() < p);
  }
  static ctnn::data::detail::GeoStep step(ImageShape in, bool flip) noexcept {
    return ctnn::data::detail::GeoStep::exact(
        in, in, flip ? ctnn::data::detail::AxisMap{-1, in.width - 1, 1, 0} : ctnn::data::detail::AxisMap{});
  }
  void apply(Image& img, Rng& rng) const { detail::apply_geo(img, draw(img.shape, rng)); }
};

// torchvision.transforms.RandomRotation(degrees, interpolation=BILINEAR, fill=0) on tensors.
// The angle is uniform in [min_deg, max_deg); positive turns the image counter-clockwise.
// The centre is the image centre, torchvision's affine grid with align_corners=False: pixel
// centres sit at index + 0.5, the centre at (W/2, H/2) in those units, i.e. ((W-1)/2, (H-1)/2)
// in pixel indices (15.5 for CIFAR). Output pixel p reads the input at c + R(-angle)(p - c) in
// image axes (y down), bilinear; taps outside the image count as 0 and the result is multiplied by
// the in-image weight (torchvision's fill mask). The output has the input's size (expand=False).
// Note: torchvision's default interpolation is NEAREST; bilinear is what the seed recipe asks.
struct RandomRotation {
  static constexpr bool resamples = true;
  double min_deg = -15.0, max_deg = 15.0;

  RandomRotation() = default;
  explicit RandomRotation(double degrees) : min_deg(-degrees), max_deg(degrees) {}
  RandomRotation(double lo, double hi) : min_deg(lo), max_deg(hi) {}

  ImageShape output_shape(ImageShape in) const noexcept { return in; }
  // The inverse map for a fixed angle (degrees); exposed for tests and tools.
  static ctnn::data::detail::GeoStep step(ImageShape in, double angle_deg) {
    const double t = angle_deg * std::numbers::pi / 180.0;
    const double c = std::cos(t), s = std::sin(t);
    const double cx = (in.width - 1) * 0.5, cy = (in.height - 1) * 0.5;
    // x_in = cx + c (x - cx) - s (y - cy);  y_in = cy + s (x - cx) + c (y - cy)
    const double a[6] = {c, -s, cx - c * cx + s * cy, s, c, cy - s * cx - c * cy};
    return ctnn::data::detail::GeoStep::affine(in, in, a);
  }
  ctnn::data::detail::GeoStep draw(ImageShape in, Rng& rng) const {
    return step(in, rng.uniform(min_deg, max_deg));
  }
  void apply(Image& img, Rng& rng) const { detail::apply_geo(img, draw(img.shape, rng)); }
};

// --- pixel ------------------------------------------------------------------------------------

// torchvision.transforms.Normalize(mean, std): x <- (x - mean[c]) / std[c] per channel.
struct Normalize {
  std::vector<float> mean, std;

  ImageShape output_shape(ImageShape in) const {
    check(in);
    return in;
  }
  void apply(ImageView img, Rng&) const {
    check(img.shape);
    for (int c = 0; c < img.shape.channels; ++c) {
      float* p = img.plane(c);
      for (std::size_t i = 0; i < img.plane_size(); ++i) p[i] = (p[i] - mean[c]) / std[c];
    }
  }
  void check(ImageShape in) const {
    if (mean.size() != std.size() || static_cast<int>(mean.size()) != in.channels)
      throw std::invalid_argument(fmt::format(
          "Normalize: {} means and {} stds for an image with {} channels", mean.size(),
          std.size(), in.channels));
  }
};

// torchvision.transforms.ColorJitter(brightness, contrast, saturation) on float tensors
// (hue is not offered). Each factor is uniform in [max(0, 1 - v), 1 + v]; a value of 0 turns that
// adjustment off. The enabled adjustments run in a random order, as torchvision's randperm does:
//   brightness f: x <- clamp(f x, 0, 1)
//   contrast   f: x <- clamp(f x + (1 - f) m, 0, 1), m = mean over the image of the grey level
//   saturation f: x <- clamp(f x + (1 - f) g, 0, 1), g = this pixel's grey level
// grey = 0.2989 R + 0.587 G + 0.114 B (torchvision's rgb_to_grayscale). On a one-channel image
// grey is the image itself and saturation does nothing, as in torchvision.
struct ColorJitter {
  float brightness = 0.0f, contrast = 0.0f, saturation = 0.0f;

  ImageShape output_shape(ImageShape in) const noexcept { return in; }
  void apply(ImageView img, Rng& rng) const {
    // Order: a random permutation of (0 brightness, 1 contrast, 2 saturation), then the factors.
    std::array<int, 3> order{0, 1, 2};
    for (int i = 2; i > 0; --i) std::swap(order[i], order[rng.uniform_int(0, i)]);
    const float fb = factor(brightness, rng), fc = factor(contrast, rng),
                fs = factor(saturation, rng);
    adjust(img, order, fb, fc, fs);
  }
  // The deterministic part: the adjustments in `order` with the given factors (a factor of 1 is a
  // no-op, which is how a disabled adjustment is skipped).
  static void adjust(ImageView img, std::array<int, 3> order, float fb, float fc, float fs) {
    for (int op : order) {
      if (op == 0 && fb != 1.0f) blend(img, fb, [](std::size_t) { return 0.0f; });
      if (op == 1 && fc != 1.0f) {
        double sum = 0;
        for (std::size_t i = 0; i < img.plane_size(); ++i) sum += grey(img, i);
        const auto m = static_cast<float>(sum / static_cast<double>(img.plane_size()));
        blend(img, fc, [m](std::size_t) { return m; });
      }
      if (op == 2 && fs != 1.0f && img.shape.channels == 3) {
        // The grey level of every pixel must come from the image before this step.
        std::vector<float> g(img.plane_size());
        for (std::size_t i = 0; i < g.size(); ++i) g[i] = grey(img, i);
        blend(img, fs, [&g](std::size_t i) { return g[i]; });
      }
    }
  }

 private:
  static float factor(float v, Rng& rng) {
    return v > 0 ? static_cast<float>(rng.uniform(std::max(0.0f, 1.0f - v), 1.0f + v)) : 1.0f;
  }
  static float grey(const ImageView& img, std::size_t i) {
    if (img.shape.channels != 3) return img.plane(0)[i];
    return 0.2989f * img.plane(0)[i] + 0.587f * img.plane(1)[i] + 0.114f * img.plane(2)[i];
  }
  template <class Other>
  static void blend(const ImageView& img, float f, Other other) {
    for (int c = 0; c < img.shape.channels; ++c) {
      float* p = img.plane(c);
      for (std::size_t i = 0; i < img.plane_size(); ++i)
        p[i] = std::clamp(f * p[i] + (1.0f - f) * other(i), 0.0f, 1.0f);
    }
  }
};

// Cutout (DeVries & Taylor 2017, "Improved Regularization of Convolutional Neural Networks with
// Cutout"; not part of torchvision): `holes` times, a centre (y, x) uniform over the pixels (y
// first), and the square [y - length/2, y + length/2) x [x - length/2, x + length/2), clipped to
// the image, is set to `value` in every channel. The paper applies it after Normalize, so 0 is
// the mean colour there.
struct Cutout {
  int length = 16;
  int holes = 1;
  float value = 0.0f;

  ImageShape output_shape(ImageShape in) const noexcept { return in; }
  void apply(ImageView img, Rng& rng) const {
    const int H = img.shape.height, W = img.shape.width;
    for (int n = 0; n < holes; ++n) {
      const int y = rng.uniform_int(0, H - 1), x = rng.uniform_int(0, W - 1);
      const int y0 = std::clamp(y - length / 2, 0, H), y1 = std::clamp(y + length / 2, 0, H);
      const int x0 = std::clamp(x - length / 2, 0, W), x1 = std::clamp(x + length / 2, 0, W);
      for (int c = 0; c < img.shape.channels; ++c)
        for (int yy = y0; yy < y1; ++yy)
          std::fill(&img.at(c, yy, x0), &img.at(c, yy, x0) + (x1 - x0), value);
    }
  }
};

// --- composition ------------------------------------------------------------------------------

// Stages run left to right. run() is the loader's entry point.
template <class... Ts>
class Compose {
  static constexpr std::size_t N = sizeof...(Ts);
  static constexpr std::array<bool, N + 1> geo{GeometricTransform<Ts>..., false};
  static constexpr std::array<bool, N + 1> res{resamples_v<Ts>..., false};

 public:
  // How many leading stages the fast path fuses: the leading geometric stages, up to (not
  // including) a second resampling one, whose bilinear passes don't compose exactly.
  static constexpr std::size_t fused_stages = [] {
    std::size_t i = 0;
    bool resampled = false;
    for (; i < N && geo[i]; ++i) {
      if (res[i] && resampled) break;
      resampled = resampled || res[i];
    }
    return i;
  }();

  Compose() = default;
  explicit Compose(Ts... ts)
    requires(N > 0)
      : stages_(std::move(ts)...) {}

  std::tuple<Ts...>& stages() noexcept { return stages_; }
  const std::tuple<Ts...>& stages() const noexcept { return stages_; }

  ImageShape output_shape(ImageShape in) const {
    std::apply([&](const auto&... t) { ((in = t.output_shape(in)), ...); }, stages_);
    return in;
  }

  // The plain path: every stage in turn on a float image.
  void apply(Image& img, Rng& rng) const { apply_from<0>(img, rng); }

  // The fast path: uint8 CHW `src` of shape `in` -> float CHW `out` (output_shape(in).size()
  // floats). Same random draws, same result as Image::from_u8 followed by apply().
  void run(std::span<const std::uint8_t> src, ImageShape in, std::span<float> out,
           Rng& rng) const {
    constexpr std::size_t G = fused_stages;
    std::array<ctnn::data::detail::GeoStep, G> steps;
    ImageShape shape = in;
    draw_steps(steps, shape, rng, std::make_index_sequence<G>{});
    const auto map = ctnn::data::detail::fuse_steps(steps.data(), G, in);
    constexpr bool fold = G < N && std::is_same_v<nth<G>, Normalize>;
    std::array<float, 4> scale4, bias4;
    std::vector<float> scale_v, bias_v;
    float* scale = scale4.data();
    float* bias = bias4.data();
    if (shape.channels > 4) {
      scale_v.resize(shape.channels), bias_v.resize(shape.channels);
      scale = scale_v.data(), bias = bias_v.data();
    }
    for (int c = 0; c < shape.channels; ++c) scale[c] = 1.0f / 255.0f, bias[c] = 0.0f;
    if constexpr (fold) {
      const Normalize& n = std::get<G>(stages_);
      n.check(shape);
      for (int c = 0; c < shape.channels; ++c)
        scale[c] = 1.0f / (255.0f * n.std[c]), bias[c] = -n.mean[c] / n.std[c];
    }
    ctnn::data::detail::sample_fused(src.data(), in, map, scale, bias, out.data());
    constexpr std::size_t rest = G + (fold ? 1 : 0);
    if constexpr (rest < N) {
      if constexpr (all_pixel<rest>(std::make_index_sequence<N - rest>{})) {
        ImageView v{shape, out.data()};
        apply_pixel_from<rest>(v, rng);
      } else {
        Image img{shape, std::vector<float>(out.begin(), out.begin() + shape.size())};
        apply_from<rest>(img, rng);
        std::copy(img.data.begin(), img.data.end(), out.begin());
      }
    }
  }

 private:
  template <std::size_t I>
  using nth = std::tuple_element_t<I, std::tuple<Ts..., void>>;

  template <std::size_t... I>
  void draw_steps(std::array<ctnn::data::detail::GeoStep, sizeof...(I)>& steps, ImageShape& shape,
                  Rng& rng, std::index_sequence<I...>) const {
    ((steps[I] = std::get<I>(stages_).draw(shape, rng), shape = steps[I].out), ...);
  }
  template <std::size_t From, std::size_t... I>
  static constexpr bool all_pixel(std::index_sequence<I...>) {
    return (!geo[From + I] && ...);
  }
  template <std::size_t I>
  void apply_from(Image& img, Rng& rng) const {
    if constexpr (I < N) {
      const auto& t = std::get<I>(stages_);
      if constexpr (GeometricTransform<nth<I>>) t.apply(img, rng);
      else t.apply(img.view(), rng);
      apply_from<I + 1>(img, rng);
    }
  }
  template <std::size_t I>
  void apply_pixel_from(ImageView v, Rng& rng) const {
    if constexpr (I < N) {
      std::get<I>(stages_).apply(v, rng);
      apply_pixel_from<I + 1>(v, rng);
    }
  }

  std::tuple<Ts...> stages_;
};

template <class... Ts>
Compose(Ts...) -> Compose<Ts...>;

// The identity pipeline: ToTensor only (uint8 -> float in [0, 1]).
using ToFloat = Compose<>;

// The seed recipe's constants (CIFAR-10 per-channel mean and std as the seed states them).
inline const std::vector<float> cifar10_mean{0.4914f, 0.4822f, 0.4465f};
inline const std::vector<float> cifar10_std{0.2023f, 0.1994f, 0.2010f};

// The seed's training transform: RandomCrop(32, padding=4), RandomHorizontalFlip(),
// RandomRotation(15) (bilinear), ToTensor, Normalize(mean, std).
inline auto seed_cifar10() {
  return Compose{RandomCrop{32, 4}, RandomHorizontalFlip{0.5f}, RandomRotation{15.0},
                 Normalize{cifar10_mean, cifar10_std}};
}
// The seed's test transform: ToTensor, Normalize(mean, std).
inline auto seed_cifar10_test() { return Compose{Normalize{cifar10_mean, cifar10_std}}; }

}  // namespace ctnn::data::augment
