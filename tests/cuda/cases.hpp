// The CPU-vs-GPU agreement cases, written once over the backend. cpu_side.cpp instantiates
// them with Cpu (compiled by g++, since nvcc can't compile oneDNN's header in C++20) and
// gpu_side.cu with Cuda; test_cuda.cpp compares the two. Both sides initialise parameters from
// the same seed on the host, so they start from identical weights.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include <ctnn/layers/activation.hpp>
#include <ctnn/layers/batchnorm.hpp>
#include <ctnn/layers/conv.hpp>
#include <ctnn/layers/dropout.hpp>
#include <ctnn/layers/flatten.hpp>
#include <ctnn/layers/linear.hpp>
#include <ctnn/layers/pool.hpp>
#include <ctnn/loss/cross_entropy.hpp>
#include <ctnn/model.hpp>
#include <ctnn/optim/adam.hpp>

namespace agreement {
using namespace ctnn;

struct Result {
  std::vector<float> output, input_grad;
  std::map<std::string, std::vector<float>> parameters;  // values, and gradients as "<name>.grad"
  float loss = 0;
};

template <class Net, class In, long Batch, Mode RunMode = Mode::train>
struct LayerCase {
  using Network = Net;
  using Shape = In;
  static constexpr long batch = Batch;
  static constexpr Mode mode = RunMode;
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
    LayerCase<Sequential<Dropout<0.3f>>, Input<3, 4, 4>, 2, Mode::eval>,
    LayerCase<Sequential<Conv<3, 16>, BN<16>, ReLU, MaxPool<2>, Flatten, Linear<16 * 4 * 4, 10>>, Input<3, 8, 8>, 4>>;

inline constexpr std::size_t layer_case_count = std::tuple_size_v<LayerCases>;

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

// Two full training steps (forward, loss, backward, Adam) of the seed network on a fixed batch:
// the second step's logits and loss, and the parameters after it.
template <class B>
Result run_seed_steps() {
  constexpr long batch = 8;
  Model<SeedNoDropout, Input<3, 32, 32>, B> model(7);
  const auto x = random_values(batch * 3 * 32 * 32, 3);
  std::vector<std::int32_t> labels(batch);
  for (long i = 0; i < batch; ++i) labels[i] = static_cast<std::int32_t>((i * 7) % 10);
  loss::CrossEntropy<B> loss;
  optim::Adam adam(model.parameters(), {.lr = 1e-3f});
  Result result;
  for (int step = 0; step < 2; ++step) {
    const auto& logits = model.forward(x, batch);
    result.output = B::to_host(logits);
    result.loss = loss.forward(logits, labels).loss;
    model.backward(loss.gradient());
    adam.step();
  }
  record_parameters(model, result, false);
  return result;
}

}  // namespace agreement
