// ctnn/data/decode.hpp — JPEG and PNG files into uint8 images (libjpeg-turbo and libpng).
//
//   data::ImageU8 img = data::read_image("cat.jpg");              // RGB, HWC
//   data::ImageU8 grey = data::decode_image(bytes, "upload", {.channels = 1});
//
// Link ctnn::images (CMake), which adds libjpeg and libpng (Debian: libjpeg62-turbo-dev,
// libpng-dev). The format is recognised by its first bytes, not by the file name. Every
// failure raises DataError naming the file (or the `source` given) and what is wrong: a missing
// or empty file, a format that is neither JPEG nor PNG, truncated or corrupt data (libjpeg's
// warnings about damaged data count as errors, not only its fatal errors), a JPEG with an
// unsupported number of colour components (CMYK), or more pixels than DecodeOptions::max_pixels.
// docs/data.md says why these two libraries and not stb_image.
#pragma once

#include <algorithm>    // std::equal, std::min
#include <csetjmp>      // std::jmp_buf, setjmp, std::longjmp
#include <cstddef>      // std::size_t
#include <cstdint>      // std::uint8_t
#include <cstdio>       // std::snprintf; FILE and size_t, which jpeglib.h needs first
#include <filesystem>   // std::filesystem::path, status
#include <fstream>      // std::ifstream
#include <span>         // std::span
#include <stdexcept>    // std::invalid_argument
#include <string>       // std::string
#include <string_view>  // std::string_view
#include <vector>       // std::vector

#include <fmt/core.h>  // fmt::format
#include <jpeglib.h>   // jpeg_decompress_struct, jpeg_read_header, ...
#include <jerror.h>    // the JWRN_ message codes
#include <png.h>       // png_image, png_image_begin_read_from_memory, ...

#include "ctnn/data/error.hpp"  // DataError
#include "ctnn/data/image.hpp"  // ImageU8, convert_channels

