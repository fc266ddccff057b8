// Learning-rate schedules against torch.optim.lr_scheduler (tests/golden/data/sched.ctv, written
// by tests/golden/make_golden_optim.py, whose CONFIG comments these configurations repeat), and
// the --schedule parser.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <ctnn/ctnn.hpp>

#include "support/golden.hpp"

using namespace ctnn;

namespace {

const test::GoldenFile& golden() {
  static const test::GoldenFile f = test::GoldenFile::load("sched");
  return f;
}

// The golden tensor is [steps, groups]: the lr each group uses for optimizer step s. Every
// group's base lr is base_lrs[g] (or `bases` when given). Float32-stored references: 1e-6 of
// the base lr (or of the lr, when larger) is about 10 float32 ulps, far below the change of any
// schedule over one step.
void check(const char* name, const Schedule& s, std::vector<double> bases = {}) {
  const auto& t = golden()[name];
  REQUIRE(t.shape.size() == 2);
  const auto steps = static_cast<std::size_t>(t.shape[0]), groups = static_cast<std::size_t>(t.shape[1]);
  if (bases.empty())
    for (std::size_t g = 0; g < groups; ++g) bases.push_back(golden()["base_lrs"].at(g));
  REQUIRE(bases.size() == groups);
  double worst = 0;
  for (std::size_t step = 0; step < steps; ++step)
    for (std::size_t g = 0; g < groups; ++g) {
      const double want = t.at(step * groups + g), got = s.lr(static_cast<long long>(step), bases[g]);
      const double err = std::fabs(got - want) / std::max(bases[g], std::fabs(want));
      if (err > worst) worst = err;
      if (err > 1e-6) FAIL_CHECK(std::string(name) << " step " << step << " group " << g << ": " << got << ", torch " << want);
    }
  test::record("sched", name, worst);
}

}  // namespace

TEST_CASE("schedule: StepLR and MultiStepLR match torch") {
  check("step", StepLR{.step_size = 7, .gamma = 0.5});
  check("multistep", MultiStepLR{.milestones = {20, 12, 5, 12}, .gamma = 0.3});
}

TEST_CASE("schedule: CosineAnnealingLR matches torch, with and without eta_min") {
  check("cosine", CosineAnnealingLR{.t_max = 40});
  check("cosine_eta", CosineAnnealingLR{.t_max = 25, .eta_min = 1e-3});
}

TEST_CASE("schedule: OneCycleLR matches torch (cos, linear, three-phase, scalar max_lr)") {
  check("onecycle", OneCycleLR{.total_steps = 50});
  check("onecycle_linear", OneCycleLR{.total_steps = 50, .pct_start = 0.25, .anneal = Anneal::linear,
                                      .div_factor = 10, .final_div_factor = 100});
  check("onecycle_three", OneCycleLR{.total_steps = 50, .three_phase = true});
  check("onecycle_scalar", OneCycleLR{.total_steps = 37, .max_lr = 0.5});
  // torch raises past total_steps; so do we.
  const Schedule s = OneCycleLR{.total_steps = 50};
  CHECK_NOTHROW(s.lr(50, 0.1));
  CHECK_THROWS_AS(s.lr(51, 0.1), std::out_of_range);
}

TEST_CASE("schedule: warm-up then decay matches torch's SequentialLR") {
  check("warmup_cosine",
        WarmupDecay{.warmup_steps = 8, .total_steps = 60, .start_factor = 0.1, .final_factor = 0.05}, {0.1});
  check("warmup_linear", WarmupDecay{.warmup_steps = 10, .total_steps = 60, .start_factor = 0.25,
                                     .final_factor = 0.02, .decay = Anneal::linear});
  // Constant after the end.
  const Schedule s = WarmupDecay{.warmup_steps = 2, .total_steps = 10, .final_factor = 0.5, .decay = Anneal::linear};
  CHECK(s.lr(0, 1.0) == 0.0);
  CHECK(s.lr(10, 1.0) == doctest::Approx(0.5));
  CHECK(s.lr(1000, 1.0) == doctest::Approx(0.5));
}

