// ctnn_image_tool IN OUT CHANNELS [HEIGHT WIDTH [CROP_HEIGHT CROP_WIDTH]]: decodes IN with ctnn
// (CHANNELS: 0 as stored, 1, 3 or 4), optionally resizes it (resize_bilinear) and center-crops
// it, writes the HWC bytes to OUT and prints "WIDTH HEIGHT CHANNELS". A DataError is printed
// to stderr with exit status 1. image_crosscheck.py compares the results with PIL's.
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "ctnn/data/decode.hpp"
#include "ctnn/data/image.hpp"

int main(int argc, char** argv) {
  using namespace ctnn::data;
  if (argc != 4 && argc != 6 && argc != 8) {
    std::fprintf(stderr, "usage: %s IN OUT CHANNELS [HEIGHT WIDTH [CROP_HEIGHT CROP_WIDTH]]\n", argv[0]);
    return 2;
  }
  try {
    ImageU8 img = read_image(argv[1], {.channels = std::atoi(argv[3])});
    if (argc >= 6) img = resize_bilinear(img, std::atoi(argv[4]), std::atoi(argv[5]));
    if (argc == 8) img = center_crop(img, std::atoi(argv[6]), std::atoi(argv[7]));
    std::ofstream(argv[2], std::ios::binary)
        .write(reinterpret_cast<const char*>(img.pixels.data()), static_cast<std::streamsize>(img.pixels.size()));
    std::printf("%d %d %d\n", img.width, img.height, img.channels);
  } catch (const DataError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
