// The CPU-vs-GPU agreement cases, written once over the backend. cpu_side.cpp instantiates
// them with Cpu (compiled by g++, since nvcc can't compile oneDNN's header in C++20) and
// gpu_layers.cu and gpu_training.cu with Cuda; test_cuda.cpp compares the two. Both sides
// initialise parameters from the same seed on the host, so they start from identical weights.
#pragma once
#include <cstdint>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <ctnn/layers/activation.hpp>
#include <ctnn/layers/batchnorm.hpp>
#include <ctnn/layers/branches.hpp>
#include <ctnn/layers/conv.hpp>
#include <ctnn/layers/dropout.hpp>
#include <ctnn/layers/flatten.hpp>
#include <ctnn/layers/frozen.hpp>
#include <ctnn/layers/linear.hpp>
#include <ctnn/layers/pool.hpp>
#include <ctnn/loss/cross_entropy.hpp>
#include <ctnn/model.hpp>
#include <ctnn/models/resnet.hpp>
#include <ctnn/optim/adam.hpp>
#include <ctnn/optim/sgd.hpp>

namespace agreement {
using namespace ctnn;

using Tensors = std::map<std::string, std::vector<float>>;

struct Result {
  std::vector<float> output, input_grad;
  Tensors parameters;  // values, and gradients as "<name>.grad"
  float loss = 0;
};

// The gradient of a convolution's bias is zero in exact arithmetic when batch norm follows (BN
// subtracts the batch mean, so a constant shift of its input changes nothing): both backends
// hold rounding noise there, which can't agree. test_cuda.cpp checks that these are tiny next
// to the same layer's weight gradient instead of comparing them.
using ZeroGradients = std::set<std::string>;

template <class Net, class In, long Batch, Mode RunMode = Mode::train>
struct LayerCase {
  using Network = Net;
  using Shape = In;
  static constexpr long batch = Batch;
  static constexpr Mode mode = RunMode;
  static ZeroGradients zero_gradients() { return {}; }
};
struct ConvBnCase : LayerCase<Sequential<Conv<3, 16>, BN<16>, ReLU, MaxPool<2>, Flatten, Linear<16 * 4 * 4, 10>>,
                              Input<3, 8, 8>, 4> {
  static ZeroGradients zero_gradients() { return {"0.bias.grad"}; }
};

template <int In, int Out>
using Block = Sequential<Conv<In, Out>, BN<Out>, ReLU, Conv<Out, Out>, BN<Out>, ReLU, MaxPool<2>, Dropout<0.0f>>;
// The seed network with dropout switched off: the two backends draw their masks differently.
using SeedNoDropout = Sequential<Block<3, 32>, Block<32, 64>, Block<64, 128>, Flatten, Linear<2048, 512>, ReLU,
                                 Dropout<0.0f>, Linear<512, 10>>;

using LayerCases = std::tuple<
    LayerCase<Sequential<Conv<3, 8>>, Input<3, 9, 7>, 4>,
    LayerCase<Sequential<Conv<4, 6, 3, 2, 0>>, Input<4, 11, 8>, 3>,
    LayerCase<Sequential<Conv<4, 8, 3, 1, 1, 2>>, Input<4, 6, 6>, 2>,
    LayerCase<Sequential<Conv<4, 4, 3, 1, 1, 4>>, Input<4, 6, 5>, 2>,
    LayerCase<Sequential<BN<5>>, Input<5, 6, 7>, 4>,
    LayerCase<Sequential<BN<5>>, Input<5, 6, 7>, 4, Mode::eval>,
    LayerCase<Sequential<ReLU>, Input<4, 5, 5>, 3>,
    LayerCase<Sequential<MaxPool<2>>, Input<3, 8, 8>, 2>,
    LayerCase<Sequential<MaxPool<3, 2>>, Input<3, 9, 7>, 2>,
    LayerCase<Sequential<AvgPool<2>>, Input<3, 8, 8>, 2>,
    LayerCase<Sequential<GlobalAvgPool>, Input<6, 5, 5>, 2>,
    LayerCase<Sequential<Flatten, Linear<48, 7>>, Input<3, 4, 4>, 5>,
    LayerCase<Sequential<Dropout<0.3f>>, Input<3, 4, 4>, 2, Mode::eval>, ConvBnCase,
    // Residual networks' layers and joins: no bias, padded pooling, identity and projection
    // shortcuts with the fused add+ReLU, a three-way Add, a Concat whose channel offsets fall
    // inside the CPU's 16-channel blocks, a torchvision block first in a network, backward
    // after eval-mode pooling, and a Frozen block (eval mode inside) before a trainable layer.
    LayerCase<Sequential<ConvNoBias<3, 8, 7, 2, 3>>, Input<3, 12, 10>, 2>,
    LayerCase<Sequential<MaxPool<3, 2, 1>>, Input<3, 9, 8>, 2>,
    LayerCase<Sequential<AvgPool<3, 2, 1>>, Input<3, 9, 8>, 2>,
    LayerCase<Sequential<Residual<Conv<4, 4>, Identity, ReLU>>, Input<4, 6, 6>, 3>,
    LayerCase<Sequential<Residual<ConvNoBias<4, 8, 3, 2, 1>, Projection<4, 8, 2>, ReLU>>, Input<4, 7, 9>, 2>,
    LayerCase<Sequential<Add<Conv<5, 5>, Conv<5, 5, 1, 1, 0>, Identity>>, Input<5, 4, 4>, 2>,
    LayerCase<Sequential<Concat<Conv<3, 5>, Identity, Conv<3, 16, 1, 1, 0>>>, Input<3, 4, 5>, 2>,
    LayerCase<Sequential<models::BasicBlock<8, 16, 2>, GlobalAvgPool, Flatten, Linear<16, 3>>, Input<8, 6, 6>, 4>,
    LayerCase<Sequential<Conv<3, 4>, MaxPool<2>, AvgPool<3, 1, 1>>, Input<3, 8, 8>, 2, Mode::eval>,
    LayerCase<Sequential<Frozen<Sequential<Conv<3, 4>, BN<4>, ReLU>>, Conv<4, 4>>, Input<3, 5, 5>, 2>>;

inline constexpr std::size_t layer_case_count = std::tuple_size_v<LayerCases>;

inline ZeroGradients layer_case_zero_gradients(std::size_t index) {
  ZeroGradients names;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    ((I == index ? (names = std::tuple_element_t<I, LayerCases>::zero_gradients(), 0) : 0), ...);
  }(std::make_index_sequence<layer_case_count>{});
  return names;
}

