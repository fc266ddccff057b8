// Arithmetic peak of this machine, from register-only loops (bench/peak.hpp):
//   peak/fp32_fma/threads:T   12 independent zmm FMA chains per thread, 32 FLOP per FMA
//   peak/bf16_dot/threads:T   12 chains of _mm512_dpbf16_ps, 64 FLOP per instruction
//                             (skipped with a message when built without __AVX512BF16__)
// T = 1 and 2 (OpenMP threads). Counter GFLOP/s of wall time.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>

#include "peak.hpp"

namespace {

using ctnn::bench::PeakKind;

void run_peak(benchmark::State& state, PeakKind kind) {
  if (kind == PeakKind::bf16_dot && !ctnn::bench::has_bf16()) {
    state.SkipWithError("built without __AVX512BF16__ (no _mm512_dpbf16_ps): bf16 peak not measured");
    return;
  }
  const int threads = static_cast<int>(state.range(0));
  const std::int64_t iters = 1 << 22;
  double flops = 0;
  for (auto _ : state) flops += ctnn::bench::peak_pass(kind, threads, iters).first;
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsRate);
  state.counters["threads"] = threads;
}

const bool registered = [] {
  for (auto [name, kind] : {std::pair{"peak/fp32_fma", PeakKind::fp32_fma}, std::pair{"peak/bf16_dot", PeakKind::bf16_dot}})
    benchmark::RegisterBenchmark(name, [kind = kind](benchmark::State& s) { run_peak(s, kind); })
        ->ArgName("threads")
        ->Arg(1)
        ->Arg(2)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
