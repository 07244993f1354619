// Writes ctnn's geometric augmentations, with fixed parameters, for torchvision to compare
// against (augment_crosscheck.py). Usage: ctnn_augment_crosscheck OUT.bin
// File: int32 count, then per case: int32 crop_i, crop_j, flip, float64 angle, then the
// 3x32x32 uint8 source once at the start, then per case 3072 float32 (fused path, no normalize).
#include <cstdint>
#include <cstdio>
#include <vector>

#include "ctnn/data/augment.hpp"

using namespace ctnn::data;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT.bin\n", argv[0]);
    return 2;
  }
  const ImageShape shape{3, 32, 32};
  std::vector<std::uint8_t> src(shape.size());
  Rng rng{42};
  for (auto& p : src) p = static_cast<std::uint8_t>(rng() >> 56);
  struct Case { std::int32_t i, j, flip; double angle; };
  // (crop_i, crop_j) = (4, 4) is the identity crop; angle 0 with no crop/flip is the identity.
  const std::vector<Case> cases{{4, 4, 0, 0.0},    {4, 4, 0, 15.0},  {4, 4, 0, -15.0},
                                {4, 4, 0, 7.3},    {4, 4, 0, 90.0},  {4, 4, 0, -33.3},
                                {0, 8, 1, 11.0},   {8, 0, 0, -12.5}, {2, 7, 1, 0.0},
                                {6, 1, 1, 14.99},  {3, 5, 0, 1e-3},  {8, 8, 1, -4.0}};
  std::FILE* f = std::fopen(argv[1], "wb");
  if (!f) return 1;
  const auto n = static_cast<std::int32_t>(cases.size());
  std::fwrite(&n, 4, 1, f);
  for (const Case& c : cases) {
    std::fwrite(&c.i, 4, 1, f), std::fwrite(&c.j, 4, 1, f), std::fwrite(&c.flip, 4, 1, f);
    std::fwrite(&c.angle, 8, 1, f);
  }
  std::fwrite(src.data(), 1, src.size(), f);
  const float scale[3] = {1 / 255.f, 1 / 255.f, 1 / 255.f}, bias[3] = {0, 0, 0};
  for (const Case& c : cases) {
    const detail::GeoStep steps[3] = {augment::RandomCrop{32, 4}.step(shape, c.i, c.j),
                                      augment::RandomHorizontalFlip::step(shape, c.flip != 0),
                                      augment::RandomRotation::step(shape, c.angle)};
    const auto map = detail::fuse_steps(steps, 3, shape);
    std::vector<float> out(shape.size());
    detail::sample_fused(src.data(), shape, map, scale, bias, out.data());
    std::fwrite(out.data(), 4, out.size(), f);
  }
  std::fclose(f);
  return 0;
}
