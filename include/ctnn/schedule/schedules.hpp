// Learning-rate schedules with PyTorch's formulas (torch.optim.lr_scheduler), written in closed
// form as functions of the step or epoch, so a resumed run recomputes them exactly:
//
//   Constant{lr}                                  lr
//   Step{lr, step_size, gamma}                    lr * gamma^floor(epoch / step_size)          (StepLR)
//   MultiStep{lr, {m1, m2, ...}, gamma}           lr * gamma^(number of milestones <= epoch)   (MultiStepLR)
//   Cosine{lr, t_max, eta_min, per_step}          eta_min + (lr - eta_min)(1 + cos(pi t / t_max)) / 2
//                                                 with t = min(epoch or step, t_max)           (CosineAnnealingLR)
//   OneCycle{max_lr, total_steps, ...}            warm up from max_lr/div_factor to max_lr over pct_start of
//                                                 the steps, then anneal to that / final_div_factor;
//                                                 momentum (or Adam's beta1) cycles the other way   (OneCycleLR)
//   LinearWarmup{then, steps, start_factor}       then(p) * (start + (1 - start) min(step, steps) / steps)
//                                                 (LinearLR with end_factor 1, chained)
//   ReduceOnPlateau{lr, ...}                      lr times factor after `patience` epochs without improvement
//                                                 (ReduceLROnPlateau)
//
// Epoch-based schedules change at epoch boundaries, like PyTorch's scheduler.step() once per
// epoch; step-based ones (OneCycle, LinearWarmup, Cosine with per_step) at every batch, like
// scheduler.step() after every optimizer.step().
#pragma once
#include <algorithm>  // std::min, std::max, std::upper_bound, std::is_sorted
#include <cmath>      // std::cos, std::pow
#include <cstdio>     // std::sscanf
#include <cstdlib>    // std::strtod
#include <limits>
#include <numbers>    // std::numbers::pi
#include <optional>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "ctnn/core/error.hpp"           // Error
#include "ctnn/schedule/progress.hpp"    // Progress, EpochMetrics

namespace ctnn::schedule {

struct Constant {
  float lr = 1e-3f;
  float at(const Progress&) const { return lr; }
};

struct Step {
  float lr = 0.1f;
  long step_size = 30;  // epochs
  float gamma = 0.1f;
  float at(const Progress& p) const {
    if (step_size < 1) throw Error(fmt::format("schedule::Step: step_size must be at least 1, got {}", step_size));
    return lr * static_cast<float>(std::pow(double{gamma}, static_cast<double>(p.epoch / step_size)));
  }
};

struct MultiStep {
  float lr = 0.1f;
  std::vector<long> milestones;  // epochs, increasing
  float gamma = 0.1f;
  float at(const Progress& p) const {
    if (!std::is_sorted(milestones.begin(), milestones.end()))
      throw Error("schedule::MultiStep: the milestones must be in increasing order");
    const auto passed = std::upper_bound(milestones.begin(), milestones.end(), p.epoch) - milestones.begin();
    return lr * static_cast<float>(std::pow(double{gamma}, static_cast<double>(passed)));
  }
};

struct Cosine {
  float lr = 0.1f;
  long t_max = 50;         // epochs, or steps with per_step
  float eta_min = 0.0f;
  bool per_step = false;   // anneal per batch instead of per epoch
  float at(const Progress& p) const {
    if (t_max < 1) throw Error(fmt::format("schedule::Cosine: t_max must be at least 1, got {}", t_max));
    const double t = static_cast<double>(std::min(per_step ? p.step : p.epoch, t_max));
    return static_cast<float>(eta_min + (lr - eta_min) * (1 + std::cos(std::numbers::pi * t / t_max)) / 2);
  }
};

struct OneCycle {
  float max_lr = 0.1f;
  long total_steps = 0;         // epochs * steps_per_epoch
  float pct_start = 0.3f;       // fraction of the steps spent warming up
  float div_factor = 25.0f;     // initial lr = max_lr / div_factor
  float final_div_factor = 1e4f;  // final lr = initial lr / final_div_factor
  bool cosine = true;           // false: linear annealing
  bool three_phase = false;
  bool cycle_momentum = true;
  float base_momentum = 0.85f, max_momentum = 0.95f;

  float at(const Progress& p) const { return interpolate(p, initial_lr(), max_lr, initial_lr() / final_div_factor); }

  // The momentum for this step: max_momentum at the ends, base_momentum at the peak of the lr.
  std::optional<float> momentum(const Progress& p) const {
    if (!cycle_momentum) return std::nullopt;
    return interpolate(p, max_momentum, base_momentum, max_momentum);
  }

  float initial_lr() const { return max_lr / div_factor; }

