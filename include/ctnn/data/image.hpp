// ctnn/data/image.hpp — a decoded uint8 image and the operations an image folder needs before
// the images become a Dataset: channel conversion, bilinear resize, center crop, HWC -> CHW.
//
// Everything follows what torchvision's ImageFolder pipeline does to PIL images, so a data set
// loaded here matches one loaded there:
//   convert_channels  PIL's Image.convert("L" / "RGB" / "RGBA")
//   resize_bilinear   PIL's Image.resize((w, h), BILINEAR): a triangle filter whose support
//                     grows with the downscaling factor (antialiased), in PIL's fixed point
//   resize_shorter    torchvision.transforms.Resize(size) with an int: the shorter side to size
//   center_crop       torchvision.transforms.CenterCrop((h, w)), zero padding when it is larger
// No library beyond the standard one: decoding files is ctnn/data/decode.hpp.
#pragma once

#include <algorithm>  // std::clamp, std::copy, std::fill
#include <cmath>      // std::ceil
#include <cstddef>    // std::size_t
#include <cstdint>    // std::uint8_t, std::int32_t, std::int64_t
#include <span>       // std::span
#include <stdexcept>  // std::invalid_argument
#include <vector>     // std::vector

#include <fmt/core.h>  // fmt::format

#include "ctnn/data/dataset.hpp"  // ImageShape

namespace ctnn::data {

// Height and width in pixels (torchvision's (h, w) order).
struct ImageSize {
  int height = 0, width = 0;
  friend constexpr bool operator==(const ImageSize&, const ImageSize&) = default;
};

// A uint8 image stored interleaved, row by row, as image files store it (HWC): the value of
// channel c of pixel (x, y) is pixels[(y * width + x) * channels + c]. Channels: 1 grey,
// 2 grey + alpha, 3 RGB, 4 RGBA.
struct ImageU8 {
  int width = 0, height = 0, channels = 0;
  std::vector<std::uint8_t> pixels;

  ImageU8() = default;
  ImageU8(int w, int h, int c)
      : width(w), height(h), channels(c), pixels(static_cast<std::size_t>(w) * h * c) {}

  ImageShape shape() const noexcept { return {channels, height, width}; }
  std::uint8_t& at(int y, int x, int c) noexcept { return pixels[index(y, x, c)]; }
  std::uint8_t at(int y, int x, int c) const noexcept { return pixels[index(y, x, c)]; }

