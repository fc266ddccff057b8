// Per-layer microbenchmarks: each layer kind alone (a one-layer Sequential), forward (train mode)
// and backward (with the input gradient), at the seed network's shapes and at ResNet-9's shapes,
// batch 32 and 128. Eigen GEMMs of the same sizes are in bench_layers_gemm.cpp (same binary).
//
// Names: <kind>/<pass>/<net>/<shape>/batch:<N>/real_time, e.g.
//   conv/fwd/resnet9/64to128_k3_32x32/batch:128/real_time
// Counters (all per second of wall time; multithreaded, so real time is what counts):
//   GFLOP/s  conv and linear: 2 x MACs; conv forward MACs = N*Cout*Ho*Wo*Cin*K*K, backward counts
//            2x forward (weight gradient + input gradient); linear likewise with In*Out.
//   GB/s     BatchNorm, ReLU, MaxPool: the minimum memory traffic of the pass (each input read
//            once, each output written once; MaxPool includes its int32 argmax), so it shows how
//            close a memory-bound kernel is to streaming speed. The kernels themselves may read
//            more (train-mode BatchNorm reads x three times forward and twice backward).
//   items_per_second  images per second.
//   %peak    conv only: GFLOP/s over the arithmetic peak of the conv's precision at this run's thread
//            count (bench/peak.hpp, fp32 FMA or bf16 dot, probed once per process).
// conv_bf16/<pass>/...: the same convs with the network set to Precision::bf16 (bf16 GEMM inputs,
// fp32 accumulation; core/precision.hpp).
// conv and conv_bf16 run each layer's automatic algorithm (kernels/winograd_select.hpp: Winograd for
// most 3x3 convs in fp32), and their GFLOP/s and %peak count the direct convolution's FLOPs whatever
// runs, so they read as speed. conv_algo/<pass>/<net>/<shape>/<im2col|winograd_f2|winograd_f4>: the
// fp32 3x3 convs of ResNet-9 and airbench94 (no bias, as there) with the algorithm forced, batch 128;
// interleaved in one run:
//   bench_layers --benchmark_filter='^conv_algo/' --benchmark_repetitions=5 \
//                --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdlib>
#include <string>

#include <ctnn/ctnn.hpp>

#include "peak.hpp"

