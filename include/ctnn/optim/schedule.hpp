#pragma once
// Learning-rate schedules evaluated per optimizer step: each is a pure function of the step
// index (0-based: the step about to be taken) and a parameter group's base lr, equal to its
// torch.optim.lr_scheduler counterpart stepped once per optimizer step (opt.step();
// sched.step()). Being pure, a schedule needs no state of its own: a resumed run gets the
// right lr from the optimizer's step count alone.
//
//   ctnn::Schedule sched = ctnn::OneCycleLR{.total_steps = epochs * batches_per_epoch};
//   for (...) {                      // every optimizer step
//     sched.apply(opt, opt.steps());  // each group: lr = sched.lr(step, group.base_lr)
//     opt.step();
//   }
//
// How groups are treated (torch's behaviour for every schedule here): a schedule maps each
// group's base lr (the lr the group was built with) to its lr at the step. Multiplicative
// schedules (StepLR, MultiStepLR, WarmupDecay, PiecewiseLinear, and CosineAnnealingLR with
// eta_min = 0) scale every group by the same factor, as LambdaLR does, so group lr ratios (an
// airbench-style lr x 64 for BN biases) hold throughout. Two schedules take absolute values,
// as in torch: CosineAnnealingLR's eta_min is the same floor for every group, and OneCycleLR
// with max_lr set gives every group that same peak; leave max_lr unset to make each group's
// base lr its own peak (torch's max_lr = [group["lr"] for each group]).
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numbers>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace ctnn {

enum class Anneal { cos, linear };

namespace detail {
inline double cos_anneal(double start, double end, double pct) {
  return end + (start - end) / 2 * (std::cos(std::numbers::pi * pct) + 1);
}
inline double linear_anneal(double start, double end, double pct) { return (end - start) * pct + start; }
inline double anneal(Anneal a, double start, double end, double pct) {
  return a == Anneal::cos ? cos_anneal(start, end, pct) : linear_anneal(start, end, pct);
}
inline std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}
}  // namespace detail

// The base lr at every step ("none").
struct ConstantLR {
  double lr(long long, double base_lr) const { return base_lr; }
  void validate() {}
  std::string describe() const { return "constant"; }
};

// torch.optim.lr_scheduler.StepLR: base x gamma^(step / step_size).
struct StepLR {
  long long step_size = 1;
  double gamma = 0.1;
  double lr(long long step, double base_lr) const {
    return base_lr * std::pow(gamma, static_cast<double>(step / step_size));
  }
  void validate() {
    if (step_size <= 0) throw std::invalid_argument("StepLR: step_size must be > 0");
    if (!(gamma >= 0)) throw std::invalid_argument("StepLR: gamma must be >= 0");
  }
  std::string describe() const {
    return "StepLR(step_size=" + std::to_string(step_size) + ", gamma=" + detail::num(gamma) + ")";
  }
};

// torch.optim.lr_scheduler.MultiStepLR: base x gamma^(number of milestones <= step); a
// milestone listed twice counts twice, as in torch.
struct MultiStepLR {
  std::vector<long long> milestones;
  double gamma = 0.1;
  double lr(long long step, double base_lr) const {
    const auto passed = std::upper_bound(milestones.begin(), milestones.end(), step) - milestones.begin();
    return base_lr * std::pow(gamma, static_cast<double>(passed));
  }
  void validate() {
    if (milestones.empty()) throw std::invalid_argument("MultiStepLR: no milestones given");
    for (long long m : milestones)
      if (m < 0) throw std::invalid_argument("MultiStepLR: milestones must be >= 0");
    if (!(gamma >= 0)) throw std::invalid_argument("MultiStepLR: gamma must be >= 0");
    std::sort(milestones.begin(), milestones.end());
  }
  std::string describe() const {
    std::string s = "MultiStepLR(milestones=[";
    for (std::size_t i = 0; i < milestones.size(); ++i) {
      if (i) s += ',';
      s += std::to_string(milestones[i]);
    }
    return s + "], gamma=" + detail::num(gamma) + ")";
  }
};

