// Per-layer micro-benchmarks (Google Benchmark) of the seed network, written once over the
// backend: layer_bench.cpp runs them on the CPU, layer_bench_cuda.cu on the GPU. Batch 128
// (BATCH overrides), forward and backward, each layer at the shape it has in the network and
// with its input in the layout the layer before it produces there.
//   layer_bench [--benchmark_filter=REGEX] [--benchmark_min_time=0.2] ...
//   layer_bench_cuda [...]  (the same; exits 77 where no GPU is present)
//   env: BATCH=128, CTNN_FMA_PEAK=GFLOP/s (adds a "peak%" column: FLOP/s as % of that peak;
//        fma_peak measures it; Winograd convolutions do fewer multiplications than their nominal
//        FLOPs, so they can pass 100 %)
// Counters: items_per_second = images/s; FLOP/s from the layer's own FLOP count
// (Layer::flops<In>, per sample, times the batch): forward = flops; backward of Conv and Linear
// = backward-weights (flops) + backward-data (flops minus the bias adds; none for the first
// layer, which the network never asks for); backward of any other layer = flops (a nominal
// count: those layers are limited by memory, so their bytes/s counter says more).
// "BN<C>+ReLU" is the fused runtime the network actually runs for BN followed by ReLU; BN and
// ReLU alone are listed too.
#include <chrono>
#include <cstdlib>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/core.h>

#include <ctnn/layers/activation.hpp>
#include <ctnn/layers/batchnorm.hpp>
#include <ctnn/layers/conv.hpp>
#include <ctnn/layers/dropout.hpp>
#include <ctnn/layers/flatten.hpp>
#include <ctnn/layers/linear.hpp>
#include <ctnn/layers/pool.hpp>
#include <ctnn/sequential.hpp>

#pragma once

namespace layer_bench {
using namespace ctnn;

// The seed network, flattened into one list (the same layers as seed_net.hpp's SeedNet).
using Flat = Sequential<Conv<3, 32>, BN<32>, ReLU, Conv<32, 32>, BN<32>, ReLU, MaxPool<2>, Dropout<0.25f>,  //
                        Conv<32, 64>, BN<64>, ReLU, Conv<64, 64>, BN<64>, ReLU, MaxPool<2>, Dropout<0.25f>,  //
                        Conv<64, 128>, BN<128>, ReLU, Conv<128, 128>, BN<128>, ReLU, MaxPool<2>, Dropout<0.25f>,
                        Flatten, Linear<2048, 512>, ReLU, Dropout<0.5f>, Linear<512, 10>>;
using In = Input<3, 32, 32>;
template <std::size_t I> using LayerAt = typename Flat::template layer<I>;
template <std::size_t I> using ShapeAt = typename Flat::template shape_at<In, I>;
template <std::size_t I, class B> using RuntimeAt = typename LayerAt<I>::template Runtime<ShapeAt<I>, B>;

long batch_size() { return std::getenv("BATCH") ? std::atol(std::getenv("BATCH")) : 128; }

// Every layer's runtime, unfused, in network order: runs the first I layers to make layer I's
// input exactly as the network would hand it over.
template <class B>
struct Chain {
  template <class Indices> struct tuple_of;
  template <std::size_t... I> struct tuple_of<std::index_sequence<I...>> {
    using type = std::tuple<RuntimeAt<I, B>...>;
  };
  typename tuple_of<std::make_index_sequence<Flat::size>>::type layers;
  Context<B> context;
  typename B::Tensor input;
  long batch = batch_size();

  Chain() {
    Rng rng(1);
    std::apply([&](auto&... l) { (l.initialize(rng), ...); }, layers);
    context.rng = rng.split();
    std::vector<float> images(static_cast<std::size_t>(batch * In::size));
    for (auto& v : images) v = rng.uniform(-2, 2);
    B::from_host(input, images, {batch, In::channels, In::height, In::width});
  }

  // The input of layer `count` (count == 0: the network's input).
  const typename B::Tensor& input_of(std::size_t count) {
    const typename B::Tensor* x = &input;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((I < count ? (x = &std::get<I>(layers).forward(*x, context), 0) : 0), ...);
    }(std::make_index_sequence<Flat::size>{});
    return *x;
  }
};

template <class B>
Chain<B>& chain() {
  static Chain<B> instance;
  return instance;
}

