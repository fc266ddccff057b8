// WeightEMA and Lookahead against the same arithmetic done directly in double precision.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include <ctnn/ctnn.hpp>

using namespace ctnn;

namespace {

// Two parameter tensors and one buffer, with values that change like training would.
struct Model {
  std::vector<float> a{1.f, -2.f, 3.f}, b{0.5f, 0.25f}, running{10.f, 20.f};
  std::vector<float> ga = std::vector<float>(3), gb = std::vector<float>(2);
  Parameters<float> params() {
    return {{"0.weight", ParamKind::weight, a.data(), ga.data(), a.size(), {a.size()}},
            {"1.bias", ParamKind::norm_bias, b.data(), gb.data(), b.size(), {b.size()}}};
  }
  std::vector<BufferRef<float>> buffers() { return {{"1.running_mean", running.data(), running.size(), {2}, ParamKind::running_mean}}; }
  std::vector<float*> all() { return {a.data(), b.data(), running.data()}; }
  std::vector<std::size_t> sizes() const { return {a.size(), b.size(), running.size()}; }
  // A deterministic "optimizer step": every value moves by an amount depending on the step.
  void train_step(int s) {
    const auto t = all();
    const auto n = sizes();
    for (std::size_t j = 0; j < t.size(); ++j)
      for (std::size_t i = 0; i < n[j]; ++i)
        t[j][i] += static_cast<float>(std::sin(1.3 * s + static_cast<double>(i)) * static_cast<double>(j + 1));
  }
  std::vector<double> flat() {
    std::vector<double> v;
    auto s = sizes();
    auto t = all();
    for (std::size_t j = 0; j < t.size(); ++j) v.insert(v.end(), t[j], t[j] + s[j]);
    return v;
  }
};

}  // namespace

TEST_CASE("ema: WeightEMA follows the exponential average, with buffers, and swaps in and back") {
  Model m;
  WeightEMA<float> ema(m.params(), 0.9, m.buffers());
  std::vector<double> want;
  const double decays[] = {0.9, 0.9, 0.5, 0.9, 0.9};
  for (int s = 0; s < 5; ++s) {
    m.train_step(s);
    if (s == 2) ema.update(decays[s]);  // this call's own decay
    else ema.update();
    const auto w = m.flat();
    if (s == 0) want = w;  // the first update copies, as AveragedModel's does
    else
      for (std::size_t i = 0; i < w.size(); ++i) want[i] = decays[s] * want[i] + (1 - decays[s]) * w[i];
  }
  CHECK(ema.updates() == 5);
  const std::vector<double> live = m.flat();
  std::vector<double> avg;
  for (std::size_t t = 0; t < 3; ++t) avg.insert(avg.end(), ema.average(t), ema.average(t) + m.sizes()[t]);
  for (std::size_t i = 0; i < want.size(); ++i) CHECK(avg[i] == doctest::Approx(want[i]).epsilon(1e-6));
  CHECK(std::fabs(avg[0] - live[0]) > 1e-3);  // the average really differs from the weights

  {
    auto scope = ema.use_averaged();
    CHECK(ema.swapped());
    const auto inside = m.flat();
    for (std::size_t i = 0; i < want.size(); ++i) CHECK(inside[i] == doctest::Approx(want[i]).epsilon(1e-6));
    CHECK_THROWS_AS(ema.update(), std::logic_error);
    CHECK_THROWS_AS((void)ema.use_averaged(), std::logic_error);
  }
  CHECK_FALSE(ema.swapped());
  CHECK(m.flat() == live);  // swapped back exactly

  ema.copy_to_network();
  const auto kept = m.flat();
  for (std::size_t i = 0; i < want.size(); ++i) CHECK(kept[i] == doctest::Approx(want[i]).epsilon(1e-6));
}