// torch.optim.lr_scheduler.CosineAnnealingLR in its closed form:
// eta_min + (base - eta_min) (1 + cos(pi step / t_max)) / 2 (past t_max the cosine rises again,
// as torch's does).
struct CosineAnnealingLR {
  long long t_max = 1;
  double eta_min = 0.0;  // absolute, the same for every group
  double lr(long long step, double base_lr) const {
    return eta_min + (base_lr - eta_min) *
                         (1 + std::cos(std::numbers::pi * static_cast<double>(step) / static_cast<double>(t_max))) / 2;
  }
  void validate() {
    if (t_max <= 0) throw std::invalid_argument("CosineAnnealingLR: t_max must be > 0");
    if (!(eta_min >= 0)) throw std::invalid_argument("CosineAnnealingLR: eta_min must be >= 0");
  }
  std::string describe() const {
    return "CosineAnnealingLR(t_max=" + std::to_string(t_max) + ", eta_min=" + detail::num(eta_min) + ")";
  }
};

// torch.optim.lr_scheduler.OneCycleLR, lr only (as with cycle_momentum=False: the momentum
// is not cycled). Rises from max_lr / div_factor to max_lr over the first pct_start of the
// steps, then falls to max_lr / div_factor / final_div_factor at step total_steps - 1; with
// three_phase it first falls back to max_lr / div_factor symmetrically. Phase boundaries are
// torch's (pct_start x total_steps - 1, ...), not rounded to whole steps. Like torch, a step
// past total_steps is an error (step total_steps itself extrapolates the last phase).
struct OneCycleLR {
  long long total_steps = 0;
  std::optional<double> max_lr{};  // unset: each group's base lr is its own peak
  double pct_start = 0.3;
  Anneal anneal = Anneal::cos;
  double div_factor = 25.0;
  double final_div_factor = 1e4;
  bool three_phase = false;

  double lr(long long step, double base_lr) const {
    if (step > total_steps)
      throw std::out_of_range("OneCycleLR: step " + std::to_string(step) + " is past total_steps " +
                              std::to_string(total_steps));
    const double peak = max_lr.value_or(base_lr);
    const double initial = peak / div_factor, floor = initial / final_div_factor;
    const double up_end = pct_start * static_cast<double>(total_steps) - 1;
    const double last_end = static_cast<double>(total_steps) - 1;
    const double s = static_cast<double>(step);
    struct Phase {
      double end, from, to;
    };
    const Phase two[] = {{up_end, initial, peak}, {last_end, peak, floor}};
    const Phase three[] = {{up_end, initial, peak},
                           {2 * pct_start * static_cast<double>(total_steps) - 2, peak, initial},
                           {last_end, initial, floor}};
    const std::span<const Phase> phases = three_phase ? std::span<const Phase>(three) : std::span<const Phase>(two);
    double start = 0;
    for (std::size_t i = 0; i < phases.size(); ++i) {
      if (s <= phases[i].end || i + 1 == phases.size())
        return detail::anneal(anneal, phases[i].from, phases[i].to, (s - start) / (phases[i].end - start));
      start = phases[i].end;
    }
    return floor;  // not reached
  }
  void validate() {
    if (total_steps <= 0) throw std::invalid_argument("OneCycleLR: total_steps must be > 0");
    if (max_lr && !(*max_lr >= 0)) throw std::invalid_argument("OneCycleLR: max_lr must be >= 0");
    if (!(pct_start > 0 && pct_start < 1)) throw std::invalid_argument("OneCycleLR: pct_start must be in (0, 1)");
    if (!(div_factor > 0)) throw std::invalid_argument("OneCycleLR: div_factor must be > 0");
    if (!(final_div_factor > 0)) throw std::invalid_argument("OneCycleLR: final_div_factor must be > 0");
    // Every phase must last more than zero steps, or its progress would divide by zero (torch
    // then fails with ZeroDivisionError or returns NaN).
    const double t = static_cast<double>(total_steps), up = pct_start * t - 1;
    const bool ok = three_phase ? (up > 0 && 2 * pct_start * t - 2 > up && t - 1 > 2 * pct_start * t - 2)
                                : (up > 0 && t - 1 > up);
    if (!ok)
      throw std::invalid_argument("OneCycleLR: total_steps " + std::to_string(total_steps) + " with pct_start " +
                                  detail::num(pct_start) + " leaves a phase without steps");
  }
  std::string describe() const {
    return "OneCycleLR(total_steps=" + std::to_string(total_steps) +
           ", max_lr=" + (max_lr ? detail::num(*max_lr) : std::string("group lr")) + ", pct_start=" +
           detail::num(pct_start) + ", anneal=" + (anneal == Anneal::cos ? "cos" : "linear") +
           ", div_factor=" + detail::num(div_factor) + ", final_div_factor=" + detail::num(final_div_factor) +
           (three_phase ? ", three_phase" : "") + ")";
  }
};

