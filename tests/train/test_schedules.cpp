// Learning-rate schedules against their formulas. Each expected value is computed here from
// the formula as PyTorch documents it (torch.optim.lr_scheduler), written independently of
// the implementation: closed forms, or PyTorch's own recursive update for ReduceLROnPlateau.
#include <cmath>
#include <numbers>
#include <vector>

#include <catch2/catch.hpp>
#include <ctnn/schedule/schedule.hpp>

using namespace ctnn;
using schedule::Progress;

namespace {
Progress at_epoch(long e) { return {.step = e * 10, .epoch = e, .steps_per_epoch = 10}; }
Progress at_step(long s) { return {.step = s, .epoch = s / 10, .steps_per_epoch = 10}; }
}  // namespace

TEST_CASE("Step: the lr drops by gamma every step_size epochs", "[schedule]") {
  const schedule::Step s{.lr = 0.1f, .step_size = 3, .gamma = 0.5f};
  CHECK(s.at(at_epoch(0)) == Approx(0.1));
  CHECK(s.at(at_epoch(2)) == Approx(0.1));
  CHECK(s.at(at_epoch(3)) == Approx(0.05));
  CHECK(s.at(at_epoch(5)) == Approx(0.05));
  CHECK(s.at(at_epoch(6)) == Approx(0.025));
  CHECK(s.at(at_epoch(10)) == Approx(0.1 * 0.5 * 0.5 * 0.5));
  CHECK_THROWS_WITH((schedule::Step{.step_size = 0}.at(at_epoch(1))), Catch::Contains("step_size must be at least 1"));
}

TEST_CASE("MultiStep: gamma once per milestone passed", "[schedule]") {
  const schedule::MultiStep s{.lr = 1.0f, .milestones = {2, 5}, .gamma = 0.1f};
  const std::vector<double> expected{1, 1, 0.1, 0.1, 0.1, 0.01, 0.01};
  for (long e = 0; e < 7; ++e) CHECK(s.at(at_epoch(e)) == Approx(expected[static_cast<std::size_t>(e)]));
  CHECK_THROWS_WITH((schedule::MultiStep{.milestones = {5, 2}}.at(at_epoch(1))), Catch::Contains("increasing"));
}

TEST_CASE("Cosine: eta_min + (lr - eta_min)(1 + cos(pi t / T)) / 2, per epoch or per step", "[schedule]") {
  const schedule::Cosine s{.lr = 0.2f, .t_max = 8, .eta_min = 0.01f};
  for (long e = 0; e <= 8; ++e) {
    const double expected = 0.01 + (0.2 - 0.01) * (1 + std::cos(std::numbers::pi * e / 8)) / 2;
    CHECK(s.at(at_epoch(e)) == Approx(expected).epsilon(1e-6));
  }
  CHECK(s.at(at_epoch(4)) == Approx((0.2 + 0.01) / 2));  // half way: the mean
  CHECK(s.at(at_epoch(12)) == Approx(0.01));              // held at eta_min past t_max
  const schedule::Cosine per_step{.lr = 1.0f, .t_max = 100, .per_step = true};
  CHECK(per_step.at(at_step(25)) == Approx((1 + std::cos(std::numbers::pi / 4)) / 2));
}

TEST_CASE("OneCycle: PyTorch's two phases of cosine annealing, momentum the other way", "[schedule]") {
  const long total = 100;
  const schedule::OneCycle s{.max_lr = 0.1f, .total_steps = total};  // pct_start 0.3, div 25, final div 1e4
  const double initial = 0.1 / 25, final_lr = initial / 1e4;
  // PyTorch: phase 1 ends at step pct_start * total - 1 = 29, phase 2 at total - 1 = 99.
  auto cos_anneal = [](double from, double to, double pct) { return to + (from - to) / 2 * (std::cos(std::numbers::pi * pct) + 1); };
  for (long step : {0L, 1L, 10L, 29L, 30L, 50L, 98L, 99L}) {
    double lr, momentum;
    if (step <= 29) {
      lr = cos_anneal(initial, 0.1, step / 29.0);
      momentum = cos_anneal(0.95, 0.85, step / 29.0);
    } else {
      lr = cos_anneal(0.1, final_lr, (step - 29) / 70.0);
      momentum = cos_anneal(0.85, 0.95, (step - 29) / 70.0);
    }
    INFO("step " << step);
    CHECK(s.at(at_step(step)) == Approx(lr).epsilon(1e-5));
    REQUIRE(s.momentum(at_step(step)).has_value());
    CHECK(*s.momentum(at_step(step)) == Approx(momentum).epsilon(1e-6));
  }
  CHECK(s.at(at_step(0)) == Approx(0.004));    // max_lr / div_factor
  CHECK(s.at(at_step(29)) == Approx(0.1));     // the peak
  CHECK(s.at(at_step(99)) == Approx(4e-7));    // initial / final_div_factor
  CHECK_THROWS_WITH(s.at(at_step(100)), Catch::Contains("step 101 is past the schedule's 100 steps"));

  const schedule::OneCycle linear{.max_lr = 1.0f, .total_steps = 11, .pct_start = 0.5f, .div_factor = 10, .cosine = false,
                                  .cycle_momentum = false};
  // Phase 1 ends at 0.5 * 11 - 1 = 4.5: steps 0..4 go linearly from 0.1 towards 1.
  CHECK(linear.at(at_step(0)) == Approx(0.1));
  CHECK(linear.at(at_step(3)) == Approx(0.1 + 0.9 * 3 / 4.5));
  CHECK(linear.at(at_step(10)) == Approx(0.1 / 1e4));
  CHECK_FALSE(linear.momentum(at_step(3)).has_value());
}

