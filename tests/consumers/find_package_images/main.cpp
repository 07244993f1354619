// Links libjpeg and libpng through the installed ctnn::images: decodes a file the program writes
// with libpng's encoder, and refuses a truncated one with a DataError naming it.
#include <cstdio>
#include <vector>

#include <ctnn/data/decode.hpp>
#include <fmt/core.h>

int main() {
  namespace data = ctnn::data;
  png_image p{};
  p.version = PNG_IMAGE_VERSION;
  p.width = 3, p.height = 2, p.format = PNG_FORMAT_RGB;
  const std::vector<unsigned char> rgb{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18};
  png_alloc_size_t size = 1024;
  std::vector<unsigned char> file(size);
  if (!png_image_write_to_memory(&p, file.data(), &size, 0, rgb.data(), 0, nullptr)) return 1;
  file.resize(size);
  const data::ImageU8 img = data::decode_image(file, "written.png");
  if (img.width != 3 || img.height != 2 || img.pixels != rgb) return 1;
  try {
    data::decode_image(std::span(file).first(file.size() / 2), "cut.png");
    return 1;
  } catch (const data::DataError& e) {
    fmt::print("ctnn::images consumer: decoded 3x2 RGB; {}\n", e.what());
  }
}
