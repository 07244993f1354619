// Image decoding (PNG, JPEG), channel conversion, resize and center crop. Every file is one the
// test encodes itself through libpng's and libjpeg's own encoders (image_files.hpp). The
// comparison with an independent decoder and resizer (PIL) is tests/data/image_crosscheck.py.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "ctnn/data/decode.hpp"
#include "ctnn/data/image.hpp"
#include "image_files.hpp"
#include "support.hpp"

using namespace ctnn::data;
using namespace data_test;
namespace ti = test_images;

namespace {

std::string decode_error(const std::vector<std::uint8_t>& bytes, const DecodeOptions& o = {}) {
  return error_of([&] { decode_image(bytes, "the/file.img", o); });
}

// An end-of-image marker in the middle of the entropy-coded data: the decoder stops there and
// still needs bits for the rest of the image. (Damage to the entropy-coded data itself is often
// invisible: JPEG has no checksum, and libjpeg-turbo's fast Huffman path turns an invalid code
// into an end-of-block without a warning.)
std::vector<std::uint8_t> with_marker_inside(std::vector<std::uint8_t> jpeg) {
  const std::vector<std::uint8_t> eoi{0xff, 0xd9};
  jpeg.insert(jpeg.begin() + static_cast<std::ptrdiff_t>(jpeg.size() / 2), eoi.begin(), eoi.end());
  return jpeg;
}

}  // namespace

TEST_CASE("PNG files decode to exactly the pixels written, in every channel layout", "[data][image]") {
  for (int channels : {1, 2, 3, 4}) {
    const ImageU8 img = ti::pattern(37, 23, channels, channels);
    const ImageU8 back = decode_image(ti::png(img), "p.png", {.channels = 0});
    CHECK(back.width == 37);
    CHECK(back.height == 23);
    REQUIRE(back.channels == channels);
    CHECK(back.pixels == img.pixels);
  }
}

TEST_CASE("decoding converts channels as PIL's Image.convert does", "[data][image]") {
  SECTION("grey to RGB repeats the grey value; grey + alpha to RGB drops the alpha") {
    const ImageU8 grey = ti::pattern(5, 4, 2);
    const ImageU8 rgb = decode_image(ti::png(grey), "g.png");  // channels = 3 by default
    REQUIRE(rgb.channels == 3);
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 5; ++x)
        for (int c = 0; c < 3; ++c) CHECK(rgb.at(y, x, c) == grey.at(y, x, 0));
  }
  SECTION("RGBA to RGB drops the alpha, no compositing; RGB to RGBA adds alpha 255") {
    const ImageU8 rgba = ti::pattern(6, 3, 4);
    const ImageU8 rgb = decode_image(ti::png(rgba), "a.png", {.channels = 3});
    for (int y = 0; y < 3; ++y)
      for (int x = 0; x < 6; ++x)
        for (int c = 0; c < 3; ++c) CHECK(rgb.at(y, x, c) == rgba.at(y, x, c));
    const ImageU8 again = decode_image(ti::png(rgb), "b.png", {.channels = 4});
    CHECK(again.at(2, 5, 3) == 255);
    CHECK(again.at(2, 5, 1) == rgba.at(2, 5, 1));
  }
  SECTION("RGB to grey: ITU-R 601-2 luma, (19595 R + 38470 G + 7471 B + 32768) >> 16") {
    ImageU8 rgb(5, 1, 3);
    const std::uint8_t colours[5][3] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 255}, {10, 20, 30}};
    for (int x = 0; x < 5; ++x)
      for (int c = 0; c < 3; ++c) rgb.at(0, x, c) = colours[x][c];
    const ImageU8 grey = decode_image(ti::png(rgb), "c.png", {.channels = 1});
    REQUIRE(grey.channels == 1);
    // Worked out: 255*19595+32768 = 5029493, >>16 = 76; 255*38470+32768 >> 16 = 150;
    // 255*7471+32768 >> 16 = 29; 255*65536+32768 >> 16 = 255;
    // 10*19595+20*38470+30*7471+32768 = 1222248, >>16 = 18. (PIL gives the same five.)
    CHECK(grey.pixels == std::vector<std::uint8_t>{76, 150, 29, 255, 18});
  }
  SECTION("a palette PNG with transparency becomes RGB(A) from its palette") {
    const std::vector<std::array<std::uint8_t, 4>> palette{{10, 20, 30, 255}, {200, 100, 50, 128}, {0, 255, 0, 0}};
    const std::vector<std::uint8_t> indices{0, 1, 2, 2, 1, 0};  // 3 x 2
    const auto file = ti::png_palette(3, 2, indices, palette);
    const ImageU8 stored = decode_image(file, "pal.png", {.channels = 0});
    REQUIRE(stored.channels == 4);  // the tRNS chunk makes it RGBA
    const ImageU8 rgb = decode_image(file, "pal.png");
    for (int i = 0; i < 6; ++i)
      for (int c = 0; c < 4; ++c) {
        CHECK(stored.pixels[i * 4 + c] == palette[indices[i]][c]);
        if (c < 3) CHECK(rgb.pixels[i * 3 + c] == palette[indices[i]][c]);
      }
  }
  CHECK_THROWS_AS(decode_image(ti::png(ti::pattern(2, 2, 3)), "x.png", {.channels = 2}), std::invalid_argument);
}

