// ctnn/data/rotation.hpp — the rotation pretext task (Gidaris et al. 2018, "Unsupervised
// Representation Learning by Predicting Image Rotations"): an image turned by k x 90 degrees,
// labelled k, so a network learns features without the data set's labels.
//
//   data::Loader images{splits.train, 128, augment::Compose{RandomCrop{32, 4}, Normalize{...}}, {.seed = 1}};
//   data::RotationPretext pretext{images, {.mode = data::Rotations::random, .seed = 1}};
//   trainer.fit(pretext, test_pretext, {...});          // labels are k in 0..3
//
// RotationPretext wraps a batch source (data::Loader, or anything whose epochs are ranges of
// data::Batch with their `indices`) and turns each batch after the source's own augmentation,
// so it composes with any pipeline: a crop or flip is drawn first, the quarter turn is exact
// (a permutation of pixels) and commutes with per-channel Normalize. Two modes:
//   Rotations::random  one turn per image, k drawn from (seed, epoch, the image's data set
//                      index): the batch keeps its size, each epoch a fresh k for every image,
//                      and the batches depend only on the epoch, as resuming needs.
//   Rotations::all     all four turns of every image, one after the other (k = 0, 1, 2, 3), in
//                      a batch four times as large: the paper's recipe, and the deterministic
//                      choice for evaluating the pretext task.
// The images' own labels are dropped. Images must be square (a quarter turn of H x W is W x H,
// and a batch has one shape); rotate90 itself takes any shape.
#pragma once

#include <cstddef>   // std::size_t
#include <cstdint>   // std::int32_t, std::int64_t, std::uint64_t
#include <iterator>  // std::default_sentinel_t, std::input_iterator_tag
#include <span>      // std::span
#include <stdexcept> // std::invalid_argument
#include <utility>   // std::move
#include <vector>    // std::vector

#include <fmt/core.h>  // fmt::format

#include "ctnn/data/dataset.hpp"     // ImageShape
#include "ctnn/data/detail/rng.hpp"  // detail::mix_seed
#include "ctnn/data/loader.hpp"      // Batch