TEST_CASE("ema: without buffers the running statistics stay live") {
  Model m;
  WeightEMA<float> ema(m.params(), 0.5);
  m.train_step(0);
  ema.update();
  m.train_step(1);
  ema.update();
  const std::vector<float> running = m.running;
  const float a0 = m.a[0];
  ema.swap();
  CHECK(m.running == running);
  CHECK(m.a[0] != a0);
  ema.swap();
  CHECK(m.a[0] == a0);
  CHECK_THROWS_AS(WeightEMA<float>(m.params(), 1.5), std::invalid_argument);
  CHECK_THROWS_AS(ema.update(-0.1), std::invalid_argument);
}

TEST_CASE("lookahead: every k steps slow = lerp(slow, fast, 1 - decay), then fast = slow") {
  Model m;
  Lookahead<float> la(m.params(), 3, m.buffers());
  std::vector<double> slow = m.flat();
  const long long total = 12;
  for (long long steps_done = 1; steps_done <= total; ++steps_done) {
    m.train_step(static_cast<int>(steps_done));
    const double decay = Lookahead<float>::airbench_decay(steps_done, total);
    const auto fast = m.flat();
    const bool synced = la.step(steps_done, decay);
    CHECK(synced == (steps_done % 3 == 0));
    if (synced) {
      for (std::size_t i = 0; i < slow.size(); ++i) slow[i] += (1 - decay) * (fast[i] - slow[i]);
      const auto now = m.flat();
      for (std::size_t i = 0; i < slow.size(); ++i) CHECK(now[i] == doctest::Approx(slow[i]).epsilon(1e-6));
    } else {
      CHECK(m.flat() == fast);
    }
  }
  CHECK(la.syncs() == 4);
  // Off-cycle steps leave the network alone; finish() puts the slow weights back.
  m.train_step(99);
  CHECK_FALSE(la.step(13, 0.5));
  la.finish();
  const auto end = m.flat();
  for (std::size_t i = 0; i < slow.size(); ++i) CHECK(end[i] == doctest::Approx(slow[i]).epsilon(1e-6));
  // decay 0 takes the fast weights as they are.
  m.train_step(100);
  const auto fast = m.flat();
  la.sync(0.0);
  CHECK(m.flat() == fast);
  CHECK(la.slow(0)[0] == m.a[0]);
}

TEST_CASE("lookahead: airbench's decay schedule and bad settings") {
  CHECK(Lookahead<float>::airbench_decay(0, 100) == 0.0);
  CHECK(Lookahead<float>::airbench_decay(100, 100) == doctest::Approx(std::pow(0.95, 5)));
  CHECK(Lookahead<float>::airbench_decay(50, 100) == doctest::Approx(std::pow(0.95, 5) / 8));
  Model m;
  CHECK_THROWS_AS(Lookahead<float>(m.params(), 0), std::invalid_argument);
  Lookahead<float> la(m.params());
  CHECK(la.k() == 5);
  CHECK_THROWS_AS(la.sync(1.01), std::invalid_argument);
  CHECK_THROWS_AS(Lookahead<float>::airbench_decay(1, 0), std::invalid_argument);
}

TEST_CASE("lookahead: on a network's parameters and BatchNorm statistics") {
  using Tiny = Sequential<Input<3, 8, 8>, Conv<3, 4, 3>, BatchNorm, ReLU, MaxPool<2>, Linear<3>>;
  Tiny net(2);
  Lookahead la(net.parameters(), 2, net.buffers());
  WeightEMA ema(net.parameters(), 0.9, net.buffers());
  std::vector<float> before(net.parameter_data(), net.parameter_data() + Tiny::param_count);
  for (std::size_t i = 0; i < Tiny::param_count; ++i) net.parameter_data()[i] += 1.f;
  for (std::size_t i = 0; i < Tiny::buffer_count; ++i) net.buffer_data()[i] += 2.f;
  ema.update();
  la.sync(0.75);  // slow moves a quarter of the way
  for (std::size_t i = 0; i < Tiny::param_count; ++i)
    CHECK(net.parameter_data()[i] == doctest::Approx(before[i] + 0.25f));
  CHECK(net.buffer_data()[0] == doctest::Approx(0.0 + 0.5));  // running_mean starts at 0
}
