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
#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <cstddef>
#include <string>

namespace {

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
  const double flops = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  state.counters["GFLOP/s"] = benchmark::Counter(flops * static_cast<double>(state.iterations()) * 1e-9,
                                                 benchmark::Counter::kIsRate);
  state.counters["M"] = static_cast<double>(m);
  state.counters["N"] = static_cast<double>(n);
  state.counters["K"] = static_cast<double>(k);
}

void add(const std::string& name, Eigen::Index m, Eigen::Index n, Eigen::Index k) {
  benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& s) { run_gemm(s, m, n, k); })
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
}

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
}

const bool registered = [] {
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
