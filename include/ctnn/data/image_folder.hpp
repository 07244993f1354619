// ctnn/data/image_folder.hpp — a Dataset from a folder of class folders, as torchvision's
// ImageFolder reads one:
//
//   root/cat/001.jpg, root/cat/more/002.png, root/dog/x.jpeg, ...
//   data::Dataset d = data::load_image_folder("root", {.resize = 32, .crop = {32, 32}});
//   data::Splits s = data::load_image_folders("cifar10-jpeg");   // root/train and root/test
//
// The classes are the sub-folders of root sorted by name, and class i has label i. Each class
// folder is searched recursively for files with an image extension (torchvision's list, any
// case), sorted by folder, then by name, exactly as ImageFolder orders its samples. The images
// are decoded (ctnn/data/decode.hpp; link ctnn::images), optionally resized and center-cropped,
// and stored as the uint8 CHW Dataset the Loader and the augmentations use. Files are decoded on
// several threads. Every failure is a DataError naming the file.
#pragma once

#include <algorithm>   // std::sort, std::transform
#include <atomic>      // std::atomic
#include <cctype>      // std::tolower
#include <chrono>      // std::chrono::steady_clock
#include <cstddef>     // std::size_t
#include <cstdint>     // std::int32_t
#include <cstdio>      // std::FILE, stderr, std::fflush
#include <exception>   // std::exception_ptr, std::current_exception, std::rethrow_exception
#include <filesystem>  // std::filesystem::path, directory_iterator, recursive_directory_iterator
#include <functional>  // std::function
#include <limits>      // std::numeric_limits
#include <mutex>       // std::mutex, std::lock_guard
#include <stdexcept>   // std::invalid_argument
#include <string>      // std::string
#include <thread>      // std::jthread, std::thread::hardware_concurrency
#include <utility>     // std::pair
#include <vector>      // std::vector

#include <fmt/core.h>  // fmt::format, fmt::print
#include <unistd.h>    // isatty, fileno

#include "ctnn/data/cifar.hpp"    // Splits
#include "ctnn/data/dataset.hpp"  // Dataset, ImageShape
#include "ctnn/data/decode.hpp"   // read_image, DecodeOptions
#include "ctnn/data/error.hpp"    // DataError
#include "ctnn/data/image.hpp"    // ImageU8, resize_shorter, resize_bilinear, center_crop, copy_to_chw

namespace ctnn::data {

// torchvision's IMG_EXTENSIONS, compared in lower case. ImageFolder takes these files, so ctnn
// takes the same ones; the formats other than JPEG and PNG then fail to decode with a DataError
// that says so, instead of silently making a smaller data set than torchvision would.
inline const std::vector<std::string>& image_extensions() {
  static const std::vector<std::string> list{".jpg", ".jpeg", ".png", ".ppm", ".bmp",
                                             ".pgm", ".tif",  ".tiff", ".webp"};
  return list;
}

// What an image folder holds, before anything is decoded.
struct ImageFolderIndex {
  std::vector<std::string> class_names;      // sorted; label i is class_names[i]
  std::vector<std::filesystem::path> files;  // class 0's files first, each class sorted
  std::vector<std::int32_t> labels;          // files.size() entries
};

namespace detail {
inline bool has_image_extension(const std::filesystem::path& file) {
  std::string ext = file.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const auto& e : image_extensions())
    if (ext == e) return true;
  return false;
}

inline std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

inline ImageFolderIndex scan_image_folder(const std::filesystem::path& root) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(root, ec))
    throw DataError(fmt::format("image folder {}: {}", root.string(),
                                fs::exists(root, ec) ? "is not a folder" : "does not exist"));
  ImageFolderIndex index;
  for (const auto& entry : fs::directory_iterator(root))
    if (entry.is_directory()) index.class_names.push_back(entry.path().filename().string());
  if (index.class_names.empty())
    throw DataError(fmt::format("image folder {}: has no class folders (expected {}/CLASS/IMAGE.jpg)", root.string(),
                                root.string()));
  std::sort(index.class_names.begin(), index.class_names.end());
  std::vector<std::string> empty;
  for (std::size_t label = 0; label < index.class_names.size(); ++label) {
    // (folder, name) pairs: ImageFolder walks a class folder as sorted(os.walk(...)), folder by
    // folder, each folder's file names sorted.
    std::vector<std::pair<std::string, std::string>> found;
    for (const auto& entry : fs::recursive_directory_iterator(root / index.class_names[label],
                                                              fs::directory_options::follow_directory_symlink))
      if (!entry.is_directory() && has_image_extension(entry.path()))
        found.emplace_back(entry.path().parent_path().string(), entry.path().filename().string());
    if (found.empty()) empty.push_back(index.class_names[label]);
    std::sort(found.begin(), found.end());
    for (const auto& [folder, name] : found) {
      index.files.push_back(fs::path(folder) / name);
      index.labels.push_back(static_cast<std::int32_t>(label));
    }
  }
  if (!empty.empty())
    throw DataError(fmt::format("image folder {}: no image files (.jpg, .jpeg, .png, ...) in the class folder(s) {}",
                                root.string(), join(empty)));
  return index;
}
}  // namespace detail