// JPEG is lossy, so its pixels can only come back within a bound. The bound here: at quality 100
// every quantisation step is 1, so what is left are roundings, to integer DCT coefficients, in
// the integer inverse DCT, and for colour in RGB -> YCbCr -> RGB (the inverse conversion's 1.772
// Cb -> B factor enlarges those to about 1.5 levels). That gives a few levels at most on this
// deliberately busy pattern: 1 (grey) and 4 (RGB) measured, bounds 2 and 6. A decoding mistake
// (a row off by a pixel, swapped channels, a stride error) gives mean errors of tens of levels
// on it. Exact agreement with an independent decoder is checked against PIL in
// image_crosscheck.py.
TEST_CASE("JPEG files decode to the pixels written within the codec's own error", "[data][image]") {
  SECTION("quality 100, 4:4:4, busy pattern") {
    for (int channels : {1, 3}) {
      const ImageU8 img = ti::pattern(37, 29, channels);
      const ImageU8 back = decode_image(ti::jpeg(img), "q100.jpg", {.channels = 0});
      REQUIRE(back.shape() == img.shape());
      const auto d = ti::difference(img, back);
      INFO("channels " << channels << ": max " << d.max << ", mean " << d.mean);
      CHECK(d.max <= (channels == 1 ? 2 : 6));
      CHECK(d.mean < 1.0);
    }
  }
  SECTION("quality 90, 4:2:0 chroma, progressive, smooth image") {
    // Chroma at half resolution and coarser steps cost little on gradients (1 level measured).
    const ImageU8 img = ti::smooth(40, 33, 3);
    const ImageU8 back = decode_image(ti::jpeg(img, {.quality = 90, .subsample = true, .progressive = true}), "p.jpg");
    const auto d = ti::difference(img, back);
    INFO("max " << d.max << ", mean " << d.mean);
    CHECK(d.max <= 3);
    CHECK(d.mean < 1.0);
  }
  SECTION("a greyscale JPEG read as RGB repeats the grey value") {
    const ImageU8 grey = decode_image(ti::jpeg(ti::pattern(9, 9, 1)), "g.jpg", {.channels = 0});
    const ImageU8 rgb = decode_image(ti::jpeg(ti::pattern(9, 9, 1)), "g.jpg");
    REQUIRE(rgb.channels == 3);
    for (int i = 0; i < 81; ++i) CHECK(rgb.pixels[i * 3 + 2] == grey.pixels[i]);
  }
}

