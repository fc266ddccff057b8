// Thread width vs active count (core/threads.hpp) and the ThreadGovernor (core/thread_governor.hpp):
// the governor's rule and its hysteresis on given samples, the /proc/stat sampler on this
// machine, a real busy process making it lower the count, and the promise that makes it safe to
// run by default: training results do not depend on the active count.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <thread>
#include <vector>

#include <ctnn/ctnn.hpp>

using namespace ctnn;

namespace {

using SeedNet = Sequential<Input<3, 32, 32>, Conv<3, 16, 5>, BatchNorm, ReLU, MaxPool<2>, Conv<16, 32, 5>, BatchNorm,
                           ReLU, MaxPool<2>, Linear<10>>;

// Restores the width and the active count a test changed.
struct RestoreThreads {
  int width = thread_width();
  ~RestoreThreads() { set_num_threads(width); }
};

// Feeds the governor samples in which other processes used `foreign` cores of `cores`, one
// second apart.
struct FakeMachine {
  double foreign = 0;
  int cores = 2;
  double t = 0, busy = 0, own = 0;
  ThreadGovernor::Sampler sampler() {
    return [this](ThreadGovernor::Sample& s, ThreadGovernor::Clock::time_point) {
      t += 1;
      const double ours = std::min<double>(num_threads(), cores - foreign);
      busy += foreign + ours;
      own += ours;
      s.when = ThreadGovernor::Clock::time_point(std::chrono::milliseconds(static_cast<long long>(t * 1000)));
      s.busy_seconds = busy;
      s.own_seconds = own;
      s.cores = cores;
      return true;
    };
  }
};

// Three Adam steps of the seed network on fixed data; `active(step)` is the active thread count
// for each step. Returns every parameter and buffer.
template <class Active>
std::vector<float> train_three_steps(Active active) {
  SeedNet net(7);
  Adam opt{net.parameters(), {.lr = 1e-2}};
  CrossEntropyLoss<SeedNet::out_shape> loss;
  Tensor<SeedNet::in_shape> x(24);
  Rng rng(3);
  for (auto& v : x.span()) v = static_cast<float>(rng.normal());
  std::vector<std::int32_t> labels(24);
  for (auto& l : labels) l = static_cast<std::int32_t>(rng.below(10));
  for (int step = 0; step < 3; ++step) {
    set_active_threads(active(step));
    loss(net.forward(x), labels);
    net.backward(loss.grad());
    opt.step();
    opt.zero_grad();
  }
  std::vector<float> out;
  for (const auto& p : net.parameters()) out.insert(out.end(), p.value, p.value + p.size);
  for (const auto& b : net.buffers()) out.insert(out.end(), b.value, b.value + b.size);
  return out;
}

}  // namespace

TEST_CASE("threads: set_active_threads changes the active count within [1, width] and keeps the width") {
  RestoreThreads restore;
  set_num_threads(2);
  CHECK(thread_width() == 2);
  set_active_threads(1);
  CHECK(num_threads() == 1);
  CHECK(thread_width() == 2);
  set_active_threads(5);
  CHECK(num_threads() == 2);
  set_active_threads(0);
  CHECK(num_threads() == 1);
}

TEST_CASE("thread governor: one core left to others per core they use, half a core counting as one, at least 1") {
  CHECK(governed_threads(2, 2, 0.0) == 2);
  CHECK(governed_threads(2, 2, 0.49) == 2);
  CHECK(governed_threads(2, 2, 0.5) == 1);
  CHECK(governed_threads(2, 2, 1.0) == 1);
  CHECK(governed_threads(2, 2, 1.9) == 1);  // never 0
  CHECK(governed_threads(2, 8, 3.0) == 2);  // cores to spare: the width
  CHECK(governed_threads(8, 8, 3.0) == 5);
  CHECK(governed_threads(8, 8, 2.6) == 5);
  CHECK(governed_threads(1, 2, 1.0) == 1);
  CHECK(governed_threads(4, 4, -1.0) == 4);  // rounding noise below 0 is 0
}

TEST_CASE("thread governor: lowers after two busy intervals, ignores one, raises at once, and off means the width") {
  RestoreThreads restore;
  set_num_threads(2);
  FakeMachine m;
  ThreadGovernor g(std::chrono::milliseconds(0), m.sampler());
  std::vector<ThreadChange> changes;
  g.on_change([&](const ThreadChange& c) { changes.push_back(c); });
  g.tick();  // the first sample only starts the interval
  CHECK(num_threads() == 2);
  m.foreign = 1.0;
  g.tick();  // one busy interval: noise, perhaps
  CHECK(num_threads() == 2);
  m.foreign = 0.0;
  g.tick();
  m.foreign = 1.0;
  g.tick();
  CHECK(num_threads() == 2);
  g.tick();  // the second busy interval in a row
  CHECK(num_threads() == 1);
  CHECK(g.last_foreign() == doctest::Approx(1.0));
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].from == 2);
  CHECK(changes[0].to == 1);
  CHECK(changes[0].cores == 2);
  g.tick();
  CHECK(num_threads() == 1);  // still busy: stays
  m.foreign = 0.1;
  g.tick();  // the other process is gone: back at once
  CHECK(num_threads() == 2);
  CHECK(changes.size() == 2);
  m.foreign = 1.0;
  g.tick();
  g.tick();
  CHECK(num_threads() == 1);
  g.set_enabled(false);
  CHECK(num_threads() == 2);
  g.tick();
  g.tick();
  CHECK(num_threads() == 2);
  CHECK_FALSE(g.enabled());
}

