// The predict example (examples/predict) on a checkpoint this test trains and on images it
// writes: five ranked classes whose probabilities are Model::predict's scores through a softmax
// computed here, and clear errors for a checkpoint of another network or a broken image.
#include <catch2/catch.hpp>

#include <sys/wait.h>  // WEXITSTATUS

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <ctnn/backend/cpu.hpp>
#include <ctnn/data/decode.hpp>
#include <ctnn/data/image.hpp>
#include <ctnn/io/checkpoint.hpp>
#include <ctnn/loss/cross_entropy.hpp>
#include <ctnn/model.hpp>
#include <ctnn/models/seed.hpp>
#include <ctnn/optim/adam.hpp>

#include "image_files.hpp"
#include "support.hpp"

using namespace ctnn;
using namespace data_test;
namespace ti = test_images;

namespace {

using SeedModel = Model<models::SeedNet, models::SeedInput, Cpu>;  // the network predict loads

struct Run {
  int status = -1;
  std::string output;  // stdout and stderr
};
Run run_predict(const std::string& arguments) {
  Run r;
  FILE* pipe = popen((std::string(CTNN_PREDICT_EXE) + " " + arguments + " 2>&1").c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) r.output.append(buffer, n);
  const int status = pclose(pipe);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// The network's input for a 32x32 RGB image, written out here: ToTensor, then the seed's
// Normalize with the CIFAR-10 mean and std, planes R, G, B.
std::vector<float> expected_input(const ti::ImageU8& img) {
  const float mean[3] = {0.4914f, 0.4822f, 0.4465f}, std[3] = {0.2023f, 0.1994f, 0.2010f};
  std::vector<float> x(3 * 32 * 32);
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 32; ++y)
      for (int px = 0; px < 32; ++px)
        x[(c * 32 + y) * 32 + px] = (img.at(y, px, c) / 255.0f - mean[c]) / std[c];
  return x;
}

std::vector<double> softmax(const float* scores, int n) {
  std::vector<double> p(scores, scores + n);
  const double top = *std::max_element(p.begin(), p.end());
  double sum = 0;
  for (auto& v : p) sum += v = std::exp(v - top);
  for (auto& v : p) v /= sum;
  return p;
}

struct Ranked {
  int rank;
  double percent;
  std::string name;
};
// The "  1.  61.23%  cat" lines that follow the line naming `file`.
std::vector<Ranked> ranking_of(const std::string& output, const std::string& file) {
  std::istringstream lines(output);
  std::vector<Ranked> out;
  bool in_block = false;
  static const std::regex entry(R"(^  (\d+)\. +([0-9.]+)%  (.+)$)");
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (line == file) in_block = true;
    else if (in_block && std::regex_match(line, m, entry)) out.push_back({std::stoi(m[1]), std::stod(m[2]), m[3]});
    else in_block = false;
  }
  return out;
}

const std::vector<std::string> cifar10_names{"airplane", "automobile", "bird", "cat",  "deer",
                                             "dog",      "frog",       "horse", "ship", "truck"};

}  // namespace

