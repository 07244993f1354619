// Which gradients are averaged over the ranks together, and when: data-parallel training's
// overlap of communication with backward (as PyTorch's DDP buckets do). The trainable
// parameters are taken in reverse order, the order backward produces their gradients in, and
// cut into buckets of at most `bucket_bytes` (a larger parameter gets a bucket to itself). As
// Sequential reports each layer's gradients final (Context::on_gradients), a bucket whose
// gradients all are starts averaging at once, on the transport, while the layers before run
// backward; finish() starts what is left and waits for all.
//
// Buckets always start in bucket order: collectives must be issued in the same order on every
// rank, and this order doesn't depend on the order of the reports.
//
// A transport averages buckets of gradients over the ranks (MpiGradients, NcclGradients):
//   void start(std::size_t bucket, std::span<Buffer* const> gradients, const std::string& what);
//   void progress();  // lets started buckets advance (MPI advances only inside its calls)
//   void finish();    // waits for every started bucket: each gradient then holds its mean
// This header needs no MPI: tests drive it with a transport of their own.
#pragma once
#include <cstddef>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include <fmt/core.h>

#include "ctnn/core/error.hpp"       // Error
#include "ctnn/core/parameters.hpp"  // ParameterList

namespace ctnn::distributed {

template <class Backend>
class GradientBuckets {
 public:
  using Buffer = typename Backend::Buffer;

  GradientBuckets(const ParameterList<Backend>& parameters, std::size_t bucket_bytes) {
    if (bucket_bytes == 0) throw Error("distributed: the gradient bucket size must be at least one byte");
    for (auto p = parameters.rbegin(); p != parameters.rend(); ++p) {
      if (!p->trainable()) continue;
      const std::size_t bytes = p->grad->size() * sizeof(float);
      if (buckets_.empty() || (buckets_.back().bytes > 0 && buckets_.back().bytes + bytes > bucket_bytes))
        buckets_.emplace_back();
      Bucket& b = buckets_.back();
      position_[p->grad] = {buckets_.size() - 1, b.gradients.size()};
      b.gradients.push_back(p->grad);
      b.names.push_back(p->name);
      b.bytes += bytes;
    }
    for (std::size_t i = 0; i < buckets_.size(); ++i) {
      Bucket& b = buckets_[i];
      b.what = fmt::format("the all-reduce of gradient bucket {} of {} ({:.2f} MB: {}{})", i + 1, buckets_.size(),
                           b.bytes / 1e6, b.names.front(), b.names.size() > 1 ? " .. " + b.names.back() : "");
    }
    reset();
  }

  std::size_t size() const { return buckets_.size(); }
  std::span<Buffer* const> gradients(std::size_t bucket) const { return buckets_[bucket].gradients; }
  const std::vector<std::string>& names(std::size_t bucket) const { return buckets_[bucket].names; }
  std::size_t bytes(std::size_t bucket) const { return buckets_[bucket].bytes; }
  // Buckets the last finished pass started before finish(), while backward was running.
  std::size_t started_during_backward() const { return started_during_backward_; }

  // The gradients of `done` are final for this pass (repeats are ignored): starts every bucket
  // whose gradients all are, in bucket order.
  template <class Transport>
  void ready(const ParameterList<Backend>& done, Transport& transport) {
    for (const auto& p : done) {
      const auto it = p.grad ? position_.find(p.grad) : position_.end();
      if (it == position_.end()) continue;  // a buffer, or not this model's
      auto& [bucket, slot] = it->second;
      auto& seen = buckets_[bucket].reported[slot];
      if (seen) continue;
      seen = true;
      --buckets_[bucket].missing;
    }
    while (next_ < buckets_.size() && buckets_[next_].missing == 0) start(next_++, transport);
    transport.progress();
  }

  // Starts the buckets not started yet and waits for all; the next pass starts afresh.
  template <class Transport>
  void finish(Transport& transport) {
    const std::size_t during_backward = next_;
    while (next_ < buckets_.size()) start(next_++, transport);
    transport.finish();
    started_during_backward_ = during_backward;
    reset();
  }

 private:
  struct Bucket {
    std::vector<Buffer*> gradients;
    std::vector<std::string> names;
    std::string what;  // for errors
    std::size_t bytes = 0;
    std::vector<char> reported;  // per gradient, this pass
    std::size_t missing = 0;     // gradients not reported yet this pass
  };
  struct Position {
    std::size_t bucket, slot;
  };

  template <class Transport>
  void start(std::size_t bucket, Transport& transport) {
    transport.start(bucket, std::span<Buffer* const>(buckets_[bucket].gradients), buckets_[bucket].what);
  }
  void reset() {
    for (auto& b : buckets_) b.reported.assign(b.gradients.size(), 0), b.missing = b.gradients.size();
    next_ = 0;
  }

  std::vector<Bucket> buckets_;
  std::unordered_map<const Buffer*, Position> position_;
  std::size_t next_ = 0;  // the first bucket not started this pass
  std::size_t started_during_backward_ = 0;
};

}  // namespace ctnn::distributed
