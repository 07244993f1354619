// The seed experiment: the seed's CNN trained on CIFAR-10 with the seed's recipe (random crop
// with 4 pixels of padding, horizontal flip, rotation up to 15 degrees, normalisation; batch
// 128; Adam 1e-3; 50 epochs), or with --recipe onecycle. See `cifar10 --help`, and
// docs/training.md. The last line is `test accuracy: NN.NN%`.
//
//   cifar10 --data /tmp/cifar10 --history run.csv --plot run.png --checkpoint run.safetensors
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <stdio.h>  // popen, pclose

#include <ctnn/backend/cpu/threads.hpp>  // use_passive_openmp_wait
#include <ctnn/core/rng.hpp>
#include <ctnn/data/data.hpp>
#include <ctnn/train/source.hpp>
#include <fmt/format.h>
#ifdef CTNN_EXAMPLE_HAS_OPENMP
#include <omp.h>
#endif

#ifdef CTNN_EXAMPLE_HAS_IMAGES
#include <ctnn/data/image_folder.hpp>
#endif

#include "experiment.hpp"

using namespace ctnn;
namespace fs = std::filesystem;

namespace {

using cifar10_example::Options;

// A small stand-in for CIFAR-10, in the same format (uint8 3x32x32 images, 10 classes), so the
// whole pipeline (loader, augmentation, trainer) runs without the data. Each class has its own
// colour and stripe frequency; every image adds its own phase, brightness and noise.
data::Splits synthetic_cifar(int train, int test, std::uint64_t seed) {
  Rng rng(seed ^ 0x5151u);
  float colour[10][3], frequency[10];
  for (int c = 0; c < 10; ++c) {
    for (auto& v : colour[c]) v = rng.uniform(40, 215);
    frequency[c] = 0.15f + 0.09f * static_cast<float>(c);
  }
  auto make = [&](int count) {
    data::Dataset d;
    d.shape = {3, 32, 32};
    d.pixels.resize(static_cast<std::size_t>(count) * 3072);
    d.labels.resize(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) {
      const int label = static_cast<int>(rng.next_u64() % 10);
      const float phase = rng.uniform(0, 6.2832f), brightness = rng.uniform(-25, 25);
      d.labels[static_cast<std::size_t>(i)] = label;
      std::uint8_t* image = d.pixels.data() + static_cast<std::size_t>(i) * 3072;
      for (int ch = 0; ch < 3; ++ch)
        for (int y = 0; y < 32; ++y)
          for (int x = 0; x < 32; ++x) {
            const float stripes = 35.0f * std::sin(frequency[label] * static_cast<float>(x + y) + phase);
            const float v = colour[label][ch] + brightness + stripes + rng.uniform(-30, 30);
            image[ch * 1024 + y * 32 + x] = static_cast<std::uint8_t>(std::clamp(v, 0.0f, 255.0f));
          }
    }
    d.class_names = {"class0", "class1", "class2", "class3", "class4",
                     "class5", "class6", "class7", "class8", "class9"};
    return d;
  };
  data::Splits s;
  s.train = make(train);
  s.test = make(test);
  return s;
}

bool cifar_present(const fs::path& dir) {
  std::error_code ec;
  return fs::exists(dir / "data_batch_1.bin", ec) || fs::exists(dir / "cifar-10-batches-bin" / "data_batch_1.bin", ec);
}

// DIR/train/CLASS/*.jpg|png and DIR/test/CLASS/*: image folders, as ../shared/data's JPEG copy
// of CIFAR-10 unpacks.
bool image_folders_present(const fs::path& dir) {
  std::error_code ec;
  return fs::is_directory(dir / "train", ec) && fs::is_directory(dir / "test", ec);
}

data::Splits load_image_folders(const fs::path& dir) {
#ifdef CTNN_EXAMPLE_HAS_IMAGES
  // The shorter side to 32, then the centre 32x32 (torchvision's Resize(32) + CenterCrop(32)):
  // CIFAR-10's own 32x32 images pass unchanged.
  auto splits = data::load_image_folders(
      dir, {.resize = 32, .crop = {32, 32}, .progress = data::print_progress("decoding " + dir.string(), stdout)});
  if (splits.train.class_names.size() != 10)
    throw data::DataError(fmt::format("image folders in {}: {} classes, but the seed network has 10 outputs",
                                      dir.string(), splits.train.class_names.size()));
  return splits;
#else
  throw data::DataError(fmt::format("{} holds image folders, but this build has no image decoding (ctnn::images: "
                                    "libjpeg62-turbo-dev, libpng-dev)", dir.string()));
#endif
}

// Runs ctnn's download script (data::fetch_cifar10_script) into the folder `dir` implies.
// Returns "" when CIFAR-10 is there afterwards, otherwise why not, in one line: the script's
// own error message (CMake prints it as a "CMake Error" block) without the block around it.
std::string try_download(const fs::path& dir) {
  const fs::path dest = dir.filename() == "cifar-10-batches-bin" ? dir.parent_path() : dir;
  const std::string command = fmt::format("cmake -DDEST='{}' -DTIMEOUT=20 -P '{}' 2>&1",
                                          dest.empty() ? std::string(".") : dest.string(), data::fetch_cifar10_script);
  fmt::print("CIFAR-10 is not in {}; downloading it (20 s at most) ...\n", dir.string());
  std::fflush(stdout);
  std::string output;
  int status = -1;
  if (std::FILE* pipe = ::popen(command.c_str(), "r")) {
    char chunk[4096];
    for (std::size_t n; (n = std::fread(chunk, 1, sizeof chunk, pipe)) > 0;) output.append(chunk, n);
    status = ::pclose(pipe);
  }
  if (status == 0 && cifar_present(dir)) return {};
  // The error's first paragraph, with its line breaks and indentation folded into spaces.
  const auto at = output.find("(message):\n");
  std::string reason, paragraph = at == std::string::npos ? std::string() : output.substr(at + 11);
  paragraph = paragraph.substr(0, paragraph.find("\n\n"));
  for (const char c : paragraph) {
    if (c == ' ' || c == '\n') {
      if (!reason.empty() && reason.back() != ' ') reason += ' ';
    } else {
      reason += c;
    }
  }
  if (reason.starts_with("ctnn_fetch_cifar10: ")) reason.erase(0, 20);
  return reason.empty() ? fmt::format("`{}` failed (status {})", command, status) : reason;
}

data::Dataset first_images(const data::Dataset& d, long n) {
  if (n <= 0 || static_cast<std::size_t>(n) >= d.size()) return d;
  data::Dataset out;
  out.shape = d.shape;
  out.class_names = d.class_names;
  out.labels.assign(d.labels.begin(), d.labels.begin() + n);
  out.pixels.assign(d.pixels.begin(), d.pixels.begin() + static_cast<std::ptrdiff_t>(n * d.shape.size()));
  return out;
}


int run(Options o, int argc) {
  if (o.device == "cuda" && !cifar10_example::cuda_built) {
    fmt::print(stderr, "cifar10: --device cuda: this build has no CUDA backend (nvcc and cuDNN were not found when "
                       "it was configured); use --device cpu\n");
    return 2;
  }
  if (o.threads > 0) {
#ifdef CTNN_EXAMPLE_HAS_OPENMP
    omp_set_num_threads(o.threads);
#else
    fmt::print(stderr, "cifar10: --threads needs OpenMP, which this build didn't find; set OMP_NUM_THREADS instead\n");
    return 2;
#endif
  }
  static_cast<void>(argc);

  // --- data -------------------------------------------------------------------------------
  data::Splits splits;
  bool synthetic = o.synthetic;
  if (!synthetic) {
    const fs::path dir = o.data;
    if (!cifar_present(dir) && !image_folders_present(dir)) {
      const std::string problem = o.download ? try_download(dir) : std::string("--no-download");
      if (!problem.empty()) {
        fmt::print("No CIFAR-10 in {}: {}\n"
                   "  Get it with: cmake -DDEST=data -P {}\n"
                   "  (it explains offline use), or point --data at a cifar-10-batches-bin folder.\n"
                   "  Meanwhile: a short run on synthetic data in CIFAR-10's format, same pipeline.\n",
                   dir.string(), problem, data::fetch_cifar10_script);
        synthetic = true;
      }
    }
  }
  std::string data_name;
  if (synthetic) {
    splits = synthetic_cifar(4096, 1024, o.seed);
    data_name = "synthetic CIFAR-like data";
  } else if (!cifar_present(o.data) && image_folders_present(o.data)) {
    splits = load_image_folders(o.data);
    data_name = fmt::format("image folders {}/train and {}/test", o.data, o.data);
  } else {
    splits = data::cifar10::load(o.data);
    data_name = fmt::format("CIFAR-10 from {}", o.data);
  }
  if (synthetic && o.epochs == 50 && o.resume.empty()) o.epochs = 3;  // a short run unless asked otherwise
  splits.train = first_images(splits.train, o.train_limit);

  data::Loader train_data{splits.train, o.batch, data::augment::seed_cifar10(),
                          {.shuffle = true, .seed = o.seed, .threads = o.loader_threads}};
  data::Loader test_data{splits.test, 500, data::augment::seed_cifar10_test(),
                         {.shuffle = false, .seed = o.seed, .threads = o.loader_threads}};

  // --- model, optimizer, schedule, training: on the chosen backend ----------------------------
  train::SourceRef train_source(train_data);
  train::SourceRef test_source(test_data);
  const cifar10_example::RunData run_data{train_source, test_source, splits.train.size(), splits.test.size(),
                                          data_name, splits.test.class_names};
  if (o.device == "cuda") return cifar10_example::train_on_cuda(o, run_data);
  return cifar10_example::train_on_cpu(o, run_data);
}

}  // namespace

#ifndef CTNN_EXAMPLE_HAS_CUDA
namespace cifar10_example {
extern const bool cuda_built = false;
int train_on_cuda(const Options&, const RunData&) { return 2; }  // refused in run() already
}  // namespace cifar10_example
#endif

int main(int argc, char** argv) {
  cpu::use_passive_openmp_wait(argv);  // see ctnn/backend/cpu/threads.hpp
  Options o;
  // The command line is parsed in options.cpp, so CLI11 compiles apart from the network.
  if (const int exit_code = cifar10_example::parse_command_line(argc, argv, o); exit_code >= 0) return exit_code;
  try {
    return run(o, argc);
  } catch (const std::exception& e) {
    fmt::print(stderr, "cifar10: error: {}\n", e.what());
    return 2;
  }
}