TEST_CASE("predict prints the five most likely classes, as Model::predict and a softmax rank them",
          "[data][predict]") {
  TempDir tmp("predict");
  // Two images, and a seed network trained two steps to call the first a "cat" (3) and the
  // second a "ship" (8), so the ranking is not a near-tie of an untrained network.
  const ti::ImageU8 cat = ti::pattern(32, 32, 3, 1), ship = ti::smooth(32, 32, 3);
  write(tmp.path / "cat.png", ti::png(cat));
  write(tmp.path / "ship.png", ti::png(ship));
  std::vector<float> inputs = expected_input(cat);
  const auto second = expected_input(ship);
  inputs.insert(inputs.end(), second.begin(), second.end());
  SeedModel model(5);
  {
    loss::CrossEntropy<Cpu> loss;
    optim::Adam adam(model.parameters(), {.lr = 1e-3f});
    const std::vector<std::int32_t> labels{3, 8};
    for (int step = 0; step < 2; ++step) {
      loss.forward(model.forward(inputs, 2), labels);
      model.backward(loss.gradient());
      adam.step();
    }
    // BN's running statistics from these two images, so that eval mode sees what training saw.
    model.accumulate_batch_norm_statistics(inputs, 2, 1);
  }
  const auto checkpoint = tmp.path / "tiny.safetensors";
  io::save_weights(checkpoint, model);
  const auto scores = model.predict(inputs, 2);

  const Run r = run_predict("--checkpoint " + checkpoint.string() + " " + (tmp.path / "cat.png").string() + " " +
                            (tmp.path / "ship.png").string());
  INFO(r.output);
  REQUIRE(r.status == 0);
  for (int image = 0; image < 2; ++image) {
    const auto file = (tmp.path / (image == 0 ? "cat.png" : "ship.png")).string();
    const auto ranked = ranking_of(r.output, file);
    REQUIRE(ranked.size() == 5);
    const auto p = softmax(scores.data() + image * 10, 10);
    std::vector<int> order(10);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int a, int b) { return p[a] > p[b]; });
    CHECK(order[0] == (image == 0 ? 3 : 8));  // what the few steps taught it
    double total = 0;
    std::vector<std::string> printed;
    for (int k = 0; k < 5; ++k) {
      CHECK(ranked[k].rank == k + 1);
      // The class printed k-th has the k-th largest probability (a name check alone could trip
      // over two classes whose probabilities differ in the last bits).
      const auto c = std::find(cifar10_names.begin(), cifar10_names.end(), ranked[k].name) - cifar10_names.begin();
      REQUIRE(c < 10);
      CHECK(p[static_cast<std::size_t>(c)] == Approx(p[order[k]]).margin(1e-6));
      CHECK(ranked[k].percent == Approx(100 * p[order[k]]).margin(0.006));  // printed with 2 decimals
      total += ranked[k].percent;
      printed.push_back(ranked[k].name);
    }
    CHECK(ranked[0].name == cifar10_names[order[0]]);
    std::sort(printed.begin(), printed.end());
    CHECK(std::unique(printed.begin(), printed.end()) == printed.end());
    CHECK(total <= 100.0 + 5 * 0.005);
  }

  SECTION("--top and --classes (a names file, or the class folders of an image folder)") {
    write_text(tmp.path / "names.txt", "c0\nc1\nc2\nc3\nc4\nc5\nc6\nc7\nc8\nc9\n");
    const Run named = run_predict("--top 2 --classes " + (tmp.path / "names.txt").string() + " --checkpoint " +
                                  checkpoint.string() + " " + (tmp.path / "cat.png").string());
    INFO(named.output);
    const auto ranked = ranking_of(named.output, (tmp.path / "cat.png").string());
    REQUIRE(ranked.size() == 2);
    CHECK(ranked[0].name == "c3");
    for (const auto& n : cifar10_names) write(tmp.path / "folder" / n / "x.png", ti::png(cat));
    const Run folder = run_predict("--classes " + (tmp.path / "folder").string() + " --checkpoint " +
                                   checkpoint.string() + " " + (tmp.path / "cat.png").string());
    CHECK(ranking_of(folder.output, (tmp.path / "cat.png").string()).at(0).name == "cat");
  }
  SECTION("a checkpoint of another network is refused, naming what doesn't match") {
    Model<Sequential<Flatten, Linear<3 * 32 * 32, 10>>, Input<3, 32, 32>, Cpu> other(1);
    io::save_weights(tmp.path / "other.safetensors", other);
    const Run bad = run_predict("--checkpoint " + (tmp.path / "other.safetensors").string() + " " +
                                (tmp.path / "cat.png").string());
    CHECK(bad.status == 2);
    CHECK_THAT(bad.output, Catch::Contains("predict: error: checkpoint") && Catch::Contains("other.safetensors") &&
                               Catch::Contains("has no tensor"));
    const Run missing = run_predict("--checkpoint " + (tmp.path / "none.safetensors").string() + " " +
                                    (tmp.path / "cat.png").string());
    CHECK(missing.status == 2);
    CHECK_THAT(missing.output, Catch::Contains("none.safetensors"));
    write_text(tmp.path / "text.safetensors", "not a checkpoint");
    const Run text = run_predict("--checkpoint " + (tmp.path / "text.safetensors").string() + " " +
                                 (tmp.path / "cat.png").string());
    CHECK(text.status == 2);
    CHECK_THAT(text.output, Catch::Contains("text.safetensors"));
  }
  SECTION("a broken or missing image is refused, naming the file") {
    const auto png = ti::png(cat);
    write(tmp.path / "cut.png", {png.begin(), png.begin() + png.size() / 3});
    const Run cut = run_predict("--checkpoint " + checkpoint.string() + " " + (tmp.path / "cut.png").string());
    CHECK(cut.status == 2);
    CHECK_THAT(cut.output, Catch::Contains("predict: error: image " + (tmp.path / "cut.png").string() +
                                           ": PNG: read beyond end of data"));
    const Run gone = run_predict("--checkpoint " + checkpoint.string() + " " + (tmp.path / "gone.jpg").string());
    CHECK(gone.status == 2);
    CHECK_THAT(gone.output, Catch::Contains("gone.jpg: file does not exist"));
    write_text(tmp.path / "few.txt", "a\nb\n");
    const Run few = run_predict("--classes " + (tmp.path / "few.txt").string() + " --checkpoint " +
                                checkpoint.string() + " " + (tmp.path / "cat.png").string());
    CHECK(few.status == 2);
    CHECK_THAT(few.output, Catch::Contains("few.txt"));
  }
}

TEST_CASE("predict resizes and center-crops images of other sizes as the library does", "[data][predict]") {
  TempDir tmp("predict_resize");
  const ti::ImageU8 wide = ti::pattern(64, 40, 3, 2);
  write(tmp.path / "wide.jpg", ti::jpeg(wide));
  SeedModel model(9);
  const auto checkpoint = tmp.path / "w.safetensors";
  io::save_weights(checkpoint, model);
  // The input through the library's own steps (each tested against PIL in test_decode.cpp and
  // image_crosscheck.py): decode, shorter side to 32, center 32x32.
  const auto decoded = data::read_image(tmp.path / "wide.jpg");
  const auto scores = model.predict(expected_input(data::center_crop(data::resize_shorter(decoded, 32), 32, 32)), 1);
  const Run r = run_predict("--top 10 --checkpoint " + checkpoint.string() + " " + (tmp.path / "wide.jpg").string());
  INFO(r.output);
  REQUIRE(r.status == 0);
  const auto ranked = ranking_of(r.output, (tmp.path / "wide.jpg").string());
  REQUIRE(ranked.size() == 10);
  const auto p = softmax(scores.data(), 10);
  double total = 0;
  for (const auto& e : ranked) {
    const auto c = std::find(cifar10_names.begin(), cifar10_names.end(), e.name) - cifar10_names.begin();
    CHECK(e.percent == Approx(100 * p[static_cast<std::size_t>(c)]).margin(0.006));
    total += e.percent;
  }
  CHECK(total == Approx(100).margin(0.05));  // all ten classes: the whole distribution
}
