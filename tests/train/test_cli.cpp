// The cifar10 example's command line: defaults, the recipes, and clear rejection of bad values.
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "options.hpp"  // examples/cifar10

using cifar10_example::Options;
using cifar10_example::parse;

namespace {
// The message CLI11 gives for a rejected command line.
std::string rejection(std::vector<std::string> args) {
  try {
    parse(std::move(args));
  } catch (const CLI::ParseError& e) {
    return e.what();
  }
  return "(accepted)";
}
}  // namespace

TEST_CASE("the defaults are the seed's recipe", "[cli]") {
  const Options o = parse({});
  CHECK(o.epochs == 50);
  CHECK(o.batch == 128);
  CHECK(o.lr == 1e-3f);
  CHECK(o.optimizer == "adam");
  CHECK(o.schedule == "constant");
  CHECK(o.device == "cpu");
  CHECK(o.train_limit == 0);
  CHECK(o.bias_decay);
  CHECK_FALSE(parse({"--no-bias-decay"}).bias_decay);
  CHECK_FALSE(o.recalibrate_bn);
  CHECK(parse({"--recalibrate-bn"}).recalibrate_bn);
}

TEST_CASE("the onecycle recipe sets SGD Nesterov, wd 5e-4, OneCycle to 0.1, BN re-estimation, explicit flags win", "[cli]") {
  const Options o = parse({"--recipe", "onecycle"});
  CHECK(o.optimizer == "sgd");
  CHECK(o.schedule == "onecycle");
  CHECK(o.lr == 0.1f);
  CHECK(o.nesterov);
  CHECK(o.momentum == 0.9f);
  CHECK(o.weight_decay == 5e-4f);
  CHECK(o.recalibrate_bn);
  CHECK_FALSE(parse({"--recipe", "onecycle", "--no-recalibrate-bn"}).recalibrate_bn);
  const Options p = parse({"--recipe", "onecycle", "--lr", "0.05", "--no-nesterov", "--epochs", "30"});
  CHECK(p.lr == 0.05f);
  CHECK_FALSE(p.nesterov);
  CHECK(p.epochs == 30);
}

TEST_CASE("values are read", "[cli]") {
  const Options o = parse({"--data", "/x", "--epochs", "3", "--batch", "64", "--lr", "0.01", "--optimizer", "adamw",
                           "--device", "cuda", "--threads", "2", "--seed", "7", "--train-limit", "1000", "--history",
                           "h.csv", "--plot", "p.png", "--checkpoint", "c.safetensors"});
  CHECK(o.data == "/x");
  CHECK(o.epochs == 3);
  CHECK(o.batch == 64);
  CHECK(o.lr == 0.01f);
  CHECK(o.optimizer == "adamw");
  CHECK(o.device == "cuda");  // accepted here; the program says this build has no CUDA backend
  CHECK(o.threads == 2);
  CHECK(o.seed == 7);
  CHECK(o.train_limit == 1000);
  CHECK(o.history == "h.csv");
  CHECK(o.plot == "p.png");
  CHECK(o.checkpoint == "c.safetensors");
}

TEST_CASE("bad values are rejected, naming the flag and the value", "[cli][errors]") {
  CHECK_THAT(rejection({"--epochs", "0"}), Catch::Contains("--epochs") && Catch::Contains("0"));
  CHECK_THAT(rejection({"--epochs", "ten"}), Catch::Contains("--epochs") && Catch::Contains("ten"));
  CHECK_THAT(rejection({"--batch", "-5"}), Catch::Contains("--batch"));
  CHECK_THAT(rejection({"--lr", "0"}), Catch::Contains("--lr"));
  CHECK_THAT(rejection({"--lr", "abc"}), Catch::Contains("--lr") && Catch::Contains("abc"));
  CHECK_THAT(rejection({"--optimizer", "rmsprop"}), Catch::Contains("--optimizer") && Catch::Contains("rmsprop"));
  CHECK_THAT(rejection({"--device", "tpu"}), Catch::Contains("--device") && Catch::Contains("tpu"));
  CHECK_THAT(rejection({"--threads", "0"}), Catch::Contains("--threads"));
  CHECK_THAT(rejection({"--train-limit", "0"}), Catch::Contains("--train-limit"));
  CHECK_THAT(rejection({"--recipe", "fast"}), Catch::Contains("--recipe") && Catch::Contains("fast"));
  CHECK_THAT(rejection({"--resume", "/nonexistent/ckpt.safetensors"}), Catch::Contains("--resume") &&
                                                                          Catch::Contains("/nonexistent/ckpt.safetensors"));
  CHECK_THAT(rejection({"--optimizer", "sgd", "--momentum", "0", "--nesterov"}), Catch::Contains("Nesterov momentum needs"));
  CHECK_THAT(rejection({"--bogus"}), Catch::Contains("--bogus"));
  CHECK_THAT(rejection({"--epochs"}), Catch::Contains("--epochs"));
}

TEST_CASE("--help fits an 80-column terminal and shows each on/off flag plainly", "[cli]") {
  const std::string help = cifar10_example::help_text();
  std::size_t start = 0, lines = 0;
  while (start < help.size()) {
    const auto end = std::min(help.find('\n', start), help.size());
    INFO(help.substr(start, end - start));
    CHECK(end - start <= 79);
    start = end + 1, ++lines;
  }
  CHECK(lines > 30);
  CHECK_THAT(help, !Catch::Contains("{false}") && !Catch::Contains("{true}"));
  for (const char* flag : {"--download", "--no-download", "--nesterov", "--no-nesterov", "--bias-decay",
                           "--no-bias-decay", "--recalibrate-bn", "--no-recalibrate-bn", "--batch-log"})
    CHECK_THAT(help, Catch::Contains(std::string("\n  ") + flag + " ") || Catch::Contains(std::string("\n  ") + flag + "\n"));
}

TEST_CASE("the on/off flags set and clear", "[cli]") {
  CHECK(parse({}).download);
  CHECK_FALSE(parse({"--no-download"}).download);
  CHECK(parse({"--download"}).download);
  CHECK(parse({"--no-bias-decay", "--recipe", "onecycle"}).recipe == "onecycle");
  CHECK(parse({"--nesterov"}).nesterov);
  CHECK_FALSE(parse({"--recipe", "onecycle", "--no-nesterov"}).nesterov);
  CHECK(parse({"--batch-log", "b.jsonl"}).batch_log == "b.jsonl");
}
