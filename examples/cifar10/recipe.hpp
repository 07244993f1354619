// What one run of the cifar10 example does: the options the command line fills in. No CLI11
// here, so the CUDA translation unit (nvcc) can include it.
#pragma once
#include <cstdint>
#include <string>

namespace cifar10_example {

struct Options {
  std::string data;              // CIFAR-10 folder
  std::string recipe = "seed";   // seed | onecycle
  int epochs = 50;
  int batch = 128;
  float lr = 1e-3f;              // the peak lr for onecycle
  std::string optimizer = "adam";  // adam | adamw | sgd
  std::string schedule = "constant";  // constant | onecycle | cosine
  float momentum = 0.9f;         // sgd
  bool nesterov = false;         // sgd
  float weight_decay = 0.0f;
  bool bias_decay = true;        // false: no weight decay on biases and BN's scale and shift
  long warmup = 0;               // linear warmup steps in front of the schedule
  bool recalibrate_bn = false;   // after the last epoch: BN statistics re-estimated with dropout off
  std::string device = "cpu";    // cpu | cuda
  int threads = 0;               // 0: OpenMP's default
  int loader_threads = -1;       // -1: the loader's default
  std::uint64_t seed = 0;
  long train_limit = 0;          // 0: all
  std::string history, plot, checkpoint, resume, batch_log;
  std::string progress = "auto";  // auto | bar | lines | none
  bool synthetic = false;        // skip CIFAR-10: the synthetic data set
  bool download = true;          // try to download CIFAR-10 when it's missing
  double min_accuracy = 0;       // fail (exit 1) below this final test accuracy
};

// Fills `o` from the command line (options.cpp). Returns -1 to go on, or the exit code for
// --help and for bad flags (after printing why).
int parse_command_line(int argc, char** argv, Options& o);

}  // namespace cifar10_example
