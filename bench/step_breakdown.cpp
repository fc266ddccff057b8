// Where a training step's time goes: runs the same step as bench_train (forward, cross-entropy,
// backward, Adam step, zero_grad) but calls each layer of the network itself, exactly as
// Sequential::forward/backward do, timing every call. Prints, per layer, the median forward
// and backward time over the measured steps, its share of the step, and GFLOP/s for conv and
// linear layers; then the totals per layer kind and pass.
//
//   bench_step_breakdown [seed|resnet9_plain] [batch] [steps] [warmup]
//   (defaults: seed 32 200 5; threads from OMP_NUM_THREADS or CTNN_THREADS)
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

namespace {

using namespace ctnn;

// Same networks as bench_train.cpp.
using SeedNet = Sequential<Input<3, 32, 32>, Conv<3, 16, 5>, BatchNorm, ReLU, MaxPool<2>, Conv<16, 32, 5>, BatchNorm,
                           ReLU, MaxPool<2>, Linear<10>>;
using ResNet9Plain =
    Sequential<Input<3, 32, 32>, Conv<3, 64, 3>, BatchNorm, ReLU, Conv<64, 128, 3>, BatchNorm, ReLU, MaxPool<2>,
               Conv<128, 128, 3>, BatchNorm, ReLU, Conv<128, 128, 3>, BatchNorm, ReLU, Conv<128, 256, 3>, BatchNorm,
               ReLU, MaxPool<2>, Conv<256, 512, 3>, BatchNorm, ReLU, MaxPool<2>, Conv<512, 512, 3>, BatchNorm, ReLU,
               Conv<512, 512, 3>, BatchNorm, ReLU, MaxPool<4>, Linear<10>>;
static_assert(SeedNet::param_count == 34'634);
static_assert(ResNet9Plain::param_count == 6'575'370);

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
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
int run(const char* name, std::size_t n, int steps, int warmup) {
  constexpr std::size_t D = Net::depth;
  Net net(1);
  net.train();
  Adam opt{net.parameters(), {.lr = 1e-3}};
  CrossEntropyLoss<typename Net::out_shape> loss;
  Tensor<typename Net::in_shape> x(n);
  Rng rng(2);
  for (auto& v : x.span()) v = static_cast<float>(rng.normal());
  std::vector<std::int32_t> labels(n);
  for (auto& l : labels) l = static_cast<std::int32_t>(rng.below(10));

  std::array<AlignedBuffer<float>, D> act;
  for (std::size_t i = 0; i < D; ++i) act[i].resize(n * Net::boundary_sizes[i + 1]);
  const std::size_t max_size = n * *std::max_element(Net::boundary_sizes.begin(), Net::boundary_sizes.end());
  std::array<AlignedBuffer<float>, 2> ping;
  for (auto& g : ping) g.resize(max_size);
  Context ctx;
  ctx.mode = Mode::train;
  ctx.rng = &net.rng();

  std::array<std::vector<double>, D> fwd, bwd;
  std::vector<double> t_loss, t_adam, t_zero, t_step;
  auto input_of = [&](std::size_t i) -> const float* { return i == 0 ? x.data() : act[i - 1].data(); };

  for (int s = 0; s < warmup + steps; ++s) {
    const bool record = s >= warmup;
    const auto t_begin = Clock::now();
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (
          [&] {
            const auto t0 = Clock::now();
            net.template layer<I>().forward(input_of(I), act[I].data(), n, ctx);
            if (record) fwd[I].push_back(ms_since(t0));
          }(),
          ...);
    }(std::make_index_sequence<D>{});
    auto t0 = Clock::now();
    loss(TensorView<typename Net::out_shape, const float>(act[D - 1].data(), n), labels);
    if (record) t_loss.push_back(ms_since(t0));
    // Backward, last layer first; the first layer gets no input gradient (as Sequential::backward).
    const float* dy = loss.grad().data();
    [&]<std::size_t... J>(std::index_sequence<J...>) {
      (
          [&] {
            constexpr std::size_t I = D - 1 - J;
            float* dx = I == 0 ? nullptr : ping[(I - 1) % 2].data();
            const auto tb = Clock::now();
            net.template layer<I>().backward(input_of(I), act[I].data(), dy, dx, n, ctx);
            if (record) bwd[I].push_back(ms_since(tb));
            dy = dx;
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
  std::printf("%s, batch %zu, %d threads: median of %d steps (after %d warm-up): %.3f ms/step, %.1f images/s\n",
              name, n, num_threads(), steps, warmup, step_ms, 1000.0 * static_cast<double>(n) / step_ms);
  std::printf("  #  layer      output       fwd ms   bwd ms   sum ms   %% step  fwd GFLOP/s  bwd GFLOP/s\n");
  std::map<std::string, std::pair<double, double>> by_kind;
  double sum_layers = 0;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (
        [&] {
          using L = typename Net::template layer_type<I>;
          const double f = median(fwd[I]), b = median(bwd[I]);
          sum_layers += f + b;
          by_kind[L::kind_name].first += f;
          by_kind[L::kind_name].second += b;
          const double macs = layer_macs<L>() * static_cast<double>(n);
          // backward work: weight grad always, input grad except for the first layer
          const double bwd_flops = 2 * macs * (I == 0 ? 1 : 2);
          char gf[64] = "", gb[64] = "";
          if (macs > 0) {
            std::snprintf(gf, sizeof gf, "%11.1f", 2 * macs / (f * 1e6));
            std::snprintf(gb, sizeof gb, "%11.1f", bwd_flops / (b * 1e6));
          }
          std::printf(" %2zu  %-9s  %-11s %7.3f  %7.3f  %7.3f  %6.1f%%  %s  %s\n", I + 1, L::kind_name,
                      shape_string<typename L::out_shape>().c_str(), f, b, f + b, 100 * (f + b) / step_ms, gf, gb);
        }(),
        ...);
  }(std::make_index_sequence<D>{});
  const double l = median(t_loss), a = median(t_adam), z = median(t_zero);
  std::printf("     cross-entropy                          %7.3f  %6.1f%%\n", l, 100 * l / step_ms);
  std::printf("     Adam step                              %7.3f  %6.1f%%\n", a, 100 * a / step_ms);
  std::printf("     zero_grad                              %7.3f  %6.1f%%\n", z, 100 * z / step_ms);
  std::printf("     sum of the above %24.3f  %6.1f%% (rest: timer overhead, noise between medians)\n",
              sum_layers + l + a + z, 100 * (sum_layers + l + a + z) / step_ms);
  std::printf("  by kind:   fwd ms   bwd ms   %% step\n");
  for (const auto& [kind, fb] : by_kind)
    std::printf("  %-9s %7.3f  %7.3f  %6.1f%%\n", kind.c_str(), fb.first, fb.second,
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
  if (const char* t = std::getenv("CTNN_THREADS")) set_num_threads(std::atoi(t));
  if (batch == 0 || steps <= 0 || warmup < 0) {
    std::fprintf(stderr, "usage: %s [seed|resnet9_plain] [batch] [steps] [warmup]\n", argv[0]);
    return 2;
  }
  if (net == "seed") return run<SeedNet>("seed", batch, steps, warmup);
  if (net == "resnet9_plain") return run<ResNet9Plain>("resnet9_plain", batch, steps, warmup);
  std::fprintf(stderr, "unknown network '%s' (seed or resnet9_plain)\n", net.c_str());
  return 2;
}
