// What the training loop reads: batches of images and labels, one epoch at a time.
//
// Any type with `epoch(e)` (a range of batches with `size`, `images` and `labels`, e from 0)
// and `batches_per_epoch()` can feed a Trainer: data::Loader is one. The loop itself sees
// them through DataSource, so that it is ordinary code compiled once rather than once per
// data type; SourceRef adapts a range-style source. Epoch e's batches must depend only on e
// (data::Loader's do), so that a resumed run sees the data an uninterrupted one would.
#pragma once
#include <cstdint>
#include <functional>
#include <span>
#include <type_traits>

namespace ctnn::train {

// One batch: `size` samples, NCHW floats and a label each.
struct BatchView {
  int size = 0;
  std::span<const float> images;
  std::span<const std::int32_t> labels;
};

class DataSource {
 public:
  virtual ~DataSource() = default;
  virtual long batches_per_epoch() const = 0;
  // Calls `f` on each batch of epoch `epoch`, in order.
  virtual void each_batch(std::uint64_t epoch, const std::function<void(const BatchView&)>& f) = 0;
};

// A DataSource over a range-style source (data::Loader, or your own), which it refers to.
template <class Source>
class SourceRef final : public DataSource {
 public:
  explicit SourceRef(Source& source) : source_(&source) {}
  long batches_per_epoch() const override { return static_cast<long>(source_->batches_per_epoch()); }
  void each_batch(std::uint64_t epoch, const std::function<void(const BatchView&)>& f) override {
    for (const auto& b : source_->epoch(epoch)) f(BatchView{b.size, b.images, b.labels});
  }

 private:
  Source* source_;
};

// `source` as a DataSource: itself when it is one, otherwise a SourceRef to it.
template <class Source>
decltype(auto) as_data_source(Source& source) {
  if constexpr (std::is_base_of_v<DataSource, Source>) return static_cast<DataSource&>(source);
  else return SourceRef<Source>(source);
}

}  // namespace ctnn::train
