// Training throughput on a busy machine: the same training step as bench_train (forward,
// cross-entropy, backward, Adam step, zero_grad, on random data), run alone and beside one
// competing busy process, with and without the ThreadGovernor (core/thread_governor.hpp).
//
//   bench_busy_machine [--net seed|airbench] [--batch 128] [--seconds 4] [--warmup 2] [--rounds 3]
//
// Cases (each in a fresh child process, so that OpenMP reads its environment anew; the rounds
// interleave the cases, and each figure is the median over the rounds):
//   alone   1 thread | 2 threads, governor off (ctnn before the governor) | 2 threads, governor on
//   busy    the same three, plus 2 threads with OMP_WAIT_POLICY=passive and the governor off
// "busy" runs a plain busy loop (a forked child of this program) beside the case. Warm-up steps
// (--warmup seconds, the governor ticking) come before the timed --seconds, so the figures are
// the steady state; the governor needs about two of its 0.5 s intervals to settle.
//
// Prints the table (median images/s; spread = (max - min) / median over the rounds; the active
// threads at the end of the last round; the governor's thread-count changes during the timed parts,
// summed over the rounds), then the two goals of the busy-machine issue: beside one busy process,
// 2-thread training at least as fast as 1 thread alone; alone, the governor costs nothing.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <ctnn/ctnn.hpp>

#include "networks.hpp"

namespace {

using namespace ctnn;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string net = "seed";
  std::size_t batch = 128;
  double seconds = 4, warmup = 2;
  int rounds = 3;
};

struct Case {
  const char* name;
  bool busy;
  int threads;
  bool governor;
  bool passive;
};

constexpr Case kCases[] = {
    {"alone, 1 thread", false, 1, false, false},
    {"alone, 2 threads, governor off", false, 2, false, false},
    {"alone, 2 threads, governor on", false, 2, true, false},
    {"busy, 1 thread", true, 1, false, false},
    {"busy, 2 threads, governor off", true, 2, false, false},
    {"busy, 2 threads, passive wait, governor off", true, 2, false, true},
    {"busy, 2 threads, governor on", true, 2, true, false},
};

// The child: time training steps, print "<images/s> <active threads at the end> <governor changes
// during the timed part>".
template <class Net>
int run_child(const Options& o, bool governor) {
  ThreadGovernor& g = thread_governor();
  g.set_enabled(governor);
  int changes = 0;
  g.on_change([&](const ThreadChange&) { ++changes; });
  Net net(1);
  Adam opt{net.parameters(), {.lr = 1e-3}};
  CrossEntropyLoss<typename Net::out_shape> loss;
  Tensor<typename Net::in_shape> x(o.batch);
  Rng rng(2);
  for (auto& v : x.span()) v = static_cast<float>(rng.normal());
  std::vector<std::int32_t> labels(o.batch);
  for (auto& l : labels) l = static_cast<std::int32_t>(rng.below(10));
  auto step = [&] {
    g.tick();
    loss(net.forward(x), labels);
    net.backward(loss.grad());
    opt.step();
    opt.zero_grad();
  };
  auto run_for = [&](double seconds) {
    std::size_t steps = 0;
    const auto t0 = Clock::now();
    double elapsed = 0;
    do {
      step();
      ++steps;
      elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
    } while (elapsed < seconds);
    return static_cast<double>(steps * o.batch) / elapsed;
  };
  run_for(o.warmup);
  changes = 0;
  const double rate = run_for(o.seconds);
  std::printf("%.1f %d %d\n", rate, num_threads(), changes);
  return 0;
}

[[noreturn]] void busy_loop() {
  volatile unsigned long long n = 0;
  for (;;) n = n + 1;
}

struct Result {
  double rate = 0;
  int threads_at_end = 0;
  int changes = 0;  // thread-count changes during the timed part
};

