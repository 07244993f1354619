// CIFAR-10/100 binary loaders: contents, folder layouts, and the errors for bad input.
// Every file here is written by the test itself into a fresh temporary folder.
#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "ctnn/data/cifar.hpp"
#include "ctnn/data/detail/rng.hpp"
#include "support.hpp"  // TempDir, write, write_text, error_of

namespace fs = std::filesystem;
using namespace ctnn::data;
using namespace data_test;

namespace {

// Pixel p of the image with global id `id`: a pattern that differs between images and positions.
std::uint8_t pixel(int id, int p) { return static_cast<std::uint8_t>((id * 131 + p * 7) & 0xff); }

// `labels.size()` records, each label bytes (given) followed by the pattern for ids first_id, ...
std::vector<std::uint8_t> records(const std::vector<std::vector<int>>& labels, int first_id) {
  std::vector<std::uint8_t> out;
  for (std::size_t r = 0; r < labels.size(); ++r) {
    for (int l : labels[r]) out.push_back(static_cast<std::uint8_t>(l));
    for (int p = 0; p < 3072; ++p) out.push_back(pixel(first_id + static_cast<int>(r), p));
  }
  return out;
}

const char* const cifar10_names =
    "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n";

// A CIFAR-10 folder: batch k (1..5) holds 2 records with labels (k, k+4 mod 10) and ids 10k, 10k+1;
// the test batch holds 3 records with labels 9, 0, 3 and ids 100..102.
void write_cifar10(const fs::path& dir) {
  fs::create_directories(dir);
  for (int k = 1; k <= 5; ++k)
    write(dir / ("data_batch_" + std::to_string(k) + ".bin"), records({{k}, {(k + 4) % 10}}, 10 * k));
  write(dir / "test_batch.bin", records({{9}, {0}, {3}}, 100));
  write_text(dir / "batches.meta.txt", cifar10_names);
}

}  // namespace

TEST_CASE("cifar10::load reads the five training batches in order, the test batch and the names",
          "[data][cifar]") {
  TempDir tmp("c10");
  write_cifar10(tmp.path);
  const Splits s = cifar10::load(tmp.path);
  REQUIRE(s.train.size() == 10);
  REQUIRE(s.test.size() == 3);
  CHECK(s.train.shape == ImageShape{3, 32, 32});
  CHECK(s.train.pixels.size() == 10 * 3072);
  CHECK(s.train.labels == std::vector<std::int32_t>{1, 5, 2, 6, 3, 7, 4, 8, 5, 9});
  CHECK(s.test.labels == std::vector<std::int32_t>{9, 0, 3});
  CHECK(s.train.coarse_labels.empty());
  REQUIRE(s.train.class_names.size() == 10);
  CHECK(s.train.class_names.front() == "airplane");
  CHECK(s.test.class_names.back() == "truck");
  // Image 3 of train is batch 2's second record (id 21); pixels are copied unchanged.
  const auto img = s.train.image(3);
  for (int p : {0, 1, 1023, 1024, 2047, 3071}) CHECK(img[p] == pixel(21, p));
  CHECK(s.test.image(2)[5] == pixel(102, 5));
}

TEST_CASE("cifar10::load also accepts the folder that contains cifar-10-batches-bin",
          "[data][cifar]") {
  TempDir tmp("c10parent");
  write_cifar10(tmp.path / "cifar-10-batches-bin");
  CHECK(cifar10::load(tmp.path).train.size() == 10);
}

