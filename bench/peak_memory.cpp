// Peak resident memory of training: builds a network, runs a few training steps (forward,
// cross-entropy, backward, Adam step, zero_grad) on random data, and prints the process's
// resident-set high-water mark (getrusage ru_maxrss) and its resident size before the network
// was built, so the difference is what the network, its activations, gradients, workspaces and
// optimizer state cost.
//
//   bench_peak_memory [resnet9_plain|seed] [batch] [steps]     (defaults: resnet9_plain 128 3)
//
// Output: one line of key=value pairs (MiB), read by bench/compare_pytorch.py.
#include <sys/resource.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <ctnn/ctnn.hpp>

#include "networks.hpp"

namespace {

using namespace ctnn;

using bench::SeedNet;
using bench::ResNet9Plain;

double current_rss_mib() {
  std::ifstream statm("/proc/self/statm");
  long pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return static_cast<double>(pages_resident) * 4096.0 / (1024.0 * 1024.0);
}

double peak_rss_mib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // Linux: KiB
}

template <class Net>
int run(const char* name, std::size_t n, int steps) {
  const double baseline = current_rss_mib();
  auto net = std::make_unique<Net>(1);
  Adam opt{net->parameters(), {.lr = 1e-3}};
  CrossEntropyLoss<typename Net::out_shape> loss;
  Tensor<typename Net::in_shape> x(n);
  Rng rng(2);
  for (auto& v : x.span()) v = static_cast<float>(rng.normal());
  std::vector<std::int32_t> labels(n);
  for (auto& l : labels) l = static_cast<std::int32_t>(rng.below(10));
  double last_loss = 0;
  for (int s = 0; s < steps; ++s) {
    last_loss = loss(net->forward(x), labels);
    net->backward(loss.grad());
    opt.step();
    opt.zero_grad();
  }
  const double params_mib = static_cast<double>(Net::param_count) * 4 / (1024.0 * 1024.0);
  std::printf("net=%s batch=%zu steps=%d threads=%d peak_rss_mib=%.1f baseline_rss_mib=%.1f peak_minus_baseline_mib=%.1f "
              "params_mib=%.1f input_mib=%.1f loss=%.4f\n",
              name, n, steps, num_threads(), peak_rss_mib(), baseline, peak_rss_mib() - baseline, params_mib,
              static_cast<double>(x.size()) * 4 / (1024.0 * 1024.0), last_loss);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string net = argc > 1 ? argv[1] : "resnet9_plain";
  const std::size_t batch = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 128;
  const int steps = argc > 3 ? std::atoi(argv[3]) : 3;
  if (batch == 0 || steps <= 0) {
    std::fprintf(stderr, "usage: %s [resnet9_plain|seed] [batch] [steps]\n", argv[0]);
    return 2;
  }
  if (net == "seed") return run<SeedNet>("seed", batch, steps);
  if (net == "resnet9_plain") return run<ResNet9Plain>("resnet9_plain", batch, steps);
  std::fprintf(stderr, "unknown network '%s' (seed or resnet9_plain)\n", net.c_str());
  return 2;
}
