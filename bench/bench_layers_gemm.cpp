// Plain Eigen GEMMs (Eigen::MatrixXf, C.noalias() = A * B) of the sizes the convolutions in
// bench_layers.cpp do, with the per-sample GEMMs batched into one, plus square 1024 and 2048:
// the reference for "what fraction of GEMM peak does a conv reach".
//
// Eigen runs a product this large on OpenMP threads when it is called outside a parallel
// region, with omp_get_max_threads() threads: the same count (OMP_NUM_THREADS) as the conv
// benchmarks in the same run.
//
// For a conv Cin->Cout, KxK, output Ho x Wo, batch N (P = Cin*K*K, HW = Ho*Wo):
//   gemm/fwd    M = Cout, K = P,    N = HW*N   (forward:     W[Cout,P] x col[P,HW])
//   gemm/wgrad  M = Cout, K = HW*N, N = P      (weight grad: dY[Cout,HW] x col^T[HW,P])
//   gemm/igrad  M = P,    K = Cout, N = HW*N   (input grad:  W^T[P,Cout] x dY[Cout,HW])
// GFLOP/s counts 2*M*N*K. Names end in the conv's shape and batch, as in bench_layers.cpp.
//
// Beside them, the GEMMs as the convs really run them, through GemmPlan (kernels/gemm.hpp) with
// each kernel forced, so Eigen's and ctnn's packed kernel run in one process:
//   gemmplan/<eigen|packed>/<fwd|wgrad|igrad>/<net>/<shape>/batch:N
//       per group of S samples (S = samples_per_gemm, 1 for Ho*Wo >= 128), L = S*Ho*Wo:
//       fwd   run<false,false>(Cout, L, P)   wgrad run<false,true>(Cout, P, L), accumulating
//       igrad run<true,false>(P, L, Cout);  the groups split over the OpenMP threads, one plan each
//   gemmplan/<eigen|packed>/square/<n>/threads:T   C[n,n] = A B, T threads each doing n/T columns
//   gemmplan/bf16/...   the same GEMMs with the plan set to Precision::bf16 and the packed kernel
//       (kernels/gemm_bf16.hpp: fp32 operands rounded to bf16 while packing, fp32 accumulation)
// and the arithmetic peaks of the same run (bench/peak.hpp): peak/fp32_fma/threads:T, peak/bf16_dot/threads:T.
// Every GEMM case also has a counter "%peak": its GFLOP/s over the peak of its precision (fp32 FMA,
// or bf16 dot for gemmplan/bf16) at its thread count (measured once, when first needed, in this process).
#include <benchmark/benchmark.h>
#include <omp.h>

#include <Eigen/Core>
#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include <ctnn/kernels/conv.hpp>
#include <ctnn/kernels/gemm.hpp>

#include "peak.hpp"

namespace {

using ctnn::kernels::GemmKernel;
using ctnn::kernels::GemmPlan;
using ctnn::bench::PeakKind;

// The kernels the gemmplan/* cases compare: Eigen, ctnn's packed fp32, ctnn's bf16.
struct PlanKernel {
  const char* name;
  GemmKernel kernel;
  ctnn::Precision precision;
};
const PlanKernel plan_kernels[] = {{"eigen", GemmKernel::eigen, ctnn::Precision::fp32},
                                   {"packed", GemmKernel::packed, ctnn::Precision::fp32},
                                   {"bf16", GemmKernel::packed, ctnn::Precision::bf16}};

void set_rate_counters(benchmark::State& state, double flops_per_iter, int threads,
                       ctnn::Precision precision = ctnn::Precision::fp32) {
  const double gflop = flops_per_iter * static_cast<double>(state.iterations()) * 1e-9;
  const double peak = ctnn::bench::cached_peak_gflops(
      precision == ctnn::Precision::bf16 ? PeakKind::bf16_dot : PeakKind::fp32_fma, threads);
  state.counters["GFLOP/s"] = benchmark::Counter(gflop, benchmark::Counter::kIsRate);
  state.counters["%peak"] = benchmark::Counter(100.0 * gflop / peak, benchmark::Counter::kIsRate);
  state.counters["threads"] = threads;
}

void run_gemm(benchmark::State& state, Eigen::Index m, Eigen::Index n, Eigen::Index k) {
  Eigen::MatrixXf a = Eigen::MatrixXf::Random(m, k);
  Eigen::MatrixXf b = Eigen::MatrixXf::Random(k, n);
  Eigen::MatrixXf c(m, n);
  c.noalias() = a * b;  // warm-up (page faults of c, Eigen's thread team)
  for (auto _ : state) {
    c.noalias() = a * b;
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  set_rate_counters(state, 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k),
                    omp_get_max_threads());
  state.counters["M"] = static_cast<double>(m);
  state.counters["N"] = static_cast<double>(n);
  state.counters["K"] = static_cast<double>(k);
}

void add(const std::string& name, Eigen::Index m, Eigen::Index n, Eigen::Index k) {
  benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& s) { run_gemm(s, m, n, k); })
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
}