TEST_CASE("every bad image is a DataError naming the file and the problem", "[data][image]") {
  const auto png = ti::png(ti::pattern(37, 29, 3));
  const auto jpeg = ti::jpeg(ti::pattern(37, 29, 3));
  const auto named = [](const std::string& problem) { return Catch::Contains("image the/file.img: " + problem); };

  SECTION("truncated") {
    CHECK_THAT(decode_error({jpeg.begin(), jpeg.begin() + jpeg.size() / 2}),
               named("JPEG: Premature end of JPEG file"));
    CHECK_THAT(decode_error({jpeg.begin(), jpeg.begin() + 10}), named("JPEG: Premature end of JPEG file"));
    CHECK_THAT(decode_error({png.begin(), png.begin() + png.size() / 2}),
               named("PNG: read beyond end of data (the file is truncated)"));
    CHECK_THAT(decode_error({png.begin(), png.begin() + 20}), named("PNG: read beyond end of data"));
  }
  SECTION("corrupt") {
    CHECK_THAT(decode_error(with_marker_inside(jpeg)), named("JPEG: Corrupt JPEG data: premature end of data segment"));
    auto damaged = png;
    damaged[damaged.size() / 2] ^= 0x01;  // inside the IDAT chunk's compressed data
    CHECK_THAT(decode_error(damaged), named("PNG: IDAT: "));
  }
  SECTION("neither JPEG nor PNG") {
    CHECK_THAT(decode_error({'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0}),
               named("a GIF file (it starts with bytes 47 49 46 38 39 61 01 00); ctnn decodes JPEG and PNG only"));
    CHECK_THAT(decode_error({'h', 'e', 'l', 'l', 'o'}), named("not a JPEG or PNG file (it starts with bytes 68 65"));
    CHECK_THAT(decode_error({}), named("file is empty"));
  }
  SECTION("unsupported channel count") {
    CHECK_THAT(decode_error(ti::jpeg(ti::pattern(8, 8, 4))), named("4-channel (CMYK) JPEG"));
  }
  SECTION("more pixels than max_pixels") {
    CHECK_THAT(decode_error(jpeg, {.max_pixels = 1000}), named("JPEG image is 37x29 = 1073 pixels, more than max_pixels = 1000"));
    CHECK_THAT(decode_error(png, {.max_pixels = 1000}), named("PNG image is 37x29 = 1073 pixels, more than max_pixels = 1000"));
  }
  SECTION("files that are missing, folders, and files read from disk") {
    TempDir tmp("decode");
    CHECK_THAT(error_of([&] { read_image(tmp.path / "nothing.png"); }),
               Catch::Contains("nothing.png: file does not exist"));
    CHECK_THAT(error_of([&] { read_image(tmp.path); }), Catch::Contains("is not a regular file"));
    write(tmp.path / "cut.jpg", {jpeg.begin(), jpeg.begin() + 100});
    CHECK_THAT(error_of([&] { read_image(tmp.path / "cut.jpg"); }),
               Catch::Contains((tmp.path / "cut.jpg").string() + ": JPEG: Premature end"));
    write(tmp.path / "ok.png", png);
    CHECK(read_image(tmp.path / "ok.png").pixels == ti::pattern(37, 29, 3).pixels);
  }
}

// --- resize and crop ----------------------------------------------------------------------------

namespace {

ImageU8 row(std::vector<std::uint8_t> values) {
  ImageU8 img(static_cast<int>(values.size()), 1, 1);
  img.pixels = std::move(values);
  return img;
}

// The same filter in double precision, both axes at once, rounded once at the end: PIL's
// resize differs from it only by rounding its horizontal pass to uint8 (up to 0.5, which the
// vertical pass's weights, positive and summing to 1, keep at most 0.5) and by its weights'
// fixed point (below 1e-6), so the two agree within 1 level.
ImageU8 resize_reference(const ImageU8& in, int height, int width) {
  auto weights = [](int n_in, int n_out) {
    std::vector<std::vector<double>> w(static_cast<std::size_t>(n_out), std::vector<double>(static_cast<std::size_t>(n_in)));
    const double scale = static_cast<double>(n_in) / n_out, widen = std::max(1.0, scale);
    for (int o = 0; o < n_out; ++o) {
      double sum = 0;
      for (int i = 0; i < n_in; ++i) {
        const double t = std::abs((i + 0.5) - (o + 0.5) * scale) / widen;
        sum += w[o][i] = t < 1 ? 1 - t : 0;
      }
      for (auto& v : w[o]) v /= sum;
    }
    return w;
  };
  const auto wx = weights(in.width, width), wy = weights(in.height, height);
  ImageU8 out(width, height, in.channels);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < in.channels; ++c) {
        double v = 0;
        for (int sy = 0; sy < in.height; ++sy)
          for (int sx = 0; sx < in.width; ++sx) v += wy[y][sy] * wx[x][sx] * in.at(sy, sx, c);
        out.at(y, x, c) = static_cast<std::uint8_t>(std::lround(std::clamp(v, 0.0, 255.0)));
      }
  return out;
}

}  // namespace

TEST_CASE("resize_bilinear is PIL's BILINEAR: plain interpolation up, antialiased down", "[data][image]") {
  SECTION("upscaling 2 -> 4: half-pixel centres, edges clamped") {
    // Output centres 0.25, 0.75, 1.25, 1.75 in input pixels: weights (1), (.75, .25), (.25, .75), (1).
    CHECK(resize_bilinear(row({0, 100}), 1, 4).pixels == std::vector<std::uint8_t>{0, 25, 75, 100});
  }
  SECTION("downscaling 4 -> 2: the triangle widens to 2 pixels and covers three inputs") {
    // Output 0: centre 1, taps 0, 1, 2 with weights .75, .75, .25: (0 + 30 + 20) / 1.75 = 28.57 -> 29.
    // Output 1: centre 3, taps 1, 2, 3 with weights .25, .75, .75: (10 + 60 + 90) / 1.75 = 91.43 -> 91.
    // (Plain bilinear sampling, torchvision on tensors without antialias, would give 20 and 100.)
    CHECK(resize_bilinear(row({0, 40, 80, 120}), 1, 2).pixels == std::vector<std::uint8_t>{29, 91});
  }
  SECTION("the same size is the same image") {
    const ImageU8 img = ti::pattern(7, 5, 3);
    CHECK(resize_bilinear(img, 5, 7).pixels == img.pixels);
  }
  SECTION("within 1 level of the filter computed in double precision, up, down and mixed") {
    const ImageU8 img = ti::pattern(23, 17, 3);
    for (auto [h, w] : {std::pair{32, 32}, {8, 11}, {17, 5}, {40, 9}, {1, 1}, {16, 46}}) {
      const auto d = ti::difference(resize_bilinear(img, h, w), resize_reference(img, h, w));
      INFO(h << "x" << w << ": max " << d.max);
      CHECK(d.max <= 1);
    }
  }
  CHECK_THROWS_AS(resize_bilinear(ti::pattern(3, 3, 1), 0, 2), std::invalid_argument);
}

TEST_CASE("shorter_side_size is torchvision's Resize(int)", "[data][image]") {
  CHECK(shorter_side_size({480, 640}, 256) == ImageSize{256, 341});  // int(256 * 640 / 480) = int(341.33)
  CHECK(shorter_side_size({640, 480}, 256) == ImageSize{341, 256});
  CHECK(shorter_side_size({50, 50}, 32) == ImageSize{32, 32});
  CHECK(shorter_side_size({10, 31}, 32) == ImageSize{32, 99});  // 32 * 31 / 10 = 99.2
  CHECK(resize_shorter(ti::pattern(31, 10, 3), 32).shape() == ImageShape{3, 32, 99});
}

TEST_CASE("center_crop is torchvision's CenterCrop: round-half-even offsets, zero padding", "[data][image]") {
  const ImageU8 img = ti::pattern(7, 6, 1);
  auto first_pixel_of_crop = [&](int h, int w) { return center_crop(img, h, w).at(0, 0, 0); };
  // Offsets round((H - h) / 2) with Python's round: 6 - 3 = 3 -> round(1.5) = 2;
  // 6 - 1 = 5 -> round(2.5) = 2; 7 - 6 = 1 -> round(0.5) = 0; 7 - 2 = 5 -> 2.
  CHECK(first_pixel_of_crop(3, 7) == img.at(2, 0, 0));
  CHECK(first_pixel_of_crop(1, 7) == img.at(2, 0, 0));
  CHECK(first_pixel_of_crop(6, 6) == img.at(0, 0, 0));
  CHECK(first_pixel_of_crop(6, 2) == img.at(0, 2, 0));
  CHECK(first_pixel_of_crop(4, 3) == img.at(1, 2, 0));  // 2 / 2 = 1, 4 / 2 = 2
  SECTION("larger than the image: (d // 2) zeros before, (d + 1) // 2 after") {
    const ImageU8 padded = center_crop(row({5, 6}), 1, 5);  // d = 3: 1 before, 2 after
    CHECK(padded.pixels == std::vector<std::uint8_t>{0, 5, 6, 0, 0});
  }
  SECTION("copy_to_chw lays the channels out as planes") {
    const ImageU8 rgb = ti::pattern(3, 2, 3);
    const auto chw = to_chw(rgb);
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < 2; ++y)
        for (int x = 0; x < 3; ++x) CHECK(chw[(c * 2 + y) * 3 + x] == rgb.at(y, x, c));
  }
}