TEST_CASE("cifar10::load names the folder, file, record and byte offset of bad input",
          "[data][cifar]") {
  TempDir tmp("c10bad");
  const fs::path dir = tmp.path / "batches";
  write_cifar10(dir);

  SECTION("missing folder") {
    const auto msg = error_of([&] { cifar10::load(tmp.path / "nowhere"); });
    CHECK_THAT(msg, Catch::Contains("nowhere") && Catch::Contains("does not exist") &&
                        Catch::Contains("ctnn_fetch_cifar10.cmake"));
  }
  SECTION("missing file") {
    fs::remove(dir / "data_batch_3.bin");
    CHECK_THAT(error_of([&] { cifar10::load(dir); }),
               Catch::Contains("data_batch_3.bin") && Catch::Contains("missing"));
  }
  SECTION("missing names file") {
    fs::remove(dir / "batches.meta.txt");
    CHECK_THAT(error_of([&] { cifar10::load(dir); }), Catch::Contains("batches.meta.txt"));
  }
  SECTION("truncated file: 2 whole records and 100 bytes of a third") {
    auto bytes = records({{1}, {2}, {3}}, 0);
    bytes.resize(2 * 3073 + 100);
    write(dir / "data_batch_4.bin", bytes);
    const auto msg = error_of([&] { cifar10::load(dir); });
    CHECK_THAT(msg, Catch::Contains("data_batch_4.bin") && Catch::Contains("truncated") &&
                        Catch::Contains("record 2") && Catch::Contains("byte offset 6146") &&
                        Catch::Contains("only 100 of its 3073 bytes"));
  }
  SECTION("label out of range") {
    write(dir / "test_batch.bin", records({{0}, {9}, {10}, {1}}, 0));
    // Record 2 starts at 2 * 3073 = 6146; its label byte is the first.
    CHECK_THAT(error_of([&] { cifar10::load(dir); }),
               Catch::Contains("test_batch.bin") && Catch::Contains("record 2") &&
                   Catch::Contains("byte offset 6146") && Catch::Contains("label 10 is out of range [0, 10)"));
  }
  SECTION("empty file") {
    write(dir / "data_batch_1.bin", {});
    CHECK_THAT(error_of([&] { cifar10::load(dir); }),
               Catch::Contains("data_batch_1.bin") && Catch::Contains("empty"));
  }
  SECTION("names file with 9 names") {
    write_text(dir / "batches.meta.txt", "a\nb\nc\nd\ne\nf\ng\nh\ni\n");
    CHECK_THAT(error_of([&] { cifar10::load(dir); }),
               Catch::Contains("batches.meta.txt") && Catch::Contains("has 9 class names, expected 10"));
  }
  SECTION("names file with 11 names") {
    write_text(dir / "batches.meta.txt", "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\n");
    CHECK_THAT(error_of([&] { cifar10::load(dir); }), Catch::Contains("line 11"));
  }
  SECTION("names file with a blank line between names") {
    write_text(dir / "batches.meta.txt", "a\nb\n\nc\nd\ne\nf\ng\nh\ni\nj\n");
    CHECK_THAT(error_of([&] { cifar10::load(dir); }), Catch::Contains("line 3 is blank"));
  }
}

TEST_CASE("parse_label_names tolerates CRLF and trailing blank lines", "[data][cifar]") {
  const auto names = parse_label_names("x\r\ny \r\nz\r\n\r\n\n", "mem", 3);
  CHECK(names == std::vector<std::string>{"x", "y", "z"});
}

TEST_CASE("parse leaves the data set unchanged when a file is bad", "[data][cifar]") {
  Dataset d;
  const auto good = records({{3}}, 7);
  cifar10::parse(good, "good", d);
  auto bad = records({{1}, {11}}, 0);
  CHECK_THROWS_AS(cifar10::parse(bad, "bad", d), DataError);
  CHECK(d.size() == 1);
  CHECK(d.pixels.size() == 3072);
}

namespace {
void write_cifar100(const fs::path& dir) {
  fs::create_directories(dir);
  write(dir / "train.bin", records({{19, 99}, {0, 0}, {7, 42}}, 0));
  write(dir / "test.bin", records({{4, 13}}, 50));
  std::string fine, coarse;
  for (int i = 0; i < 100; ++i) fine += "fine" + std::to_string(i) + "\n";
  for (int i = 0; i < 20; ++i) coarse += "coarse" + std::to_string(i) + "\n";
  write_text(dir / "fine_label_names.txt", fine + "\n");
  write_text(dir / "coarse_label_names.txt", coarse);
}
}  // namespace

