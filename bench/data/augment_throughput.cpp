// Throughput of the seed's training pipeline in ctnn (RandomCrop(32, 4), RandomHorizontalFlip,
// RandomRotation(15) bilinear, ToTensor, Normalize, into NCHW float batches of 128), on the
// first 5000 images of data_batch_1.bin, the images torchvision's peer uses.
//   ctnn_augment_throughput [CIFAR10_DIR]   (default: $CTNN_CIFAR10_DIR)   env: PASSES=20
// Prints one line per configuration:
//   "ctnn <what>: threads T: N img/s (M img/s per thread)"
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "ctnn/data/data.hpp"

using namespace ctnn::data;
using clock_type = std::chrono::steady_clock;

namespace {
double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}
void report(const char* what, int threads, double images, double secs) {
  const double rate = images / secs;
  std::printf("ctnn %s: threads %d: %.0f img/s (%.0f img/s per thread)\n", what, threads, rate,
              rate / threads);
  std::fflush(stdout);
}
}  // namespace

int main(int argc, char** argv) {
  const char* env = std::getenv("CTNN_CIFAR10_DIR");
  const std::filesystem::path dir = argc > 1 ? argv[1] : (env ? env : "");
  if (dir.empty()) {
    std::fprintf(stderr, "usage: %s CIFAR10_DIR (or set CTNN_CIFAR10_DIR)\n", argv[0]);
    return 2;
  }
  const int passes = std::getenv("PASSES") ? std::atoi(std::getenv("PASSES")) : 20;
  Dataset data;
  try {
    const auto t0 = clock_type::now();
    const auto bytes = detail::read_file_bytes(dir / "data_batch_1.bin", "cifar10");
    cifar10::parse(bytes, (dir / "data_batch_1.bin").string(), data);
    std::printf("read %zu images from data_batch_1.bin in %.3f s\n", data.size(), seconds_since(t0));
  } catch (const DataError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  data.pixels.resize(5000 * data.shape.size());
  data.labels.resize(5000);

  const auto pipeline = augment::seed_cifar10();
  const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

  // 1. The transform alone, straight into one batch buffer, in this thread (no loader).
  {
    std::vector<float> batch(128 * 3072);
    std::size_t n = 0;
    const auto t0 = clock_type::now();
    for (int p = 0; p < passes; ++p)
      for (std::size_t i = 0; i < data.size(); ++i) {
        Rng rng = image_rng(1, static_cast<std::uint64_t>(p), i);
        pipeline.run(data.image(i), data.shape,
                     std::span<float>(batch).subspan((i % 128) * 3072, 3072), rng);
        ++n;
      }
    report("seed transform into a batch (no loader)", 1, static_cast<double>(n), seconds_since(t0));
  }
  // 2. The whole loader (shuffle, augment, batch, hand-off): threads 0 means the consumer's own
  //    thread does the work (1 thread in all); otherwise T background workers and an idle consumer.
  for (int threads : {0, hw}) {
    Loader loader{data, 128, pipeline, {.seed = 1, .threads = threads}};
    for (const Batch& b : loader) (void)b;  // warm up: allocate the batch buffers
    std::size_t n = 0;
    double checksum = 0;
    const auto t0 = clock_type::now();
    for (int p = 0; p < passes; ++p)
      for (const Batch& b : loader) {
        n += static_cast<std::size_t>(b.size);
        checksum += b.images[0];
      }
    report("loader, seed transform, batch 128", threads == 0 ? 1 : threads, static_cast<double>(n),
           seconds_since(t0));
    if (checksum == 12345.678) std::printf("(checksum)\n");  // keep the reads alive
  }
  return 0;
}