inline std::vector<float> random_values(std::size_t count, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(count);
  for (auto& x : v) x = rng.uniform(-1, 1);
  return v;
}

template <class B, class Net, class In>
void record_parameters(Model<Net, In, B>& model, Result& r, bool with_grads) {
  for (auto& p : model.parameters()) {
    r.parameters[p.name] = p.value->to_vector();
    if (with_grads && p.grad) r.parameters[p.name + ".grad"] = p.grad->to_vector();
  }
}

// Forward, then backward of sum(output * r) for a fixed random r: output, input gradient and
// every parameter gradient.
template <class B, class Case>
Result run_layer_case() {
  using Net = typename Case::Network;
  using In = typename Case::Shape;
  using Out = typename Model<Net, In, B>::OutputShape;
  Model<Net, In, B> model(42);
  if (Case::mode == Mode::eval) model.eval();
  const auto x = random_values(static_cast<std::size_t>(Case::batch * In::size), 1);
  const auto r = random_values(static_cast<std::size_t>(Case::batch * Out::size), 2);
  Result result;
  result.output = B::to_host(model.forward(x, Case::batch));
  typename B::Tensor grad;
  std::vector<std::int64_t> dims{Case::batch};
  if constexpr (ImageShape<Out>) dims.insert(dims.end(), {Out::channels, Out::height, Out::width});
  else dims.push_back(Out::features);
  B::from_host(grad, r, dims);
  const auto* dx = model.backward(grad, true);
  result.input_grad = B::to_host(*dx);
  record_parameters(model, result, true);
  return result;
}

template <class B>
Result run_layer_case(std::size_t index) {
  Result result;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    ((I == index ? (result = run_layer_case<B, std::tuple_element_t<I, LayerCases>>(), 0) : 0), ...);
  }(std::make_index_sequence<layer_case_count>{});
  return result;
}

