// ctnn/data/loader.hpp — batches of float NCHW images, shuffled per epoch, augmented on
// background threads and prefetched.
//
//   data::Loader train{splits.train, 128, augment::seed_cifar10(), {.seed = 1}};
//   for (const data::Batch& b : train) model.step(b.images, b.size, b.labels);   // one epoch
//
// Determinism: epoch e's order is a function of (seed, e), and image i of epoch e is augmented
// with its own generator image_rng(seed, e, i). The batches are therefore the same whatever the
// number of threads and however the threads interleave.
//
// Data-parallel training (docs/distributed.md): with {.rank = r, .ranks = R} a loader yields
// rank r's share of each epoch, so R loaders of batch B together see what one of batch R x B sees.
#pragma once

#include <algorithm>           // std::min, std::max
#include <condition_variable>  // std::condition_variable
#include <cstddef>             // std::size_t, std::ptrdiff_t
#include <cstdint>             // std::int32_t, std::int64_t, std::uint64_t
#include <exception>           // std::exception_ptr, std::rethrow_exception
#include <iterator>            // std::default_sentinel_t, std::input_iterator_tag
#include <memory>              // std::unique_ptr
#include <mutex>               // std::mutex, std::unique_lock
#include <numeric>             // std::iota
#include <span>                // std::span
#include <stdexcept>           // std::invalid_argument
#include <thread>              // std::thread
#include <utility>             // std::move, std::swap
#include <vector>              // std::vector

#include <fmt/core.h>  // fmt::format

#include "ctnn/data/augment.hpp"     // augment::ToFloat, the transforms
#include "ctnn/data/dataset.hpp"     // Dataset, ImageShape
#include "ctnn/data/detail/rng.hpp"  // Rng, image_rng, detail::mix_seed

namespace ctnn::data {

// One batch: `size` images as contiguous NCHW floats, their labels and their data set indices.
// The last batch of an epoch may be smaller than the loader's batch size (unless drop_last).
struct Batch {
  int size = 0;
  int channels = 0, height = 0, width = 0;
  std::vector<float> images;          // size * channels * height * width floats, NCHW
  std::vector<std::int32_t> labels;   // size entries
  std::vector<std::int64_t> indices;  // size entries: which Dataset image each one is

  std::size_t image_size() const noexcept {
    return static_cast<std::size_t>(channels) * height * width;
  }
  std::span<const float> image(int i) const noexcept {
    return {images.data() + static_cast<std::size_t>(i) * image_size(), image_size()};
  }
};

struct LoaderOptions {
  bool shuffle = true;      // a new seeded permutation each epoch; false: data set order
  bool drop_last = false;   // drop a last batch smaller than the batch size
  std::uint64_t seed = 0;   // shuffling and augmentation
  int threads = -1;         // background workers; 0: batches are made in the caller's thread;
                            // -1: half the hardware threads, at least 1
  int prefetch = 0;         // batches made ahead of the consumer; 0: 2 per worker, at least 2
  // Data-parallel training: this process is `rank` of `ranks`. It takes the samples at positions
  // rank, rank + ranks, rank + 2 ranks, ... of each epoch's order (the same order on every rank:
  // PyTorch's DistributedSampler), so the ranks' batch k together is batch k of one process
  // with `ranks` times the batch size.
  int rank = 0, ranks = 1;
  // With ranks > 1. true: every rank gets the same number of samples, as synchronous training
  // needs: the order is padded with its first samples to a multiple of ranks (with drop_last it
  // is cut to one instead). false: every sample exactly once, and the ranks' counts may differ
  // by one (evaluation).
  bool even_shards = true;
};

// What the loader needs from a transform (augment::Compose provides it).
template <class T>
concept Pipeline = requires(const T& t, ImageShape s, std::span<const std::uint8_t> in,
                            std::span<float> out, Rng& r) {
  { t.output_shape(s) } -> std::same_as<ImageShape>;
  t.run(in, s, out, r);
};

namespace detail {

// How many samples of an epoch of n the loader with `o` yields (see LoaderOptions::rank).
inline std::size_t shard_size(std::size_t n, const LoaderOptions& o) {
  const auto ranks = static_cast<std::size_t>(o.ranks), rank = static_cast<std::size_t>(o.rank);
  if (ranks == 1) return n;
  if (o.even_shards) return o.drop_last ? n / ranks : (n + ranks - 1) / ranks;
  return n / ranks + (rank < n % ranks ? 1 : 0);
}

// Keeps this rank's positions of an epoch's order; positions past its end wrap around (padding).
inline void take_shard(std::vector<std::size_t>& order, const LoaderOptions& o) {
  if (o.ranks == 1) return;
  const std::size_t n = order.size(), count = shard_size(n, o);
  std::vector<std::size_t> mine(count);
  for (std::size_t i = 0; i < count; ++i) mine[i] = order[(static_cast<std::size_t>(o.rank) + i * o.ranks) % n];
  order = std::move(mine);
}

template <class Transform>
class LoaderState {
 public:
  LoaderState(const Dataset& data, int batch, Transform t, LoaderOptions opt)
      : data_(&data), batch_(batch), transform_(std::move(t)), opt_(opt) {
    if (batch <= 0)
      throw std::invalid_argument(fmt::format("Loader: batch size must be positive, got {}", batch));
    if (opt_.ranks < 1 || opt_.rank < 0 || opt_.rank >= opt_.ranks)
      throw std::invalid_argument(
          fmt::format("Loader: rank {} of {} ranks: the rank must be in [0, ranks)", opt_.rank, opt_.ranks));
    out_shape_ = transform_.output_shape(data.shape);
    const std::size_t n = shard_size(data.size(), opt_);
    nbatches_ = opt_.drop_last ? n / batch : (n + batch - 1) / batch;
    int threads = opt_.threads;
    if (threads < 0) threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / 2);
    threads_ = threads;
    const int prefetch = opt_.prefetch > 0 ? opt_.prefetch : std::max(2, 2 * threads);
    slots_.resize(threads == 0 ? 1 : static_cast<std::size_t>(prefetch));
    for (int i = 0; i < threads; ++i) workers_.emplace_back([this] { work(); });
  }
  LoaderState(const LoaderState&) = delete;
  LoaderState& operator=(const LoaderState&) = delete;
  ~LoaderState() {
    {
      std::lock_guard lk(m_);
      stop_ = true;
    }
    work_cv_.notify_all();
    for (auto& w : workers_) w.join();
  }

