// What the distributed tests share: small networks (BN-free, with BN, with SyncBN), a
// synthetic four-class data set, and parameter snapshots.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <ctnn/ctnn.hpp>
#include <ctnn/data/data.hpp>
#include <ctnn/distributed/sync_batch_norm.hpp>

namespace ctnn_test {

using namespace ctnn;

template <int C>
using ConvBlock = Sequential<Conv<C, 8>, ReLU>;
// No BN: one process of batch 2B and two of batch B compute the same step up to rounding.
using PlainNet = Sequential<ConvBlock<3>, MaxPool<2>, ConvBlock<8>, Flatten, Linear<8 * 4 * 4, 4>>;
// BN fused with ReLU (16 channels: a blocked layout) and BN on its own.
template <template <int> class Norm>
using NormNet = Sequential<Conv<3, 16>, Norm<16>, ReLU, Conv<16, 8>, Norm<8>, MaxPool<2>, Flatten, Linear<8 * 4 * 4, 4>>;
#ifndef __CUDACC__
using PlainModel = Model<PlainNet, Input<3, 8, 8>, Cpu>;
using BnModel = Model<NormNet<BN>, Input<3, 8, 8>, Cpu>;
using SyncBnModel = Model<NormNet<SyncBN>, Input<3, 8, 8>, Cpu>;
#endif

// `count` 3x8x8 images in four classes: class k's image is a brightness ramp along one axis,
// rising or falling, plus noise.
inline data::Dataset ramps(int count, std::uint64_t seed) {
  Rng rng(seed);
  data::Dataset d;
  d.shape = {3, 8, 8};
  for (int i = 0; i < count; ++i) {
    const int label = static_cast<int>(rng.next_u64() % 4);
    d.labels.push_back(label);
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < 8; ++y)
        for (int x = 0; x < 8; ++x) {
          const int along = label < 2 ? x : y, ramp = label % 2 ? 7 - along : along;
          const float v = 40.0f + 20.0f * static_cast<float>(ramp) + 10.0f * static_cast<float>(c) + rng.uniform(-25, 25);
          d.pixels.push_back(static_cast<std::uint8_t>(std::clamp(v, 0.0f, 255.0f)));
        }
  }
  return d;
}

// Training as the Trainer does it: forward, loss, backward, the ranks' average of the
// gradients (when `job` isn't null), the step; and the ranks' average of BN's running
// statistics after each of `epochs` epochs.
template <class Net, class In, class B, class Optimizer, class Job>
void train_epochs(Model<Net, In, B>& model, Optimizer& optimizer, data::Loader<>& loader, int epochs, Job* job) {
  loss::CrossEntropy<B> loss;
  for (int e = 0; e < epochs; ++e) {
    for (const auto& b : loader.epoch(static_cast<std::uint64_t>(e))) {
      loss.forward(model.forward(b.images, b.size), b.labels);
      model.backward(loss.gradient());
      if (job) job->finish_gradients();
      optimizer.step();
    }
    if (job) job->synchronize_buffers();
  }
}

// Every parameter and buffer, in the model's order.
template <class M>
std::vector<std::vector<float>> snapshot(M& model) {
  std::vector<std::vector<float>> values;
  for (auto& p : model.parameters()) values.push_back(p.value->to_vector());
  return values;
}

// max |a - b| / (1 + |b|) over all values (a and b as snapshot gives them).
inline double max_difference(const std::vector<std::vector<float>>& a, const std::vector<std::vector<float>>& b) {
  double worst = a.size() == b.size() ? 0.0 : INFINITY;
  for (std::size_t t = 0; t < a.size() && t < b.size(); ++t) {
    if (a[t].size() != b[t].size()) return INFINITY;
    for (std::size_t i = 0; i < a[t].size(); ++i)
      worst = std::max(worst, std::abs(double{a[t][i]} - b[t][i]) / (1.0 + std::abs(double{b[t][i]})));
  }
  return worst;
}

}  // namespace ctnn_test