// Linear warm-up from start_factor x base to base over warmup_steps, then a linear or cosine
// decay to final_factor x base at total_steps, constant after. torch: SequentialLR of
// LinearLR(start_factor, 1, warmup_steps) and LinearLR(1, final_factor, total - warmup) or
// CosineAnnealingLR(total - warmup, eta_min = final_factor x base), milestone warmup_steps.
struct WarmupDecay {
  long long warmup_steps = 0;
  long long total_steps = 0;
  double start_factor = 0.0;
  double final_factor = 0.0;
  Anneal decay = Anneal::cos;

  double lr(long long step, double base_lr) const {
    const double s = static_cast<double>(step);
    if (step < warmup_steps) return base_lr * (start_factor + (1 - start_factor) * s / static_cast<double>(warmup_steps));
    const double p =
        std::min(1.0, (s - static_cast<double>(warmup_steps)) / static_cast<double>(total_steps - warmup_steps));
    return base_lr * (decay == Anneal::cos ? detail::cos_anneal(1.0, final_factor, p)
                                           : detail::linear_anneal(1.0, final_factor, p));
  }
  void validate() {
    if (warmup_steps < 0) throw std::invalid_argument("WarmupDecay: warmup_steps must be >= 0");
    if (total_steps <= warmup_steps)
      throw std::invalid_argument("WarmupDecay: total_steps must be greater than warmup_steps");
    if (!(start_factor >= 0)) throw std::invalid_argument("WarmupDecay: start_factor must be >= 0");
    if (!(final_factor >= 0)) throw std::invalid_argument("WarmupDecay: final_factor must be >= 0");
  }
  std::string describe() const {
    return "WarmupDecay(warmup_steps=" + std::to_string(warmup_steps) + ", total_steps=" +
           std::to_string(total_steps) + ", start_factor=" + detail::num(start_factor) + ", final_factor=" +
           detail::num(final_factor) + ", decay=" + (decay == Anneal::cos ? "cos" : "linear") + ")";
  }
};

// A factor of the base lr interpolated linearly between knots (fraction of total_steps,
// factor), constant before the first knot and after the last. A knot sits at step
// floor(fraction x total_steps), as airbench computes its warm-up length with int(), so
//   PiecewiseLinear::triangle(total)  (0 -> 0.2, 0.23 -> 1.0, 1 -> 0.07)
// is exactly airbench's lr schedule. Two knots at one step make a jump (the later one holds
// from that step on).
struct PiecewiseLinear {
  long long total_steps = 0;
  std::vector<std::pair<double, double>> knots;  // (fraction in [0, 1], factor), fractions non-decreasing

  static PiecewiseLinear triangle(long long total_steps, double start = 0.2, double peak_at = 0.23,
                                  double end = 0.07) {
    return {total_steps, {{0.0, start}, {peak_at, 1.0}, {1.0, end}}};
  }