namespace ctnn::data {

enum class ImageFormat { unknown, jpeg, png };

// The format the first bytes announce.
inline ImageFormat image_format(std::span<const std::uint8_t> b) noexcept {
  static constexpr std::uint8_t png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (b.size() >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff) return ImageFormat::jpeg;
  if (b.size() >= 8 && std::equal(png_signature, png_signature + 8, b.begin())) return ImageFormat::png;
  return ImageFormat::unknown;
}

struct DecodeOptions {
  // 0: as stored (1 grey, 2 grey + alpha, 3 RGB, 4 RGBA); 1, 3 or 4: converted as PIL's
  // Image.convert("L" / "RGB" / "RGBA") does (see convert_channels).
  int channels = 3;
  // Images with more pixels are refused before anything is allocated for them: a small file can
  // announce an enormous image. The default is 2^28 (a 16384 x 16384 image).
  std::size_t max_pixels = std::size_t{1} << 28;
  // A progressive JPEG with more scans is refused: each scan re-decodes the whole image, so a
  // small file of thousands of scans costs minutes (libjpeg-turbo's TurboJPEG API caps at 500).
  int max_jpeg_scans = 500;
};

namespace detail {

[[noreturn]] inline void image_error(std::string_view source, std::string_view what) {
  throw DataError(fmt::format("image {}: {}", source, what));
}

inline void check_pixel_count(std::size_t width, std::size_t height, const DecodeOptions& o,
                              std::string_view source, const char* format) {
  if (width == 0 || height == 0)
    image_error(source, fmt::format("{} image of {}x{} pixels has no pixels", format, width, height));
  if (width * height > o.max_pixels)
    image_error(source, fmt::format("{} image is {}x{} = {} pixels, more than max_pixels = {}", format, width,
                                    height, width * height, o.max_pixels));
}

// --- JPEG ---------------------------------------------------------------------------------------
// libjpeg reports errors through a callback that must not return. It can't throw either (the
// library is C, built without unwind tables), so the callback longjmps back to the setjmp in
// read_jpeg_into. That function keeps its state in a JpegDecoder owned by the caller and holds
// no object with a destructor itself, which a longjmp would skip.
struct JpegDecoder {
  jpeg_decompress_struct info{};
  jpeg_error_mgr errors{};
  jpeg_progress_mgr progress{};
  std::jmp_buf jump{};
  char message[JMSG_LENGTH_MAX + 64] = {};
  int max_scans = 500;
  bool created = false;
  ~JpegDecoder() {
    if (created) jpeg_destroy_decompress(&info);
  }
};

inline JpegDecoder& jpeg_decoder_of(j_common_ptr info) {
  return *static_cast<JpegDecoder*>(info->client_data);
}

inline void jpeg_fail(j_common_ptr info) {
  JpegDecoder& d = jpeg_decoder_of(info);
  char text[JMSG_LENGTH_MAX];
  info->err->format_message(info, text);
  std::snprintf(d.message, sizeof d.message, "JPEG: %s", text);
  std::longjmp(d.jump, 1);
}

// Warnings (level -1) about damaged data would otherwise be printed to stderr and the damage
// filled with grey; they fail the decode. Trace messages (level >= 0) are ignored, and so are
// the warnings that concern only metadata or bytes outside the image data.
inline void jpeg_warn(j_common_ptr info, int level) {
  if (level >= 0) return;
  switch (info->err->msg_code) {
    case JWRN_EXTRANEOUS_DATA:  // stray bytes between markers, skipped
    case JWRN_JFIF_MAJOR:       // a JFIF version number from the future
    case JWRN_ADOBE_XFORM:      // an unknown Adobe transform code (the colour space is still known)
    case JWRN_BOGUS_ICC:        // a damaged ICC profile, which we don't use
      return;
    default:
      jpeg_fail(info);
  }
}

inline void jpeg_check_scans(j_common_ptr info) {
  JpegDecoder& d = jpeg_decoder_of(info);
  const auto* in = reinterpret_cast<j_decompress_ptr>(info);
  if (in->progressive_mode && in->input_scan_number > d.max_scans) {
    std::snprintf(d.message, sizeof d.message, "progressive JPEG with more than %d scans (DecodeOptions::max_jpeg_scans)",
                  d.max_scans);
    std::longjmp(d.jump, 1);
  }
}

// Decodes into `out` (HWC, the file's own 1 or 3 channels); false with d.message set on failure.
inline bool read_jpeg_into(std::span<const std::uint8_t> bytes, const DecodeOptions& o, JpegDecoder& d,
                           ImageU8& out) {
  d.info.err = jpeg_std_error(&d.errors);
  d.errors.error_exit = jpeg_fail;
  d.errors.emit_message = jpeg_warn;
  d.progress.progress_monitor = jpeg_check_scans;
  d.max_scans = o.max_jpeg_scans;
  d.info.client_data = &d;  // create clears the struct but for err and client_data
  if (setjmp(d.jump)) return false;
  jpeg_create_decompress(&d.info);
  d.created = true;
  d.info.progress = &d.progress;
  jpeg_mem_src(&d.info, bytes.data(), static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&d.info, TRUE);
  switch (d.info.jpeg_color_space) {
    case JCS_GRAYSCALE: d.info.out_color_space = JCS_GRAYSCALE; break;
    case JCS_YCbCr:
    case JCS_RGB: d.info.out_color_space = JCS_RGB; break;
    case JCS_CMYK:
    case JCS_YCCK:
      std::snprintf(d.message, sizeof d.message, "4-channel (CMYK) JPEG; only greyscale and colour (YCbCr, RGB) are supported");
      return false;
    default:
      std::snprintf(d.message, sizeof d.message, "JPEG with %d colour components in an unknown colour space; "
                    "only greyscale and colour (YCbCr, RGB) are supported", d.info.num_components);
      return false;
  }
  const std::size_t width = d.info.image_width, height = d.info.image_height;
  if (width * height > o.max_pixels) {
    std::snprintf(d.message, sizeof d.message, "JPEG image is %zux%zu = %zu pixels, more than max_pixels = %zu",
                  width, height, width * height, o.max_pixels);
    return false;
  }
  jpeg_start_decompress(&d.info);
  out = ImageU8(static_cast<int>(d.info.output_width), static_cast<int>(d.info.output_height),
                d.info.output_components);
  const std::size_t row_bytes = static_cast<std::size_t>(out.width) * out.channels;
  while (d.info.output_scanline < d.info.output_height) {
    JSAMPROW row = out.pixels.data() + d.info.output_scanline * row_bytes;
    jpeg_read_scanlines(&d.info, &row, 1);
  }
  jpeg_finish_decompress(&d.info);
  return true;
}

inline ImageU8 decode_jpeg(std::span<const std::uint8_t> bytes, const DecodeOptions& o, std::string_view source) {
  JpegDecoder decoder;
  ImageU8 out;
  if (!read_jpeg_into(bytes, o, decoder, out)) image_error(source, decoder.message);
  return out;
}

// --- PNG ----------------------------------------------------------------------------------------
// libpng's simplified API: no callbacks, errors come back as a return value and a message.
[[noreturn]] inline void png_error(std::string_view source, std::string_view message) {
  const bool truncated = message.find("beyond end of data") != message.npos;
  image_error(source, fmt::format("PNG: {}{}", message, truncated ? " (the file is truncated)" : ""));
}

inline ImageU8 decode_png(std::span<const std::uint8_t> bytes, const DecodeOptions& o, std::string_view source) {
  struct Image {
    png_image png{};
    ~Image() { png_image_free(&png); }
  } image;
  png_image& png = image.png;
  png.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&png, bytes.data(), bytes.size())) png_error(source, png.message);
  check_pixel_count(png.width, png.height, o, source, "PNG");
  // 8 bits per channel and the file's own channels (a palette becomes RGB, or RGBA with
  // transparency). Without this flag libpng treats 16-bit samples as linear light and
  // gamma-encodes them on the way to 8 bits; PIL and everyone else just rescale them.
  png.flags |= PNG_IMAGE_FLAG_16BIT_sRGB;
  png.format &= PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA;
  ImageU8 out(static_cast<int>(png.width), static_cast<int>(png.height),
              static_cast<int>(PNG_IMAGE_SAMPLE_CHANNELS(png.format)));
  if (!png_image_finish_read(&png, nullptr, out.pixels.data(), 0, nullptr)) png_error(source, png.message);
  return out;
}

