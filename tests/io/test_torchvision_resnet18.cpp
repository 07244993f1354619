// ctnn's ResNet-18 (models::ResNet18, whose parameter names are torchvision's state_dict keys)
// loads a random-initialised torchvision ResNet-18 strictly and gives torchvision's eval-mode
// logits; the same file loads into a 10-class ResNet-18 with the head excluded, and
// copy_parameters moves the backbone between the two. Further cases compare train-mode logits
// and input gradients, and eval-mode input gradients (hidden until eval-mode backward through
// the pooling layers exists). The PyTorch half is
// scripts/torchvision_resnet18.py. Skipped (exit 77) where no python3 imports torch and
// torchvision.
#define CATCH_CONFIG_RUNNER
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <unistd.h>  // getpid

#include <ctnn/ctnn.hpp>
#include <ctnn/io/checkpoint.hpp>
#include <ctnn/io/copy.hpp>
#include <ctnn/models/resnet.hpp>

#include "python.hpp"

using namespace ctnn;

namespace {

using ImageNet = Model<models::ResNet18<1000>, Input<3, 64, 64>, Cpu>;
using TenClasses = Model<models::ResNet18<10>, Input<3, 64, 64>, Cpu>;

// Relative to the largest |value|: torchvision's logits and ctnn's from the same weights differ
// by 4e-6 relative (7.5e-6 of 1.81; twenty fp32 layers, two libraries' kernels); 1e-4 leaves
// room for other CPUs' kernels and is still far below what any one tensor moves the logits by
// when it doesn't arrive (fc.bias left at 0: 0.044, 2.4e-2 relative; the least of all 102).
// Train mode: logits 4.9e-6 relative (9.8e-6 of 1.98), input gradients 1.2e-5 (4.2e-5 of 3.34).
constexpr float tolerance = 1e-4f;

void check_close(const std::vector<float>& ours, const std::vector<float>& theirs, const char* what) {
  REQUIRE(ours.size() == theirs.size());
  float worst = 0, scale = 0;
  for (std::size_t i = 0; i < ours.size(); ++i) {
    worst = std::max(worst, std::fabs(ours[i] - theirs[i]));
    scale = std::max(scale, std::fabs(theirs[i]));
  }
  INFO(what << ": ctnn and torchvision differ by at most " << worst << " of " << scale);
  CHECK(worst <= tolerance * scale);
}

std::filesystem::path scratch_dir() {
  return std::filesystem::temp_directory_path() / ("ctnn_test_resnet18_" + std::to_string(::getpid()));
}

// The script's two files, written once per run of this program (main removes them).
const std::filesystem::path& torchvision_files() {
  static const std::filesystem::path dir = [] {
    const auto d = scratch_dir();
    const std::string script = std::string(CTNN_SOURCE_DIR) + "/scripts/torchvision_resnet18.py";
    REQUIRE(ctnn_test::run_command(ctnn_test::python_with("torch, torchvision") + " '" + script + "' '" + d.string() +
                                   "' --num-classes 1000 --seed 0 --batch 2 --size 64") == 0);
    return d;
  }();
  return dir;
}

// A ResNet-18 with torchvision's weights, strictly loaded, in eval mode.
std::unique_ptr<ImageNet> loaded_model() {
  auto model = std::make_unique<ImageNet>(1);
  const auto report = io::load_weights(torchvision_files() / "resnet18.safetensors", *model);
  INFO(report.summary());
  CHECK(report.loaded.size() == 122);  // 62 parameters, 40 running statistics, 20 counters
  CHECK(report.skipped.empty());
  CHECK(report.fresh.empty());
  model->eval();
  return model;
}

// One forward on the check file's input in `mode`, and the backward of sum(logits * R).
struct Pass {
  std::vector<float> logits, input_grad;
};
Pass forward_backward(ImageNet& model, const io::Safetensors& check, Mode mode) {
  mode == Mode::train ? model.train() : model.eval();
  Pass pass;
  pass.logits = Cpu::to_host(model.forward(check.floats("input"), 2));
  Cpu::Tensor logit_weights;  // d sum(logits * R) / d logits = R
  Cpu::from_host(logit_weights, check.floats("logit_weights"), {2, 1000});
  const auto* input_grad = model.backward(logit_weights, /*want_input_grad=*/true);
  REQUIRE(input_grad != nullptr);
  pass.input_grad = Cpu::to_host(*input_grad);
  return pass;
}

}  // namespace

TEST_CASE("torchvision's ResNet-18 weights load strictly into models::ResNet18 and give the same logits",
          "[io][torch][resnet]") {
  const auto model = loaded_model();
  for (const auto& c : model->parameters().counters) CHECK(*c.value == 3);  // the script's three batches
  const auto check = io::read_safetensors(torchvision_files() / "resnet18_check.safetensors");
  check_close(Cpu::to_host(model->forward(check.floats("input"), 2)), check.floats("logits"), "eval-mode logits");

  // A new head: the file's fc is skipped and the model's left fresh; then the backbone moves
  // from one model to the other by name.
  const auto weights = torchvision_files() / "resnet18.safetensors";
  auto ten = std::make_unique<TenClasses>(2);
  const auto head = io::load_weights(weights, *ten, {.exclude = {"fc.*"}});
  CHECK(head.loaded.size() == 120);
  REQUIRE(head.fresh.size() == 2);
  CHECK(head.fresh[0].name == "fc.weight");
  CHECK(head.fresh[0].shape == std::vector<std::int64_t>{10, 512});
  CHECK(head.skipped.size() == 2);
  auto other = std::make_unique<TenClasses>(3);
  const auto copied = io::copy_parameters(*model, *other, {.exclude = {"fc.*"}});
  CHECK(copied.loaded.size() == 120);
  CHECK(io::state_dict(*other).front().values == io::state_dict(*ten).front().values);
}

TEST_CASE("models::ResNet18 with torchvision's weights gives torchvision's train-mode logits and input gradient",
          "[io][torch][resnet]") {
  const auto model = loaded_model();
  const auto check = io::read_safetensors(torchvision_files() / "resnet18_check.safetensors");
  const auto pass = forward_backward(*model, check, Mode::train);
  check_close(pass.logits, check.floats("train_logits"), "train-mode logits");
  check_close(pass.input_grad, check.floats("train_input_grad"), "train-mode input gradient of sum(logits * R)");
}

// Eval mode: BN with the running statistics, and backward through the max pooling and the
// global average pooling after an eval-mode forward (saliency maps of a pretrained network).
TEST_CASE("models::ResNet18 with torchvision's weights gives torchvision's eval-mode input gradient",
          "[io][torch][resnet]") {
  const auto model = loaded_model();
  const auto check = io::read_safetensors(torchvision_files() / "resnet18_check.safetensors");
  check_close(forward_backward(*model, check, Mode::eval).input_grad, check.floats("input_grad"),
              "eval-mode input gradient of sum(logits * R)");
}

int main(int argc, char** argv) {
  const int status = ctnn_test::run_tests_with_python("torch, torchvision", "python3-torchvision", argc, argv);
  std::error_code ignored;
  std::filesystem::remove_all(scratch_dir(), ignored);
  return status;
}