  double factor(long long step) const {
    std::size_t k = 0;  // the last knot at or before `step`
    while (k + 1 < knots.size() && knot_step(k + 1) <= step) ++k;
    if (step < knot_step(0)) return knots.front().second;
    if (k + 1 == knots.size()) return knots.back().second;
    const double a = static_cast<double>(knot_step(k)), b = static_cast<double>(knot_step(k + 1));
    const double frac = (static_cast<double>(step) - a) / (b - a);
    return knots[k].second + (knots[k + 1].second - knots[k].second) * frac;
  }
  double lr(long long step, double base_lr) const { return base_lr * factor(step); }
  void validate() {
    if (total_steps <= 0) throw std::invalid_argument("PiecewiseLinear: total_steps must be > 0");
    if (knots.empty()) throw std::invalid_argument("PiecewiseLinear: no knots given");
    for (std::size_t i = 0; i < knots.size(); ++i) {
      const auto [f, v] = knots[i];
      if (!(f >= 0 && f <= 1))
        throw std::invalid_argument("PiecewiseLinear: knot " + std::to_string(i) + " is at fraction " +
                                    detail::num(f) + ", outside [0, 1]");
      if (i && f < knots[i - 1].first)
        throw std::invalid_argument("PiecewiseLinear: knot fractions must not decrease (knot " + std::to_string(i) +
                                    ")");
      if (!(v >= 0)) throw std::invalid_argument("PiecewiseLinear: knot factors must be >= 0");
    }
  }
  std::string describe() const {
    std::string s = "PiecewiseLinear(total_steps=" + std::to_string(total_steps) + ", knots=";
    for (std::size_t i = 0; i < knots.size(); ++i) {
      if (i) s += ',';
      s += detail::num(knots[i].first);
      s += ':';
      s += detail::num(knots[i].second);
    }
    return s + ")";
  }

 private:
  long long knot_step(std::size_t k) const {
    return static_cast<long long>(std::floor(knots[k].first * static_cast<double>(total_steps)));
  }
};

// Any of the schedules above as one value (checked when made).
class Schedule {
 public:
  using Variant = std::variant<ConstantLR, StepLR, MultiStepLR, CosineAnnealingLR, OneCycleLR, WarmupDecay,
                               PiecewiseLinear>;

  Schedule() = default;
  template <class S>
    requires std::is_constructible_v<Variant, S>
  Schedule(S s) {  // NOLINT(google-explicit-constructor): a schedule is any of these
    s.validate();
    v_ = std::move(s);
  }

  // The lr at step `step` (0-based) of a group whose base lr is `base_lr`.
  double lr(long long step, double base_lr) const {
    if (step < 0) throw std::out_of_range("schedule: step " + std::to_string(step) + " is negative");
    return std::visit([&](const auto& s) { return s.lr(step, base_lr); }, v_);
  }
  // Sets every parameter group's lr for the step about to be taken (call before opt.step(),
  // with step = opt.steps()).
  template <class Optimizer>
  void apply(Optimizer& optimizer, long long step) const {
    for (auto& g : optimizer.param_groups()) g.lr = lr(step, g.base_lr);
  }
  std::string describe() const {
    return std::visit([](const auto& s) { return s.describe(); }, v_);
  }
  const Variant& get() const { return v_; }

 private:
  Variant v_{ConstantLR{}};
};

// ---------------------------------------------------------------------------------------------
// The trainer's --schedule flag. Epoch counts in the string become steps through
// steps_per_epoch; the others span the whole run (total_steps):
//   none | constant
//   step:EPOCHS[,GAMMA]              StepLR every EPOCHS epochs (gamma 0.1)
//   multistep:E1/E2/...[,GAMMA]      MultiStepLR at those epochs (gamma 0.1)
//   cosine[:ETA_MIN]                 CosineAnnealingLR over the run (eta_min 0, absolute)
//   onecycle[:KEY=V,...]             OneCycleLR over the run; keys max_lr (default: the group's
//                                    lr), pct (0.3), anneal (cos|linear), div (25),
//                                    final_div (1e4), three_phase (0|1)
//   warmup:KEY=V,...                 WarmupDecay; keys epochs or steps (the warm-up, required),
//                                    decay (cos|linear, default cos), start (0), final (0)
//   triangle[:START,PEAK_AT,END]     airbench's PiecewiseLinear (0.2, 0.23, 0.07)
//   piecewise:F:V,F:V,...            PiecewiseLinear with those (fraction, factor) knots
struct ScheduleContext {
  long long total_steps = 0;
  long long steps_per_epoch = 1;
};