void add_plan_cases(const std::string& net, const std::string& shape, Eigen::Index cin, Eigen::Index cout,
                    Eigen::Index ksize, Eigen::Index h);

void add_conv(const std::string& net, Eigen::Index cin, Eigen::Index cout, Eigen::Index ksize, Eigen::Index h) {
  const Eigen::Index p = cin * ksize * ksize, hw = h * h;
  const std::string shape = std::to_string(cin) + "to" + std::to_string(cout) + "_k" + std::to_string(ksize) + "_" +
                            std::to_string(h) + "x" + std::to_string(h);
  for (Eigen::Index batch : {32, 128}) {
    const std::string tail = "/" + net + "/" + shape + "/batch:" + std::to_string(batch);
    add("gemm/fwd" + tail, cout, hw * batch, p);
    add("gemm/wgrad" + tail, cout, p, hw * batch);
    add("gemm/igrad" + tail, p, hw * batch, cout);
  }
  add_plan_cases(net, shape, cin, cout, ksize, h);
}

enum class Pass { fwd, wgrad, igrad };

// One thread's operands for a conv-shaped GemmPlan case.
struct ConvGemmBuffers {
  std::vector<float> col, dy, out, dw;
  GemmPlan<float> plan;
};

// The GEMMs one conv pass runs over the batch, as conv2d_forward/backward split them.
void run_conv_plan(benchmark::State& state, PlanKernel kernel, Pass pass, Eigen::Index co, Eigen::Index p,
                   Eigen::Index hw, Eigen::Index batch) {
  const auto s = static_cast<Eigen::Index>(ctnn::kernels::samples_per_plane(static_cast<std::size_t>(hw))), l = s * hw;
  const Eigen::Index groups = (batch + s - 1) / s;
  const int threads = omp_get_max_threads();
  std::vector<float> w(static_cast<std::size_t>(co * p), 0.01f);
  std::vector<ConvGemmBuffers> per(static_cast<std::size_t>(threads));
  for (auto& b : per) {
    b.col.assign(static_cast<std::size_t>(p * l), 0.5f);
    b.dy.assign(static_cast<std::size_t>(co * l), 0.25f);
    b.out.assign(static_cast<std::size_t>(std::max(co, p) * l), 0.0f);
    b.dw.assign(static_cast<std::size_t>(co * p), 0.0f);
    b.plan.set_kernel(kernel.kernel);
    b.plan.set_precision(kernel.precision);
  }
  auto sweep = [&] {
#pragma omp parallel for schedule(static)
    for (Eigen::Index g = 0; g < groups; ++g) {
      ConvGemmBuffers& b = per[static_cast<std::size_t>(omp_get_thread_num())];
      if (pass == Pass::fwd)
        b.plan.run<false, false>(co, l, p, w.data(), p, b.col.data(), l, b.out.data(), l, false);
      else if (pass == Pass::wgrad)
        b.plan.run<false, true>(co, p, l, b.dy.data(), l, b.col.data(), l, b.dw.data(), p, true);
      else
        b.plan.run<true, false>(p, l, co, w.data(), p, b.dy.data(), l, b.out.data(), l, false);
    }
  };
  sweep();  // warm-up: the plans' buffers grow here
  for (auto _ : state) {
    sweep();
    benchmark::ClobberMemory();
  }
  set_rate_counters(state, 2.0 * static_cast<double>(co * p * l * groups), threads, kernel.precision);
}