TEST_CASE("schedule: PiecewiseLinear::triangle is airbench's lr schedule") {
  check("triangle", PiecewiseLinear::triangle(97));
  check("triangle", PiecewiseLinear{97, {{0.0, 0.2}, {0.23, 1.0}, {1.0, 0.07}}});
  // Constant outside the knots, and two knots at one step make a jump.
  const Schedule s = PiecewiseLinear{100, {{0.1, 1.0}, {0.5, 2.0}, {0.5, 0.5}, {0.9, 0.0}}};
  CHECK(s.lr(0, 1.0) == 1.0);
  CHECK(s.lr(30, 1.0) == doctest::Approx(1.5));
  CHECK(s.lr(49, 1.0) == doctest::Approx(1.975));
  CHECK(s.lr(50, 1.0) == doctest::Approx(0.5));
  CHECK(s.lr(70, 1.0) == doctest::Approx(0.25));
  CHECK(s.lr(95, 1.0) == 0.0);
}

TEST_CASE("schedule: apply scales every group's base lr, whatever was applied before") {
  std::vector<float> a(3, 1.f), ga(3, 0.f), b(2, 1.f), gb(2, 0.f);
  Parameters<float> pa{{"a", ParamKind::weight, a.data(), ga.data(), 3, {3}}};
  Parameters<float> pb{{"b", ParamKind::norm_bias, b.data(), gb.data(), 2, {2}}};
  SGD opt{std::vector<ParamGroup<float>>{{pa, 0.1, 5e-4}, {pb, 6.4, 5e-4 / 64}}, SGDOptions{.momentum = 0.9}};
  const Schedule s = PiecewiseLinear::triangle(100);
  s.apply(opt, 60);
  s.apply(opt, 10);
  const double f = s.lr(10, 1.0);
  CHECK(opt.param_groups()[0].lr == doctest::Approx(0.1 * f));
  CHECK(opt.param_groups()[1].lr == doctest::Approx(6.4 * f));
  CHECK(opt.param_groups()[0].base_lr == 0.1);
  CHECK(opt.param_groups()[1].weight_decay == doctest::Approx(5e-4 / 64));  // schedules leave decay alone
  Schedule none;
  none.apply(opt, 5);
  CHECK(opt.param_groups()[1].lr == 6.4);
}

