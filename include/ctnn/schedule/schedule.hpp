// schedule::Schedule: any learning-rate schedule behind one value type, so a trainer (or a
// command line) can pick one at run time. It is called once per batch, outside the hot path.
//
//   Trainer trainer{model, optimizer, loss, schedule::OneCycle{.max_lr = 0.1f, .total_steps = 50 * 391}};
//   schedule::Schedule warm = schedule::LinearWarmup{schedule::Cosine{.lr = 0.1f, .t_max = 50}, 500};
#pragma once
#include <algorithm>  // std::min
#include <concepts>
#include <memory>   // std::shared_ptr
#include <optional>
#include <string>
#include <type_traits>  // std::remove_cvref_t
#include <utility>

#include <fmt/core.h>

#include "ctnn/core/error.hpp"         // Error
#include "ctnn/schedule/progress.hpp"  // Progress, EpochMetrics
#include "ctnn/schedule/schedules.hpp" // Constant, Step, MultiStep, Cosine, OneCycle, ReduceOnPlateau

namespace ctnn::schedule {

// What a schedule provides: the learning rate of the coming step. Optional members:
// momentum(Progress) -> std::optional<float>, end_epoch(EpochMetrics), state() / restore(text).
template <class S>
concept LearningRate = requires(const S& s, const Progress& p) {
  { s.at(p) } -> std::convertible_to<float>;
};

class Schedule {
 public:
  // No schedule: the optimizer keeps the learning rate it was built with.
  Schedule() = default;

  template <LearningRate S>
    requires(!std::same_as<std::remove_cvref_t<S>, Schedule>)
  Schedule(S schedule) : impl_(std::make_shared<Holder<S>>(std::move(schedule))) {}

  explicit operator bool() const { return impl_ != nullptr; }

  float at(const Progress& p) const { return impl_ ? impl_->at(p) : 0.0f; }
  std::optional<float> momentum(const Progress& p) const { return impl_ ? impl_->momentum(p) : std::nullopt; }
  void end_epoch(const EpochMetrics& m) {
    if (impl_) own().end_epoch(m);
  }
  std::string state() const { return impl_ ? impl_->state() : std::string{}; }
  void restore(const std::string& text) {
    if (impl_) own().restore(text);
  }

 private:
  struct Concept {
    virtual ~Concept() = default;
    virtual float at(const Progress&) const = 0;
    virtual std::optional<float> momentum(const Progress&) const = 0;
    virtual void end_epoch(const EpochMetrics&) = 0;
    virtual std::string state() const = 0;
    virtual void restore(const std::string&) = 0;
    virtual std::shared_ptr<Concept> clone() const = 0;
  };
  template <class S>
  struct Holder final : Concept {
    explicit Holder(S s) : s(std::move(s)) {}
    float at(const Progress& p) const override { return static_cast<float>(s.at(p)); }
    std::optional<float> momentum(const Progress& p) const override {
      if constexpr (requires { s.momentum(p); }) return s.momentum(p);
      else return std::nullopt;
    }
    void end_epoch(const EpochMetrics& m) override {
      if constexpr (requires { s.end_epoch(m); }) s.end_epoch(m);
    }
    std::string state() const override {
      if constexpr (requires { s.state(); }) return s.state();
      else return {};
    }
    void restore(const std::string& text) override {
      if constexpr (requires { s.restore(text); }) s.restore(text);
      else if (!text.empty()) throw Error(fmt::format("schedule: this schedule keeps no state, but '{}' was given", text));
    }
    std::shared_ptr<Concept> clone() const override { return std::make_shared<Holder>(s); }
    S s;
  };
  // Copies share nothing mutable: copy on first write.
  Concept& own() {
    if (impl_.use_count() > 1) impl_ = impl_->clone();
    return *impl_;
  }

  std::shared_ptr<Concept> impl_;
};

// Linear warmup in front of another schedule: its lr times a factor rising linearly from
// start_factor at step 0 to 1 at step `steps` (PyTorch's LinearLR, end_factor 1, chained).
struct LinearWarmup {
  Schedule then;
  long steps = 0;
  float start_factor = 1.0f / 3;  // PyTorch's default

  float at(const Progress& p) const {
    if (!then) throw Error("schedule::LinearWarmup: give the schedule that follows the warmup (then)");
    if (steps < 0) throw Error(fmt::format("schedule::LinearWarmup: steps must not be negative, got {}", steps));
    const double done = steps == 0 ? 1.0 : static_cast<double>(std::min(p.step, steps)) / static_cast<double>(steps);
    return static_cast<float>(then.at(p) * (start_factor + (1.0 - start_factor) * done));
  }
  std::optional<float> momentum(const Progress& p) const { return then.momentum(p); }
  void end_epoch(const EpochMetrics& m) { then.end_epoch(m); }
  std::string state() const { return then.state(); }
  void restore(const std::string& text) { then.restore(text); }
};

}  // namespace ctnn::schedule
