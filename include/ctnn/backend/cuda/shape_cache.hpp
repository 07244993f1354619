// A layer's plans (descriptors, chosen algorithms), one per input shape it has seen. A training
// run alternates between a few shapes (the training batch, a smaller last batch, the
// evaluation batch), and choosing an algorithm with cudnnFind* is slow and blocks the host, so
// each shape's plan is made once and kept. Plain C++ (no CUDA), so it is tested on any machine.
#pragma once
#include <deque>
#include <tuple>
#include <utility>  // std::piecewise_construct

namespace ctnn::cuda {

template <class Key, class Plan>
class ShapeCache {
 public:
  // The plan for `key`; the first time a key is seen, a default-constructed Plan is handed to
  // make(plan) to fill in. If make throws, nothing is kept. References stay valid for the
  // cache's lifetime.
  template <class Make>
  Plan& get(const Key& key, Make&& make) {
    if (last_ && last_->first == key) return last_->second;  // the common case: same shape again
    for (auto& entry : entries_)
      if (entry.first == key) return (last_ = &entry)->second;
    auto& entry = entries_.emplace_back(std::piecewise_construct, std::forward_as_tuple(key), std::forward_as_tuple());
    try {
      make(entry.second);
    } catch (...) {
      entries_.pop_back();
      throw;
    }
    ++builds_;
    return (last_ = &entry)->second;
  }

  std::size_t size() const { return entries_.size(); }
  long builds() const { return builds_; }  // plans made so far

 private:
  std::deque<std::pair<Key, Plan>> entries_;  // a deque never moves what it holds
  std::pair<Key, Plan>* last_ = nullptr;
  long builds_ = 0;
};

}  // namespace ctnn::cuda