 private:
  std::size_t index(int y, int x, int c) const noexcept {
    return (static_cast<std::size_t>(y) * width + x) * channels + c;
  }
};

// HWC -> CHW (planar, the Dataset layout) into `out`, which holds width * height * channels bytes.
inline void copy_to_chw(const ImageU8& img, std::span<std::uint8_t> out) {
  const std::size_t plane = static_cast<std::size_t>(img.width) * img.height;
  if (out.size() != plane * img.channels)
    throw std::invalid_argument(fmt::format("copy_to_chw: {} bytes given for a {}x{}x{} image",
                                            out.size(), img.channels, img.height, img.width));
  for (std::size_t p = 0; p < plane; ++p)
    for (int c = 0; c < img.channels; ++c) out[c * plane + p] = img.pixels[p * img.channels + c];
}
inline std::vector<std::uint8_t> to_chw(const ImageU8& img) {
  std::vector<std::uint8_t> out(img.pixels.size());
  copy_to_chw(img, out);
  return out;
}

// PIL's Image.convert between "L" (1), "LA" (2), "RGB" (3) and "RGBA" (4): grey to colour
// repeats the grey value; colour to grey is ITU-R 601-2 luma in PIL's fixed point,
// (19595 R + 38470 G + 7471 B + 0x8000) >> 16; dropping alpha discards it (no compositing);
// adding alpha makes it 255.
inline ImageU8 convert_channels(const ImageU8& in, int channels) {
  if (channels < 1 || channels > 4)
    throw std::invalid_argument(fmt::format("convert_channels: {} channels asked; 1 (grey), 2 (grey and "
                                            "alpha), 3 (RGB) or 4 (RGBA) are possible", channels));
  if (in.channels == channels) return in;
  ImageU8 out(in.width, in.height, channels);
  const bool in_colour = in.channels >= 3, in_alpha = in.channels == 2 || in.channels == 4;
  const bool out_colour = channels >= 3, out_alpha = channels == 2 || channels == 4;
  const std::size_t n = static_cast<std::size_t>(in.width) * in.height;
  for (std::size_t p = 0; p < n; ++p) {
    const std::uint8_t* s = &in.pixels[p * in.channels];
    std::uint8_t* d = &out.pixels[p * channels];
    if (out_colour && in_colour) {
      d[0] = s[0], d[1] = s[1], d[2] = s[2];
    } else if (out_colour) {
      d[0] = d[1] = d[2] = s[0];
    } else if (in_colour) {
      d[0] = static_cast<std::uint8_t>((19595u * s[0] + 38470u * s[1] + 7471u * s[2] + 0x8000u) >> 16);
    } else {
      d[0] = s[0];
    }
    if (out_alpha) d[channels - 1] = in_alpha ? s[in.channels - 1] : 255;
  }
  return out;
}

namespace detail {

// One output position's filter taps over the input axis: inputs first .. first + weights.size() - 1.
struct ResampleTaps {
  int first = 0;
  std::vector<std::int32_t> weights;  // fixed point, resample_bits fraction bits
};
// 32-bit sums of 8-bit values times weights that add up to 1.0, with room for overshoot.
inline constexpr int resample_bits = 22;

// PIL's bilinear resampling weights for one axis of `in` pixels onto `out` pixels. Output
// pixel i has its centre at (i + 0.5) * scale in input coordinates (scale = in / out); the
// filter is the triangle 1 - |t| widened by max(1, scale), so downscaling averages over every
// input pixel it covers (antialiasing) while upscaling is plain bilinear interpolation. The
// taps are those whose centres fall within the filter's support; their weights are normalised
// to sum to 1 and rounded to fixed point (half away from zero), which is what makes the results
// equal PIL's to the last bit.
inline std::vector<ResampleTaps> bilinear_taps(int in, int out) {
  const double scale = static_cast<double>(in) / out;
  const double widen = std::max(1.0, scale);
  const double support = widen;  // the triangle's support is 1, times the widening
  const double inverse = 1.0 / widen;
  std::vector<ResampleTaps> taps(static_cast<std::size_t>(out));
  std::vector<double> w;
  for (int i = 0; i < out; ++i) {
    const double centre = (i + 0.5) * scale;
    // Truncation toward zero, then clamping: PIL's rounding of the window's ends.
    const int lo = std::max(0, static_cast<int>(centre - support + 0.5));
    const int hi = std::min(in, static_cast<int>(centre + support + 0.5));
    w.assign(static_cast<std::size_t>(std::max(0, hi - lo)), 0.0);
    double sum = 0;
    for (int x = lo; x < hi; ++x) {
      const double t = std::abs((x - centre + 0.5) * inverse);
      w[static_cast<std::size_t>(x - lo)] = t < 1.0 ? 1.0 - t : 0.0;
      sum += w[static_cast<std::size_t>(x - lo)];
    }
    ResampleTaps& tap = taps[static_cast<std::size_t>(i)];
    tap.first = lo;
    for (double v : w) {
      const double f = (sum != 0 ? v / sum : v) * (1 << resample_bits);
      tap.weights.push_back(static_cast<std::int32_t>(f < 0 ? f - 0.5 : f + 0.5));
    }
  }
  return taps;
}

// Rounds a fixed-point sum to 0..255.
inline std::uint8_t round_fixed(std::int32_t sum) noexcept {
  return static_cast<std::uint8_t>(std::clamp(sum >> resample_bits, 0, 255));
}

}  // namespace detail

// PIL's Image.resize((width, height), Image.BILINEAR) on an 8-bit image: first along rows
// (horizontal), rounding to uint8, then along columns. An axis whose size doesn't change is
// left alone, as PIL does. Every channel is filtered alike (PIL premultiplies RGBA by alpha
// first; this doesn't).
inline ImageU8 resize_bilinear(const ImageU8& in, int height, int width) {
  if (height < 1 || width < 1)
    throw std::invalid_argument(fmt::format("resize_bilinear: the output size {}x{} must be at least 1x1", height, width));
  if (in.width < 1 || in.height < 1)
    throw std::invalid_argument(fmt::format("resize_bilinear: the input image is {}x{}", in.height, in.width));
  const int C = in.channels;
  constexpr std::int32_t half = 1 << (detail::resample_bits - 1);
  ImageU8 rows = in;
  if (width != in.width) {
    const auto taps = detail::bilinear_taps(in.width, width);
    rows = ImageU8(width, in.height, C);
    for (int y = 0; y < in.height; ++y)
      for (int x = 0; x < width; ++x) {
        const auto& t = taps[static_cast<std::size_t>(x)];
        for (int c = 0; c < C; ++c) {
          std::int32_t sum = half;
          for (std::size_t k = 0; k < t.weights.size(); ++k)
            sum += in.at(y, t.first + static_cast<int>(k), c) * t.weights[k];
          rows.at(y, x, c) = detail::round_fixed(sum);
        }
      }
  }
  if (height == in.height) return rows;
  const auto taps = detail::bilinear_taps(in.height, height);
  ImageU8 out(width, height, C);
  for (int y = 0; y < height; ++y) {
    const auto& t = taps[static_cast<std::size_t>(y)];
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < C; ++c) {
        std::int32_t sum = half;
        for (std::size_t k = 0; k < t.weights.size(); ++k)
          sum += rows.at(t.first + static_cast<int>(k), x, c) * t.weights[k];
        out.at(y, x, c) = detail::round_fixed(sum);
      }
  }
  return out;
}

