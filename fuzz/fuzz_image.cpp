// libFuzzer target for image decoding and the resize and crop that follow it in an image folder.
// Byte 0 picks the channels asked for, bytes 1 and 2 the output height and width; the rest is
// the file. Anything but a DataError or a decoded image of consistent size is a bug: a crash, an
// ASan/UBSan report (in ctnn's code: libjpeg and libpng are the system's, not instrumented),
// another exception type, a longjmp that skips state, or a size that disagrees with the image.
#include <cstddef>
#include <cstdint>
#include <span>

#include "ctnn/data/decode.hpp"
#include "ctnn/data/image.hpp"

namespace {
bool consistent(const ctnn::data::ImageU8& img, int channels) {
  return img.width >= 1 && img.height >= 1 && img.channels == channels &&
         img.pixels.size() == static_cast<std::size_t>(img.width) * img.height * channels;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ctnn::data;
  if (size < 3) return 0;
  static constexpr int channel_choices[4] = {0, 1, 3, 4};
  const int asked = channel_choices[data[0] % 4];
  const int height = 1 + data[1] % 48, width = 1 + data[2] % 48;
  try {
    // A 1-megapixel cap keeps each input's memory and time small.
    const ImageU8 img = decode_image(std::span(data + 3, size - 3), "fuzz", {.channels = asked, .max_pixels = 1 << 20});
    if (!consistent(img, asked == 0 ? img.channels : asked) || img.channels < 1 || img.channels > 4 ||
        static_cast<std::size_t>(img.width) * img.height > (1u << 20))
      __builtin_trap();
    const ImageU8 resized = resize_bilinear(img, height, width);
    const ImageU8 cropped = center_crop(img, height, width);
    if (!consistent(resized, img.channels) || resized.width != width || resized.height != height ||
        !consistent(cropped, img.channels) || cropped.width != width || cropped.height != height)
      __builtin_trap();
  } catch (const DataError&) {
  }
  return 0;
}