// What a file that is neither JPEG nor PNG probably is, for the message.
inline std::string describe_unknown(std::span<const std::uint8_t> b) {
  auto starts = [&](std::string_view magic, std::size_t at = 0) {
    return b.size() >= at + magic.size() &&
           std::equal(magic.begin(), magic.end(), b.begin() + static_cast<std::ptrdiff_t>(at),
                      [](char m, std::uint8_t c) { return static_cast<std::uint8_t>(m) == c; });
  };
  std::string kind;
  if (starts("GIF8")) kind = "a GIF file";
  else if (starts("BM")) kind = "a BMP file";
  else if (starts("RIFF") && starts("WEBP", 8)) kind = "a WebP file";
  else if (starts(std::string_view("II*\0", 4)) || starts(std::string_view("MM\0*", 4))) kind = "a TIFF file";
  std::string head;
  for (std::size_t i = 0; i < std::min<std::size_t>(b.size(), 8); ++i) head += fmt::format("{}{:02x}", i ? " " : "", b[i]);
  return fmt::format("{} (it starts with bytes {}); ctnn decodes JPEG and PNG only",
                     kind.empty() ? "not a JPEG or PNG file" : kind, head);
}

}  // namespace detail

// Decodes a whole JPEG or PNG file held in memory; `source` names it in error messages.
inline ImageU8 decode_image(std::span<const std::uint8_t> bytes, std::string_view source,
                            const DecodeOptions& options = {}) {
  const int c = options.channels;
  if (c != 0 && c != 1 && c != 3 && c != 4)
    throw std::invalid_argument(fmt::format("decode_image: DecodeOptions::channels is {}; use 0 (as stored), "
                                            "1 (grey), 3 (RGB) or 4 (RGBA)", c));
  if (bytes.empty()) detail::image_error(source, "file is empty");
  ImageU8 img;
  switch (image_format(bytes)) {
    case ImageFormat::jpeg: img = detail::decode_jpeg(bytes, options, source); break;
    case ImageFormat::png: img = detail::decode_png(bytes, options, source); break;
    case ImageFormat::unknown: detail::image_error(source, detail::describe_unknown(bytes));
  }
  return c == 0 ? img : convert_channels(img, c);
}

// The bytes of a whole file; DataError when it is missing, not a regular file or unreadable.
inline std::vector<std::uint8_t> read_file_bytes(const std::filesystem::path& file) {
  std::error_code ec;
  const auto status = std::filesystem::status(file, ec);
  if (!std::filesystem::exists(status))
    throw DataError(fmt::format("image {}: file does not exist", file.string()));
  if (!std::filesystem::is_regular_file(status))
    throw DataError(fmt::format("image {}: is not a regular file", file.string()));
  std::ifstream in(file, std::ios::binary | std::ios::ate);
  if (!in) throw DataError(fmt::format("image {}: cannot be opened for reading", file.string()));
  const auto size = static_cast<std::size_t>(in.tellg());
  std::vector<std::uint8_t> bytes(size);
  in.seekg(0);
  if (!in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size)))
    throw DataError(fmt::format("image {}: reading its {} bytes failed", file.string(), size));
  return bytes;
}

// Reads and decodes one image file.
inline ImageU8 read_image(const std::filesystem::path& file, const DecodeOptions& options = {}) {
  return decode_image(read_file_bytes(file), file.string(), options);
}

}  // namespace ctnn::data
