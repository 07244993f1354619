// predict: the five classes (or --top K) a trained seed network sees in image files, with their
// probabilities.
//
//   cifar10 --epochs 50 --checkpoint run.safetensors      # train; saves after every epoch
//   predict --checkpoint run.safetensors cat.jpg ship.png
//
// The checkpoint holds the seed network's weights: what `cifar10 --checkpoint` writes, or
// io::save_weights of the same network. Each image is decoded as RGB, resized so its shorter
// side is 32 (PIL's bilinear) and center-cropped to 32x32, torchvision's usual evaluation
// transform, then normalised with the CIFAR-10 mean and std the seed recipe trains with. The
// class names are CIFAR-10's unless --classes gives a names file (one per line) or the image
// folder the network was trained on (its class folders, in ImageFolder's order).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <ctnn/backend/cpu.hpp>          // Cpu
#include <ctnn/backend/cpu/threads.hpp>  // use_passive_openmp_wait
#include <ctnn/data/augment.hpp>         // seed_cifar10_test
#include <ctnn/data/cifar.hpp>           // parse_label_names
#include <ctnn/data/decode.hpp>          // read_image, read_file_bytes
#include <ctnn/data/image.hpp>           // resize_shorter, center_crop, to_chw
#include <ctnn/data/image_folder.hpp>    // scan_image_folder
#include <ctnn/io/checkpoint.hpp>        // load_weights
#include <ctnn/model.hpp>                // Model
#include <ctnn/models/seed.hpp>          // models::SeedNet, the seed's network
#include <fmt/core.h>

using namespace ctnn;
namespace fs = std::filesystem;

namespace {

constexpr int image_size = 32;
constexpr int class_count = 10;

std::vector<std::string> class_names(const std::string& classes) {
  if (classes.empty())
    return {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};
  if (fs::is_directory(classes)) {
    auto names = data::scan_image_folder(classes).class_names;
    if (names.size() != class_count)
      throw data::DataError(fmt::format("predict: --classes {}: the image folder has {} classes; the network has {} outputs",
                                        classes, names.size(), class_count));
    return names;
  }
  const auto bytes = data::read_file_bytes(classes);
  return data::parse_label_names(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()),
                                 classes, class_count, "predict: --classes");
}

// One image as the network's input: RGB, shorter side to 32, center 32x32, normalised.
std::vector<float> network_input(const std::string& file) {
  const data::ImageU8 img =
      data::center_crop(data::resize_shorter(data::read_image(file), image_size), image_size, image_size);
  std::vector<float> input(img.pixels.size());
  data::Rng unused;  // Normalize draws nothing
  data::augment::seed_cifar10_test().run(data::to_chw(img), img.shape(), input, unused);
  return input;
}

int run(const std::string& checkpoint, const std::string& classes, int top, const std::vector<std::string>& files) {
  const auto names = class_names(classes);
  Model<models::SeedNet, models::SeedInput, Cpu> model(0);
  io::load_weights(checkpoint, model);

  std::vector<float> inputs;
  for (const auto& file : files) {
    const auto one = network_input(file);
    inputs.insert(inputs.end(), one.begin(), one.end());
  }
  const std::size_t per_image = inputs.size() / files.size();
  constexpr long chunk = 256;  // images per forward pass
  for (std::size_t first = 0; first < files.size(); first += chunk) {
    const long n = std::min<long>(chunk, static_cast<long>(files.size() - first));
    const auto scores = model.predict(std::span(inputs).subspan(first * per_image, n * per_image), n);
    for (long i = 0; i < n; ++i) {
      // Softmax in double, from the largest score down so that nothing overflows.
      const float* s = scores.data() + i * class_count;
      const double largest = *std::max_element(s, s + class_count);
      std::vector<double> p(class_count);
      for (int c = 0; c < class_count; ++c) p[c] = std::exp(s[c] - largest);
      const double sum = std::accumulate(p.begin(), p.end(), 0.0);
      for (auto& v : p) v /= sum;
      std::vector<int> order(class_count);
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return p[a] > p[b]; });
      fmt::print("{}\n", files[first + i]);
      for (int k = 0; k < top; ++k) fmt::print("  {}. {:6.2f}%  {}\n", k + 1, 100 * p[order[k]], names[order[k]]);
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  cpu::use_passive_openmp_wait(argv);  // see ctnn/backend/cpu/threads.hpp
  CLI::App app{"predict"};
  app.description("Prints the classes a trained seed network (cifar10 --checkpoint) sees in image files (JPEG, PNG),\n"
                  "with their probabilities.");
  std::string checkpoint, classes;
  int top = 5;
  std::vector<std::string> files;
  app.add_option("--checkpoint", checkpoint, "the network's weights (safetensors), e.g. from cifar10 --checkpoint")
      ->required();
  app.add_option("--classes", classes, "class names: a file with one per line, or the image folder trained on "
                                       "(default: CIFAR-10's)");
  app.add_option("--top", top, "how many classes to print per image")->check(CLI::Range(1, class_count))
      ->capture_default_str();
  app.add_option("images", files, "image files")->required();
  CLI11_PARSE(app, argc, argv);
  try {
    return run(checkpoint, classes, top, files);
  } catch (const std::exception& e) {
    fmt::print(stderr, "predict: error: {}\n", e.what());
    return 2;
  }
}
