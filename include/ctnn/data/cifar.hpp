// ctnn/data/cifar.hpp — loaders for the CIFAR-10 and CIFAR-100 binary formats.
//
// CIFAR-10  (cifar-10-batches-bin/): data_batch_1.bin .. data_batch_5.bin, test_batch.bin,
//           batches.meta.txt. A record is 1 label byte + 3072 pixel bytes.
// CIFAR-100 (cifar-100-binary/): train.bin, test.bin, coarse_label_names.txt,
//           fine_label_names.txt. A record is 1 coarse label byte, 1 fine label byte + 3072 pixels.
// Pixels are 1024 R, 1024 G, 1024 B bytes, each plane 32x32 row-major; they are kept as they are.
//
// Every failure raises ctnn::data::DataError naming the file and, for bad contents, the record
// and its byte offset. The parsers take a byte span and never read outside it (fuzzed: fuzz/).
#pragma once

#include <algorithm>    // std::min, std::copy
#include <array>        // std::array
#include <cstddef>      // std::size_t
#include <cstdint>      // std::uint8_t
#include <filesystem>   // std::filesystem::path, exists, is_directory, file_size
#include <fstream>      // std::ifstream
#include <span>         // std::span
#include <string>       // std::string
#include <string_view>  // std::string_view
#include <vector>       // std::vector

#include <fmt/core.h>  // fmt::format

#include "ctnn/data/dataset.hpp"  // Dataset, ImageShape
#include "ctnn/data/error.hpp"    // DataError

namespace ctnn::data {

inline constexpr std::size_t cifar_image_bytes = 3 * 32 * 32;

// A training set and a test set.
struct Splits {
  Dataset train, test;
};

namespace detail {

// Record layout of one CIFAR flavour: how many label bytes precede the pixels, and each label's
// exclusive upper bound (CIFAR-100: coarse < 20, fine < 100).
struct CifarFormat {
  const char* name;              // "cifar10" or "cifar100", for messages
  std::size_t label_bytes;       // 1 or 2
  std::array<int, 2> label_limit;  // bound for label byte 0 and 1
  constexpr std::size_t record_bytes() const noexcept { return label_bytes + cifar_image_bytes; }
};
inline constexpr CifarFormat cifar10_format{"cifar10", 1, {10, 0}};
inline constexpr CifarFormat cifar100_format{"cifar100", 2, {20, 100}};

// Appends the records in `bytes` (the whole contents of the file named `source`) to `out`.
// Validates everything before touching `out`, so a bad file leaves `out` unchanged.
inline void parse_cifar_records(std::span<const std::uint8_t> bytes, std::string_view source,
                                const CifarFormat& fmt, Dataset& out) {
  const std::size_t rec = fmt.record_bytes();
  if (bytes.empty())
    throw DataError(fmt::format("{}: {}: file is empty (expected records of {} bytes)", fmt.name,
                                source, rec));
  if (bytes.size() % rec != 0) {
    const std::size_t whole = bytes.size() / rec;
    throw DataError(fmt::format(
        "{}: {}: truncated: {} bytes is not a whole number of {}-byte records; record {} starts "
        "at byte offset {} and has only {} of its {} bytes",
        fmt.name, source, bytes.size(), rec, whole, whole * rec, bytes.size() - whole * rec, rec));
  }
  const std::size_t n = bytes.size() / rec;
  for (std::size_t r = 0; r < n; ++r) {
    for (std::size_t b = 0; b < fmt.label_bytes; ++b) {
      const int label = bytes[r * rec + b];
      if (label >= fmt.label_limit[b])
        throw DataError(fmt::format(
            "{}: {}: record {} (byte offset {}): {}label {} is out of range [0, {})", fmt.name,
            source, r, r * rec + b,
            fmt.label_bytes == 1 ? "" : (b == 0 ? "coarse " : "fine "), label,
            fmt.label_limit[b]));
    }
  }
  const std::size_t old = out.labels.size();
  out.shape = ImageShape{3, 32, 32};
  out.pixels.resize((old + n) * cifar_image_bytes);
  out.labels.resize(old + n);
  if (fmt.label_bytes == 2) out.coarse_labels.resize(old + n);
  std::uint8_t* dst = out.pixels.data() + old * cifar_image_bytes;
  for (std::size_t r = 0; r < n; ++r) {
    const std::uint8_t* src = bytes.data() + r * rec;
    if (fmt.label_bytes == 2) {
      out.coarse_labels[old + r] = src[0];
      out.labels[old + r] = src[1];
    } else {
      out.labels[old + r] = src[0];
    }
    std::copy(src + fmt.label_bytes, src + rec, dst + r * cifar_image_bytes);
  }
}

// Reads a whole file, or raises DataError saying why not.
inline std::vector<std::uint8_t> read_file_bytes(const std::filesystem::path& file,
                                                 const char* what) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec))
    throw DataError(fmt::format("{}: file {} is missing (or is not a regular file)", what,
                                file.string()));
  const auto size = std::filesystem::file_size(file, ec);
  if (ec)
    throw DataError(fmt::format("{}: cannot get the size of {}: {}", what, file.string(),
                                ec.message()));
  std::ifstream in(file, std::ios::binary);
  if (!in) throw DataError(fmt::format("{}: cannot open {}", what, file.string()));
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  if (!bytes.empty() &&
      !in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size)))
    throw DataError(fmt::format("{}: {}: read failed after {} of {} bytes", what, file.string(),
                                in.gcount(), size));
  return bytes;
}

}  // namespace detail

