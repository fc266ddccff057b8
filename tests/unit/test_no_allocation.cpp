// A steady-state training step (with the thread governor's tick) allocates nothing: every malloc in
// the process is counted.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstdlib>
#include <vector>

#include <ctnn/ctnn.hpp>

// Every heap allocation in the process goes through malloc and friends: operator new, Eigen's
// aligned_malloc for large GEMM blocks, and the OpenMP runtime. glibc lets a program replace
// them; these count the calls and forward to glibc's own implementation.
extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void __libc_free(void*);
}

namespace {
std::atomic<long> g_allocations{0};
std::atomic<bool> g_counting{false};
inline void count() {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace

extern "C" {
void* malloc(std::size_t n) {
  count();
  return __libc_malloc(n);
}
void* calloc(std::size_t a, std::size_t b) {
  count();
  return __libc_calloc(a, b);
}
void* realloc(void* p, std::size_t n) {
  count();
  return __libc_realloc(p, n);
}
void* memalign(std::size_t align, std::size_t n) {
  count();
  return __libc_memalign(align, n);
}
void* aligned_alloc(std::size_t align, std::size_t n) {
  count();
  return __libc_memalign(align, n);
}
int posix_memalign(void** out, std::size_t align, std::size_t n) {
  count();
  void* p = __libc_memalign(align, n);
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}
void free(void* p) { __libc_free(p); }
}

using namespace ctnn;

namespace {
using Net = Sequential<Input<3, 32, 32>, Conv<3, 16, 5>, BatchNorm, ReLU, MaxPool<2>, Conv<16, 32, 5>, BatchNorm,
                       ReLU, MaxPool<2>, Dropout<0.2>, Linear<10>>;

struct AdamOn {
  template <class N>
  Adam<float> operator()(N& net) const { return Adam{net.parameters()}; }
};
// Muon on both filters (its Newton-Schulz GEMMs and scratch), SGD on the rest, one group at a
// time per thread.
struct MuonOn {
  Muon<float> operator()(Net& net) const {
    return Muon{muon_groups(net.parameters(), {.first_layer_on_muon = true}),
                MuonOptions{.aux = {.momentum = 0.9, .nesterov = true}}};
  }
};

template <class MakeOptimizer = AdamOn, class N = Net>
void check_no_allocation(Precision precision, MakeOptimizer make_optimizer = {}) {
  N net(1);
  net.set_precision(precision);
  auto opt = make_optimizer(net);
  CrossEntropyLoss<Shape<10, 1, 1>> loss;
  Tensor<typename N::in_shape> x(32);
  std::vector<std::int32_t> labels(32);
  Rng rng(1);
  for (auto& v : x.span()) v = static_cast<float>(rng.normal());
  for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<std::int32_t>(i % 10);
  // The training loop ticks the thread governor every batch; here it reads /proc/stat at every
  // tick, but sees no other process (busy time = own time), so that the active thread count,
  // whose change can make a thread meet a GEMM shape it has not run before (its plan then grows
  // once), stays as it is while allocations are counted.
  ThreadGovernor governor(std::chrono::milliseconds(0), [](ThreadGovernor::Sample& s, ThreadGovernor::Clock::time_point t) {
    const bool ok = ThreadGovernor::read_proc_stat(s, t);
    s.busy_seconds = s.own_seconds;
    return ok;
  });
  auto step = [&] {
    governor.tick();
    net.train();
    loss(net.forward(x), labels);
    net.backward(loss.grad());
    opt.step();
    opt.zero_grad();
    net.eval();
    net.forward(x);
    NoGrad no_grad(net);  // the inference plan (layers/chain.hpp): fused Conv spans, pooled in the epilogue
    net.forward(x);
  };
  std::vector<std::int32_t> fewer(labels.begin(), labels.begin() + 20);
  step();  // the first step sizes every workspace
  step();
  // The hook really sees allocations (so a zero below means something).
  g_allocations = 0;
  g_counting = true;
  std::vector<float>* probe = new std::vector<float>(1000);
  g_counting = false;
  delete probe;
  REQUIRE(g_allocations.load() >= 2);
  g_allocations = 0;
  g_counting = true;
  for (int i = 0; i < 3; ++i) step();
  // A smaller last batch reuses the same buffers.
  x.resize(20);
  net.train();
  loss(net.forward(x), fewer);
  net.backward(loss.grad());
  opt.step();
  g_counting = false;
  CHECK(g_allocations.load() == 0);
  set_active_threads(thread_width());
}
}  // namespace

TEST_CASE("no allocation in a steady-state training step (seed network, Adam, dropout)") {
  check_no_allocation(Precision::fp32);
}

TEST_CASE("no allocation in a steady-state training step with Muon (Newton-Schulz on the filters, SGD on the rest)") {
  check_no_allocation(Precision::fp32, MuonOn{});
}

// The seed network's first conv forward (N = 1024) and second conv (N = 256) run in bf16 (native kernel
// or portable path); its narrow GEMMs (N < 128) stay fp32.
TEST_CASE("no allocation in a steady-state training step in bf16 (seed network, Adam, dropout)") {
  check_no_allocation(Precision::bf16);
}

// 3x3 convs with every conv forced to Winograd F(4x4, 3x3), then F(2x2, 3x3), then chosen by timing
// (ConvAlgorithm::benchmark, which allocates its timing buffers in the warm-up step only;
// kernels/winograd_select.hpp), in fp32 and in a bf16 network (im2col in bf16, Winograd in fp32).
TEST_CASE("no allocation in a steady-state training step with Winograd convolutions (F4, F2, benchmark)") {
  using WinogradNet = Sequential<Input<3, 16, 16>, Conv<3, 16, 3>, BatchNorm, ReLU, Conv<16, 32, 3>, BatchNorm, ReLU,
                                 MaxPool<2>, Conv<32, 32, 3, 1, 0>, ReLU, Dropout<0.2>, Linear<10>>;
  const ConvAlgorithm before = conv_algorithm();
  for (ConvAlgorithm a : {ConvAlgorithm::winograd_f4, ConvAlgorithm::winograd_f2, ConvAlgorithm::benchmark}) {
    set_conv_algorithm(a);
    check_no_allocation<AdamOn, WinogradNet>(Precision::fp32);
    check_no_allocation<AdamOn, WinogradNet>(Precision::bf16);
  }
  set_conv_algorithm(before);
}