namespace ctnn::data {

// The shape of an image of shape `s` after k quarter turns.
constexpr ImageShape rotated_shape(ImageShape s, int k) noexcept {
  return (k & 1) ? ImageShape{s.channels, s.width, s.height} : s;
}

// Turns the CHW image `in` of shape `s` counter-clockwise by k x 90 degrees (k taken mod 4) into
// `out` (rotated_shape(s, k)): numpy.rot90(img, k, axes=(1, 2)), torch.rot90(img, k, (1, 2)).
// For k = 1, output row i, column j is input row j, column W - 1 - i: the top row becomes the
// left column, read bottom to top.
template <class T>
void rotate90(std::span<const T> in, ImageShape s, int k, std::span<T> out) {
  k = ((k % 4) + 4) % 4;
  if (in.size() != s.size() || out.size() != s.size())
    throw std::invalid_argument(fmt::format("rotate90: {} and {} values for a {}x{}x{} image", in.size(),
                                            out.size(), s.channels, s.height, s.width));
  const int H = s.height, W = s.width;
  const ImageShape o = rotated_shape(s, k);
  const auto plane = static_cast<std::size_t>(H) * W;
  for (int c = 0; c < s.channels; ++c) {
    const T* src = in.data() + c * plane;
    T* dst = out.data() + c * plane;
    for (int i = 0; i < o.height; ++i)
      for (int j = 0; j < o.width; ++j) {
        int y = i, x = j;  // k = 0
        if (k == 1) y = j, x = W - 1 - i;
        if (k == 2) y = H - 1 - i, x = W - 1 - j;
        if (k == 3) y = H - 1 - j, x = i;
        dst[static_cast<std::size_t>(i) * o.width + j] = src[static_cast<std::size_t>(y) * W + x];
      }
  }
}

enum class Rotations { random, all };

struct RotationOptions {
  Rotations mode = Rotations::random;
  std::uint64_t seed = 0;  // Rotations::random: which k each image gets
};

// The turn Rotations::random gives image `index` in epoch `epoch`.
constexpr int pretext_rotation(std::uint64_t seed, std::uint64_t epoch, std::uint64_t index) noexcept {
  return static_cast<int>(detail::mix_seed(seed ^ 0x90d09ull, epoch, index) >> 62);
}

// Turns `b` (square images) as `o` says into `out`: images, labels k and the data set indices.
inline void rotation_pretext_batch(const Batch& b, std::uint64_t epoch, const RotationOptions& o, Batch& out) {
  if (b.height != b.width)
    throw std::invalid_argument(fmt::format(
        "RotationPretext: images of {}x{} are not square; a quarter turn would change a batch's shape",
        b.height, b.width));
  const int copies = o.mode == Rotations::all ? 4 : 1;
  const ImageShape s{b.channels, b.height, b.width};
  const std::size_t isz = b.image_size();
  out.size = b.size * copies;
  out.channels = b.channels, out.height = b.height, out.width = b.width;
  out.images.resize(static_cast<std::size_t>(out.size) * isz);
  out.labels.resize(static_cast<std::size_t>(out.size));
  out.indices.resize(static_cast<std::size_t>(out.size));
  for (int i = 0; i < b.size; ++i) {
    const std::int64_t index = b.indices.at(static_cast<std::size_t>(i));
    for (int c = 0; c < copies; ++c) {
      const int k = o.mode == Rotations::all ? c : pretext_rotation(o.seed, epoch, static_cast<std::uint64_t>(index));
      const auto n = static_cast<std::size_t>(i * copies + c);
      rotate90<float>(b.image(i), s, k, std::span<float>(out.images).subspan(n * isz, isz));
      out.labels[n] = k;
      out.indices[n] = index;
    }
  }
}

// A batch source of rotated images labelled by their turn (see the top of this file). Refers to
// `source`, which must outlive it.
template <class Source>
class RotationPretext {
  using SourceEpoch = decltype(std::declval<Source&>().epoch(0));

 public:
  explicit RotationPretext(Source& source, RotationOptions options = {}) : source_(&source), opt_(options) {}

  class Epoch;
  class iterator {
   public:
    using value_type = Batch;
    using difference_type = std::ptrdiff_t;
    using iterator_concept = std::input_iterator_tag;
    iterator() = default;
    const Batch& operator*() const noexcept { return batch_; }
    const Batch* operator->() const noexcept { return &batch_; }
    iterator& operator++() {
      ++inner_;
      turn();
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept { return it.done_; }

   private:
    friend class Epoch;
    using Inner = decltype(std::declval<SourceEpoch&>().begin());
    iterator(Inner inner, std::uint64_t epoch, const RotationOptions* o)
        : inner_(std::move(inner)), epoch_(epoch), opt_(o) {
      turn();
    }
    void turn() {
      done_ = inner_ == std::default_sentinel;
      if (!done_) rotation_pretext_batch(*inner_, epoch_, *opt_, batch_);
    }
    Inner inner_{};
    std::uint64_t epoch_ = 0;
    const RotationOptions* opt_ = nullptr;
    Batch batch_;
    bool done_ = true;
  };

  // One epoch of the source, turned.
  class Epoch {
   public:
    iterator begin() { return iterator{inner_.begin(), epoch_, opt_}; }
    std::default_sentinel_t end() const noexcept { return {}; }

   private:
    friend class RotationPretext;
    Epoch(SourceEpoch inner, std::uint64_t e, const RotationOptions* o) : inner_(std::move(inner)), epoch_(e), opt_(o) {}
    SourceEpoch inner_;
    std::uint64_t epoch_;
    const RotationOptions* opt_;
  };

  Epoch epoch(std::uint64_t e) { return Epoch{source_->epoch(e), e, &opt_}; }
  std::size_t batches_per_epoch() const { return source_->batches_per_epoch(); }
  const RotationOptions& options() const noexcept { return opt_; }

 private:
  Source* source_;
  RotationOptions opt_;
};

}  // namespace ctnn::data
