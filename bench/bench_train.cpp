// Whole training steps and inference, on random data:
//   train/<net>/<fp32|bf16>/batch:<N>/real_time   forward, cross-entropy, backward, Adam step, zero_grad
//   infer/<net>/<fp32|bf16>/batch:<N>/real_time   eval-mode forward only (also at batch 1: the latency)
// in each precision (net.set_precision, core/precision.hpp: bf16 = conv and linear GEMMs on bf16
// inputs with fp32 accumulation; without AVX512_BF16 bf16 is the slower portable path)
// for <net> = seed (the coursework's network) and resnet9_plain, at batch 32 and 128, and the
// model zoo's airbench (airbench94) and resnet9 (with its residual blocks) at 128 and 512, and
// airbench96 at 128.
//
// resnet9_plain: the classic ResNet-9's convolution stack without the two skip additions (prep 3->64; 64->128 + pool; [128->128, 128->128];
// 128->256 + pool; 256->512 + pool; [512->512, 512->512]; MaxPool4; Linear 10). The skips
// would add 128*16*16 + 512*4*4 = 40,960 additions per image next to 379 million conv MACs
// (about 0.005% of the work), so the plain stack costs what ResNet-9 costs, to within noise;
// resnet9's GFLOP/s counter therefore uses resnet9_plain's count (forward_macs does not look
// inside Residual blocks).
//
// train/<airbench|resnet9>/fp32/conv:<im2col|winograd_f2|winograd_f4|benchmark>/batch:128/real_time: the fp32 step
// with every conv's algorithm forced (set_conv_algorithm, kernels/winograd_select.hpp; the plain names
// run each layer's automatic choice), to compare them interleaved in one run:
//   bench_train --benchmark_filter='^train/(airbench|resnet9)/fp32/' --benchmark_repetitions=5 \
//               --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true
//
// Counters: images/s; GFLOP/s from counted conv + linear FLOPs (2 x MACs; a train step counts
// 3x forward: forward, input gradient, weight gradient; inference 1x). The first layer's input
// gradient is not computed in a train step, but it is counted (as PyTorch-style FLOP counts do).
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <ctnn/ctnn.hpp>

#include "networks.hpp"

namespace {

using namespace ctnn;

using bench::Airbench94;
using bench::Airbench96;
using bench::ResNet9;
using bench::ResNet9Plain;
using bench::SeedNet;

// Forward MACs per image of the conv and linear layers.
template <class Net>
constexpr double forward_macs() {
  double macs = 0;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (
        [&] {
          using L = typename Net::template layer_type<I>;
          if constexpr (requires { L::geometry; })
            macs += static_cast<double>(L::geometry.out_size() * L::geometry.patch());
          else if constexpr (requires { L::weight_size; })
            macs += static_cast<double>(L::weight_size);
        }(),
        ...);
  }(std::make_index_sequence<Net::depth>{});
  return macs;
}
static_assert(forward_macs<SeedNet>() == 16.0 * 1024 * 75 + 32.0 * 256 * 400 + 2048.0 * 10);
static_assert(forward_macs<ResNet9Plain>() ==
              64.0 * 1024 * 27 + 128.0 * 1024 * 576 + 2 * 128.0 * 256 * 1152 + 256.0 * 256 * 1152 +
                  512.0 * 64 * 2304 + 2 * 512.0 * 16 * 4608 + 512.0 * 10);

template <class Tn>
void fill_normal(Tn& t, std::uint64_t seed) {
  Rng rng(seed);
  for (auto& v : t.span()) v = static_cast<float>(rng.normal());
}

std::vector<std::int32_t> random_labels(std::size_t n, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<std::int32_t> labels(n);
  for (auto& l : labels) l = static_cast<std::int32_t>(rng.below(10));
  return labels;
}

void set_counters(benchmark::State& state, std::size_t n, double flops_per_image) {
  const double images = static_cast<double>(state.iterations()) * static_cast<double>(n);
  state.counters["images/s"] = benchmark::Counter(images, benchmark::Counter::kIsRate);
  state.counters["GFLOP/s"] = benchmark::Counter(images * flops_per_image * 1e-9, benchmark::Counter::kIsRate);
}

