// Trains the seed's CIFAR-10 network on a small synthetic data set shaped like CIFAR-10
// (3x32x32 images, 10 classes), so the whole pipeline can be seen working without any data
// on disk. Each class is a fixed random colour pattern; samples are that pattern shifted by
// up to 3 pixels with noise added, so the network has to learn shift-tolerant features.
//
//   train_synthetic [--epochs N] [--train N] [--test N] [--batch N] [--lr X] [--seed N]
//                   [--min-accuracy PERCENT]
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include <ctnn/ctnn.hpp>
#include <ctnn/models/seed.hpp>
#include <fmt/format.h>

using namespace ctnn;

using models::SeedNet;  // the seed's network (include/ctnn/models/seed.hpp)

struct Options {
  int epochs = 3, train = 4096, test = 1024, batch = 128, seed = 0;
  float lr = 1e-3f, min_accuracy = 0;
};

static Options parse(int argc, char** argv) {
  Options o;
  auto value = [&](int& i) -> std::string {
    if (i + 1 >= argc) throw std::invalid_argument(fmt::format("{} needs a value", argv[i]));
    return argv[++i];
  };
  auto positive = [](const std::string& flag, const std::string& text) {
    std::size_t used = 0;
    long v = -1;
    try { v = std::stol(text, &used); } catch (const std::exception&) {}
    if (used != text.size() || v < 1 || v > 10'000'000)
      throw std::invalid_argument(fmt::format("{} expects a positive integer, got '{}'", flag, text));
    return static_cast<int>(v);
  };
  auto number = [](const std::string& flag, const std::string& text, float low, float high) {
    std::size_t used = 0;
    float v = -1;
    try { v = std::stof(text, &used); } catch (const std::exception&) {}
    if (used != text.size() || !(v >= low && v <= high))
      throw std::invalid_argument(fmt::format("{} expects a number in [{}, {}], got '{}'", flag, low, high, text));
    return v;
  };
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--epochs") o.epochs = positive(flag, value(i));
    else if (flag == "--train") o.train = positive(flag, value(i));
    else if (flag == "--test") o.test = positive(flag, value(i));
    else if (flag == "--batch") o.batch = positive(flag, value(i));
    else if (flag == "--seed") o.seed = positive(flag, value(i));
    else if (flag == "--lr") o.lr = number(flag, value(i), 1e-7f, 10.0f);
    else if (flag == "--min-accuracy") o.min_accuracy = number(flag, value(i), 0.0f, 100.0f);
    else if (flag == "--help" || flag == "-h") {
      fmt::print("usage: train_synthetic [--epochs N] [--train N] [--test N] [--batch N] [--lr X] [--seed N] "
                 "[--min-accuracy PERCENT]\n");
      std::exit(0);
    } else {
      throw std::invalid_argument(fmt::format("unknown option '{}' (try --help)", flag));
    }
  }
  return o;
}

struct DataSet {
  std::vector<float> images;  // N x 3 x 32 x 32
  std::vector<std::int32_t> labels;
};

static DataSet make_data(int count, const std::vector<std::vector<float>>& patterns, Rng& rng) {
  constexpr int plane = 32 * 32, image = 3 * plane;
  DataSet d{std::vector<float>(static_cast<std::size_t>(count) * image), std::vector<std::int32_t>(count)};
  for (int n = 0; n < count; ++n) {
    const int label = static_cast<int>(rng.next_u64() % 10);
    const int dy = static_cast<int>(rng.next_u64() % 7) - 3, dx = static_cast<int>(rng.next_u64() % 7) - 3;
    d.labels[n] = label;
    float* out = d.images.data() + static_cast<std::size_t>(n) * image;
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < 32; ++y)
        for (int x = 0; x < 32; ++x) {
          const int sy = (y + dy + 32) % 32, sx = (x + dx + 32) % 32;
          out[c * plane + y * 32 + x] = patterns[label][c * plane + sy * 32 + sx] + rng.uniform(-0.8f, 0.8f);
        }
  }
  return d;
}

int main(int argc, char** argv) try {
  cpu::use_passive_openmp_wait(argv);  // see ctnn/backend/cpu/threads.hpp
  const Options o = parse(argc, argv);
  Rng rng(static_cast<std::uint64_t>(o.seed));
  // Smooth class patterns: a few random blobs per channel.
  std::vector<std::vector<float>> patterns(10, std::vector<float>(3 * 32 * 32));
  for (auto& p : patterns)
    for (int c = 0; c < 3; ++c)
      for (int blob = 0; blob < 4; ++blob) {
        const float cy = rng.uniform(0, 32), cx = rng.uniform(0, 32), sign = rng.uniform() < 0.5f ? -1.f : 1.f;
        for (int y = 0; y < 32; ++y)
          for (int x = 0; x < 32; ++x) {
            const float d2 = (y - cy) * (y - cy) + (x - cx) * (x - cx);
            p[c * 1024 + y * 32 + x] += sign * std::exp(-d2 / 18.0f);
          }
      }
  const DataSet train = make_data(o.train, patterns, rng), test = make_data(o.test, patterns, rng);

  Model<SeedNet, Input<3, 32, 32>, Cpu> model(static_cast<std::uint64_t>(o.seed));
  fmt::print("{}", model.summary());
  fmt::print("synthetic data: {} training and {} test images, batch {}, Adam lr {}\n", o.train, o.test, o.batch, o.lr);
  loss::CrossEntropy<Cpu> loss;
  optim::Adam adam(model.parameters(), {.lr = o.lr});
  constexpr long image = 3 * 32 * 32;

  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    model.train();
    double loss_sum = 0;
    long correct = 0, seen = 0;
    for (long first = 0; first < o.train; first += o.batch) {
      const long n = std::min<long>(o.batch, o.train - first);
      const auto result = loss.forward(model.forward({train.images.data() + first * image, static_cast<std::size_t>(n * image)}, n),
                                       {train.labels.data() + first, static_cast<std::size_t>(n)});
      model.backward(loss.gradient());
      adam.step();
      loss_sum += result.loss * n;
      correct += result.correct;
      seen += n;
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    model.eval();
    long test_correct = 0;
    for (long first = 0; first < o.test; first += o.batch) {
      const long n = std::min<long>(o.batch, o.test - first);
      test_correct += loss.forward(model.forward({test.images.data() + first * image, static_cast<std::size_t>(n * image)}, n),
                                   {test.labels.data() + first, static_cast<std::size_t>(n)})
                          .correct;
    }
    fmt::print("epoch {}/{}: train loss {:.4f}, train accuracy {:.2f}%, test accuracy {:.2f}%, {:.1f} s ({:.0f} img/s)\n",
               epoch, o.epochs, loss_sum / seen, 100.0 * correct / seen, 100.0 * test_correct / o.test, seconds,
               seen / seconds);
    if (epoch == o.epochs) {
      const double accuracy = 100.0 * test_correct / o.test;
      fmt::print("test accuracy: {:.2f}%\n", accuracy);
      if (accuracy < o.min_accuracy) {
        fmt::print(stderr, "error: test accuracy {:.2f}% is below --min-accuracy {}\n", accuracy, o.min_accuracy);
        return 1;
      }
    }
  }
  return 0;
} catch (const std::exception& e) {
  fmt::print(stderr, "train_synthetic: {}\n", e.what());
  return 2;
}
