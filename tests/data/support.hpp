// What the data tests share: a temporary folder, writing files into it, and catching DataError.
#pragma once

#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "ctnn/data/error.hpp"

namespace data_test {

namespace fs = std::filesystem;

// A fresh folder under the system temp dir, removed at the end of the test.
struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& tag) {
    path = fs::temp_directory_path() /
           ("ctnn_test_" + tag + "_" + std::to_string(Catch::rngSeed()) + "_" +
            std::to_string(reinterpret_cast<std::uintptr_t>(this)));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// Writes `bytes` to `file`, creating its folder.
inline void write(const fs::path& file, const std::vector<std::uint8_t>& bytes) {
  fs::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}
inline void write_text(const fs::path& file, const std::string& text) { std::ofstream(file) << text; }

// The message of the DataError that f() throws, or "(no DataError)".
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const ctnn::data::DataError& e) {
    return e.what();
  }
  return "(no DataError)";
}

}  // namespace data_test
