// load_image_folder: classes, labels, file order, sizes, threads, progress and errors, on folders
// of PNG and JPEG files the test writes into a temporary directory; and the Loader batching the
// result with the seed augmentations.
#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "ctnn/data/augment.hpp"
#include "ctnn/data/image_folder.hpp"
#include "ctnn/data/loader.hpp"
#include "image_files.hpp"
#include "support.hpp"

using namespace ctnn::data;
using namespace data_test;
namespace ti = test_images;

namespace {

// root/{dog, cat, bird}, created out of order, with files of mixed types, case and depth:
//   bird: 1.png (8x8)
//   cat:  b.png (8x8), A.JPG (12x10, JPEG), sub/0.png (8x8), notes.txt (not an image)
//   dog:  x.jpeg (8x8, JPEG)
// The PNGs hold pattern(8, 8, 3, seed) with the seeds 1 (bird/1), 2 (cat/b), 3 (cat/sub/0).
void write_folder(const fs::path& root) {
  write(root / "dog" / "x.jpeg", ti::jpeg(ti::pattern(8, 8, 3, 4)));
  write(root / "cat" / "b.png", ti::png(ti::pattern(8, 8, 3, 2)));
  write(root / "cat" / "A.JPG", ti::jpeg(ti::pattern(12, 10, 3, 5)));
  write(root / "cat" / "sub" / "0.png", ti::png(ti::pattern(8, 8, 3, 3)));
  write_text(root / "cat" / "notes.txt", "not an image\n");
  write(root / "bird" / "1.png", ti::png(ti::pattern(8, 8, 3, 1)));
}

// Image i of `d` as an HWC ImageU8, to compare with what was written.
ImageU8 hwc(const Dataset& d, std::size_t i) {
  ImageU8 img(d.shape.width, d.shape.height, d.shape.channels);
  const auto chw = d.image(i);
  const std::size_t plane = static_cast<std::size_t>(d.shape.width) * d.shape.height;
  for (std::size_t p = 0; p < plane; ++p)
    for (int c = 0; c < d.shape.channels; ++c) img.pixels[p * d.shape.channels + c] = chw[c * plane + p];
  return img;
}

}  // namespace

TEST_CASE("scan_image_folder: classes sorted by name, files as torchvision's ImageFolder orders them",
          "[data][image_folder]") {
  TempDir tmp("folder_scan");
  write_folder(tmp.path);
  const ImageFolderIndex index = scan_image_folder(tmp.path);
  CHECK(index.class_names == std::vector<std::string>{"bird", "cat", "dog"});
  // Folder by folder (cat before cat/sub), then by name; "A.JPG" < "b.png" bytewise, as in Python.
  std::vector<std::string> files;
  for (const auto& f : index.files) files.push_back(fs::relative(f, tmp.path).generic_string());
  CHECK(files == std::vector<std::string>{"bird/1.png", "cat/A.JPG", "cat/b.png", "cat/sub/0.png", "dog/x.jpeg"});
  CHECK(index.labels == std::vector<std::int32_t>{0, 1, 1, 1, 2});
}

TEST_CASE("load_image_folder decodes, resizes and crops into one Dataset", "[data][image_folder]") {
  TempDir tmp("folder_load");
  write_folder(tmp.path);

  SECTION("a center crop to the common size keeps the 8x8 PNGs' pixels exactly") {
    const Dataset d = load_image_folder(tmp.path, {.crop = {8, 8}});
    REQUIRE(d.size() == 5);
    CHECK(d.shape == ImageShape{3, 8, 8});
    CHECK(d.pixels.size() == 5 * 3 * 8 * 8);
    CHECK(d.class_names == std::vector<std::string>{"bird", "cat", "dog"});
    CHECK(d.labels == std::vector<std::int32_t>{0, 1, 1, 1, 2});
    CHECK(hwc(d, 0).pixels == ti::pattern(8, 8, 3, 1).pixels);
    CHECK(hwc(d, 2).pixels == ti::pattern(8, 8, 3, 2).pixels);
    CHECK(hwc(d, 3).pixels == ti::pattern(8, 8, 3, 3).pixels);
    // The 12x10 JPEG is cropped at rows 1.., columns 2.. (offsets round(2/2), round(4/2)).
    CHECK(hwc(d, 1).pixels == center_crop(read_image(tmp.path / "cat" / "A.JPG"), 8, 8).pixels);
  }
  SECTION("resize (shorter side) then crop, in grey") {
    const Dataset d = load_image_folder(tmp.path, {.channels = 1, .resize = 4, .crop = {4, 4}});
    CHECK(d.shape == ImageShape{1, 4, 4});
    const ImageU8 expected = resize_bilinear(read_image(tmp.path / "bird" / "1.png", {.channels = 1}), 4, 4);
    CHECK(hwc(d, 0).pixels == expected.pixels);
  }
  SECTION("resize_to an exact size") {
    CHECK(load_image_folder(tmp.path, {.resize_to = {6, 9}}).shape == ImageShape{3, 6, 9});
  }
  SECTION("without a crop, one image of another size is a DataError naming it") {
    CHECK_THAT(error_of([&] { load_image_folder(tmp.path); }),
               Catch::Contains("A.JPG: is 3x10x12 (channels x height x width) but the first image") &&
                   Catch::Contains("1.png, is 3x8x8"));
  }
  SECTION("the same Dataset from 1, 2 and 5 threads") {
    const Dataset one = load_image_folder(tmp.path, {.crop = {8, 8}, .threads = 1});
    for (int threads : {2, 5}) CHECK(load_image_folder(tmp.path, {.crop = {8, 8}, .threads = threads}).pixels == one.pixels);
  }
  SECTION("progress ends with (total, total) and never goes back") {
    std::vector<std::pair<std::size_t, std::size_t>> calls;
    load_image_folder(tmp.path, {.crop = {8, 8}, .progress = [&](std::size_t done, std::size_t total) {
                                   calls.emplace_back(done, total);
                                 }});
    REQUIRE(!calls.empty());
    CHECK(calls.back() == std::pair<std::size_t, std::size_t>{5, 5});
    for (std::size_t i = 1; i < calls.size(); ++i) CHECK(calls[i].first >= calls[i - 1].first);
  }
  SECTION("bad options are std::invalid_argument") {
    CHECK_THROWS_AS(load_image_folder(tmp.path, {.channels = 2}), std::invalid_argument);
    CHECK_THROWS_AS(load_image_folder(tmp.path, {.resize = 4, .resize_to = {4, 4}}), std::invalid_argument);
    CHECK_THROWS_AS(load_image_folder(tmp.path, {.crop = {4, 0}}), std::invalid_argument);
  }
}