// The forms parse_schedule accepts, in one line (for a program's --help and error messages).
inline constexpr const char* schedule_grammar =
    "none, step:EPOCHS[,GAMMA], multistep:E1/E2/...[,GAMMA], cosine[:ETA_MIN], onecycle[:KEY=V,...], "
    "warmup:epochs=E[,decay=cos|linear,start=F,final=F], triangle[:START,PEAK_AT,END], piecewise:F:V,F:V,...";

namespace detail {

struct ScheduleParser {
  std::string_view spec;

  [[noreturn]] void fail(const std::string& why) const {
    throw std::invalid_argument("schedule \"" + std::string(spec) + "\": " + why + " (expected one of: " +
                                schedule_grammar + ")");
  }
  static std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    while (true) {
      const auto at = s.find(sep);
      out.push_back(s.substr(0, at));
      if (at == std::string_view::npos) return out;
      s.remove_prefix(at + 1);
    }
  }
  double number(std::string_view text, const char* what) const {
    const std::string t(text);
    char* end = nullptr;
    errno = 0;
    const double v = t.empty() ? 0 : std::strtod(t.c_str(), &end);
    if (t.empty() || end != t.c_str() + t.size() || errno == ERANGE || !std::isfinite(v))
      fail(std::string(what) + " \"" + t + "\" is not a number");
    return v;
  }
  long long count(std::string_view text, const char* what) const {
    const double v = number(text, what);
    if (v < 0 || v != std::floor(v) || v > 1e15) fail(std::string(what) + " \"" + std::string(text) + "\" is not a whole number >= 0");
    return static_cast<long long>(v);
  }
  Anneal anneal(std::string_view text) const {
    if (text == "cos" || text == "cosine") return Anneal::cos;
    if (text == "linear") return Anneal::linear;
    fail("anneal \"" + std::string(text) + "\" is neither cos nor linear");
  }
  bool flag(std::string_view text, const char* what) const {
    if (text == "1" || text == "true") return true;
    if (text == "0" || text == "false") return false;
    fail(std::string(what) + " \"" + std::string(text) + "\" is not 0 or 1");
  }
  // KEY=V pairs; every key must be one `take` knows.
  template <class Take>
  void pairs(std::string_view args, Take&& take) const {
    if (args.empty()) return;
    for (auto item : split(args, ',')) {
      const auto eq = item.find('=');
      if (eq == std::string_view::npos) fail("\"" + std::string(item) + "\" is not KEY=VALUE");
      if (!take(item.substr(0, eq), item.substr(eq + 1))) fail("unknown key \"" + std::string(item.substr(0, eq)) + "\"");
    }
  }
  void need_total(const ScheduleContext& c) const {
    if (c.total_steps <= 0) fail("the run's total number of steps is not known (ScheduleContext::total_steps)");
  }

