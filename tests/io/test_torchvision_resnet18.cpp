// ctnn's ResNet-18 (models::ResNet18, whose parameter names are torchvision's state_dict keys)
// loads a random-initialised torchvision ResNet-18 strictly and gives torchvision's eval-mode
// logits and input gradients; the same file loads into a 10-class ResNet-18 with the head
// excluded, and copy_parameters moves the backbone between the two. The PyTorch half is
// scripts/torchvision_resnet18.py. Skipped (exit 77) where no python3 imports torch and
// torchvision.
#define CATCH_CONFIG_RUNNER
#include <algorithm>
#include <cmath>
#include <filesystem>
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

// Relative to the largest |value|: twenty fp32 layers (and a residual sum in each block) from
// two libraries' kernels, which may sum in other orders or use Winograd.
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

}  // namespace

TEST_CASE("torchvision's ResNet-18 weights load strictly into models::ResNet18 and give the same logits and input "
          "gradients",
          "[io][torch][resnet]") {
  const auto dir = std::filesystem::temp_directory_path() / ("ctnn_test_resnet18_" + std::to_string(::getpid()));
  const std::string script = std::string(CTNN_SOURCE_DIR) + "/scripts/torchvision_resnet18.py";
  REQUIRE(ctnn_test::run_command(ctnn_test::python_with("torch, torchvision") + " '" + script + "' '" +
                                 dir.string() + "' --num-classes 1000 --seed 0 --batch 2 --size 64") == 0);
  const auto weights = dir / "resnet18.safetensors";
  const auto check = io::read_safetensors(dir / "resnet18_check.safetensors");

  auto model = std::make_unique<ImageNet>(1);
  const auto report = io::load_weights(weights, *model);
  INFO(report.summary());
  CHECK(report.loaded.size() == 122);  // 62 parameters, 40 running statistics, 20 counters
  CHECK(report.skipped.empty());
  CHECK(report.fresh.empty());
  for (const auto& c : model->parameters().counters) CHECK(*c.value == 3);  // the script's three batches

  model->eval();
  const auto input = check.floats("input");
  check_close(Cpu::to_host(model->forward(input, 2)), check.floats("logits"), "eval-mode logits");
  Cpu::Tensor logit_weights;  // d sum(logits * R) / d logits = R
  Cpu::from_host(logit_weights, check.floats("logit_weights"), {2, 1000});
  const auto* input_grad = model->backward(logit_weights, /*want_input_grad=*/true);
  REQUIRE(input_grad != nullptr);
  check_close(Cpu::to_host(*input_grad), check.floats("input_grad"), "input gradient of sum(logits * R)");

  // A new head: the file's fc is skipped and the model's left fresh; then the backbone moves
  // from one model to the other by name.
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
  std::filesystem::remove_all(dir);
}

int main(int argc, char** argv) {
  return ctnn_test::run_tests_with_python("torch, torchvision", "python3-torchvision", argc, argv);
}
