// The train-step and inference throughput measurement shared by the benchmark programs, the
// same measurement as ../shared/peers/seed_torch.py makes for PyTorch: a batch (BATCH, 128) of
// random data, Adam, 3 warm-up steps, then STEPS (20) timed steps; BF16=1 turns on bf16
// convolutions (cpu::Settings::bf16_convolutions), WINOGRAD=0 turns Winograd off. Prints two lines:
//   ctnn cpu threads T: train img/s X  infer img/s Y
//   ctnn flops per image: forward F MFLOP, train T MFLOP
// The train-step FLOPs follow docs/performance.md ("FLOP accounting"), from the model summary:
// a convolution or Linear costs its forward FLOPs f three times (forward; backward-weights,
// whose bias gradient adds as many FLOPs as the forward's bias add; backward-data, f minus the
// bias adds), except that the first layer computes no backward-data; every other layer
// (and every join, such as a residual add) costs its forward FLOPs twice (forward and backward).
#pragma once
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include <ctnn/ctnn.hpp>
#include <fmt/format.h>
#include <omp.h>

namespace bench {

// Elements per sample of a summary row's output ("64x16x16" -> 16384).
inline long output_size(const std::string& shape) {
  long size = 1;
  std::size_t start = 0;
  for (;;) {
    const auto end = shape.find('x', start);
    size *= std::stol(shape.substr(start, end - start));
    if (end == std::string::npos) return size;
    start = end + 1;
  }
}

template <class M>
double train_flops_per_sample() {
  double total = 0;
  bool first = true;
  for (const auto& row : M::summary_rows()) {
    const auto f = static_cast<double>(row.flops);
    const bool biased = row.layer.starts_with("Conv<") || row.layer.starts_with("Linear<");
    const bool matmul = biased || row.layer.starts_with("ConvNoBias<");
    const double bias_adds = biased ? static_cast<double>(output_size(row.output)) : 0.0;
    if (matmul) total += 2 * f + (first ? 0.0 : f - bias_adds);
    else total += 2 * f;
    first = false;
  }
  return total;
}

// Measures Model<Net, In, Cpu> and prints the two lines above.
template <class Net, class In, int Classes>
int run_throughput(char** argv) {
  using namespace ctnn;
  cpu::use_passive_openmp_wait(argv);  // unless the caller chose a policy
  // BF16=1: convolutions in bf16 with fp32 master weights (cpu::Settings::bf16_convolutions).
  const bool bf16 = std::getenv("BF16") && std::string(std::getenv("BF16")) == "1";
  cpu::settings().bf16_convolutions = bf16;
  const char* mode = bf16 ? " (bf16 convolutions)" : "";
  // WINOGRAD=0: every convolution direct (cpu::Settings::winograd), to measure what Winograd gives.
  if (std::getenv("WINOGRAD") && std::string(std::getenv("WINOGRAD")) == "0") cpu::settings().winograd = false;
  const long batch = std::getenv("BATCH") ? std::atol(std::getenv("BATCH")) : 128;
  const int steps = std::getenv("STEPS") ? std::atoi(std::getenv("STEPS")) : 20;
  Model<Net, In, Cpu> model(0);
  Rng rng(1);
  std::vector<float> images(static_cast<std::size_t>(batch * In::size));
  for (auto& v : images) v = rng.uniform(-2, 2);
  std::vector<std::int32_t> labels(static_cast<std::size_t>(batch));
  for (auto& l : labels) l = static_cast<std::int32_t>(rng.next_u64() % Classes);
  loss::CrossEntropy<Cpu> loss;
  optim::Adam adam(model.parameters(), {.lr = 1e-3f});

  auto train_step = [&] {
    loss.forward(model.forward(images, batch), labels);
    model.backward(loss.gradient());
    adam.step();
    Cpu::synchronize();
  };
  using clock = std::chrono::steady_clock;
  auto seconds = [](auto start) { return std::chrono::duration<double>(clock::now() - start).count(); };

  auto infer_throughput = [&] {
    model.eval();
    for (int i = 0; i < 3; ++i) model.forward(images, batch);
    const auto start = clock::now();
    for (int i = 0; i < steps; ++i) model.forward(images, batch);
    Cpu::synchronize();
    return steps * batch / seconds(start);
  };
  if (std::getenv("INFER_ONLY")) {  // beside inference engines (compare_onnxruntime.sh)
    fmt::print("ctnn cpu threads {}: infer img/s {:.0f}{}\n", omp_get_max_threads(), infer_throughput(), mode);
    return 0;
  }

  model.train();
  for (int i = 0; i < 3; ++i) train_step();
  auto start = clock::now();
  for (int i = 0; i < steps; ++i) train_step();
  const double train = steps * batch / seconds(start);

  if (std::getenv("TRAIN_ONLY")) {  // for profiling the training step alone
    fmt::print("ctnn cpu threads {}: train img/s {:.0f}{}\n", omp_get_max_threads(), train, mode);
    return 0;
  }
  const double infer = infer_throughput();
  fmt::print("ctnn cpu threads {}: train img/s {:.0f}  infer img/s {:.0f}{}\n", omp_get_max_threads(), train, infer, mode);
  using M = decltype(model);
  fmt::print("ctnn flops per image: forward {:.2f} MFLOP, train {:.2f} MFLOP\n", M::flops_per_sample / 1e6,
             train_flops_per_sample<M>() / 1e6);
  return 0;
}

}  // namespace bench
