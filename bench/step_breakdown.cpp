// Where a training step's time goes: runs the same step as bench_train (forward, cross-entropy,
// backward, Adam step, zero_grad) but calls each layer of the network itself, exactly as
// Sequential::forward/backward do (including its fused BatchNorm+ReLU pairs, reported as one
// row), timing every call. Prints, per layer, the median forward
// and backward time over the measured steps, its share of the step, and GFLOP/s for conv and
// linear layers; then the totals per layer kind and pass.
//
//   bench_step_breakdown [seed|resnet9_plain|resnet9|airbench|fer_strong] [batch] [steps] [warmup] [fp32|bf16]
//   (defaults: seed 32 200 5 fp32; threads from OMP_NUM_THREADS or CTNN_THREADS). A residual block
//   of resnet9 or airbench is one row (its inner layers are not timed one by one).
#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <ctnn/ctnn.hpp>

#include "networks.hpp"

namespace {

using namespace ctnn;

using bench::SeedNet;
using bench::ResNet9Plain;
using bench::Airbench94;
using bench::ResNet9;
using bench::FerStrong;

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

// The same pairing rule as Sequential: a layer that offers forward_relu/backward_relu (declares
// fuses_relu) followed by a ReLU (declares is_relu) runs as one pass.
template <class Net, std::size_t I>
constexpr bool fused_with_next() {
  if constexpr (I + 1 < Net::depth) {
    using L = typename Net::template layer_type<I>;
    using R = typename Net::template layer_type<I + 1>;
    return requires { requires L::fuses_relu; } && requires { requires R::is_relu; };
  } else {
    return false;
  }
}
template <class Net, std::size_t I>
constexpr bool fused_into_previous() {
  if constexpr (I > 0) return fused_with_next<Net, I - 1>();
  else return false;
}

template <class L>
constexpr double layer_macs() {  // per image, forward
  if constexpr (requires { L::geometry; })
    return static_cast<double>(L::geometry.out_size() * L::geometry.patch());
  else if constexpr (requires { L::weight_size; })
    return static_cast<double>(L::weight_size);
  else
    return 0;
}

template <class S>
std::string shape_string() {
  return std::to_string(S::channels) + "x" + std::to_string(S::height) + "x" + std::to_string(S::width);
}

template <class Net>
int run(const char* name, std::size_t n, int steps, int warmup, Precision precision) {
  constexpr std::size_t D = Net::depth;
  Net net(1);
  net.train();
  net.set_precision(precision);
  Adam opt{net.parameters(), {.lr = 1e-3}};
  CrossEntropyLoss<typename Net::out_shape> loss;
  Tensor<typename Net::in_shape> x(n);
  Rng rng(2);
  for (auto& v : x.span()) v = static_cast<float>(rng.normal());
  std::vector<std::int32_t> labels(n);
  for (auto& l : labels) l = static_cast<std::int32_t>(rng.below(Net::out_shape::size));

  std::array<AlignedBuffer<float>, D> act;
  for (std::size_t i = 0; i < D; ++i) act[i].resize(n * Net::boundary_sizes[i + 1]);
  const std::size_t max_size = n * *std::max_element(Net::boundary_sizes.begin(), Net::boundary_sizes.end());
  std::array<AlignedBuffer<float>, 2> ping;
  for (auto& g : ping) g.resize(max_size);
  Context ctx;
  ctx.mode = Mode::train;
  ctx.precision = precision;  // the layers are called with this context, not the network's
  ctx.rng = &net.rng();

  // fwd[I]/bwd[I]: layer I's times; a fused pair (e.g. BatchNorm then ReLU, run as one pass by
  // Sequential when the first layer offers forward_relu/backward_relu) is timed on its first layer.
  std::array<std::vector<double>, D> fwd, bwd;
  std::vector<double> t_loss, t_adam, t_zero, t_step;
  auto input_of = [&](std::size_t i) -> const float* { return i == 0 ? x.data() : act[i - 1].data(); };

  for (int s = 0; s < warmup + steps; ++s) {
    const bool record = s >= warmup;
    const auto t_begin = Clock::now();
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (
          [&] {
            if constexpr (fused_into_previous<Net, I>()) {
              return;
            } else {
              const auto t0 = Clock::now();
              if constexpr (fused_with_next<Net, I>())
                net.template layer<I>().forward_relu(input_of(I), act[I + 1].data(), n, ctx);
              else
                net.template layer<I>().forward(input_of(I), act[I].data(), n, ctx);
              if (record) fwd[I].push_back(ms_since(t0));
            }
          }(),
          ...);
    }(std::make_index_sequence<D>{});
    auto t0 = Clock::now();
    loss(TensorView<typename Net::out_shape, const float>(act[D - 1].data(), n), labels);
    if (record) t_loss.push_back(ms_since(t0));
    // Backward, last layer first; the first layer gets no input gradient (as Sequential::backward).
    const float* dy = loss.grad().data();
    int free_slot = 0;
    [&]<std::size_t... J>(std::index_sequence<J...>) {
      (
          [&] {
            constexpr std::size_t I = D - 1 - J;
            if constexpr (fused_with_next<Net, I>()) {
              return;  // done with the ReLU after it
            } else {
              constexpr std::size_t first = fused_into_previous<Net, I>() ? I - 1 : I;
              float* dx = first == 0 ? nullptr : ping[free_slot].data();
              const auto tb = Clock::now();
              if constexpr (fused_into_previous<Net, I>())
                net.template layer<first>().backward_relu(input_of(first), act[I].data(), dy, dx, n);
              else
                net.template layer<I>().backward(input_of(I), act[I].data(), dy, dx, n, ctx);
              if (record) bwd[first].push_back(ms_since(tb));
              dy = dx;
              free_slot = 1 - free_slot;
            }
          }(),
          ...);
    }(std::make_index_sequence<D>{});
    t0 = Clock::now();
    opt.step();
    if (record) t_adam.push_back(ms_since(t0));
    t0 = Clock::now();
    opt.zero_grad();
    if (record) t_zero.push_back(ms_since(t0));
    if (record) t_step.push_back(ms_since(t_begin));
  }

