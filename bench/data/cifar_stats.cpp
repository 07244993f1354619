// Loads a real CIFAR-10 folder with ctnn::data::cifar10::load and prints what a correct load
// must show: 50,000 + 10,000 images, 5,000 / 1,000 per class, the class names, and per-channel
// mean and std of the training pixels (the seed's Normalize constants come from these, so R, G
// and B near 0.4914/0.4822/0.4465 also confirm the plane order), then one epoch of the loader.
//   ctnn_cifar_stats [CIFAR10_DIR]   (default: $CTNN_CIFAR10_DIR)
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "ctnn/data/data.hpp"

int main(int argc, char** argv) {
  using namespace ctnn::data;
  const char* env = std::getenv("CTNN_CIFAR10_DIR");
  const char* dir = argc > 1 ? argv[1] : env;
  if (!dir) {
    std::fprintf(stderr, "usage: %s CIFAR10_DIR (or set CTNN_CIFAR10_DIR)\n", argv[0]);
    return 2;
  }
  try {
    const auto t0 = std::chrono::steady_clock::now();
    const Splits s = cifar10::load(dir);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("loaded %zu training and %zu test images in %.2f s\n", s.train.size(), s.test.size(), secs);
    for (const Dataset* d : {&s.train, &s.test}) {
      std::array<int, 10> count{};
      for (int l : d->labels) ++count[l];
      std::printf("%s per class:", d == &s.train ? "train" : "test ");
      for (int c = 0; c < 10; ++c) std::printf(" %s=%d", d->class_names[c].c_str(), count[c]);
      std::printf("\n");
    }
    for (int c = 0; c < 3; ++c) {
      double sum = 0, sq = 0;
      for (std::size_t i = 0; i < s.train.size(); ++i) {
        const auto img = s.train.image(i);
        for (int p = 0; p < 1024; ++p) {
          const double v = img[c * 1024 + p] / 255.0;
          sum += v, sq += v * v;
        }
      }
      const double n = 1024.0 * static_cast<double>(s.train.size());
      const double mean = sum / n;
      std::printf("channel %c: mean %.4f std %.4f\n", "RGB"[c], mean, std::sqrt(sq / n - mean * mean));
    }
    Loader train{s.train, 128, augment::seed_cifar10(), {.seed = 1}};
    const auto t1 = std::chrono::steady_clock::now();
    std::size_t images = 0, batches = 0;
    double sum = 0;
    for (const Batch& b : train) {
      images += static_cast<std::size_t>(b.size), ++batches;
      for (float v : b.images) sum += v;
    }
    const double es = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
    std::printf("one augmented epoch: %zu batches, %zu images in %.2f s; mean normalized value %.3f\n",
                batches, images, es, sum / (static_cast<double>(images) * 3072));
  } catch (const DataError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