// Two training steps (forward, loss, backward, SGD with momentum) of the seed network on a
// fixed batch. Compared: the first step's logits, loss and every gradient (before any update,
// so nothing amplifies the backends' rounding differences), then the second step's logits and
// loss, which see the first update, and the parameters after both. SGD's update is linear in
// the gradient; Adam's first steps are about lr * sign(gradient), so one gradient near zero
// that rounds to opposite signs would move a weight by 2 * lr: optimizer_steps checks the
// optimizers on identical gradients instead.
struct SeedSteps {
  std::vector<float> first_logits, second_logits;
  float first_loss = 0, second_loss = 0;
  Tensors first_gradients, parameters;
};

inline ZeroGradients seed_zero_gradients() {
  ZeroGradients names;
  for (const char* block : {"0", "1", "2"})
    for (const char* conv : {".0", ".3"}) names.insert(std::string(block) + conv + ".bias.grad");
  return names;
}

template <class B>
SeedSteps run_seed_steps() {
  constexpr long batch = 8;
  Model<SeedNoDropout, Input<3, 32, 32>, B> model(7);
  const auto x = random_values(batch * 3 * 32 * 32, 3);
  std::vector<std::int32_t> labels(batch);
  for (long i = 0; i < batch; ++i) labels[i] = static_cast<std::int32_t>((i * 7) % 10);
  loss::CrossEntropy<B> loss;
  optim::Sgd sgd(model.parameters(), {.lr = 0.05f, .momentum = 0.9f});
  SeedSteps result;
  for (int step = 0; step < 2; ++step) {
    const auto& logits = model.forward(x, batch);
    (step == 0 ? result.first_logits : result.second_logits) = B::to_host(logits);
    (step == 0 ? result.first_loss : result.second_loss) = loss.forward(logits, labels).loss;
    model.backward(loss.gradient());
    if (step == 0)
      for (auto& p : model.parameters())
        if (p.grad) result.first_gradients[p.name + ".grad"] = p.grad->to_vector();
    sgd.step();
  }
  for (auto& p : model.parameters()) result.parameters[p.name] = p.value->to_vector();
  return result;
}

// Three steps of Adam, AdamW and Nesterov SGD with weight decay, each parameter's gradient set
// to the same random values on both backends before every step: the update kernels alone.
template <class B>
Tensors run_optimizer_steps() {
  using Net = Sequential<Flatten, Linear<12, 5>>;
  Tensors result;
  const auto run = [&](const std::string& name, auto make_optimizer) {
    Model<Net, Input<3, 2, 2>, B> model(5);
    auto optimizer = make_optimizer(model.parameters());
    std::uint64_t seed = 100;
    for (int step = 0; step < 3; ++step) {
      for (auto& p : model.parameters())
        if (p.grad) p.grad->assign(random_values(p.grad->size(), ++seed));
      optimizer.step();
    }
    for (auto& p : model.parameters()) result[name + ":" + p.name] = p.value->to_vector();
  };
  run("adam", [](auto params) { return optim::Adam(params, {.lr = 1e-2f, .weight_decay = 1e-2f}); });
  run("adamw", [](auto params) { return optim::AdamW(params, {.lr = 1e-2f}); });
  run("sgd", [](auto params) {
    return optim::Sgd(params, {.lr = 0.1f, .momentum = 0.9f, .weight_decay = 1e-2f, .nesterov = true});
  });
  return result;
}

// NaN in, NaN out: one NaN input element in sample 0 and one in sample 1 (channel 0 both)
// through batch norm with its fused ReLU (eval mode, so that the NaN stays in its element
// instead of spreading through the batch statistics), through max pooling, and through ReLU.
// On the GPU every one must stay NaN, or a diverging run may never trip the trainer's NaN stop.
struct NanInputs {
  static constexpr std::size_t first = 5, second = 2 * 16 + 10;  // of 2 x 2 x 4 x 4
};

template <class B, class Net>
std::vector<float> nan_through() {
  Model<Net, Input<2, 4, 4>, B> model(1);
  model.eval();
  auto x = random_values(2 * 2 * 4 * 4, 9);
  x[NanInputs::first] = x[NanInputs::second] = std::numeric_limits<float>::quiet_NaN();
  return B::to_host(model.forward(x, 2));
}

template <class B>
Tensors run_nan_case() {
  return {{"bn_relu", nan_through<B, Sequential<BN<2>, ReLU>>()},
          {"max_pool", nan_through<B, Sequential<MaxPool<2>>>()},
          {"relu", nan_through<B, Sequential<ReLU>>()}};
}

}  // namespace agreement