  Schedule parse(const ScheduleContext& c) const {
    if (c.steps_per_epoch <= 0) fail("steps_per_epoch must be > 0");
    const auto colon = spec.find(':');
    const std::string_view name = spec.substr(0, colon);
    const bool has_args = colon != std::string_view::npos;
    const std::string_view args = has_args ? spec.substr(colon + 1) : std::string_view{};
    if (has_args && args.empty()) fail("nothing after ':'");
    auto build = [&](auto s) -> Schedule {
      try {
        return Schedule(std::move(s));
      } catch (const std::invalid_argument& e) {
        fail(e.what());
      }
    };

    if (name == "none" || name == "constant") {
      if (has_args) fail(std::string(name) + " takes no arguments");
      return ConstantLR{};
    }
    if (name == "step") {
      if (!has_args) fail("step needs a step size in epochs, e.g. step:30,0.1");
      const auto a = split(args, ',');
      if (a.size() > 2) fail("step takes EPOCHS[,GAMMA]");
      StepLR s{count(a[0], "step size") * c.steps_per_epoch, a.size() > 1 ? number(a[1], "gamma") : 0.1};
      return build(s);
    }
    if (name == "multistep") {
      if (!has_args) fail("multistep needs milestones in epochs, e.g. multistep:30/60/80,0.1");
      const auto a = split(args, ',');
      if (a.size() > 2) fail("multistep takes E1/E2/...[,GAMMA] (milestones separated by '/')");
      MultiStepLR s{{}, a.size() > 1 ? number(a[1], "gamma") : 0.1};
      for (auto m : split(a[0], '/')) s.milestones.push_back(count(m, "milestone") * c.steps_per_epoch);
      return build(s);
    }
    if (name == "cosine") {
      need_total(c);
      CosineAnnealingLR s{c.total_steps, has_args ? number(args, "eta_min") : 0.0};
      return build(s);
    }
    if (name == "onecycle") {
      need_total(c);
      OneCycleLR s{.total_steps = c.total_steps};
      pairs(args, [&](std::string_view k, std::string_view v) {
        if (k == "max_lr") s.max_lr = number(v, "max_lr");
        else if (k == "pct" || k == "pct_start") s.pct_start = number(v, "pct");
        else if (k == "anneal") s.anneal = anneal(v);
        else if (k == "div" || k == "div_factor") s.div_factor = number(v, "div");
        else if (k == "final_div" || k == "final_div_factor") s.final_div_factor = number(v, "final_div");
        else if (k == "three_phase") s.three_phase = flag(v, "three_phase");
        else return false;
        return true;
      });
      return build(s);
    }
    if (name == "warmup") {
      need_total(c);
      if (!has_args) fail("warmup needs its length, e.g. warmup:epochs=1 or warmup:steps=500");
      WarmupDecay s{.warmup_steps = -1, .total_steps = c.total_steps};
      pairs(args, [&](std::string_view k, std::string_view v) {
        if (k == "epochs")
          s.warmup_steps = std::llround(number(v, "epochs") * static_cast<double>(c.steps_per_epoch));
        else if (k == "steps") s.warmup_steps = count(v, "steps");
        else if (k == "decay") s.decay = anneal(v);
        else if (k == "start") s.start_factor = number(v, "start");
        else if (k == "final") s.final_factor = number(v, "final");
        else return false;
        return true;
      });
      if (s.warmup_steps < 0) fail("warmup needs epochs=E or steps=N (>= 0)");
      return build(s);
    }
    if (name == "triangle") {
      need_total(c);
      auto s = PiecewiseLinear::triangle(c.total_steps);
      if (has_args) {
        const auto a = split(args, ',');
        if (a.size() != 3) fail("triangle takes START,PEAK_AT,END");
        s = PiecewiseLinear::triangle(c.total_steps, number(a[0], "start"), number(a[1], "peak_at"),
                                      number(a[2], "end"));
      }
      return build(s);
    }
    if (name == "piecewise") {
      need_total(c);
      if (!has_args) fail("piecewise needs knots FRACTION:FACTOR, e.g. piecewise:0:0.2,0.23:1,1:0.07");
      PiecewiseLinear s{c.total_steps, {}};
      for (auto knot : split(args, ',')) {
        const auto kc = knot.find(':');
        if (kc == std::string_view::npos) fail("knot \"" + std::string(knot) + "\" is not FRACTION:FACTOR");
        s.knots.emplace_back(number(knot.substr(0, kc), "fraction"), number(knot.substr(kc + 1), "factor"));
      }
      return build(s);
    }
    fail("unknown schedule \"" + std::string(name) + "\"");
  }
};

}  // namespace detail

inline Schedule parse_schedule(std::string_view spec, const ScheduleContext& context) {
  return detail::ScheduleParser{spec}.parse(context);
}

}  // namespace ctnn