// Parses a label-names file (batches.meta.txt, fine_label_names.txt, ...): one name per line;
// '\r' and trailing blank lines are ignored (the official files end with blank lines). It must
// hold exactly `expected` names; a blank line between names is an error.
inline std::vector<std::string> parse_label_names(std::string_view text, std::string_view source,
                                                  int expected, const char* what = "cifar") {
  std::vector<std::string> names;
  std::size_t blank_line = 0;  // first blank line seen (1-based), 0 if none yet
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t end = std::min(text.find('\n', pos), text.size());
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
      line.remove_suffix(1);
    if (line.empty()) {
      if (blank_line == 0) blank_line = line_no;
      continue;
    }
    if (blank_line != 0)
      throw DataError(fmt::format("{}: {}: line {} is blank but a class name follows on line {}",
                                  what, source, blank_line, line_no));
    if (static_cast<int>(names.size()) == expected)
      throw DataError(fmt::format("{}: {}: line {}: more than {} class names", what, source,
                                  line_no, expected));
    names.emplace_back(line);
  }
  if (static_cast<int>(names.size()) != expected)
    throw DataError(fmt::format("{}: {}: has {} class names, expected {}", what, source,
                                names.size(), expected));
  return names;
}

// ctnn's CIFAR-10 download script: where CMake's ctnn targets say it is (the source tree's, or
// the installed share/ctnn copy), else its place in ctnn's source tree.
#ifdef CTNN_FETCH_CIFAR10_SCRIPT
inline constexpr const char* fetch_cifar10_script = CTNN_FETCH_CIFAR10_SCRIPT;
#else
inline constexpr const char* fetch_cifar10_script = "cmake/ctnn_fetch_cifar10.cmake";
#endif

namespace detail {

// The folder that holds the files: `dir` itself, or the archive's own subfolder inside it.
inline std::filesystem::path resolve_cifar_dir(const std::filesystem::path& dir,
                                               const char* probe, const char* subfolder,
                                               const char* what) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    throw DataError(fmt::format(
        "{}: folder {} does not exist. Get the data with `cmake -DDEST=<folder> -P {}` (CIFAR-10), or "
        "unpack the binary archive there",
        what, dir.string(), fetch_cifar10_script));
  if (!std::filesystem::exists(dir / probe, ec) &&
      std::filesystem::is_directory(dir / subfolder, ec))
    return dir / subfolder;
  return dir;
}

inline void load_cifar_file(const std::filesystem::path& file, const CifarFormat& fmt,
                            Dataset& out) {
  const auto bytes = read_file_bytes(file, fmt.name);
  parse_cifar_records(bytes, file.string(), fmt, out);
}

inline std::vector<std::string> load_label_names(const std::filesystem::path& file, int expected,
                                                 const char* what) {
  const auto bytes = read_file_bytes(file, what);
  return parse_label_names(
      std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), file.string(),
      expected, what);
}

}  // namespace detail

namespace cifar10 {

inline constexpr int num_classes = 10;
inline constexpr std::size_t record_bytes = detail::cifar10_format.record_bytes();

// Parses the contents of one CIFAR-10 batch file and appends its records to `out`.
inline void parse(std::span<const std::uint8_t> bytes, std::string_view source, Dataset& out) {
  detail::parse_cifar_records(bytes, source, detail::cifar10_format, out);
}

// Loads cifar-10-batches-bin: `dir` is that folder or the folder that contains it.
// train = data_batch_1..5 in order (50,000 images), test = test_batch (10,000).
inline Splits load(const std::filesystem::path& dir) {
  const auto root = detail::resolve_cifar_dir(dir, "data_batch_1.bin", "cifar-10-batches-bin",
                                              "cifar10");
  Splits s;
  const auto names = detail::load_label_names(root / "batches.meta.txt", num_classes, "cifar10");
  for (int k = 1; k <= 5; ++k)
    detail::load_cifar_file(root / fmt::format("data_batch_{}.bin", k), detail::cifar10_format,
                            s.train);
  detail::load_cifar_file(root / "test_batch.bin", detail::cifar10_format, s.test);
  s.train.class_names = names;
  s.test.class_names = names;
  return s;
}

}  // namespace cifar10

namespace cifar100 {

inline constexpr int num_classes = 100;
inline constexpr int num_coarse_classes = 20;
inline constexpr std::size_t record_bytes = detail::cifar100_format.record_bytes();

// Parses the contents of a CIFAR-100 file (train.bin or test.bin) and appends it to `out`:
// labels gets the fine labels, coarse_labels the coarse ones.
inline void parse(std::span<const std::uint8_t> bytes, std::string_view source, Dataset& out) {
  detail::parse_cifar_records(bytes, source, detail::cifar100_format, out);
}

// Loads cifar-100-binary: `dir` is that folder or the folder that contains it.
inline Splits load(const std::filesystem::path& dir) {
  const auto root = detail::resolve_cifar_dir(dir, "train.bin", "cifar-100-binary", "cifar100");
  Splits s;
  const auto fine = detail::load_label_names(root / "fine_label_names.txt", num_classes, "cifar100");
  const auto coarse =
      detail::load_label_names(root / "coarse_label_names.txt", num_coarse_classes, "cifar100");
  detail::load_cifar_file(root / "train.bin", detail::cifar100_format, s.train);
  detail::load_cifar_file(root / "test.bin", detail::cifar100_format, s.test);
  for (Dataset* d : {&s.train, &s.test}) {
    d->class_names = fine;
    d->coarse_class_names = coarse;
  }
  return s;
}

}  // namespace cifar100
}  // namespace ctnn::data