namespace {

template <class Tn>
void fill_normal(Tn& t, std::uint64_t seed) {
  ctnn::Rng rng(seed);
  for (auto& v : t.span()) v = static_cast<float>(rng.normal());
}

struct Cost {
  double flops = 0;  // per sample
  double bytes = 0;  // per sample
};

// Forward (train mode) or backward (want_input_grad = true) of a one-layer network.
template <class Net>
void run_layer(benchmark::State& state, bool backward, Cost cost, ctnn::Precision precision, bool peak) {
  const auto n = static_cast<std::size_t>(state.range(0));
  Net net(1);
  net.set_precision(precision);
  net.train();
  ctnn::Tensor<typename Net::in_shape> x(n);
  ctnn::Tensor<typename Net::out_shape> dy(n);
  fill_normal(x, 2);
  fill_normal(dy, 3);
  net.forward(x);  // warm-up: workspaces grow here, and backward needs the forward's caches
  if (!backward) {
    for (auto _ : state) {
      auto y = net.forward(x);
      benchmark::DoNotOptimize(y.data());
      benchmark::ClobberMemory();
    }
  } else {
    net.backward(dy, true);
    for (auto _ : state) {
      auto dx = net.backward(dy, true);
      benchmark::DoNotOptimize(dx.data());
      benchmark::ClobberMemory();
    }
  }
  const double samples = static_cast<double>(state.iterations()) * static_cast<double>(n);
  if (cost.flops > 0) state.counters["GFLOP/s"] = benchmark::Counter(cost.flops * samples * 1e-9, benchmark::Counter::kIsRate);
  if (peak) {
    const double p = ctnn::bench::cached_peak_gflops(
        precision == ctnn::Precision::bf16 ? ctnn::bench::PeakKind::bf16_dot : ctnn::bench::PeakKind::fp32_fma,
        ctnn::num_threads());
    state.counters["%peak"] = benchmark::Counter(100.0 * cost.flops * samples * 1e-9 / p, benchmark::Counter::kIsRate);
  }
  if (cost.bytes > 0) state.counters["GB/s"] = benchmark::Counter(cost.bytes * samples * 1e-9, benchmark::Counter::kIsRate);
  state.SetItemsProcessed(static_cast<std::int64_t>(samples));
}

template <class Net>
void add(const std::string& name, bool backward, Cost cost, ctnn::Precision precision = ctnn::Precision::fp32,
         bool peak = false) {
  benchmark::RegisterBenchmark(name.c_str(),
                               [=](benchmark::State& s) { run_layer<Net>(s, backward, cost, precision, peak); })
      ->ArgName("batch")
      ->Arg(32)
      ->Arg(128)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
}

std::string plane(std::size_t c, std::size_t h) {
  return std::to_string(c) + "x" + std::to_string(h) + "x" + std::to_string(h);
}

// Conv<Cin, Cout, K> with "same" padding, stride 1, on HxH.
template <std::size_t Cin, std::size_t Cout, std::size_t K, std::size_t H>
void add_conv(const std::string& net) {
  using Net = ctnn::Sequential<ctnn::Input<Cin, H, H>, ctnn::Conv<Cin, Cout, K>>;
  const double macs = static_cast<double>(Cout * H * H * Cin * K * K);
  const std::string shape = std::to_string(Cin) + "to" + std::to_string(Cout) + "_k" + std::to_string(K) + "_" +
                            std::to_string(H) + "x" + std::to_string(H);
  add<Net>("conv/fwd/" + net + "/" + shape, false, {2 * macs, 0}, ctnn::Precision::fp32, true);
  add<Net>("conv/bwd/" + net + "/" + shape, true, {4 * macs, 0}, ctnn::Precision::fp32, true);
  add<Net>("conv_bf16/fwd/" + net + "/" + shape, false, {2 * macs, 0}, ctnn::Precision::bf16, true);
  add<Net>("conv_bf16/bwd/" + net + "/" + shape, true, {4 * macs, 0}, ctnn::Precision::bf16, true);
}

template <std::size_t Cin, std::size_t Cout, std::size_t H>
void add_conv_algorithms(const std::string& net) {
  using Net = ctnn::Sequential<ctnn::Input<Cin, H, H>, ctnn::Conv<Cin, Cout, 3, 1, 1, 1, false>>;
  const double macs = static_cast<double>(Cout * H * H * Cin * 9);
  const std::string shape = std::to_string(Cin) + "to" + std::to_string(Cout) + "_k3_" + std::to_string(H) + "x" +
                            std::to_string(H);
  for (auto a : {ctnn::ConvAlgorithm::im2col, ctnn::ConvAlgorithm::winograd_f2, ctnn::ConvAlgorithm::winograd_f4})
    for (bool bwd : {false, true}) {
      const std::string name = std::string("conv_algo/") + (bwd ? "bwd/" : "fwd/") + net + "/" + shape + "/" +
                               ctnn::conv_algorithm_name(a);
      benchmark::RegisterBenchmark(name.c_str(),
                                   [=](benchmark::State& s) {
                                     const ctnn::ConvAlgorithm before = ctnn::conv_algorithm();
                                     ctnn::set_conv_algorithm(a);
                                     run_layer<Net>(s, bwd, {(bwd ? 4 : 2) * macs, 0}, ctnn::Precision::fp32, true);
                                     ctnn::set_conv_algorithm(before);
                                   })
          ->ArgName("batch")
          ->Arg(128)
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
    }
}

template <std::size_t C, std::size_t H>
void add_bn_relu(const std::string& net) {
  const double s = static_cast<double>(C * H * H) * sizeof(float);
  add<ctnn::Sequential<ctnn::Input<C, H, H>, ctnn::BatchNorm>>("batchnorm/fwd/" + net + "/" + plane(C, H), false, {0, 2 * s});
  add<ctnn::Sequential<ctnn::Input<C, H, H>, ctnn::BatchNorm>>("batchnorm/bwd/" + net + "/" + plane(C, H), true, {0, 3 * s});
  add<ctnn::Sequential<ctnn::Input<C, H, H>, ctnn::ReLU>>("relu/fwd/" + net + "/" + plane(C, H), false, {0, 2 * s});
  add<ctnn::Sequential<ctnn::Input<C, H, H>, ctnn::ReLU>>("relu/bwd/" + net + "/" + plane(C, H), true, {0, 3 * s});
}

template <std::size_t C, std::size_t H, std::size_t K>
void add_pool(const std::string& net) {
  using Net = ctnn::Sequential<ctnn::Input<C, H, H>, ctnn::MaxPool<K>>;
  const double in = static_cast<double>(C * H * H) * 4, out = in / (K * K);
  const std::string shape = plane(C, H) + "_k" + std::to_string(K);
  add<Net>("maxpool/fwd/" + net + "/" + shape, false, {0, in + 2 * out});
  add<Net>("maxpool/bwd/" + net + "/" + shape, true, {0, 2 * out + in});
}

template <std::size_t C, std::size_t H, std::size_t Out>
void add_linear(const std::string& net) {
  using Net = ctnn::Sequential<ctnn::Input<C, H, H>, ctnn::Linear<Out>>;
  const double macs = static_cast<double>(C * H * H * Out);
  const std::string shape = std::to_string(C * H * H) + "to" + std::to_string(Out);
  add<Net>("linear/fwd/" + net + "/" + shape, false, {2 * macs, 0});
  add<Net>("linear/bwd/" + net + "/" + shape, true, {4 * macs, 0});
}

const bool registered = [] {
  // The seed network: Conv(3,16,5) BN ReLU MaxPool2 Conv(16,32,5) BN ReLU MaxPool2 Linear(2048,10).
  add_conv<3, 16, 5, 32>("seed");
  add_conv<16, 32, 5, 16>("seed");
  add_bn_relu<16, 32>("seed");
  add_bn_relu<32, 16>("seed");
  add_pool<16, 32, 2>("seed");
  add_pool<32, 16, 2>("seed");
  add_linear<32, 8, 10>("seed");
  // ResNet-9 (resnet9_plain in bench_train.cpp): 3x3 convs and what follows them.
  add_conv<3, 64, 3, 32>("resnet9");
  add_conv<64, 128, 3, 32>("resnet9");
  add_conv<128, 128, 3, 16>("resnet9");
  add_conv<128, 256, 3, 16>("resnet9");
  add_conv<256, 512, 3, 8>("resnet9");
  add_conv<512, 512, 3, 4>("resnet9");
  add_bn_relu<64, 32>("resnet9");
  add_bn_relu<128, 32>("resnet9");
  add_bn_relu<128, 16>("resnet9");
  add_bn_relu<256, 16>("resnet9");
  add_bn_relu<512, 8>("resnet9");
  add_bn_relu<512, 4>("resnet9");
  add_pool<128, 32, 2>("resnet9");
  add_pool<256, 16, 2>("resnet9");
  add_pool<512, 8, 2>("resnet9");
  add_pool<512, 4, 4>("resnet9");
  add_linear<512, 1, 10>("resnet9");
  add_conv_algorithms<64, 128, 32>("resnet9");
  add_conv_algorithms<128, 128, 16>("resnet9");
  add_conv_algorithms<128, 256, 16>("resnet9");
  add_conv_algorithms<256, 512, 8>("resnet9");
  add_conv_algorithms<512, 512, 4>("resnet9");
  // airbench94 (models/airbench.hpp): after the 2x2 whitening conv the planes are 31, 15, 7, 3.
  add_conv_algorithms<24, 64, 31>("airbench");
  add_conv_algorithms<64, 64, 15>("airbench");
  add_conv_algorithms<64, 256, 15>("airbench");
  add_conv_algorithms<256, 256, 7>("airbench");
  add_conv_algorithms<256, 256, 3>("airbench");
  return true;
}();

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("ctnn_threads", std::to_string(ctnn::num_threads()));
  const char* gemm = std::getenv("CTNN_GEMM");  // kernels/gemm.hpp: which GEMM the layers run
  benchmark::AddCustomContext("ctnn_gemm", gemm ? gemm : "automatic (use_packed_gemm)");
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