  std::size_t batches() const noexcept { return nbatches_; }
  ImageShape output_shape() const noexcept { return out_shape_; }
  std::uint64_t next_epoch_number() const noexcept { return next_epoch_; }

  // Starts epoch `e`, abandoning any unfinished one.
  void start(std::uint64_t e) {
    std::unique_lock lk(m_);
    active_ = false;
    ready_cv_.wait(lk, [&] { return in_flight_ == 0; });  // nobody reads order_ any more
    epoch_ = e;
    next_epoch_ = e + 1;
    order_.resize(data_->size());
    std::iota(order_.begin(), order_.end(), std::size_t{0});
    if (opt_.shuffle) {  // Fisher-Yates with the epoch's own generator
      Rng rng{ctnn::data::detail::mix_seed(opt_.seed, e, 0x5eedull)};
      for (std::size_t i = order_.size(); i > 1; --i) {
        const auto j = static_cast<std::size_t>(((rng() >> 32) * i) >> 32);
        std::swap(order_[i - 1], order_[j]);
      }
    }
    take_shard(order_, opt_);
    next_claim_ = consumed_ = 0;
    holding_ = false;
    for (auto& s : slots_) s.index = npos, s.error = nullptr;
    active_ = true;
    lk.unlock();
    work_cv_.notify_all();
  }

  // Releases the batch the caller holds and returns the next one, or nullptr at the epoch's end.
  const Batch* next() {
    std::unique_lock lk(m_);
    if (holding_) {
      ++consumed_;
      holding_ = false;
      work_cv_.notify_all();
    }
    if (!active_ || consumed_ >= nbatches_) {
      active_ = false;
      return nullptr;
    }
    Slot& s = slots_[consumed_ % slots_.size()];
    holding_ = true;
    if (threads_ == 0) {
      lk.unlock();
      fill(consumed_, s.batch);  // exceptions propagate directly
      return &s.batch;
    }
    ready_cv_.wait(lk, [&] { return s.index == consumed_; });
    if (s.error) std::rethrow_exception(std::exchange(s.error, nullptr));
    return &s.batch;
  }

 private:
  static constexpr std::size_t npos = ~std::size_t{0};
  struct Slot {
    Batch batch;
    std::size_t index = npos;  // which batch of the epoch it holds, npos if none yet
    std::exception_ptr error;
  };

