// Loading weights by name: BN's batch counter and how files store it, strict loads that list
// every problem and change nothing, the rules (ignore, exclude, rename) and non-strict loads
// with their reports, dtype conversion, copies between two different networks, and snapshots
// (state_dict / load_state_dict).
#include <bit>  // std::bit_cast
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>  // getpid

#include <catch2/catch.hpp>
#include <ctnn/ctnn.hpp>
#include <ctnn/io/checkpoint.hpp>
#include <ctnn/io/copy.hpp>

using namespace ctnn;

namespace {

// A small network and one with another head (a Linear with 2 outputs instead of 5), and a
// network of another shape that shares the first block: "0.0.*" (Conv) and "0.1.*" (BN).
using Block = Sequential<Conv<3, 4>, BN<4>, ReLU>;
using Five = Model<Sequential<Block, Flatten, Linear<64, 5>>, Input<3, 4, 4>, Cpu>;
using Two = Model<Sequential<Block, Flatten, Linear<64, 2>>, Input<3, 4, 4>, Cpu>;
using Other = Model<Sequential<Block, Conv<4, 2, 1, 1, 0>, ReLU, BN<2>, Flatten, Linear<32, 3>>, Input<3, 4, 4>, Cpu>;

std::filesystem::path temp_dir() {
  auto dir = std::filesystem::temp_directory_path() / ("ctnn_test_weights_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir;
}

std::vector<float> images(long batch, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(static_cast<std::size_t>(batch * 48));
  for (auto& x : v) x = rng.uniform(-2, 2);
  return v;
}

// `steps` train-mode forwards: BN's running statistics move and its counter counts.
template <class M>
void run_train_forwards(M& model, int steps) {
  model.train();
  for (int i = 0; i < steps; ++i) model.forward(images(3, 100 + static_cast<std::uint64_t>(i)), 3);
}

template <class M>
std::vector<float> values(M& model, const std::string& name) {
  for (auto& p : model.parameters())
    if (p.name == name) return p.value->to_vector();
  FAIL("no tensor " << name);
  return {};
}

template <class M>
std::int64_t counter(M& model, const std::string& name) {
  for (auto& c : model.parameters().counters)
    if (c.name == name) return *c.value;
  FAIL("no counter " << name);
  return -1;
}

// Every float tensor and counter of a model, by position, for before/after comparisons.
template <class M>
std::pair<std::vector<std::vector<float>>, std::vector<std::int64_t>> everything(M& model) {
  std::pair<std::vector<std::vector<float>>, std::vector<std::int64_t>> out;
  const auto list = model.parameters();
  for (auto& p : list) out.first.push_back(p.value->to_vector());
  for (auto& c : list.counters) out.second.push_back(*c.value);
  return out;
}

std::vector<std::string> names(const std::vector<io::LoadReport::Entry>& entries) {
  std::vector<std::string> out;
  for (const auto& e : entries) out.push_back(e.name);
  return out;
}

// Writes `file`'s tensors to `path` with `change` applied (false drops a tensor), so tests can
// make the files other tools write.
template <class Change>
void rewrite(const std::filesystem::path& from, const std::filesystem::path& path, Change change) {
  const auto file = io::read_safetensors(from);
  io::SafetensorsWriter w;
  for (const auto& t : file.tensors) {
    std::string name = t.name;
    std::vector<std::int64_t> shape = t.shape;
    if (!change(name, shape)) continue;
    if (t.dtype == io::Dtype::I64) w.add(name, shape, file.integers(t));
    else w.add(name, shape, file.floats(t));
  }
  w.write(path);
}

}  // namespace

TEST_CASE("BN counts its train-mode batches, optimizers never see the counter", "[io][batchnorm]") {
  Five model(1);
  CHECK(counter(model, "0.1.num_batches_tracked") == 0);
  run_train_forwards(model, 3);
  CHECK(counter(model, "0.1.num_batches_tracked") == 3);
  model.eval();
  model.forward(images(2, 5), 2);
  CHECK(counter(model, "0.1.num_batches_tracked") == 3);  // eval mode doesn't count
  // A re-estimation pass restarts the count, as PyTorch's update_bn does (reset, then count).
  model.accumulate_batch_norm_statistics(images(2, 6), 2, 1);
  model.accumulate_batch_norm_statistics(images(2, 7), 2, 2);
  CHECK(counter(model, "0.1.num_batches_tracked") == 2);
  CHECK(model.mode() == Mode::eval);
  model.initialize(1);
  CHECK(counter(model, "0.1.num_batches_tracked") == 0);

  const auto list = model.parameters();
  REQUIRE(list.counters.size() == 1);
  CHECK(list.size() == 8);  // conv 2, BN 4, linear 2: float tensors only
  for (const auto& p : list) CHECK(p.name.find("num_batches_tracked") == std::string::npos);
}

TEST_CASE("save_weights stores BN's counter as an I64 scalar, load_weights restores everything", "[io]") {
  const auto dir = temp_dir();
  Five a(1);
  run_train_forwards(a, 4);
  io::save_weights(dir / "a.safetensors", a);
  const auto file = io::read_safetensors(dir / "a.safetensors");
  const auto& n = file.at("0.1.num_batches_tracked");
  CHECK(n.dtype == io::Dtype::I64);
  CHECK(n.shape.empty());
  CHECK(file.integers(n) == std::vector<std::int64_t>{4});
  CHECK(file.at("0.1.running_mean").dtype == io::Dtype::F32);

  Five b(2);
  const auto report = io::load_weights(dir / "a.safetensors", b);
  CHECK(everything(b) == everything(a));
  CHECK(report.loaded.size() == 9);
  CHECK(report.skipped.empty());
  CHECK(report.fresh.empty());
  CHECK(report.is_loaded("0.1.num_batches_tracked"));
  CHECK(report.metadata.at("format") == "pt");
  std::filesystem::remove_all(dir);
}

TEST_CASE("a file without counters loads strictly, as in PyTorch, the counters stay", "[io]") {
  const auto dir = temp_dir();
  Five a(1);
  io::save_weights(dir / "a.safetensors", a);
  rewrite(dir / "a.safetensors", dir / "old.safetensors",
          [](std::string& name, auto&) { return !name.ends_with("num_batches_tracked"); });
  Five b(2);
  run_train_forwards(b, 2);
  const auto report = io::load_weights(dir / "old.safetensors", b);
  CHECK(values(b, "0.0.weight") == values(a, "0.0.weight"));
  CHECK(counter(b, "0.1.num_batches_tracked") == 2);
  REQUIRE(report.fresh.size() == 1);
  CHECK(report.fresh[0].name == "0.1.num_batches_tracked");
  CHECK(report.fresh[0].note == "a counter, not in the file");
  std::filesystem::remove_all(dir);
}

TEST_CASE("a strict load that doesn't fit lists every problem, with both shapes, and changes nothing", "[io][errors]") {
  const auto dir = temp_dir();
  Five a(1);
  io::save_weights(dir / "a.safetensors", a);
  Two two(2);
  run_train_forwards(two, 1);
  const auto before = everything(two);

  SECTION("another head: the shape mismatch names the tensor and both shapes") {
    CHECK_THROWS_WITH(io::load_weights(dir / "a.safetensors", two),
                      Catch::Contains("a.safetensors: 2 problems, so nothing was loaded:") &&
                          Catch::Contains("tensor '2.weight' has shape [5, 64] in the file but [2, 64] in the model") &&
                          Catch::Contains("tensor '2.bias' has shape [5] in the file but [2] in the model"));
  }
  SECTION("missing, unused, a float where a counter belongs, an integer where a float does") {
    rewrite(dir / "a.safetensors", dir / "bad.safetensors", [](std::string& name, auto&) {
      if (name == "2.bias") name = "2.bais";
      return name != "0.0.bias";
    });
    {  // dtypes: rewritten by hand
      const auto file = io::read_safetensors(dir / "bad.safetensors");
      io::SafetensorsWriter w;
      for (const auto& t : file.tensors) {
        if (t.name == "0.1.num_batches_tracked") w.add(t.name, t.shape, std::vector<float>{1.0f});
        else if (t.name == "0.1.running_var") w.add(t.name, t.shape, std::vector<std::int64_t>(4, 1));
        else if (t.dtype == io::Dtype::I64) w.add(t.name, t.shape, file.integers(t));
        else w.add(t.name, t.shape, file.floats(t));
      }
      w.write(dir / "bad.safetensors");
    }
    CHECK_THROWS_WITH(
        io::load_weights(dir / "bad.safetensors", two),
        Catch::Contains("6 problems, so nothing was loaded") &&
            Catch::Contains("tensor '0.1.running_var' in the file has dtype I64, but '0.1.running_var' in the model is "
                            "a float tensor") &&
            Catch::Contains("tensor '0.1.num_batches_tracked' in the file has dtype F32, but "
                            "'0.1.num_batches_tracked' in the model is a counter") &&
            Catch::Contains("tensor '2.bais' (shape [5]) in the file has no counterpart in the model") &&
            Catch::Contains("the file has no tensor '0.0.bias' (the model has it, shape [4])") &&
            Catch::Contains("the file has no tensor '2.bias' (the model has it, shape [2])") &&
            Catch::Contains("'2.weight' has shape [5, 64] in the file but [2, 64]"));
  }
  SECTION("a load into the model and optimizer (a checkpoint) says so") {
    CHECK_THROWS_WITH(io::load_weights(dir / "a.safetensors", two, {.exclude = {"2.weight"}}),
                      Catch::Contains("checkpoint") && Catch::Contains("tensor '2.bias' has shape [5] in the file but "
                                                                       "[2] in the model; nothing was loaded"));
  }
  CHECK(everything(two) == before);
  std::filesystem::remove_all(dir);
}

TEST_CASE("glob patterns: '*' is any run of characters, dots included, everything else is literal", "[io]") {
  CHECK(io::glob_match("*.num_batches_tracked", "layer1.0.bn1.num_batches_tracked"));
  CHECK(io::glob_match("*.num_batches_tracked", "bn1.num_batches_tracked"));
  CHECK_FALSE(io::glob_match("*.num_batches_tracked", "num_batches_tracked"));
  CHECK(io::glob_match("fc.*", "fc.weight"));
  CHECK_FALSE(io::glob_match("fc.*", "fc"));
  CHECK_FALSE(io::glob_match("fc.*", "fcx.weight"));
  CHECK_FALSE(io::glob_match("fc.*", "layer4.fc.weight"));  // the whole name must match
  CHECK(io::glob_match("layer*.0.*", "layer1.0.conv1.weight"));
  CHECK_FALSE(io::glob_match("layer*.0.*", "layer1.1.conv1.weight"));
  CHECK(io::glob_match("*", ""));
  CHECK(io::glob_match("**", "a.b"));
  CHECK(io::glob_match("a*b*c", "aXbYc"));
  CHECK(io::glob_match("a*b*c", "abc"));
  CHECK_FALSE(io::glob_match("a*b*c", "acb"));
  CHECK(io::glob_match("*ab", "aab"));   // the star must give back what it took
  CHECK(io::glob_match("*a*a", "abaa"));
  CHECK_FALSE(io::glob_match("0.weight", "0xweight"));  // '.' is a dot, not "any character"
  CHECK_FALSE(io::glob_match("", "a"));
}

TEST_CASE("rules: exclude a new head, ignore a file's tensors, rename a prefix, the report says what happened", "[io]") {
  const auto dir = temp_dir();
  Five a(1);
  run_train_forwards(a, 2);
  io::save_weights(dir / "a.safetensors", a);

  SECTION("exclude: the model's head stays fresh, the file's is skipped") {
    Two two(2);
    const auto head = values(two, "2.weight");
    const auto report = io::load_weights(dir / "a.safetensors", two, {.exclude = {"2.*"}});
    CHECK(values(two, "0.0.weight") == values(a, "0.0.weight"));
    CHECK(values(two, "0.1.running_var") == values(a, "0.1.running_var"));
    CHECK(counter(two, "0.1.num_batches_tracked") == 2);
    CHECK(values(two, "2.weight") == head);
    CHECK(names(report.loaded) == std::vector<std::string>{"0.0.weight", "0.0.bias", "0.1.weight", "0.1.bias",
                                                           "0.1.running_mean", "0.1.running_var",
                                                           "0.1.num_batches_tracked"});
    CHECK(names(report.skipped) == std::vector<std::string>{"2.weight", "2.bias"});
    CHECK(names(report.fresh) == std::vector<std::string>{"2.weight", "2.bias"});
    CHECK(report.summary() ==
          "checkpoint " + (dir / "a.safetensors").string() +
              ": loaded 7 tensors, skipped 2, left 2 fresh\n"
              "  skipped (in the source, not loaded):\n"
              "    2.weight [5, 64]: '2.weight' in the model is excluded by '2.*'\n"
              "    2.bias [5]: '2.bias' in the model is excluded by '2.*'\n"
              "  left fresh (in the model, not loaded):\n"
              "    2.weight [2, 64]: excluded by '2.*'\n"
              "    2.bias [2]: excluded by '2.*'");
    std::ostringstream printed;
    printed << report;
    CHECK(printed.str() == report.summary());
  }
  SECTION("rename: nn.DataParallel's 'module.' prefix; ignore: a tensor the model has no use for") {
    rewrite(dir / "a.safetensors", dir / "dp.safetensors", [](std::string& name, auto&) {
      name = "module." + name;
      return true;
    });
    {  // plus one tensor of another tool's
      const auto file = io::read_safetensors(dir / "dp.safetensors");
      io::SafetensorsWriter w;
      for (const auto& t : file.tensors) {
        if (t.dtype == io::Dtype::I64) w.add(t.name, t.shape, file.integers(t));
        else w.add(t.name, t.shape, file.floats(t));
      }
      w.add("module.ema.decay", {}, std::vector<float>{0.999f});
      w.write(dir / "dp.safetensors");
    }
    Five b(2);
    CHECK_THROWS_WITH(io::load_weights(dir / "dp.safetensors", b, {.rename = {{"module.", ""}}}),
                      Catch::Contains("tensor 'module.ema.decay' (renamed 'ema.decay') (shape []) in the file has no "
                                      "counterpart in the model; nothing was loaded"));
    const auto report =
        io::load_weights(dir / "dp.safetensors", b, {.ignore = {"*.ema.*"}, .rename = {{"module.", ""}}});
    CHECK(everything(b) == everything(a));
    REQUIRE(report.loaded.size() == 9);
    CHECK(report.loaded[0].name == "0.0.weight");
    CHECK(report.loaded[0].note == "from 'module.0.0.weight'");
    REQUIRE(report.skipped.size() == 1);
    CHECK(report.skipped[0].name == "module.ema.decay");
    CHECK(report.skipped[0].note == "ignored by '*.ema.*'");
    CHECK_THAT(report.summary(), Catch::StartsWith("checkpoint " + (dir / "dp.safetensors").string() +
                                                   ": loaded 9 tensors (9 under another name), skipped 1, left 0 fresh"));
  }
  SECTION("the first rename that fits applies") {
    Five b(2);
    CHECK_THROWS_WITH(io::load_weights(dir / "a.safetensors", b, {.rename = {{"0.1.", "0.1."}, {"0.", "9."}}}),
                      Catch::Contains("tensor '0.0.weight' (renamed '9.0.weight') (shape [4, 3, 3, 3]) in the file has "
                                      "no counterpart") &&
                          Catch::Contains("the file has no tensor '0.0.bias'") && !Catch::Contains("'9.1."));
  }
  SECTION("two names renamed onto one are an error") {
    rewrite(dir / "a.safetensors", dir / "two.safetensors", [](std::string&, auto&) { return true; });
    {
      const auto file = io::read_safetensors(dir / "a.safetensors");
      io::SafetensorsWriter w;
      for (const auto& t : file.tensors) {
        if (t.dtype == io::Dtype::I64) w.add(t.name, t.shape, file.integers(t));
        else w.add(t.name, t.shape, file.floats(t));
      }
      w.add("old.2.bias", {5}, std::vector<float>(5, 0.0f));
      w.write(dir / "two.safetensors");
    }
    Five b(2);
    CHECK_THROWS_WITH(io::load_weights(dir / "two.safetensors", b, {.rename = {{"old.", ""}}}),
                      Catch::Contains("tensors '2.bias' and 'old.2.bias' in the file both become '2.bias' in the model"));
  }
  SECTION("non-strict: names without a counterpart are reported, not errors; shapes still are") {
    rewrite(dir / "a.safetensors", dir / "partial.safetensors", [](std::string& name, auto&) {
      if (name == "2.bias") name = "extra";
      return name != "0.1.running_var";
    });
    Five b(2);
    const auto var = values(b, "0.1.running_var"), bias = values(b, "2.bias");
    const auto report = io::load_weights(dir / "partial.safetensors", b, {.strict = false});
    CHECK(values(b, "0.1.running_var") == var);
    CHECK(values(b, "2.bias") == bias);
    CHECK(values(b, "2.weight") == values(a, "2.weight"));
    CHECK(report.loaded.size() == 7);
    REQUIRE(report.skipped.size() == 1);
    CHECK(report.skipped[0].name == "extra");
    CHECK(report.skipped[0].note == "the model has no 'extra'");
    CHECK(names(report.fresh) == std::vector<std::string>{"0.1.running_var", "2.bias"});
    CHECK(report.fresh[0].note == "not in the file");
    Two two(3);
    CHECK_THROWS_WITH(io::load_weights(dir / "partial.safetensors", two, {.strict = false}),
                      Catch::Contains("tensor '2.weight' has shape [5, 64] in the file but [2, 64] in the model"));
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("F16, BF16 and F64 tensors load converted to float", "[io]") {
  const auto dir = temp_dir();
  Five a(1);
  io::save_weights(dir / "a.safetensors", a);
  // Every float tensor as F64 (exact), the conv weight as BF16: the top 16 bits of each float.
  const auto file = io::read_safetensors(dir / "a.safetensors");
  io::SafetensorsWriter w;
  std::vector<float> expected_conv;
  for (const auto& t : file.tensors) {
    if (t.dtype == io::Dtype::I64) {
      w.add(t.name, t.shape, file.integers(t));
    } else if (t.name == "0.0.weight") {
      std::vector<std::uint16_t> bf16;
      for (const float v : file.floats(t)) {
        bf16.push_back(static_cast<std::uint16_t>(std::bit_cast<std::uint32_t>(v) >> 16));
        expected_conv.push_back(std::bit_cast<float>(static_cast<std::uint32_t>(bf16.back()) << 16));
      }
      w.add(t.name, t.shape, bf16);
    } else {
      const auto f = file.floats(t);
      w.add(t.name, t.shape, std::vector<double>(f.begin(), f.end()));
    }
  }
  {  // the U16 tensor stands in for BF16: relabel its dtype in the header
    const auto bytes = w.bytes();
    std::uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[static_cast<std::size_t>(i)];
    std::string header(bytes.begin() + 8, bytes.begin() + 8 + static_cast<long>(n));
    const std::string u16 = R"("0.0.weight":{"dtype":"U16")";
    const auto at = header.find(u16);
    REQUIRE(at != std::string::npos);
    header.replace(at, u16.size(), R"("0.0.weight":{"dtype":"BF16")");
    std::ofstream out(dir / "converted.safetensors", std::ios::binary);
    for (int i = 0; i < 8; ++i) out.put(static_cast<char>(header.size() >> (8 * i)));
    out << header;
    out.write(reinterpret_cast<const char*>(bytes.data()) + 8 + n, static_cast<std::streamsize>(bytes.size() - 8 - n));
  }
  REQUIRE(io::read_safetensors(dir / "converted.safetensors").at("0.0.weight").dtype == io::Dtype::BF16);
  Five b(2);
  io::load_weights(dir / "converted.safetensors", b);
  CHECK(values(b, "0.0.weight") == expected_conv);
  CHECK(values(b, "2.weight") == values(a, "2.weight"));
  CHECK(values(b, "0.1.running_var") == values(a, "0.1.running_var"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("copy_parameters between two different networks copies exactly the shared tensors", "[io][copy]") {
  Five from(1);
  run_train_forwards(from, 3);
  Other to(2);
  const auto fresh_to = everything(to);

  CHECK_THROWS_WITH(io::copy_parameters(from, to),
                    Catch::Contains("copy_parameters: ") &&
                        Catch::Contains("tensor '2.weight' (shape [5, 64]) in the source model has no counterpart in "
                                        "the target model") &&
                        Catch::Contains("the source model has no tensor '1.weight' (the target model has it, shape "
                                        "[2, 4, 1, 1])"));
  CHECK(everything(to) == fresh_to);

  const auto report = io::copy_parameters(from, to, {.strict = false});
  const std::vector<std::string> shared{"0.0.weight", "0.0.bias", "0.1.weight", "0.1.bias", "0.1.running_mean",
                                        "0.1.running_var", "0.1.num_batches_tracked"};
  CHECK(names(report.loaded) == shared);
  CHECK(names(report.skipped) == std::vector<std::string>{"2.weight", "2.bias"});
  CHECK(names(report.fresh) == std::vector<std::string>{"1.weight", "1.bias", "3.weight", "3.bias", "3.running_mean",
                                                        "3.running_var", "5.weight", "5.bias",
                                                        "3.num_batches_tracked"});
  for (std::size_t i = 0; i + 1 < shared.size(); ++i) CHECK(values(to, shared[i]) == values(from, shared[i]));
  CHECK(counter(to, "0.1.num_batches_tracked") == 3);
  // Everything else is as it was: the target's own parameters, in order.
  const auto after = everything(to);
  REQUIRE(after.first.size() == fresh_to.first.size());
  for (std::size_t i = 6; i < after.first.size(); ++i) CHECK(after.first[i] == fresh_to.first[i]);
  CHECK(after.second[1] == fresh_to.second[1]);

  SECTION("a shape that differs is an error even when not strict; exclude it to copy the rest") {
    Two two(3);
    const auto before = everything(two);
    CHECK_THROWS_WITH(io::copy_parameters(from, two, {.strict = false}),
                      Catch::Contains("tensor '2.weight' has shape [5, 64] in the source model but [2, 64] in the "
                                      "target model"));
    CHECK(everything(two) == before);
    const auto r = io::copy_parameters(from, two, {.exclude = {"2.*"}});
    CHECK(names(r.loaded) == shared);
    CHECK(values(two, "0.0.weight") == values(from, "0.0.weight"));
    CHECK(values(two, "2.weight") == before.first[6]);
  }
}

TEST_CASE("state_dict and load_state_dict: a snapshot by name restores a model exactly", "[io][copy]") {
  Five model(1);
  run_train_forwards(model, 2);
  const auto snapshot = io::state_dict(model);
  const auto kept = everything(model);
  REQUIRE(snapshot.size() == 9);
  CHECK(snapshot.back().name == "0.1.num_batches_tracked");
  CHECK(snapshot.back().count == 2);
  CHECK(snapshot.front().shape == std::vector<std::int64_t>{4, 3, 3, 3});

  run_train_forwards(model, 3);
  model.initialize(5);
  REQUIRE(everything(model) != kept);
  const auto report = io::load_state_dict(model, snapshot);
  CHECK(everything(model) == kept);
  CHECK(report.loaded.size() == 9);

  auto broken = snapshot;
  broken[0].values.pop_back();
  CHECK_THROWS_WITH(io::load_state_dict(model, broken),
                    Catch::Contains("load_state_dict: tensor '0.0.weight' has shape [4, 3, 3, 3] but 107 values"));
  Two two(2);
  CHECK_THROWS_WITH(io::load_state_dict(two, snapshot),
                    Catch::Contains("tensor '2.weight' has shape [5, 64] in the state dict but [2, 64] in the model"));
}