TEST_CASE("thread governor: a sampler that cannot tell turns it off for good") {
  RestoreThreads restore;
  set_num_threads(2);
  int calls = 0;
  ThreadGovernor g(std::chrono::milliseconds(0), [&](ThreadGovernor::Sample&, ThreadGovernor::Clock::time_point) {
    ++calls;
    return false;
  });
  for (int i = 0; i < 5; ++i) g.tick();
  CHECK(calls == 1);
  CHECK(num_threads() == 2);
}

#if defined(__linux__)
TEST_CASE("thread governor: /proc/stat gives this machine's cores and a growing busy time") {
  ThreadGovernor::Sample a, b;
  REQUIRE(ThreadGovernor::read_proc_stat(a, ThreadGovernor::Clock::now()));
  volatile double sink = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
  while (std::chrono::steady_clock::now() < until) sink = sink + 1;  // 0.2 s of this process's CPU time
  REQUIRE(ThreadGovernor::read_proc_stat(b, ThreadGovernor::Clock::now()));
  CHECK(a.cores >= 1);
  CHECK(a.cores == b.cores);
  CHECK(a.cores <= static_cast<int>(std::thread::hardware_concurrency()));
  CHECK(b.own_seconds - a.own_seconds >= 0.1);
  CHECK(b.busy_seconds - a.busy_seconds >= 0.1);  // at 100 ticks/s, 0.2 s of work shows
}

TEST_CASE("thread governor: beside a busy process on a 2-core machine it runs 1 thread") {
  ThreadGovernor::Sample s;
  REQUIRE(ThreadGovernor::read_proc_stat(s, ThreadGovernor::Clock::now()));
  if (s.cores != 2) {
    MESSAGE("CTNN_SKIP: this check is for a machine with 2 usable cores; this one has " << s.cores);
    return;
  }
  RestoreThreads restore;
  set_num_threads(2);
  const pid_t busy = fork();
  REQUIRE(busy >= 0);
  if (busy == 0) {
    volatile unsigned long long n = 0;
    for (;;) n = n + 1;
  }
  ThreadGovernor g(std::chrono::milliseconds(100));
  int lowered_after = -1;
  for (int i = 0; i < 40 && lowered_after < 0; ++i) {  // up to 4 s; two 0.1 s intervals suffice
    g.tick();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (num_threads() == 1) lowered_after = i;
  }
  kill(busy, SIGKILL);
  waitpid(busy, nullptr, 0);
  INFO("other processes' cores at the last sample: " << g.last_foreign());
  CHECK(lowered_after >= 0);
}
#endif

TEST_CASE("threads: training results do not depend on the active thread count, only on the width") {
  RestoreThreads restore;
  set_num_threads(2);
  const auto two = train_three_steps([](int) { return 2; });
  const auto one = train_three_steps([](int) { return 1; });
  const auto mixed = train_three_steps([](int step) { return step == 1 ? 1 : 2; });
  REQUIRE(two.size() > SeedNet::param_count);  // the running statistics too
  CHECK(std::memcmp(two.data(), one.data(), two.size() * sizeof(float)) == 0);
  CHECK(std::memcmp(two.data(), mixed.data(), two.size() * sizeof(float)) == 0);
}

namespace {
// Convs big enough to be split (>= 4 M multiply-adds per GEMM): a large plane (one sample per GEMM),
// small planes (several samples side by side: 8x8 -> 4, 4x4 -> 16) and a pointwise conv; eval mode,
// so that the forward is a pure function of the input.
using SmallBatchNet = Sequential<Input<16, 32, 32>, Conv<16, 64, 3, 1, 1>, ReLU, MaxPool<2>, MaxPool<2>,
                                 Conv<64, 128, 3, 1, 1>, Conv<128, 128, 1>, ReLU, MaxPool<2>, Conv<128, 64, 3, 1, 1>,
                                 Linear<10>>;

std::vector<float> eval_forward(int width, int active, std::size_t n) {
  set_num_threads(width);
  set_active_threads(active);
  SmallBatchNet net(5);
  net.eval();
  Tensor<SmallBatchNet::in_shape> x(n);
  Rng rng(9);
  for (auto& v : x.span()) v = static_cast<float>(rng.normal());
  const auto y = net.forward(x);
  return {y.data(), y.data() + y.size()};
}
}  // namespace

TEST_CASE("threads: a small batch's conv forward, its output channels split across threads, gives one thread's bits") {
  RestoreThreads restore;
  // Batches of 1 and 3 have fewer sample groups than 2 threads in every conv (the split path); batch 64 has
  // enough (the per-group path) for the large plane and the 4x4 and 2x2 planes alike.
  for (std::size_t n : {1u, 3u, 64u}) {
    CAPTURE(n);
    const auto one = eval_forward(1, 1, n);
    const auto two = eval_forward(2, 2, n);
    const auto two_one_active = eval_forward(2, 1, n);
    REQUIRE(one.size() == n * 10);
    CHECK(std::memcmp(one.data(), two.data(), one.size() * sizeof(float)) == 0);
    CHECK(std::memcmp(one.data(), two_one_active.data(), one.size() * sizeof(float)) == 0);
  }
}