// C[n, n] = A B on `threads` threads, each computing its own slab of n/threads columns.
void run_square_plan(benchmark::State& state, PlanKernel kernel, Eigen::Index n) {
  const int threads = static_cast<int>(state.range(0));
  std::vector<float> a(static_cast<std::size_t>(n * n), 0.5f), b(a.size(), 0.25f), c(a.size());
  std::vector<GemmPlan<float>> plans(static_cast<std::size_t>(threads));
  for (auto& pl : plans) {
    pl.set_kernel(kernel.kernel);
    pl.set_precision(kernel.precision);
  }
  const Eigen::Index slab = (n + threads - 1) / threads;
  auto once = [&] {
#pragma omp parallel num_threads(threads)
    {
      const int t = omp_get_thread_num();
      const Eigen::Index j0 = t * slab, cols = std::min(slab, n - j0);
      if (cols > 0)
        plans[static_cast<std::size_t>(t)].run<false, false>(n, cols, n, a.data(), n, b.data() + j0, n, c.data() + j0,
                                                             n, false);
    }
  };
  once();
  for (auto _ : state) {
    once();
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  set_rate_counters(state, 2.0 * static_cast<double>(n * n * n), threads, kernel.precision);
}

void run_peak(benchmark::State& state, PeakKind kind) {
  const int threads = static_cast<int>(state.range(0));
  if (kind == PeakKind::bf16_dot && !ctnn::bench::has_bf16()) {
    state.SkipWithError("built without AVX512_BF16");
    return;
  }
  double flops = 0;
  for (auto _ : state) flops += ctnn::bench::peak_pass(kind, threads, 1 << 22).first;
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsRate);
}

void add_plan_cases(const std::string& net, const std::string& shape, Eigen::Index cin, Eigen::Index cout,
                    Eigen::Index ksize, Eigen::Index h) {
  const Eigen::Index p = cin * ksize * ksize, hw = h * h;
  for (const PlanKernel& kernel : plan_kernels)
    for (auto [pname, pass] : {std::pair{"fwd", Pass::fwd}, std::pair{"wgrad", Pass::wgrad}, std::pair{"igrad", Pass::igrad}})
      for (Eigen::Index batch : {32, 128}) {
        const std::string name = std::string("gemmplan/") + kernel.name + "/" + pname + "/" + net + "/" + shape +
                                 "/batch:" + std::to_string(batch);
        benchmark::RegisterBenchmark(name.c_str(), [=, pass = pass](benchmark::State& st) {
          run_conv_plan(st, kernel, pass, cout, p, hw, batch);
        })->UseRealTime()->Unit(benchmark::kMillisecond);
      }
}

const bool registered = [] {
  benchmark::RegisterBenchmark("peak/fp32_fma", [](benchmark::State& st) { run_peak(st, PeakKind::fp32_fma); })
      ->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime();
  benchmark::RegisterBenchmark("peak/bf16_dot", [](benchmark::State& st) { run_peak(st, PeakKind::bf16_dot); })
      ->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime();
  for (Eigen::Index n : {1024, 2048})
    for (const PlanKernel& kernel : plan_kernels)
      benchmark::RegisterBenchmark(("gemmplan/" + std::string(kernel.name) + "/square/" + std::to_string(n)).c_str(),
                                   [=](benchmark::State& st) { run_square_plan(st, kernel, n); })
          ->ArgName("threads")
          ->Arg(1)
          ->Arg(2)
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
  add("gemm/square/1024", 1024, 1024, 1024);
  add("gemm/square/2048", 2048, 2048, 2048);
  add_conv("seed", 3, 16, 5, 32);
  add_conv("seed", 16, 32, 5, 16);
  add_conv("resnet9", 3, 64, 3, 32);
  add_conv("resnet9", 64, 128, 3, 32);
  add_conv("resnet9", 128, 128, 3, 16);
  add_conv("resnet9", 128, 256, 3, 16);
  add_conv("resnet9", 256, 512, 3, 8);
  add_conv("resnet9", 512, 512, 3, 4);
  return true;
}();

}  // namespace