 private:
  // PyTorch's phases: `low` -> `high` until pct_start * total - 1, then `high` -> `end` (two
  // phases), or `high` -> `low` until 2 * pct_start * total - 2 and `low` -> `end` (three).
  float interpolate(const Progress& p, float low, float high, float end) const {
    if (total_steps < 1) throw Error("schedule::OneCycle: total_steps must be at least 1 (epochs x batches per epoch)");
    if (!(pct_start > 0 && pct_start < 1))
      throw Error(fmt::format("schedule::OneCycle: pct_start must lie in (0, 1), got {}", pct_start));
    if (p.step >= total_steps)
      throw Error(fmt::format("schedule::OneCycle: step {} is past the schedule's {} steps (total_steps)", p.step + 1,
                              total_steps));
    struct Phase {
      double end_step;
      float from, to;
    };
    const double warm = static_cast<double>(pct_start) * static_cast<double>(total_steps);
    const double last = static_cast<double>(total_steps) - 1;
    std::vector<Phase> phases;
    if (three_phase) phases = {{warm - 1, low, high}, {2 * warm - 2, high, low}, {last, low, end}};
    else phases = {{warm - 1, low, high}, {last, high, end}};
    const double step = static_cast<double>(p.step);
    double start = 0;
    for (std::size_t i = 0; i < phases.size(); ++i) {
      if (step <= phases[i].end_step || i + 1 == phases.size()) {
        const double pct = (step - start) / (phases[i].end_step - start);
        return anneal(phases[i].from, phases[i].to, pct);
      }
      start = phases[i].end_step;
    }
    return end;  // unreachable
  }
  float anneal(double from, double to, double pct) const {
    if (cosine) return static_cast<float>(to + (from - to) / 2 * (std::cos(std::numbers::pi * pct) + 1));
    return static_cast<float>((to - from) * pct + from);
  }
};

// ReduceLROnPlateau: watches one metric at the end of every epoch and multiplies the learning
// rate by `factor` once it has not improved for more than `patience` epochs.
struct ReduceOnPlateau {
  enum class Metric { test_loss, test_accuracy, train_loss, train_accuracy };
  float lr = 1e-3f;
  Metric metric = Metric::test_loss;  // falls back to the training metric when there is no test set
  float factor = 0.1f;
  int patience = 10;
  double threshold = 1e-4;
  bool relative_threshold = true;  // PyTorch's threshold_mode 'rel'; false: 'abs'
  int cooldown = 0;
  float min_lr = 0.0f;
  float eps = 1e-8f;

  // What it has seen so far (public only so that the options above can be designated-
  // initialised; restore() and state() are the way to set and read it).
  struct Tracked {
    float current = 0;  // 0: not started, use lr
    double best = std::numeric_limits<double>::infinity();  // infinity: nothing seen yet
    int bad_epochs = 0, cooldown_left = 0;
  } tracked{};

  float at(const Progress&) const { return tracked.current > 0 ? tracked.current : lr; }

  void end_epoch(const EpochMetrics& m) {
    auto& t = tracked;
    if (t.current <= 0) t.current = lr;
    const bool maximize = metric == Metric::test_accuracy || metric == Metric::train_accuracy;
    const double value = pick(m);
    if (better(value, maximize)) {
      t.best = value;
      t.bad_epochs = 0;
    } else {
      ++t.bad_epochs;
    }
    if (t.cooldown_left > 0) {
      --t.cooldown_left;
      t.bad_epochs = 0;
    }
    if (t.bad_epochs > patience) {
      const float reduced = std::max(t.current * factor, min_lr);
      if (t.current - reduced > eps) t.current = reduced;
      t.cooldown_left = cooldown;
      t.bad_epochs = 0;
    }
  }

  // The mutable part, for checkpoints.
  std::string state() const {
    return fmt::format("{:a} {:a} {} {}", tracked.current, tracked.best, tracked.bad_epochs, tracked.cooldown_left);
  }
  void restore(const std::string& text) {
    Tracked t;
    char best[64] = {};
    if (std::sscanf(text.c_str(), "%a %63s %d %d", &t.current, best, &t.bad_epochs, &t.cooldown_left) != 4)
      throw Error(fmt::format("schedule::ReduceOnPlateau: can't restore the state '{}'", text));
    char* end = nullptr;
    t.best = std::strtod(best, &end);
    if (end == best || *end != '\0')
      throw Error(fmt::format("schedule::ReduceOnPlateau: can't restore the state '{}'", text));
    tracked = t;
  }

  double pick(const EpochMetrics& m) const {
    switch (metric) {
      case Metric::test_loss: return m.has_test ? m.test_loss : m.train_loss;
      case Metric::test_accuracy: return m.has_test ? m.test_accuracy : m.train_accuracy;
      case Metric::train_loss: return m.train_loss;
      case Metric::train_accuracy: return m.train_accuracy;
    }
    return m.train_loss;
  }
  bool better(double value, bool maximize) const {
    const double best = tracked.best;
    if (best == std::numeric_limits<double>::infinity()) return true;  // the first epoch
    if (maximize) return relative_threshold ? value > best * (1 + threshold) : value > best + threshold;
    return relative_threshold ? value < best * (1 - threshold) : value < best - threshold;
  }
};

}  // namespace ctnn::schedule