  // Batch k of the current epoch. Reads order_, epoch_ (stable while in_flight_ > 0).
  void fill(std::size_t k, Batch& b) const {
    const std::size_t start = k * static_cast<std::size_t>(batch_);
    const std::size_t n = std::min<std::size_t>(batch_, order_.size() - start);
    const std::size_t isz = out_shape_.size();
    b.size = static_cast<int>(n);
    b.channels = out_shape_.channels, b.height = out_shape_.height, b.width = out_shape_.width;
    b.images.resize(n * isz);
    b.labels.resize(n);
    b.indices.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t idx = order_[start + i];
      Rng rng = image_rng(opt_.seed, epoch_, idx);
      transform_.run(data_->image(idx), data_->shape, std::span<float>(b.images).subspan(i * isz, isz),
                     rng);
      b.labels[i] = data_->labels[idx];
      b.indices[i] = static_cast<std::int64_t>(idx);
    }
  }

  void work() {
    std::unique_lock lk(m_);
    for (;;) {
      // A slot is free for batch k once batch k - slots is released: k < consumed + slots.
      work_cv_.wait(lk, [&] {
        return stop_ || (active_ && next_claim_ < nbatches_ && next_claim_ < consumed_ + slots_.size());
      });
      if (stop_) return;
      const std::size_t k = next_claim_++;
      ++in_flight_;
      Slot& s = slots_[k % slots_.size()];
      lk.unlock();
      std::exception_ptr err;
      try {
        fill(k, s.batch);
      } catch (...) {
        err = std::current_exception();
      }
      lk.lock();
      s.error = err;
      s.index = k;
      --in_flight_;
      ready_cv_.notify_all();
    }
  }

  const Dataset* data_;
  int batch_;
  Transform transform_;
  LoaderOptions opt_;
  ImageShape out_shape_;
  std::size_t nbatches_ = 0;
  int threads_ = 0;

  std::mutex m_;
  std::condition_variable work_cv_, ready_cv_;
  bool stop_ = false, active_ = false, holding_ = false;
  std::uint64_t epoch_ = 0, next_epoch_ = 0;
  std::vector<std::size_t> order_;
  std::size_t next_claim_ = 0, consumed_ = 0, in_flight_ = 0;
  std::vector<Slot> slots_;
  std::vector<std::thread> workers_;
};

}  // namespace detail

// Batches `data` (which must outlive the loader) through `transform`. Iterating the loader runs
// one epoch: the first loop is epoch 0, the next epoch 1, ... `epoch(e)` runs a given one.
// Only one epoch is produced at a time; starting another abandons the unfinished one.
template <Pipeline Transform = augment::ToFloat>
class Loader {
 public:
  Loader(const Dataset& data, int batch_size, Transform transform = {}, LoaderOptions options = {})
      : s_(std::make_unique<detail::LoaderState<Transform>>(data, batch_size, std::move(transform),
                                                             options)) {}

  // Input iterator over one epoch. The batch it refers to stays valid until it is incremented.
  class iterator {
   public:
    using value_type = Batch;
    using difference_type = std::ptrdiff_t;
    using iterator_concept = std::input_iterator_tag;
    iterator() = default;
    const Batch& operator*() const noexcept { return *cur_; }
    const Batch* operator->() const noexcept { return cur_; }
    iterator& operator++() {
      cur_ = s_->next();
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept {
      return it.cur_ == nullptr;
    }

   private:
    friend class Loader;
    iterator(detail::LoaderState<Transform>* s) : s_(s), cur_(s->next()) {}
    detail::LoaderState<Transform>* s_ = nullptr;
    const Batch* cur_ = nullptr;
  };

  // One epoch as a range: for (const Batch& b : loader.epoch(3)) ...
  class Epoch {
   public:
    iterator begin() { return iterator{s_}; }
    std::default_sentinel_t end() const noexcept { return {}; }

   private:
    friend class Loader;
    explicit Epoch(detail::LoaderState<Transform>* s) : s_(s) {}
    detail::LoaderState<Transform>* s_;
  };

  Epoch epoch(std::uint64_t e) {
    s_->start(e);
    return Epoch{s_.get()};
  }
  // The loader itself is a range over its next epoch.
  iterator begin() {
    s_->start(s_->next_epoch_number());
    return iterator{s_.get()};
  }
  std::default_sentinel_t end() const noexcept { return {}; }

  std::size_t batches_per_epoch() const noexcept { return s_->batches(); }
  ImageShape output_shape() const noexcept { return s_->output_shape(); }

 private:
  std::unique_ptr<detail::LoaderState<Transform>> s_;
};

}  // namespace ctnn::data
