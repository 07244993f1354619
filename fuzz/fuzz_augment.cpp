// libFuzzer target for the augmentation sampler: random image shapes, crop sizes and paddings,
// flips and rotation ranges. The fused uint8 -> float path must stay in bounds (ASan) and agree
// with the plain stage-by-stage composition.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "ctnn/data/augment.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ctnn::data;
  using namespace ctnn::data::augment;
  if (size < 10) return 0;
  const ImageShape shape{1 + data[0] % 4, 1 + data[1] % 40, 1 + data[2] % 40};
  const int size1 = 1 + data[3] % 48, pad1 = data[4] % 9;
  const int size2 = 1 + data[5] % 48, pad2 = data[6] % 9;
  const double deg = (data[7] % 181) * 1.0;
  const float p = (data[8] % 3) * 0.5f;
  const std::uint64_t seed = data[9];
  std::vector<std::uint8_t> src(shape.size());
  for (std::size_t i = 0; i < src.size(); ++i) src[i] = size > 10 ? data[10 + i % (size - 10)] : 0;

  auto check = [&](const auto& pipeline) {
    try {
      const ImageShape out_shape = pipeline.output_shape(shape);
      std::vector<float> fast(out_shape.size());
      Rng a{seed}, b{seed};
      pipeline.run(src, shape, fast, a);
      Image plain = Image::from_u8(src, shape);
      pipeline.apply(plain, b);
      if (!(plain.shape == out_shape)) __builtin_trap();
      for (std::size_t i = 0; i < fast.size(); ++i)
        if (!(std::abs(fast[i] - plain.data[i]) < 1e-3f)) __builtin_trap();
    } catch (const std::invalid_argument&) {  // a crop larger than the padded image
    }
  };
  check(Compose{RandomCrop{size1, pad1}, RandomHorizontalFlip{p}, RandomRotation{deg},
                RandomCrop{size2, pad2}});
  check(Compose{RandomRotation{deg}, RandomCrop{size1, pad1}, RandomHorizontalFlip{p}});
  return 0;
}
