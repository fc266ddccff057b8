// Optimizer steps on the model zoo's networks, on random gradients:
//   step/<net>/sgd/real_time         Nesterov SGD on every tensor (the airbench preset's optimizer)
//   step/<net>/muon/real_time        Muon (airbench94_muon_options: 3 Newton-Schulz steps) on the
//                                    filters, SGD on the rest (airbench94_muon_groups)
//   step/<net>/muon_ns5/real_time    the same with the Muon repository's 5 steps
//   newton_schulz/<rows>x<cols>/steps:<n>/real_time   the kernel alone, one thread
// for <net> = airbench (airbench94) and resnet9. Counter GFLOP/s for newton_schulz: per step
// 2 n n m (A) + 2 n^3 (A A) + 2 n n m (B X) for n = min(rows, cols), m = max.
//
//   OMP_NUM_THREADS=2 ./bench_optim --benchmark_filter='^step/airbench/'
#include <benchmark/benchmark.h>

#include <cstddef>
#include <string>
#include <type_traits>
#include <vector>

#include <ctnn/ctnn.hpp>

#include "networks.hpp"

namespace {

using namespace ctnn;

template <class Net>
void random_gradients(Net& net) {
  Rng rng(1);
  for (std::size_t i = 0; i < Net::param_count; ++i) net.gradient_data()[i] = static_cast<float>(rng.normal());
}

// The tensors the optimizer sees: airbench's without its frozen whitening layer (weight and
// bias), resnet9's all (its first conv then stays on SGD).
template <class Net>
Parameters<float> trained(Net& net) {
  auto p = net.parameters();
  if constexpr (std::is_same_v<Net, bench::Airbench94>) p.erase(p.begin(), p.begin() + 2);
  return p;
}

enum class Which { sgd, muon, muon_ns5 };

template <class Net>
void optimizer_step(benchmark::State& state, Which which) {
  auto net = std::make_unique<Net>(1);
  random_gradients(*net);
  auto run = [&](auto& opt) {
    opt.step();  // sizes the workspaces
    for (auto _ : state) {
      opt.step();
      benchmark::ClobberMemory();
    }
  };
  if (which == Which::sgd) {
    SGD<float> opt{trained(*net), SGDOptions{.lr = 1e-4, .momentum = 0.85, .nesterov = true}};
    run(opt);
  } else {
    auto options = airbench94_muon_options();
    if (which == Which::muon_ns5) options.ns_steps = 5;
    // Tiny lrs: the weights must not blow up over thousands of steps on the same gradient.
    auto groups = muon_groups(trained(*net), {.lr = 1e-4, .aux_lr = 1e-4,
                                              .first_layer_on_muon = std::is_same_v<Net, bench::Airbench94>});
    Muon<float> opt{groups, options};
    run(opt);
  }
}

void newton_schulz_alone(benchmark::State& state) {
  const auto rows = static_cast<std::size_t>(state.range(0)), cols = static_cast<std::size_t>(state.range(1));
  const int steps = static_cast<int>(state.range(2));
  std::vector<float> g(rows * cols), out(rows * cols);
  Rng rng(2);
  for (auto& v : g) v = static_cast<float>(rng.normal());
  kernels::NewtonSchulzWorkspace<float> ws;
  ws.reserve(rows, cols);
  for (auto _ : state) {
    kernels::newton_schulz(g.data(), rows, cols, out.data(), steps, {}, 1e-7, ws);
    benchmark::DoNotOptimize(out.data());
  }
  const double n = static_cast<double>(std::min(rows, cols)), m = static_cast<double>(std::max(rows, cols));
  state.counters["GFLOP/s"] = benchmark::Counter(steps * (4 * n * n * m + 2 * n * n * n) * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

const bool registered = [] {
  for (auto [name, which] : {std::pair{"sgd", Which::sgd}, {"muon", Which::muon}, {"muon_ns5", Which::muon_ns5}}) {
    benchmark::RegisterBenchmark(("step/airbench/" + std::string(name)).c_str(), optimizer_step<bench::Airbench94>,
                                 which)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("step/resnet9/" + std::string(name)).c_str(), optimizer_step<bench::ResNet9>, which)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  }
  // airbench94's filters as matrices: [64, 216], [64, 576], [256, 576], [256, 2304].
  benchmark::RegisterBenchmark("newton_schulz", newton_schulz_alone)
      ->ArgNames({"rows", "cols", "steps"})
      ->Args({64, 216, 3})
      ->Args({256, 576, 3})
      ->Args({256, 2304, 3})
      ->Args({256, 2304, 5})
      ->Args({2304, 256, 5})
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
