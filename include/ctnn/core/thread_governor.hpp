#pragma once
// ThreadGovernor: runs fewer OpenMP threads while other processes keep this machine's cores busy.
//
// Every parallel loop waits for its slowest thread. A thread that shares its core with another
// busy process gets about half of that core, in slices of the kernel's time slice, and libgomp's
// waiting threads spin meanwhile: on a 2-core machine with one busy process beside it, 2-thread
// training ran at 0.36-0.67x of its own 1-thread speed (bench/busy_machine.cpp; docs/reliability.md).
// The governor looks, every `interval`, at how many cores other processes used (/proc/stat's busy
// time of the CPUs this process may run on, minus this process's own CPU time, over the wall time)
// and runs thread_width() minus the cores they took, at least 1 (governed_threads). Lowering
// waits for two intervals in a row to agree, so a moment's noise costs nothing; raising happens
// at the first interval that allows it.
//
// It never changes a result: what is summed is split by thread_width(), not by the active
// count (core/threads.hpp). The training loop (train/loop.hpp) ticks the process's governor,
// thread_governor(), once per batch; set_enabled(false) (the trainers' --adapt-threads off)
// pins the active count to the width. Where /proc/stat cannot be read (not Linux), it does nothing.
// A tick allocates nothing; after a change of the active count, a thread may meet a GEMM shape
// it had not run before, and its plan's workspace then grows once.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <vector>

#if defined(__linux__)
#include <fcntl.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>
#endif

#include "ctnn/core/threads.hpp"

namespace ctnn {

// Threads to run for a configured `width`, with `cores` CPUs this process may use of which other
// processes kept `foreign` busy (in cores): one core left to them for each core they used,
// counting half a core or more as a core, and at least one thread.
inline int governed_threads(int width, int cores, double foreign) {
  const int taken = static_cast<int>(std::floor(std::max(0.0, foreign) + 0.5));
  return std::clamp(std::min(width, cores - taken), 1, std::max(1, width));
}

struct ThreadChange {
  int from = 0, to = 0;   // active threads before and after
  double foreign = 0;     // cores other processes used over the last interval
  int cores = 0;          // CPUs this process may run on
};

class ThreadGovernor {
 public:
  using Clock = std::chrono::steady_clock;

  // What the governor reads every interval: cumulative CPU times since some fixed moment.
  struct Sample {
    Clock::time_point when{};
    double busy_seconds = 0;  // busy time of the CPUs this process may use (/proc/stat)
    double own_seconds = 0;   // this process's user + system time (getrusage)
    int cores = 0;            // CPUs this process may use (sched_getaffinity)
  };
  // Fills a Sample taken at the given time; false when the machine cannot tell (then the
  // governor stays off). The default reads /proc/stat; tests give their own.
  using Sampler = std::function<bool(Sample&, Clock::time_point)>;

  explicit ThreadGovernor(std::chrono::milliseconds interval = std::chrono::milliseconds(500),
                          Sampler sampler = &ThreadGovernor::read_proc_stat)
      : interval_(interval), sampler_(std::move(sampler)) {}


  // Once per step (a clock read; a sample of /proc/stat every interval).
  void tick() {
    if (!enabled_ || broken_) return;
    const auto now = Clock::now();
    if (have_sample_ && now - last_.when < interval_) return;
    Sample s;
    if (!sampler_(s, now)) {
      broken_ = true;
      return;
    }
    if (have_sample_) decide(s);
    last_ = s;
    have_sample_ = true;
  }

  // Off: the active count goes back to the width and stays there.
  void set_enabled(bool on) {
    enabled_ = on;
    if (!on && active_ != 0) {
      set_active_threads(thread_width());
      active_ = 0;
    }
    have_sample_ = false;
    pending_ = 0;
  }
  bool enabled() const { return enabled_; }

  // Called when the active count changes (the trainers print a line).
  void on_change(std::function<void(const ThreadChange&)> f) { notify_ = std::move(f); }

  // The cores other processes used over the last interval (-1 before two samples).
  double last_foreign() const { return foreign_; }

 private:
  void decide(const Sample& s) {
    const double wall = std::chrono::duration<double>(s.when - last_.when).count();
    if (wall <= 0) return;
    foreign_ = std::max(0.0, ((s.busy_seconds - last_.busy_seconds) - (s.own_seconds - last_.own_seconds)) / wall);
    const int width = thread_width();
    const int current = num_threads();
    const int want = governed_threads(width, s.cores, foreign_);
    if (want == current) {
      pending_ = 0;
      return;
    }
    if (want < current && ++pending_ < 2) return;  // lower only when two intervals agree
    pending_ = 0;
    set_active_threads(want);
    active_ = want;
    if (notify_) notify_(ThreadChange{current, want, foreign_, s.cores});
  }

 public:
  // The default sampler (Linux: /proc/stat, sched_getaffinity, getrusage).
  static bool read_proc_stat(Sample& s, Clock::time_point now) {
#if defined(__linux__)
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return false;
    // Read with open/read into a buffer of this thread's, not stdio, so that a tick allocates
    // nothing (the per-CPU lines come first; 64 KiB holds them for several hundred CPUs).
    thread_local char text[1 << 16];
    const int fd = ::open("/proc/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    std::size_t got = 0;
    for (ssize_t r; got < sizeof text - 1 && (r = ::read(fd, text + got, sizeof text - 1 - got)) > 0;)
      got += static_cast<std::size_t>(r);
    ::close(fd);
    text[got] = '\0';
    const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
    unsigned long long busy = 0;
    int cores = 0;
    for (const char* line = text; *line;) {
      const char* end = std::strchr(line, '\n');
      int cpu = -1;
      unsigned long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0;
      if (std::strncmp(line, "cpu", 3) == 0 && line[3] >= '0' && line[3] <= '9' &&
          std::sscanf(line + 3, "%d %llu %llu %llu %llu %llu %llu %llu", &cpu, &user, &nice, &system, &idle, &iowait,
                      &irq, &softirq) == 8 &&
          cpu >= 0 && cpu < CPU_SETSIZE && CPU_ISSET(cpu, &allowed)) {
        busy += user + nice + system + irq + softirq;  // steal and idle are not other processes' work
        ++cores;
      }
      if (!end) break;
      line = end + 1;
    }
    rusage ru{};
    if (cores == 0 || hz <= 0 || getrusage(RUSAGE_SELF, &ru) != 0) return false;
    s.when = now;
    s.busy_seconds = static_cast<double>(busy) / hz;
    s.own_seconds = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                    1e-6 * static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
    s.cores = cores;
    return true;
#else
    (void)s, (void)now;
    return false;
#endif
  }

 private:
  std::chrono::milliseconds interval_;
  Sampler sampler_;
  bool enabled_ = true;
  bool broken_ = false;
  bool have_sample_ = false;
  int pending_ = 0;
  int active_ = 0;  // what this governor last set (0: nothing)
  double foreign_ = -1;
  Sample last_{};
  std::function<void(const ThreadChange&)> notify_;
};

// The process's governor, which the training loop ticks.
inline ThreadGovernor& thread_governor() {
  static ThreadGovernor governor;
  return governor;
}

}  // namespace ctnn