// Elements per sample of a layer's output: Conv/Linear's bias adds per sample.
template <std::size_t I> constexpr long output_size = LayerAt<I>::template output<ShapeAt<I>>::size;

template <class L> constexpr bool matmul = false;
template <int A, int B, int K, int S, int P, int G> constexpr bool matmul<Conv<A, B, K, S, P, G>> = true;
template <int A, int B> constexpr bool matmul<Linear<A, B>> = true;
template <std::size_t I> constexpr bool is_matmul = matmul<LayerAt<I>>;

void set_counters(benchmark::State& state, double flops_per_image, double bytes_per_image, long batch,
                  double seconds) {
  const auto b = static_cast<double>(batch);
  state.SetItemsProcessed(state.iterations() * batch);
  state.counters["FLOP/s"] = benchmark::Counter(flops_per_image * b, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["bytes/s"] = benchmark::Counter(bytes_per_image * b, benchmark::Counter::kIsIterationInvariantRate);
  if (const char* peak = std::getenv("CTNN_FMA_PEAK"))  // GFLOP/s -> percent of it
    state.counters["peak%"] = flops_per_image * b * static_cast<double>(state.iterations()) /
                              (seconds * std::atof(peak) * 1e9) * 100;
}

// Forward and backward of layer I, or of layer I fused with the one after it.
template <class B, std::size_t I, bool Fused>
void run(benchmark::State& state, bool backward) {
  using L = LayerAt<I>;
  using S = ShapeAt<I>;
  auto& c = chain<B>();
  c.context.mode = Mode::train;
  const typename B::Tensor& x = c.input_of(I);
  auto make = [] {
    if constexpr (Fused) return typename L::template FusedRuntime<S, B>{};
    else return RuntimeAt<I, B>{};
  };
  decltype(make()) layer;
  Rng rng(2);
  layer.initialize(rng);
  const bool want_dx = I > 0;  // as the network: no input gradient for the first layer
  const double f = static_cast<double>(L::template flops<S>);
  const double in_bytes = 4.0 * S::size, out_bytes = 4.0 * output_size<I>;
  const typename B::Tensor& y = layer.forward(x, c.context);
  B::synchronize();
  const auto start = std::chrono::steady_clock::now();
  auto seconds = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  if (!backward) {
    for (auto _ : state) {
      benchmark::DoNotOptimize(&layer.forward(x, c.context));
      B::synchronize();
    }
    set_counters(state, f, in_bytes + out_bytes, c.batch, seconds());
  } else {
    // The output stands in for its own gradient: same shape and layout, and backward never
    // writes it.
    for (auto _ : state) {
      benchmark::DoNotOptimize(layer.backward(y, c.context, want_dx));
      B::synchronize();
    }
    const double flops = is_matmul<I> ? f + (want_dx ? f - static_cast<double>(output_size<I>) : 0.0) : f;
    set_counters(state, flops, in_bytes + out_bytes + (want_dx ? in_bytes : 0.0), c.batch, seconds());
  }
}

template <class B, std::size_t I, bool Fused = false>
void register_layer() {
  using L = LayerAt<I>;
  std::string name = L::name();
  if constexpr (Fused) name = fmt::format("{}+{}", name, LayerAt<I + 1>::name());
  const std::string shape = shape_name<ShapeAt<I>>();
  for (bool backward : {false, true}) {
    auto* b = benchmark::RegisterBenchmark(
        fmt::format("{}/{:02}:{}/{}", backward ? "backward" : "forward", I, name, shape).c_str(),
        [backward](benchmark::State& s) { run<B, I, Fused>(s, backward); });
    b->Unit(benchmark::kMillisecond)->UseRealTime();
  }
}

template <class B, std::size_t I>
void register_with_fusion() {
  register_layer<B, I>();
  if constexpr (I + 1 < Flat::size)
    if constexpr (FusesWith<LayerAt<I>, LayerAt<I + 1>>) register_layer<B, I, true>();
}

// Registers every layer of the seed network on backend B and runs what the command line asks.
template <class B>
int main(int argc, char** argv) {
  []<std::size_t... I>(std::index_sequence<I...>) {
    (register_with_fusion<B, I>(), ...);
  }(std::make_index_sequence<Flat::size>{});
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("backend", B::name);
  benchmark::AddCustomContext("batch", std::to_string(batch_size()));
  benchmark::AddCustomContext("network", "the seed network (bench/seed_net.hpp), flattened");
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace layer_bench
