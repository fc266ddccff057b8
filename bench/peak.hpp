#pragma once
// Arithmetic peak probes, shared by bench_peak and bench_layers (so a GEMM's "% of peak" is read
// against a peak measured in the same process, on the same machine state).
//
//   fp32_fma_flops(iters)   one thread: 12 independent zmm FMA chains (covers a 4-cycle FMA latency
//                           on 2 pipes with room), 32 FLOP per _mm512_fmadd_ps; returns FLOPs done.
//   bf16_dot_flops(iters)   one thread: 12 chains of _mm512_dpbf16_ps, 64 FLOP per instruction
//                           (32 bf16 multiply-adds into 16 fp32 lanes); needs __AVX512BF16__.
//   peak_gflops(kind, threads, seconds)  runs the probe on `threads` OpenMP threads for about
//                           `seconds` and returns GFLOP/s of wall time; cached per (kind, threads)
//                           by cached_peak_gflops.
// Without AVX-512 the fp32 probe uses 8-wide AVX2 FMAs when available (else plain scalar FMAs,
// which is not a peak), and the bf16 probe reports 0 (has_bf16() is false).
#include <chrono>
#include <cstdint>
#include <map>
#include <utility>

#include <immintrin.h>
#include <omp.h>

namespace ctnn::bench {

enum class PeakKind { fp32_fma, bf16_dot };

inline constexpr bool has_bf16() {
#if defined(__AVX512BF16__)
  return true;
#else
  return false;
#endif
}

// The 12 chains are spelled out so that each stays in its own register.
#define CTNN_PEAK_CHAINS(OP) OP(0) OP(1) OP(2) OP(3) OP(4) OP(5) OP(6) OP(7) OP(8) OP(9) OP(10) OP(11)

inline double fp32_fma_flops(std::int64_t iters, float* sink) {
#if defined(__AVX512F__)
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
#define CTNN_INIT(i) __m512 c##i = _mm512_set1_ps(static_cast<float>(i));
#define CTNN_STEP(i) c##i = _mm512_fmadd_ps(c##i, a, b);
#define CTNN_SUM(i) s = _mm512_add_ps(s, c##i);
  CTNN_PEAK_CHAINS(CTNN_INIT)
  for (std::int64_t it = 0; it < iters; ++it) {
    CTNN_PEAK_CHAINS(CTNN_STEP)
  }
  __m512 s = _mm512_setzero_ps();
  CTNN_PEAK_CHAINS(CTNN_SUM)
  __asm__ volatile("" : : "v"(s));  // the chains' result is used: the loop cannot be dropped
  *sink = _mm512_reduce_add_ps(s);
  return static_cast<double>(iters) * 12 * 32;
#undef CTNN_INIT
#undef CTNN_STEP
#undef CTNN_SUM
#elif defined(__AVX2__) && defined(__FMA__)
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
#define CTNN_INIT(i) __m256 c##i = _mm256_set1_ps(static_cast<float>(i));
#define CTNN_STEP(i) c##i = _mm256_fmadd_ps(c##i, a, b);
#define CTNN_SUM(i) s = _mm256_add_ps(s, c##i);
  CTNN_PEAK_CHAINS(CTNN_INIT)
  for (std::int64_t it = 0; it < iters; ++it) {
    CTNN_PEAK_CHAINS(CTNN_STEP)
  }
  __m256 s = _mm256_setzero_ps();
  CTNN_PEAK_CHAINS(CTNN_SUM)
  __asm__ volatile("" : : "v"(s));
  alignas(32) float out[8];
  _mm256_store_ps(out, s);
  *sink = out[0];
  return static_cast<double>(iters) * 12 * 16;
#undef CTNN_INIT
#undef CTNN_STEP
#undef CTNN_SUM
#else
  float c[12];
  for (int i = 0; i < 12; ++i) c[i] = static_cast<float>(i);
  for (std::int64_t it = 0; it < iters; ++it)
    for (float& v : c) v = v * 0.999999f + 1e-7f;
  *sink = c[0] + c[11];
  __asm__ volatile("" : : "m"(c));
  return static_cast<double>(iters) * 12 * 2;
#endif
}

inline double bf16_dot_flops(std::int64_t iters, float* sink) {
#if defined(__AVX512BF16__)
  const __m512bh a = _mm512_cvtne2ps_pbh(_mm512_set1_ps(0.5f), _mm512_set1_ps(0.25f));
  const __m512bh b = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-3f), _mm512_set1_ps(-1e-3f));
#define CTNN_INIT(i) __m512 c##i = _mm512_set1_ps(static_cast<float>(i));
#define CTNN_STEP(i) c##i = _mm512_dpbf16_ps(c##i, a, b);
#define CTNN_SUM(i) s = _mm512_add_ps(s, c##i);
  CTNN_PEAK_CHAINS(CTNN_INIT)
  for (std::int64_t it = 0; it < iters; ++it) {
    CTNN_PEAK_CHAINS(CTNN_STEP)
  }
  __m512 s = _mm512_setzero_ps();
  CTNN_PEAK_CHAINS(CTNN_SUM)
  __asm__ volatile("" : : "v"(s));  // the chains' result is used: the loop cannot be dropped
  *sink = _mm512_reduce_add_ps(s);
  return static_cast<double>(iters) * 12 * 64;
#undef CTNN_INIT
#undef CTNN_STEP
#undef CTNN_SUM
#else
  (void)iters;
  *sink = 0;
  return 0;
#endif
}
#undef CTNN_PEAK_CHAINS

// One timed pass on `threads` threads, `iters` loop trips each: total FLOPs, wall seconds.
inline std::pair<double, double> peak_pass(PeakKind kind, int threads, std::int64_t iters) {
  double flops = 0;
  const auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(threads) reduction(+ : flops)
  {
    float sink = 0;
    flops += kind == PeakKind::fp32_fma ? fp32_fma_flops(iters, &sink) : bf16_dot_flops(iters, &sink);
    volatile float keep = sink;
    (void)keep;
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return {flops, secs};
}

// Best of 3 passes of about seconds/3 each: GFLOP/s of wall time on `threads` threads.
inline double peak_gflops(PeakKind kind, int threads, double seconds = 0.3) {
  if (kind == PeakKind::bf16_dot && !has_bf16()) return 0;
  std::int64_t iters = 1 << 16;
  auto [f, s] = peak_pass(kind, threads, iters);
  while (s < 0.01) {
    iters *= 4;
    std::tie(f, s) = peak_pass(kind, threads, iters);
  }
  iters = static_cast<std::int64_t>(static_cast<double>(iters) * (seconds / 3) / s) + 1;
  double best = 0;
  for (int r = 0; r < 3; ++r) {
    std::tie(f, s) = peak_pass(kind, threads, iters);
    if (f / s > best) best = f / s;
  }
  return best * 1e-9;
}

// Measured once per (kind, threads) in this process.
inline double cached_peak_gflops(PeakKind kind, int threads) {
  static std::map<std::pair<int, int>, double> cache;
  const auto key = std::make_pair(static_cast<int>(kind), threads);
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, peak_gflops(kind, threads)).first;
  return it->second;
}

}  // namespace ctnn::bench