// Lists root's classes and image files. DataError when root is not a folder, holds no class
// folder, or a class folder holds no image file (torchvision refuses both too).
inline ImageFolderIndex scan_image_folder(const std::filesystem::path& root) {
  try {
    return detail::scan_image_folder(root);
  } catch (const std::filesystem::filesystem_error& e) {  // e.g. a folder that can't be listed
    throw DataError(fmt::format("image folder {}: {}", root.string(), e.what()));
  }
}

// Called with (images decoded so far, total), on the thread that called the loader.
using LoadProgress = std::function<void(std::size_t done, std::size_t total)>;

struct ImageFolderOptions {
  int channels = 3;         // 1 (grey) or 3 (RGB), converted as PIL's convert("L" / "RGB")
  int resize = 0;           // torchvision Resize(int): the shorter side to this; 0: no resize
  ImageSize resize_to{};    // torchvision Resize((h, w)): exactly this size (instead of resize)
  ImageSize crop{};         // torchvision CenterCrop((h, w)) after any resize; {0, 0}: none
  int threads = 0;          // decoding threads, the caller's included; 0: all hardware threads
  std::size_t max_pixels = DecodeOptions{}.max_pixels;  // per image, before resizing
  LoadProgress progress{};  // every ~0.1 s and once at the end; print_progress() draws a line
};

// Decodes the files of `index` into a Dataset. Without a crop or resize_to, every image must
// come out the same size (the first image's), or it is a DataError naming the one that differs.
inline Dataset load_images(const ImageFolderIndex& index, const ImageFolderOptions& o = {}) {
  if (o.channels != 1 && o.channels != 3)
    throw std::invalid_argument(fmt::format("ImageFolderOptions::channels is {}; use 1 (grey) or 3 (RGB)", o.channels));
  if (o.resize < 0 || o.resize_to.height < 0 || o.resize_to.width < 0 || o.crop.height < 0 || o.crop.width < 0 ||
      (o.resize > 0 && o.resize_to.height > 0) || (o.resize_to.height > 0) != (o.resize_to.width > 0) ||
      (o.crop.height > 0) != (o.crop.width > 0))
    throw std::invalid_argument(fmt::format(
        "ImageFolderOptions: resize {}, resize_to {}x{}, crop {}x{}: sizes must be positive, both of a pair given, "
        "and resize and resize_to not both", o.resize, o.resize_to.height, o.resize_to.width, o.crop.height,
        o.crop.width));
  const std::size_t n = index.files.size();
  Dataset d;
  d.class_names = index.class_names;
  d.labels = index.labels;
  if (n == 0) return d;

  const DecodeOptions decode{.channels = o.channels, .max_pixels = o.max_pixels};
  auto prepare = [&](std::size_t i) {
    ImageU8 img = read_image(index.files[i], decode);
    if (o.resize > 0) img = resize_shorter(img, o.resize);
    if (o.resize_to.height > 0) img = resize_bilinear(img, o.resize_to.height, o.resize_to.width);
    if (o.crop.height > 0) img = center_crop(img, o.crop.height, o.crop.width);
    return img;
  };
  // The first image fixes the shape and the buffer's size; the rest are decoded in parallel.
  const ImageU8 first = prepare(0);
  d.shape = first.shape();
  const std::size_t bytes = d.shape.size();
  d.pixels.resize(n * bytes);
  copy_to_chw(first, {d.pixels.data(), bytes});

  std::atomic<std::size_t> next{1}, done{1};
  std::atomic<bool> failed{false};
  std::mutex error_mutex;
  std::exception_ptr error;
  std::size_t error_at = std::numeric_limits<std::size_t>::max();
  auto work = [&](bool report) {
    auto last_report = std::chrono::steady_clock::now();
    while (!failed) {
      const std::size_t i = next++;
      if (i >= n) break;
      try {
        const ImageU8 img = prepare(i);
        if (img.shape() != d.shape)
          throw DataError(fmt::format(
              "image {}: is {}x{}x{} (channels x height x width) but the first image, {}, is {}x{}x{}; a Dataset's "
              "images all have one shape, so give ImageFolderOptions::crop or resize_to",
              index.files[i].string(), img.channels, img.height, img.width, index.files[0].string(), d.shape.channels,
              d.shape.height, d.shape.width));
        copy_to_chw(img, {d.pixels.data() + i * bytes, bytes});
        ++done;
      } catch (...) {
        const std::lock_guard lock(error_mutex);
        if (i < error_at) {  // the earliest file's error, whichever thread saw it first
          error = std::current_exception();
          error_at = i;
        }
        failed = true;
      }
      if (report && o.progress && std::chrono::steady_clock::now() - last_report > std::chrono::milliseconds(100)) {
        o.progress(done, n);
        last_report = std::chrono::steady_clock::now();
      }
    }
  };
  const int threads = o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  {
    std::vector<std::jthread> helpers;
    for (int t = 1; t < threads && static_cast<std::size_t>(t) < n; ++t) helpers.emplace_back(work, false);
    work(true);  // the calling thread decodes too, and reports the progress
  }  // joins the helpers
  if (error) std::rethrow_exception(error);
  if (o.progress) o.progress(n, n);
  return d;
}