TEST_CASE("cifar100::load reads coarse and fine labels and both name lists", "[data][cifar]") {
  TempDir tmp("c100");
  write_cifar100(tmp.path / "cifar-100-binary");
  const Splits s = cifar100::load(tmp.path);
  CHECK(s.train.labels == std::vector<std::int32_t>{99, 0, 42});
  CHECK(s.train.coarse_labels == std::vector<std::int32_t>{19, 0, 7});
  CHECK(s.test.labels == std::vector<std::int32_t>{13});
  CHECK(s.test.coarse_labels == std::vector<std::int32_t>{4});
  REQUIRE(s.train.class_names.size() == 100);
  REQUIRE(s.train.coarse_class_names.size() == 20);
  CHECK(s.train.class_names[42] == "fine42");
  CHECK(s.test.coarse_class_names[19] == "coarse19");
  // Pixels start after the two label bytes.
  CHECK(s.train.image(2)[0] == pixel(2, 0));
  CHECK(s.test.image(0)[3071] == pixel(50, 3071));
}

TEST_CASE("cifar100::load reports coarse and fine labels out of range with their offsets",
          "[data][cifar]") {
  TempDir tmp("c100bad");
  write_cifar100(tmp.path);
  SECTION("coarse") {
    write(tmp.path / "train.bin", records({{1, 1}, {20, 5}}, 0));
    // Record 1 starts at 3074; its coarse label is byte 3074.
    CHECK_THAT(error_of([&] { cifar100::load(tmp.path); }),
               Catch::Contains("train.bin") && Catch::Contains("record 1 (byte offset 3074)") &&
                   Catch::Contains("coarse label 20 is out of range [0, 20)"));
  }
  SECTION("fine") {
    write(tmp.path / "test.bin", records({{1, 1}, {1, 1}, {2, 100}}, 0));
    CHECK_THAT(error_of([&] { cifar100::load(tmp.path); }),
               Catch::Contains("test.bin") && Catch::Contains("record 2 (byte offset 6149)") &&
                   Catch::Contains("fine label 100 is out of range [0, 100)"));
  }
  SECTION("truncated") {
    auto bytes = records({{1, 1}}, 0);
    bytes.pop_back();
    write(tmp.path / "test.bin", bytes);
    CHECK_THAT(error_of([&] { cifar100::load(tmp.path); }),
               Catch::Contains("test.bin") && Catch::Contains("record 0 starts at byte offset 0") &&
                   Catch::Contains("3073 of its 3074 bytes"));
  }
}

TEST_CASE("the parsers reject random bytes with DataError and never crash", "[data][cifar]") {
  // A cheap in-test fuzz (the real one is fuzz/): random sizes around whole records, random
  // label bytes. Under ASan/UBSan this also checks that nothing reads out of bounds.
  Rng rng{7};
  int accepted = 0;
  for (int iter = 0; iter < 300; ++iter) {
    // Even iterations: whole CIFAR-10 records whose labels are mostly in range.
    const bool whole = iter % 2 == 0;
    const std::size_t n = whole ? 3073 * static_cast<std::size_t>(rng.uniform_int(1, 3))
                                : static_cast<std::size_t>(rng.uniform_int(0, 3 * 3074 + 2));
    std::vector<std::uint8_t> bytes(n);
    for (auto& b : bytes) b = static_cast<std::uint8_t>(rng() >> 56);
    if (whole)
      for (std::size_t r = 0; r < n; r += 3073)
        bytes[r] = static_cast<std::uint8_t>(rng.uniform_int(0, 10));
    Dataset d10, d100;
    try {
      cifar10::parse(bytes, "fuzz", d10);
      ++accepted;
      CHECK(d10.pixels.size() == d10.size() * 3072);
    } catch (const DataError&) {
      CHECK(d10.empty());
    }
    try {
      cifar100::parse(bytes, "fuzz", d100);
      CHECK(d100.coarse_labels.size() == d100.size());
    } catch (const DataError&) {
      CHECK(d100.empty());
    }
    std::string text(bytes.begin(), bytes.end());
    try {
      const auto names = parse_label_names(text, "fuzz", 10);
      CHECK(names.size() == 10);
    } catch (const DataError&) {
    }
  }
  CHECK(accepted > 20);  // the valid inputs were accepted, not just everything rejected
}