TEST_CASE("OneCycle three_phase: up, back down to the initial lr, then to the minimum", "[schedule]") {
  const schedule::OneCycle s{.max_lr = 1.0f, .total_steps = 100, .pct_start = 0.25f, .three_phase = true};
  CHECK(s.at(at_step(0)) == Approx(0.04));
  CHECK(s.at(at_step(24)) == Approx(1.0));   // 0.25 * 100 - 1
  CHECK(s.at(at_step(48)) == Approx(0.04));  // 2 * 25 - 2
  CHECK(s.at(at_step(99)) == Approx(0.04 / 1e4));
}

TEST_CASE("LinearWarmup: a factor from start_factor to 1 over the warmup, times the next schedule", "[schedule]") {
  const schedule::LinearWarmup s{schedule::Constant{0.3f}, 10, 0.1f};
  for (long step = 0; step <= 15; ++step) {
    const double factor = 0.1 + 0.9 * static_cast<double>(std::min(step, 10L)) / 10;
    CHECK(s.at(at_step(step)) == Approx(0.3 * factor));
  }
  // In front of a step schedule: the two factors multiply.
  const schedule::Schedule chained = schedule::LinearWarmup{schedule::Step{.lr = 1.0f, .step_size = 1, .gamma = 0.5f}, 20};
  CHECK(chained.at(at_step(5)) == Approx(1.0 * (1.0 / 3 + (2.0 / 3) * 5 / 20)));   // epoch 0
  CHECK(chained.at(at_step(15)) == Approx(0.5 * (1.0 / 3 + (2.0 / 3) * 15 / 20)));  // epoch 1
  CHECK(chained.at(at_step(25)) == Approx(0.25));                                   // warmup over
}

TEST_CASE("ReduceOnPlateau follows PyTorch's bookkeeping", "[schedule]") {
  schedule::ReduceOnPlateau s{.lr = 1.0f, .factor = 0.5f, .patience = 2, .threshold = 0.1, .cooldown = 1, .min_lr = 0.2f};
  schedule::Schedule any = s;
  // PyTorch's algorithm, written out: better = value < best * (1 - threshold); after more than
  // `patience` bad epochs the lr is multiplied by factor (not below min_lr), then `cooldown`
  // epochs in which bad epochs are not counted.
  const std::vector<double> losses{1.0, 0.95, 0.95, 0.95, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5};
  double lr = 1.0, best = INFINITY;
  int bad = 0, cooldown = 0;
  for (std::size_t e = 0; e < losses.size(); ++e) {
    if (losses[e] < best * (1 - 0.1)) best = losses[e], bad = 0;
    else ++bad;
    if (cooldown > 0) --cooldown, bad = 0;
    if (bad > 2) {
      const double reduced = std::max(lr * 0.5, 0.2);
      if (lr - reduced > 1e-8) lr = reduced;
      cooldown = 1, bad = 0;
    }
    any.end_epoch({.test_loss = losses[e], .has_test = true});
    INFO("epoch " << e);
    CHECK(any.at(at_epoch(static_cast<long>(e) + 1)) == Approx(lr));
  }
  CHECK(any.at(at_epoch(20)) == Approx(0.2));  // reached min_lr along the way
  // Its state survives a checkpoint.
  schedule::Schedule copy = schedule::ReduceOnPlateau{.lr = 1.0f};
  copy.restore(any.state());
  CHECK(copy.at(at_epoch(0)) == any.at(at_epoch(0)));
  CHECK(copy.state() == any.state());
  CHECK_THROWS_WITH(copy.restore("nonsense"), Catch::Contains("can't restore"));
}

TEST_CASE("Schedule: empty, copies independent", "[schedule]") {
  schedule::Schedule none;
  CHECK_FALSE(none);
  schedule::Schedule a = schedule::ReduceOnPlateau{.lr = 1.0f, .patience = 0};
  schedule::Schedule b = a;
  a.end_epoch({.train_loss = 1.0});
  a.end_epoch({.train_loss = 2.0});  // no improvement, patience 0: reduce
  CHECK(a.at({}) == Approx(0.1));
  CHECK(b.at({}) == Approx(1.0));  // the copy is untouched
  CHECK_THROWS_WITH(schedule::Schedule{schedule::Constant{0.1f}}.restore("x"), Catch::Contains("keeps no state"));
}