  const double step_ms = median(t_step);
  std::printf("%s, %s, batch %zu, %d threads: median of %d steps (after %d warm-up): %.3f ms/step, %.1f images/s\n",
              name, precision == Precision::bf16 ? "bf16" : "fp32", n, num_threads(), steps, warmup, step_ms,
              1000.0 * static_cast<double>(n) / step_ms);
  std::printf("  #  layer           output       fwd ms   bwd ms   sum ms   %% step  fwd GFLOP/s  bwd GFLOP/s\n");
  std::map<std::string, std::pair<double, double>> by_kind;
  double sum_layers = 0;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (
        [&] {
          using L = typename Net::template layer_type<I>;
          if constexpr (fused_into_previous<Net, I>()) return;  // reported with the layer before it
          const double f = median(fwd[I]), b = median(bwd[I]);
          sum_layers += f + b;
          std::string kind = L::kind_name;
          using Out = std::conditional_t<fused_with_next<Net, I>(), typename Net::template layer_type<(I + 1 < Net::depth ? I + 1 : I)>, L>;
          if constexpr (fused_with_next<Net, I>()) kind += "+ReLU";
          by_kind[kind].first += f;
          by_kind[kind].second += b;
          const double macs = layer_macs<L>() * static_cast<double>(n);
          // backward work: weight grad always, input grad except for the first layer
          const double bwd_flops = 2 * macs * (I == 0 ? 1 : 2);
          char gf[64] = "", gb[64] = "";
          if (macs > 0) {
            std::snprintf(gf, sizeof gf, "%11.1f", 2 * macs / (f * 1e6));
            std::snprintf(gb, sizeof gb, "%11.1f", bwd_flops / (b * 1e6));
          }
          std::printf(" %2zu  %-14s  %-11s %7.3f  %7.3f  %7.3f  %6.1f%%  %s  %s\n", I + 1, kind.c_str(),
                      shape_string<typename Out::out_shape>().c_str(), f, b, f + b, 100 * (f + b) / step_ms, gf, gb);
        }(),
        ...);
  }(std::make_index_sequence<D>{});
  const double l = median(t_loss), a = median(t_adam), z = median(t_zero);
  std::printf("     cross-entropy                               %7.3f  %6.1f%%\n", l, 100 * l / step_ms);
  std::printf("     Adam step                                   %7.3f  %6.1f%%\n", a, 100 * a / step_ms);
  std::printf("     zero_grad                                   %7.3f  %6.1f%%\n", z, 100 * z / step_ms);
  std::printf("     sum of the above %29.3f  %6.1f%% (rest: timer overhead, noise between medians)\n",
              sum_layers + l + a + z, 100 * (sum_layers + l + a + z) / step_ms);
  std::printf("  by kind:        fwd ms   bwd ms   %% step\n");
  for (const auto& [kind, fb] : by_kind)
    std::printf("  %-14s %7.3f  %7.3f  %6.1f%%\n", kind.c_str(), fb.first, fb.second,
                100 * (fb.first + fb.second) / step_ms);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string net = argc > 1 ? argv[1] : "seed";
  const std::size_t batch = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 32;
  const bool big = net != "seed";
  const int steps = argc > 3 ? std::atoi(argv[3]) : (big ? 3 : 200);
  const int warmup = argc > 4 ? std::atoi(argv[4]) : (big ? 1 : 5);
  const std::string prec = argc > 5 ? argv[5] : "fp32";
  if (const char* t = std::getenv("CTNN_THREADS")) set_num_threads(std::atoi(t));
  if (batch == 0 || steps <= 0 || warmup < 0 || (prec != "fp32" && prec != "bf16")) {
    std::fprintf(stderr, "usage: %s [seed|resnet9_plain|resnet9|airbench|fer_strong] [batch] [steps] [warmup] [fp32|bf16]\n", argv[0]);
    return 2;
  }
  const Precision p = prec == "bf16" ? Precision::bf16 : Precision::fp32;
  if (net == "seed") return run<SeedNet>("seed", batch, steps, warmup, p);
  if (net == "resnet9_plain") return run<ResNet9Plain>("resnet9_plain", batch, steps, warmup, p);
  if (net == "resnet9") return run<ResNet9>("resnet9", batch, steps, warmup, p);
  if (net == "airbench") return run<Airbench94>("airbench", batch, steps, warmup, p);
  if (net == "fer_strong") return run<FerStrong>("fer_strong", batch, steps, warmup, p);
  std::fprintf(stderr, "unknown network '%s' (seed, resnet9_plain, resnet9, airbench or fer_strong)\n", net.c_str());
  return 2;
}