// scan_image_folder + load_images.
inline Dataset load_image_folder(const std::filesystem::path& root, const ImageFolderOptions& o = {}) {
  return load_images(scan_image_folder(root), o);
}

// root/train and root/test (or the folder names given) as a training and a test set; DataError
// unless both have the same classes, since the labels would otherwise mean different things.
inline Splits load_image_folders(const std::filesystem::path& root, const ImageFolderOptions& o = {},
                                 const std::string& train = "train", const std::string& test = "test") {
  Splits s;
  const ImageFolderIndex train_index = scan_image_folder(root / train), test_index = scan_image_folder(root / test);
  if (train_index.class_names != test_index.class_names)
    throw DataError(fmt::format("image folders {} and {}: different classes ({} and {})", (root / train).string(),
                                (root / test).string(), detail::join(train_index.class_names),
                                detail::join(test_index.class_names)));
  s.train = load_images(train_index, o);
  s.test = load_images(test_index, o);
  return s;
}

// A LoadProgress that keeps one line on `out` up to date when it is a terminal ("label: 12000/
// 50000 images (24%)"), and otherwise writes a line every 10 s; both end with the time taken.
// One object can follow several loads in turn: each is timed from the end of the one before.
inline LoadProgress print_progress(std::string label, std::FILE* out = stderr) {
  using clock = std::chrono::steady_clock;
  const bool terminal = isatty(fileno(out)) == 1;
  return [label = std::move(label), out, terminal, start = clock::now(), last = clock::now()](
             std::size_t done, std::size_t total) mutable {
    const auto now = clock::now();
    const double seconds = std::chrono::duration<double>(now - start).count();
    const int percent = total ? static_cast<int>(100 * done / total) : 100;
    if (done == total) {
      fmt::print(out, "{}{}: {} images in {:.1f} s\n", terminal ? "\r\033[K" : "", label, total, seconds);
      start = last = now;  // the next load (load_image_folders' test set) is timed from here
    } else if (terminal)
      fmt::print(out, "\r{}: {}/{} images ({}%)", label, done, total, percent);
    else if (now - last > std::chrono::seconds(10))
      fmt::print(out, "{}: {}/{} images ({}%) after {:.0f} s\n", label, done, total, percent, seconds), last = now;
    std::fflush(out);
  };
}

}  // namespace ctnn::data