TEST_CASE("load_image_folder's errors name the folder or the file", "[data][image_folder]") {
  TempDir tmp("folder_bad");
  write_folder(tmp.path);
  SECTION("a corrupt file, found by one of several threads") {
    const auto good = ti::png(ti::pattern(8, 8, 3));
    write(tmp.path / "cat" / "c.png", {good.begin(), good.begin() + good.size() / 2});
    CHECK_THAT(error_of([&] { load_image_folder(tmp.path, {.crop = {8, 8}, .threads = 3}); }),
               Catch::Contains((tmp.path / "cat" / "c.png").string() + ": PNG: read beyond end of data"));
  }
  SECTION("a file with an image extension in a format ctnn doesn't decode") {
    write(tmp.path / "dog" / "y.bmp", {'B', 'M', 0x3a, 0, 0, 0});
    CHECK_THAT(error_of([&] { load_image_folder(tmp.path, {.crop = {8, 8}}); }),
               Catch::Contains("y.bmp: a BMP file") && Catch::Contains("ctnn decodes JPEG and PNG only"));
  }
  SECTION("a class folder without images") {
    fs::create_directories(tmp.path / "empty" / "deeper");
    write_text(tmp.path / "empty" / "readme.md", "nothing\n");
    CHECK_THAT(error_of([&] { scan_image_folder(tmp.path); }),
               Catch::Contains("no image files (.jpg, .jpeg, .png, ...) in the class folder(s) empty"));
  }
  SECTION("no class folders, no folder") {
    fs::create_directories(tmp.path / "flat");
    write(tmp.path / "flat" / "1.png", ti::png(ti::pattern(2, 2, 3)));
    CHECK_THAT(error_of([&] { scan_image_folder(tmp.path / "flat"); }), Catch::Contains("has no class folders"));
    CHECK_THAT(error_of([&] { scan_image_folder(tmp.path / "missing"); }),
               Catch::Contains("missing: does not exist"));
    CHECK_THAT(error_of([&] { scan_image_folder(tmp.path / "flat" / "1.png"); }), Catch::Contains("is not a folder"));
  }
}

TEST_CASE("load_image_folders reads train/ and test/ and insists on the same classes", "[data][image_folder]") {
  TempDir tmp("folder_splits");
  write_folder(tmp.path / "train");
  write(tmp.path / "test" / "bird" / "t.png", ti::png(ti::pattern(8, 8, 3, 9)));
  write(tmp.path / "test" / "cat" / "t.png", ti::png(ti::pattern(8, 8, 3, 8)));
  write(tmp.path / "test" / "dog" / "t.png", ti::png(ti::pattern(8, 8, 3, 7)));
  const Splits s = load_image_folders(tmp.path, {.crop = {8, 8}});
  CHECK(s.train.size() == 5);
  CHECK(s.test.labels == std::vector<std::int32_t>{0, 1, 2});
  CHECK(hwc(s.test, 2).pixels == ti::pattern(8, 8, 3, 7).pixels);
  fs::remove_all(tmp.path / "test" / "dog");
  CHECK_THAT(error_of([&] { load_image_folders(tmp.path, {.crop = {8, 8}}); }),
             Catch::Contains("different classes (bird, cat, dog and bird, cat)"));
}

TEST_CASE("the Loader batches an image folder with the seed augmentations", "[data][image_folder]") {
  TempDir tmp("folder_loader");
  // 2 classes x 5 images of 40x36, resized (shorter side 32) and center-cropped to CIFAR's 32x32.
  for (int i = 0; i < 10; ++i)
    write(tmp.path / (i % 2 ? "odd" : "even") / (std::to_string(i) + ".png"), ti::png(ti::pattern(40, 36, 3, i)));
  const Dataset d = load_image_folder(tmp.path, {.resize = 32, .crop = {32, 32}});
  REQUIRE(d.shape == ImageShape{3, 32, 32});
  Loader loader{d, 4, augment::seed_cifar10(), {.seed = 3, .threads = 1}};
  std::size_t seen = 0;
  for (const Batch& b : loader) {
    CHECK(b.channels == 3);
    CHECK(b.height == 32);
    CHECK(b.width == 32);
    CHECK(b.images.size() == static_cast<std::size_t>(b.size) * 3 * 32 * 32);
    for (int i = 0; i < b.size; ++i) CHECK(b.labels[i] == d.labels[static_cast<std::size_t>(b.indices[i])]);
    seen += static_cast<std::size_t>(b.size);
  }
  CHECK(seen == 10);
  CHECK(d.class_names == std::vector<std::string>{"even", "odd"});
}