// The size torchvision.transforms.Resize(size) (an int, no max_size) gives an image of
// `in`: the shorter side becomes `size`, the longer one int(size * long / short) (truncated).
inline ImageSize shorter_side_size(ImageSize in, int size) {
  if (size < 1) throw std::invalid_argument(fmt::format("shorter_side_size: size {} must be at least 1", size));
  const bool portrait = in.width <= in.height;
  const int shorter = portrait ? in.width : in.height, longer = portrait ? in.height : in.width;
  const int scaled = static_cast<int>(static_cast<double>(size) * longer / shorter);
  return portrait ? ImageSize{scaled, size} : ImageSize{size, scaled};
}
inline ImageU8 resize_shorter(const ImageU8& in, int size) {
  const ImageSize s = shorter_side_size({in.height, in.width}, size);
  return resize_bilinear(in, s.height, s.width);
}

// torchvision.transforms.CenterCrop((height, width)): the window's top-left corner is
// round((H - height) / 2), round((W - width) / 2) with Python's round (halves to even). A crop
// larger than the image first pads it with zeros, (d // 2) before and ((d + 1) // 2) after on
// that axis, as torchvision does.
inline ImageU8 center_crop(const ImageU8& in, int height, int width) {
  if (height < 1 || width < 1)
    throw std::invalid_argument(fmt::format("center_crop: the crop {}x{} must be at least 1x1", height, width));
  // Offset of the crop in the (padded) image along one axis; negative: padding before.
  auto offset = [](int size, int crop) {
    if (crop > size) return -((crop - size) / 2);
    const int d = size - crop, q = d / 2;
    return d % 2 == 1 && q % 2 == 1 ? q + 1 : q;  // round(d / 2), halves to even
  };
  const int top = offset(in.height, height), left = offset(in.width, width);
  ImageU8 out(width, height, in.channels);  // zeros: the padding
  for (int y = 0; y < height; ++y) {
    const int sy = y + top;
    if (sy < 0 || sy >= in.height) continue;
    for (int x = 0; x < width; ++x) {
      const int sx = x + left;
      if (sx < 0 || sx >= in.width) continue;
      for (int c = 0; c < in.channels; ++c) out.at(y, x, c) = in.at(sy, sx, c);
    }
  }
  return out;
}

}  // namespace ctnn::data