Result run_case(const char* self, const Options& o, const Case& c) {
  pid_t busy = 0;
  if (c.busy) {
    busy = fork();
    if (busy == 0) busy_loop();
  }
  int fd[2];
  if (pipe(fd) != 0) std::exit(2);
  const pid_t child = fork();
  if (child == 0) {
    dup2(fd[1], STDOUT_FILENO);
    close(fd[0]);
    setenv("OMP_NUM_THREADS", std::to_string(c.threads).c_str(), 1);
    if (c.passive) setenv("OMP_WAIT_POLICY", "passive", 1);
    else unsetenv("OMP_WAIT_POLICY");
    const std::string batch = std::to_string(o.batch), secs = std::to_string(o.seconds),
                      warm = std::to_string(o.warmup);
    execl(self, self, "--child", c.governor ? "1" : "0", "--net", o.net.c_str(), "--batch", batch.c_str(),
          "--seconds", secs.c_str(), "--warmup", warm.c_str(), static_cast<char*>(nullptr));
    std::_Exit(127);
  }
  close(fd[1]);
  char buf[128] = {};
  const ssize_t got = read(fd[0], buf, sizeof buf - 1);
  close(fd[0]);
  int status = 0;
  waitpid(child, &status, 0);
  if (busy > 0) {
    kill(busy, SIGKILL);
    waitpid(busy, nullptr, 0);
  }
  Result r;
  if (got <= 0 || std::sscanf(buf, "%lf %d %d", &r.rate, &r.threads_at_end, &r.changes) != 3) {
    std::fprintf(stderr, "bench_busy_machine: case '%s' printed no result (exit status %d)\n", c.name, status);
    std::exit(1);
  }
  return r;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

Options parse(int argc, char** argv, int first, bool* child, bool* governor) {
  Options o;
  for (int i = first; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_busy_machine: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--child") *child = true, *governor = std::strcmp(value(), "1") == 0;
    else if (a == "--net") o.net = value();
    else if (a == "--batch") o.batch = std::strtoul(value(), nullptr, 10);
    else if (a == "--seconds") o.seconds = std::atof(value());
    else if (a == "--warmup") o.warmup = std::atof(value());
    else if (a == "--rounds") o.rounds = std::atoi(value());
    else {
      std::fprintf(stderr,
                   "usage: bench_busy_machine [--net seed|airbench] [--batch N] [--seconds S] [--warmup S] "
                   "[--rounds R]\n");
      std::exit(2);
    }
  }
  if (o.net != "seed" && o.net != "airbench") {
    std::fprintf(stderr, "bench_busy_machine: --net is seed or airbench, not '%s'\n", o.net.c_str());
    std::exit(2);
  }
  if (o.batch == 0 || o.seconds <= 0 || o.rounds <= 0) {
    std::fprintf(stderr, "bench_busy_machine: --batch, --seconds and --rounds must be positive\n");
    std::exit(2);
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  bool child = false, governor = false;
  const Options o = parse(argc, argv, 1, &child, &governor);
  if (child) return o.net == "seed" ? run_child<bench::SeedNet>(o, governor) : run_child<bench::Airbench94>(o, governor);

  char self[4096];
  const ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
  if (len <= 0) return 2;
  self[len] = '\0';
  constexpr std::size_t n = std::size(kCases);
  std::vector<std::vector<double>> rates(n);
  std::vector<int> threads(n), changes(n);
  std::printf("bench_busy_machine: %s, batch %zu, %d rounds of %.1f s (after %.1f s warm-up) per case, %ld CPUs\n",
              o.net.c_str(), o.batch, o.rounds, o.seconds, o.warmup, sysconf(_SC_NPROCESSORS_ONLN));
  for (int r = 0; r < o.rounds; ++r)
    for (std::size_t c = 0; c < n; ++c) {
      const Result res = run_case(self, o, kCases[c]);
      rates[c].push_back(res.rate);
      threads[c] = res.threads_at_end;
      changes[c] += res.changes;
      std::fprintf(stderr, "  round %d: %-45s %8.1f images/s, %d threads at the end, %d changes\n", r + 1,
                   kCases[c].name, res.rate, res.threads_at_end, res.changes);
    }
  std::vector<double> med(n);
  std::printf("%-46s %10s %7s %9s %8s\n", "case", "images/s", "spread", "threads", "changes");
  for (std::size_t c = 0; c < n; ++c) {
    med[c] = median(rates[c]);
    const auto [lo, hi] = std::minmax_element(rates[c].begin(), rates[c].end());
    std::printf("%-46s %10.1f %6.0f%% %9d %8d\n", kCases[c].name, med[c], 100.0 * (*hi - *lo) / med[c], threads[c],
                changes[c]);
  }
  const double goal1 = med[6] / med[0], goal2 = med[2] / med[1];
  std::printf("busy, 2 threads, governor on / alone, 1 thread:   %.2fx (goal: >= 1; governor off: %.2fx)\n", goal1,
              med[4] / med[0]);
  std::printf("alone, 2 threads: governor on / governor off:    %.2fx (goal: no loss)\n", goal2);
  return 0;
}
