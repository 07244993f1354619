// The tests' own PNG and JPEG files, written straight through libpng's and libjpeg's encoders
// (ctnn only decodes), and a few small helpers around them.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>  // FILE, which jpeglib.h needs first
#include <cstdlib>
#include <stdexcept>
#include <vector>

#include <jpeglib.h>
#include <png.h>

#include "ctnn/data/image.hpp"

namespace test_images {

using ctnn::data::ImageU8;

// A pattern that differs from pixel to pixel and channel to channel, so a shifted row, a
// swapped channel or a transposed image shows.
inline ImageU8 pattern(int width, int height, int channels, int seed = 0) {
  ImageU8 img(width, height, channels);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < channels; ++c)
        img.at(y, x, c) = static_cast<std::uint8_t>((x * 37 + y * 91 + c * 113 + seed * 7 + x * y * 5) & 0xff);
  return img;
}

// A smooth image (gradients), the kind JPEG's chroma subsampling and quantisation keep well.
inline ImageU8 smooth(int width, int height, int channels) {
  ImageU8 img(width, height, channels);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < channels; ++c)
        img.at(y, x, c) = static_cast<std::uint8_t>(30 + (x * 150) / width + (y * 60) / height + c * 10);
  return img;
}

inline std::vector<std::uint8_t> png(const ImageU8& img) {
  static constexpr png_uint_32 formats[] = {PNG_FORMAT_GRAY, PNG_FORMAT_GA, PNG_FORMAT_RGB, PNG_FORMAT_RGBA};
  png_image p{};
  p.version = PNG_IMAGE_VERSION;
  p.width = static_cast<png_uint_32>(img.width);
  p.height = static_cast<png_uint_32>(img.height);
  p.format = formats[img.channels - 1];
  png_alloc_size_t size = 0;
  if (!png_image_write_to_memory(&p, nullptr, &size, 0, img.pixels.data(), 0, nullptr))
    throw std::runtime_error(p.message);
  std::vector<std::uint8_t> out(size);
  if (!png_image_write_to_memory(&p, out.data(), &size, 0, img.pixels.data(), 0, nullptr))
    throw std::runtime_error(p.message);
  out.resize(size);
  return out;
}

// A palette (colour-mapped) PNG: one index byte per pixel into `palette` (RGBA entries; an alpha
// below 255 becomes the file's tRNS chunk).
inline std::vector<std::uint8_t> png_palette(int width, int height, const std::vector<std::uint8_t>& indices,
                                             const std::vector<std::array<std::uint8_t, 4>>& palette) {
  png_image p{};
  p.version = PNG_IMAGE_VERSION;
  p.width = static_cast<png_uint_32>(width);
  p.height = static_cast<png_uint_32>(height);
  p.format = PNG_FORMAT_RGBA_COLORMAP;
  p.colormap_entries = static_cast<png_uint_32>(palette.size());
  png_alloc_size_t size = 0;
  if (!png_image_write_to_memory(&p, nullptr, &size, 0, indices.data(), 0, palette.data()))
    throw std::runtime_error(p.message);
  std::vector<std::uint8_t> out(size);
  if (!png_image_write_to_memory(&p, out.data(), &size, 0, indices.data(), 0, palette.data()))
    throw std::runtime_error(p.message);
  out.resize(size);
  return out;
}

struct JpegSettings {
  int quality = 100;
  bool subsample = false;  // false: 4:4:4; true: libjpeg's default 4:2:0 chroma
  bool progressive = false;
};

// 1 channel: greyscale; 3: YCbCr from RGB; 4: CMYK (Adobe), which ctnn refuses.
inline std::vector<std::uint8_t> jpeg(const ImageU8& img, JpegSettings s = {}) {
  jpeg_compress_struct c{};
  jpeg_error_mgr errors{};
  c.err = jpeg_std_error(&errors);  // the defaults print and exit(): these inputs are valid
  jpeg_create_compress(&c);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&c, &buffer, &size);
  c.image_width = static_cast<JDIMENSION>(img.width);
  c.image_height = static_cast<JDIMENSION>(img.height);
  c.input_components = img.channels;
  c.in_color_space = img.channels == 1 ? JCS_GRAYSCALE : img.channels == 3 ? JCS_RGB : JCS_CMYK;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, s.quality, TRUE);
  if (!s.subsample)
    for (int i = 0; i < c.num_components; ++i) c.comp_info[i].h_samp_factor = c.comp_info[i].v_samp_factor = 1;
  if (s.progressive) jpeg_simple_progression(&c);
  jpeg_start_compress(&c, TRUE);
  const std::size_t row_bytes = static_cast<std::size_t>(img.width) * img.channels;
  while (c.next_scanline < c.image_height) {
    auto* row = const_cast<JSAMPROW>(img.pixels.data() + c.next_scanline * row_bytes);
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  std::vector<std::uint8_t> out(buffer, buffer + size);
  jpeg_destroy_compress(&c);
  std::free(buffer);
  return out;
}

// The largest and the mean absolute difference between two images of one shape.
struct Difference {
  int max = 0;
  double mean = 0;
};
inline Difference difference(const ImageU8& a, const ImageU8& b) {
  Difference d;
  for (std::size_t i = 0; i < a.pixels.size(); ++i) {
    const int e = std::abs(int{a.pixels[i]} - int{b.pixels[i]});
    d.max = std::max(d.max, e);
    d.mean += e;
  }
  d.mean /= static_cast<double>(a.pixels.size());
  return d;
}

}  // namespace test_images