TEST_CASE("schedule: bad settings are refused with the schedule's name") {
  auto msg = [](auto make) {
    try {
      Schedule s = make();
      (void)s;
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  CHECK(msg([] { return StepLR{.step_size = 0}; }).find("StepLR: step_size") == 0);
  CHECK(msg([] { return MultiStepLR{}; }).find("MultiStepLR: no milestones") == 0);
  CHECK(msg([] { return CosineAnnealingLR{.t_max = 0}; }).find("CosineAnnealingLR") == 0);
  CHECK(msg([] { return OneCycleLR{.total_steps = 3}; }).find("leaves a phase without steps") != std::string::npos);
  CHECK(msg([] { return OneCycleLR{.total_steps = 100, .pct_start = 1.0}; }).find("pct_start") != std::string::npos);
  CHECK(msg([] { return WarmupDecay{.warmup_steps = 10, .total_steps = 10}; }).find("WarmupDecay") == 0);
  CHECK(msg([] { return PiecewiseLinear{10, {{0.5, 1.0}, {0.2, 1.0}}}; }).find("must not decrease") !=
        std::string::npos);
  CHECK(msg([] { return PiecewiseLinear{10, {{1.5, 1.0}}}; }).find("outside [0, 1]") != std::string::npos);
  CHECK_THROWS_AS(Schedule{}.lr(-1, 0.1), std::out_of_range);
}

TEST_CASE("schedule: parse_schedule reads the trainer's --schedule strings") {
  const ScheduleContext c{.total_steps = 1000, .steps_per_epoch = 10};
  auto same = [](const Schedule& a, const Schedule& b, long long steps) {
    for (long long s = 0; s <= steps; ++s)
      if (a.lr(s, 0.3) != b.lr(s, 0.3)) return false;
    return true;
  };
  CHECK(same(parse_schedule("none", c), Schedule{}, 1000));
  CHECK(same(parse_schedule("constant", c), Schedule{}, 1000));
  CHECK(same(parse_schedule("step:30,0.1", c), StepLR{300, 0.1}, 1000));
  CHECK(same(parse_schedule("step:30", c), StepLR{300, 0.1}, 1000));
  CHECK(same(parse_schedule("multistep:30/60/80,0.2", c), MultiStepLR{{300, 600, 800}, 0.2}, 1000));
  CHECK(same(parse_schedule("cosine", c), CosineAnnealingLR{1000, 0.0}, 1000));
  CHECK(same(parse_schedule("cosine:1e-4", c), CosineAnnealingLR{1000, 1e-4}, 1000));
  CHECK(same(parse_schedule("onecycle", c), OneCycleLR{.total_steps = 1000}, 1000));
  CHECK(same(parse_schedule("onecycle:max_lr=0.4,pct=0.25,anneal=linear,div=10,final_div=100,three_phase=1", c),
             OneCycleLR{.total_steps = 1000, .max_lr = 0.4, .pct_start = 0.25, .anneal = Anneal::linear,
                        .div_factor = 10, .final_div_factor = 100, .three_phase = true},
             1000));
  CHECK(same(parse_schedule("warmup:epochs=2.5", c), WarmupDecay{.warmup_steps = 25, .total_steps = 1000}, 1000));
  CHECK(same(parse_schedule("warmup:steps=40,decay=linear,start=0.1,final=0.01", c),
             WarmupDecay{40, 1000, 0.1, 0.01, Anneal::linear}, 1000));
  CHECK(same(parse_schedule("triangle", c), PiecewiseLinear::triangle(1000), 1000));
  CHECK(same(parse_schedule("triangle:0.1,0.3,0", c), PiecewiseLinear::triangle(1000, 0.1, 0.3, 0.0), 1000));
  CHECK(same(parse_schedule("piecewise:0:0.2,0.23:1,1:0.07", c), PiecewiseLinear::triangle(1000), 1000));
  CHECK(parse_schedule("onecycle", c).describe().find("OneCycleLR(total_steps=1000") == 0);
}

TEST_CASE("schedule: parse_schedule explains what is wrong") {
  const ScheduleContext c{.total_steps = 1000, .steps_per_epoch = 10};
  auto msg = [&](const char* spec, const ScheduleContext& ctx) {
    try {
      (void)parse_schedule(spec, ctx);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  auto has = [&](const char* spec, const char* part, const ScheduleContext* ctx = nullptr) {
    const std::string m = msg(spec, ctx ? *ctx : c);
    INFO(spec << " -> " << m);
    CHECK(m.find(part) != std::string::npos);
    CHECK(m.find("schedule \"" + std::string(spec) + "\"") == 0);
  };
  has("linear", "unknown schedule \"linear\"");
  has("", "unknown schedule \"\"");
  has("step", "needs a step size");
  has("step:", "nothing after ':'");
  has("step:x,0.1", "step size \"x\" is not a number");
  has("step:2.5", "not a whole number");
  has("step:0", "StepLR: step_size must be > 0");
  has("step:30,0.1,4", "step takes EPOCHS[,GAMMA]");
  has("multistep:30,60,80", "multistep takes");
  has("multistep:30/-5", "not a whole number");
  has("cosine:abc", "eta_min \"abc\" is not a number");
  has("onecycle:pct=2", "pct_start must be in (0, 1)");
  has("onecycle:speed=2", "unknown key \"speed\"");
  has("onecycle:pct", "is not KEY=VALUE");
  has("onecycle:anneal=exp", "neither cos nor linear");
  has("onecycle:three_phase=yes", "not 0 or 1");
  has("warmup", "needs its length");
  has("warmup:decay=cos", "needs epochs=E or steps=N");
  has("warmup:epochs=100", "total_steps must be greater than warmup_steps");
  has("triangle:0.2,0.3", "triangle takes START,PEAK_AT,END");
  has("piecewise:0.5", "is not FRACTION:FACTOR");
  has("none:1", "takes no arguments");
  has("nan", "unknown schedule");
  const ScheduleContext unknown_total{};
  has("cosine", "total number of steps is not known", &unknown_total);
  has("cosine:nan", "is not a number");
}