template <class Net, class CountAs>
void train_step(benchmark::State& state, Precision precision) {
  const auto n = static_cast<std::size_t>(state.range(0));
  Net net(1);
  net.set_precision(precision);
  Adam opt{net.parameters(), {.lr = 1e-3}};
  CrossEntropyLoss<typename Net::out_shape> loss;
  Tensor<typename Net::in_shape> x(n);
  fill_normal(x, 2);
  const auto labels = random_labels(n, 3);
  auto step = [&] {
    loss(net.forward(x), labels);
    net.backward(loss.grad());
    opt.step();
    opt.zero_grad();
  };
  step();  // warm-up: workspaces, activations and Adam's state are allocated here
  for (auto _ : state) {
    step();
    benchmark::ClobberMemory();
  }
  set_counters(state, n, 3 * 2 * forward_macs<CountAs>());
}

template <class Net, class CountAs>
void inference(benchmark::State& state, Precision precision) {
  const auto n = static_cast<std::size_t>(state.range(0));
  Net net(1);
  net.set_precision(precision);
  net.eval();
  net.set_grad_enabled(false);  // torch.no_grad(), as bench/compare_pytorch.py times PyTorch
  Tensor<typename Net::in_shape> x(n);
  fill_normal(x, 2);
  net.forward(x);  // warm-up
  for (auto _ : state) {
    auto y = net.forward(x);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, n, 2 * forward_macs<CountAs>());
}

template <class Net, class CountAs = Net>
void add(const std::string& net, std::initializer_list<std::int64_t> batches = {32, 128}) {
  for (Precision p : {Precision::fp32, Precision::bf16}) {
    const std::string tail = "/" + net + "/" + precision_name(p);
    auto* train = benchmark::RegisterBenchmark(("train" + tail).c_str(), train_step<Net, CountAs>, p)->ArgName("batch");
    auto* infer = benchmark::RegisterBenchmark(("infer" + tail).c_str(), inference<Net, CountAs>, p)->ArgName("batch");
    infer->Arg(1);  // the latency of one image
    for (auto b : batches) {
      train->Arg(b);
      infer->Arg(b);
    }
    train->UseRealTime()->Unit(benchmark::kMillisecond);
    infer->UseRealTime()->Unit(benchmark::kMillisecond);
  }
}

template <class Net, class CountAs = Net>
void add_conv_algorithms(const std::string& net) {
  for (Precision p : {Precision::fp32, Precision::bf16}) {
    for (auto a : {ConvAlgorithm::im2col, ConvAlgorithm::winograd_f2, ConvAlgorithm::winograd_f4, ConvAlgorithm::benchmark}) {
      const std::string name = "train/" + net + "/" + precision_name(p) + "/conv:" + conv_algorithm_name(a);
      benchmark::RegisterBenchmark(name.c_str(),
                                   [a, p](benchmark::State& s) {
                                     const ConvAlgorithm before = conv_algorithm();
                                     set_conv_algorithm(a);
                                     train_step<Net, CountAs>(s, p);
                                     set_conv_algorithm(before);
                                   })
          ->ArgName("batch")
          ->Arg(128)
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  add<SeedNet>("seed");
  add<ResNet9Plain>("resnet9_plain");
  add<ResNet9, ResNet9Plain>("resnet9", {128, 512});
  add<Airbench94>("airbench", {128, 512});
  add<Airbench96>("airbench96", {128});
  add_conv_algorithms<ResNet9, ResNet9Plain>("resnet9");
  add_conv_algorithms<Airbench94>("airbench");
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("ctnn_threads", std::to_string(num_threads()));
  benchmark::AddCustomContext("ctnn_bf16", bf16_native ? "AVX512_BF16 kernel" : "portable path (no AVX512_BF16)");
  benchmark::AddCustomContext("seed_fwd_mflop_per_image", std::to_string(2e-6 * forward_macs<SeedNet>()));
  benchmark::AddCustomContext("resnet9_plain_fwd_mflop_per_image", std::to_string(2e-6 * forward_macs<ResNet9Plain>()));
  benchmark::AddCustomContext("airbench_fwd_mflop_per_image", std::to_string(2e-6 * forward_macs<Airbench94>()));
  benchmark::AddCustomContext("airbench96_fwd_mflop_per_image", std::to_string(2e-6 * forward_macs<Airbench96>()));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
