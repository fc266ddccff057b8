// Winograd F(2x2, 3x3) and F(4x4, 3x3) convolutions (kernels/winograd.hpp) against the direct
// im2col path (kernels/conv.hpp): forward, input gradient, weight and bias gradients, on odd
// plane sizes, padding 0 and 1, channel counts that are not multiples of 16, batch 1 and more.
//
// The reference is the im2col path in double; the fp32 Winograd result must be within
//   max |winograd - reference| <= bound * max |reference|       (per tensor)
// with bound = 16 eps for F(2x2, 3x3) and 256 eps for F(4x4, 3x3) (eps = 2^-23, fp32). Why
// (docs/winograd.md): every output is still a sum of the same Cin*9 products, but formed from
// transformed values. F(2x2, 3x3)'s coefficients are 0, +-1, +-1/2: its transforms add at most 4
// values and round a few times more than im2col's dot product, so its error stays within a small
// multiple of fp32 GEMM's (measured 1-3x, 0.8e-6 relative at Cin = 512). F(4x4, 3x3)'s transforms
// multiply by up to 8 (AT) and 5 (BT) and by 1/6, 1/24 (G), so terms of very different size are
// summed and cancelled: measured 10-25x the im2col error (1.1e-5 relative at Cin = 256, 3e-6 at
// the sizes here). The bounds leave 3-10x headroom over the measurements at these sizes.
// Then through the layer: a finite-difference gradient check with each Winograd variant forced,
// the dispatch (set_algorithm, set_conv_algorithm, the rule), and the results' independence of the
// active thread count at a fixed width.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <ctnn/ctnn.hpp>
#include <ctnn/kernels/winograd_backward.hpp>
#include <ctnn/kernels/winograd_select.hpp>
#include <ctnn/testing/gradcheck.hpp>

using namespace ctnn;
using namespace ctnn::kernels;

namespace {

#ifdef __AVX512F__
constexpr bool avx512_build = true;
#else
constexpr bool avx512_build = false;
#endif

template <class T>
std::vector<T> random_vector(std::size_t n, Rng& rng) {
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(rng.normal());
  return v;
}

std::vector<float> to_float(const std::vector<double>& v) { return {v.begin(), v.end()}; }

// max |a - ref| / max |ref|
double relative_error(const std::vector<float>& a, const std::vector<double>& ref) {
  double err = 0, scale = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    err = std::max(err, std::abs(static_cast<double>(a[i]) - ref[i]));
    scale = std::max(scale, std::abs(ref[i]));
  }
  return err / scale;
}

struct Passes {
  std::vector<double> y, dx, dw, db;
};

// The im2col path in double: the reference.
template <ConvGeometry G>
Passes reference(const std::vector<double>& x, const std::vector<double>& w, const std::vector<double>& b,
                 const std::vector<double>& dy, std::size_t n) {
  const auto threads = static_cast<std::size_t>(std::max(num_threads(), thread_width()));
  const auto slots = static_cast<std::size_t>(thread_width());
  Passes r{std::vector<double>(n * G.out_size()), std::vector<double>(n * G.in_size()),
           std::vector<double>(G.weight_size()), std::vector<double>(G.cout)};
  AlignedBuffer<double> scratch(threads * conv_scratch_per_thread<G> + 1), partial(slots * (G.weight_size() + G.cout));
  std::vector<ConvThreadPlans<double>> plans(threads);
  conv2d_forward<G>(x.data(), w.data(), b.data(), r.y.data(), n, scratch.data(), plans.data());
  conv2d_backward<G>(x.data(), w.data(), dy.data(), r.dx.data(), r.dw.data(), r.db.data(), n, scratch.data(),
                     partial.data(), plans.data(), slots);
  return r;
}

template <ConvGeometry G, std::size_t M>
void check_against_im2col(std::size_t n) {
  using S = WinogradShape<G, M>;
  Rng rng(G.cin * 131 + G.h * 7 + n);
  const auto x = random_vector<double>(n * G.in_size(), rng), w = random_vector<double>(G.weight_size(), rng);
  const auto b = random_vector<double>(G.cout, rng), dy = random_vector<double>(n * G.out_size(), rng);
  const Passes ref = reference<G>(x, w, b, dy, n);

  const auto threads = static_cast<std::size_t>(std::max(num_threads(), thread_width()));
  const auto slots = static_cast<std::size_t>(thread_width());
  const auto xf = to_float(x), wf = to_float(w), bf = to_float(b), dyf = to_float(dy);
  std::vector<float> y(n * G.out_size()), dx(n * G.in_size(), 7.0f), dw(G.weight_size(), 0.0f), db(G.cout, 0.0f);
  AlignedBuffer<float> u(S::filter_buffer), scratch(threads * S::scratch), partials(slots * S::partial);
  std::vector<ConvThreadPlans<float>> plans(threads);
  winograd_forward<G, M>(xf.data(), wf.data(), bf.data(), y.data(), n, u.data(), scratch.data(), plans.data());
  winograd_backward<G, M>(xf.data(), wf.data(), dyf.data(), dx.data(), dw.data(), db.data(), n, u.data(),
                          scratch.data(), partials.data(), plans.data(), slots);

  const double eps = std::numeric_limits<float>::epsilon();
  const double bound = (M == 2 ? 16 : 256) * eps;
  INFO("F(" << M << "x" << M << ",3x3) Cin " << G.cin << " Cout " << G.cout << " " << G.h << "x" << G.w << " pad "
            << G.pad << " batch " << n << ", bound " << bound);
  CHECK(relative_error(y, ref.y) <= bound);
  CHECK(relative_error(dx, ref.dx) <= bound);
  CHECK(relative_error(dw, ref.dw) <= bound);
  CHECK(relative_error(db, ref.db) <= bound);

  // Without dx the weight gradient is the same, accumulated (+=) onto what dw held.
  std::vector<float> dw2(dw), db2(db);
  winograd_backward<G, M>(xf.data(), wf.data(), dyf.data(), static_cast<float*>(nullptr), dw2.data(), db2.data(), n, u.data(),
                          scratch.data(), partials.data(), plans.data(), slots);
  for (std::size_t i = 0; i < dw.size(); ++i) dw2[i] -= dw[i];
  for (std::size_t i = 0; i < db.size(); ++i) db2[i] -= db[i];
  CHECK(relative_error(dw2, ref.dw) <= 4 * bound);
  CHECK(relative_error(db2, ref.db) <= 4 * bound);
}

constexpr ConvGeometry conv3x3(std::size_t cin, std::size_t cout, std::size_t h, std::size_t w, std::size_t pad) {
  return {cin, cout, 3, 1, pad, h, w, h + 2 * pad - 2, w + 2 * pad - 2};
}

}  // namespace

TEST_CASE("winograd F(2x2,3x3): each pass against im2col, odd planes, pad 0 and 1, batch 1 and more") {
  check_against_im2col<conv3x3(3, 5, 7, 9, 1), 2>(3);
  check_against_im2col<conv3x3(3, 5, 7, 9, 0), 2>(1);
  check_against_im2col<conv3x3(17, 20, 11, 5, 1), 2>(5);
  check_against_im2col<conv3x3(20, 33, 6, 6, 0), 2>(2);
  check_against_im2col<conv3x3(40, 24, 3, 3, 1), 2>(70);  // more samples than one group
}

TEST_CASE("winograd F(4x4,3x3): each pass against im2col, odd planes, pad 0 and 1, batch 1 and more") {
  check_against_im2col<conv3x3(3, 5, 7, 9, 1), 4>(3);
  check_against_im2col<conv3x3(3, 5, 7, 9, 0), 4>(1);
  check_against_im2col<conv3x3(17, 20, 11, 5, 1), 4>(5);
  check_against_im2col<conv3x3(20, 33, 6, 6, 0), 4>(2);
  check_against_im2col<conv3x3(40, 24, 3, 3, 1), 4>(70);
}

namespace {

// Sets the width (and the active count) to 2 for a scope, restoring the width on exit.
struct WidthOf2 {
  int before = thread_width();
  WidthOf2() { set_num_threads(2); }
  ~WidthOf2() { set_num_threads(before); }
};

}  // namespace

TEST_CASE("winograd: groups shrink where the default would leave slots idle, and keep their size elsewhere") {
  using Plane6 = WinogradShape<conv3x3(64, 64, 6, 6, 1), 4>;     // 4 tiles a sample: groups of 64
  using Plane12 = WinogradShape<conv3x3(64, 64, 12, 12, 1), 4>;  // 9 tiles: groups of 28
  using Plane7 = WinogradShape<conv3x3(64, 64, 7, 7, 1), 4>;     // airbench's 7x7 planes
  using Plane15 = WinogradShape<conv3x3(64, 64, 15, 15, 1), 4>;  // and its 15x15 ones
  static_assert(Plane6::samples == 64 && Plane12::samples == 28 && Plane7::samples == 64 && Plane15::samples == 16);
  // Batch 64 on 2 slots: one group of 64 would leave a slot idle; two of 32 use both, at half the columns.
  CHECK(Plane6::groups(64, 2).size == 32);
  CHECK(Plane6::groups(64, 2).count == 2);
  CHECK(Plane6::gemm_cols(32) == 128);
  CHECK(Plane6::groups(64, 1).size == 64);  // one slot: nothing to balance
  // 28 + 28 + 8 on 2 slots takes 2 rounds of 256 columns; 4 groups of 16 take 2 rounds of 192.
  CHECK(Plane12::groups(64, 2).size == 16);
  CHECK(Plane12::groups(64, 2).count == 4);
  // A small last batch (FER2013's 28,558 % 64 = 14) runs one group of its own size, not of 64.
  CHECK(Plane6::groups(14, 2).size == 7);
  // Batches that divide well keep the default groups, so their results stay bit for bit.
  for (std::size_t n : {128u, 500u, 1000u, 2000u}) {
    CHECK(Plane7::groups(n, 2).size == 64);
    CHECK(Plane15::groups(n, 2).size == 16);
    CHECK(Plane6::groups(n, 2).size == 64);
  }
  CHECK(Plane12::groups(500, 2).size == 28);
}

TEST_CASE("winograd F(4x4,3x3): smaller groups (batch 64 on 6x6 and 12x12 planes, width 2) against im2col") {
  WidthOf2 width;
  REQUIRE(WinogradShape<conv3x3(24, 20, 6, 6, 1), 4>::groups(64, 2).size == 32);
  check_against_im2col<conv3x3(24, 20, 6, 6, 1), 4>(64);
  REQUIRE(WinogradShape<conv3x3(20, 24, 12, 12, 1), 4>::groups(64, 2).size == 16);
  check_against_im2col<conv3x3(20, 24, 12, 12, 1), 4>(64);
  check_against_im2col<conv3x3(20, 24, 12, 12, 1), 4>(14);
  check_against_im2col<conv3x3(20, 24, 12, 12, 1), 2>(14);
}

namespace {

// Sets the process-wide algorithm for a scope.
struct ForceAlgorithm {
  ConvAlgorithm before = conv_algorithm();
  explicit ForceAlgorithm(ConvAlgorithm a) { set_conv_algorithm(a); }
  ~ForceAlgorithm() { set_conv_algorithm(before); }
};

}  // namespace

TEST_CASE("winograd: finite-difference gradient check through the layer, F2 and F4, pad 0 and 1") {
  for (ConvAlgorithm a : {ConvAlgorithm::winograd_f2, ConvAlgorithm::winograd_f4}) {
    ForceAlgorithm force(a);
    {
      BasicSequential<double, Input<3, 7, 6>, Conv<3, 4, 3>> net(7);
      auto r = ctnn::testing::gradcheck(net, 2, 11, Mode::train);
      INFO(conv_algorithm_name(a) << " pad 1: worst tensor " << r.worst_tensor << ", relative error " << r.worst_rel);
      CHECK(r.worst_rel < 1e-6);
    }
    {
      BasicSequential<double, Input<2, 9, 7>, Conv<2, 3, 3, 1, 0>, ReLU, Conv<3, 2, 3>> net(7);
      auto r = ctnn::testing::gradcheck(net, 3, 11, Mode::train);
      INFO(conv_algorithm_name(a) << " pad 0 then 1: worst tensor " << r.worst_tensor << ", relative error "
                                  << r.worst_rel);
      CHECK(r.worst_rel < 1e-6);
    }
  }
}

namespace {

using WinoNet = Sequential<Input<20, 9, 9>, Conv<20, 24, 3>, ReLU, Conv<24, 16, 3, 1, 0>, Flatten, Linear<5>>;

// Output, input gradient and parameter gradients of one forward and backward.
template <class Net>
std::vector<float> one_step(Net& net, const Tensor<typename Net::in_shape>& x) {
  net.zero_grad();
  const auto y = net.forward(x);
  Tensor<typename Net::out_shape> dy(x.batch());
  Rng rng(5);
  for (auto& v : dy.span()) v = static_cast<float>(rng.normal());
  const auto dx = net.backward(dy, true);
  std::vector<float> out(y.data(), y.data() + y.size());
  out.insert(out.end(), dx.data(), dx.data() + dx.size());
  for (auto p : net.parameters()) out.insert(out.end(), p.grad, p.grad + p.size);
  return out;
}

}  // namespace

TEST_CASE("winograd: the same result for the same width whatever the active thread count") {
  WidthOf2 width;
  Tensor<WinoNet::in_shape> x(37);
  Rng rng(3);
  for (auto& v : x.span()) v = static_cast<float>(rng.normal());
  for (ConvAlgorithm a : {ConvAlgorithm::winograd_f2, ConvAlgorithm::winograd_f4}) {
    ForceAlgorithm force(a);
    WinoNet net(7);
    set_active_threads(2);
    const auto two = one_step(net, x);
    set_active_threads(1);
    const auto one = one_step(net, x);
    set_active_threads(2);
    INFO(conv_algorithm_name(a));
    CHECK(two == one);
  }
}

TEST_CASE("winograd: the layer runs the algorithm it is set to, and the rule") {
  using Net = Sequential<Input<20, 9, 9>, Conv<20, 24, 3>>;
  Net net(7);
  Tensor<Net::in_shape> x(4);
  Rng rng(3);
  for (auto& v : x.span()) v = static_cast<float>(rng.normal());
  const auto im2col = [&] {
    net.layer<0>().set_algorithm(ConvAlgorithm::im2col);
    auto y = net.forward(x);
    return std::vector<float>(y.data(), y.data() + y.size());
  }();
  std::vector<std::vector<float>> outs;
  for (ConvAlgorithm a : {ConvAlgorithm::winograd_f2, ConvAlgorithm::winograd_f4}) {
    net.layer<0>().set_algorithm(a);
    CHECK(net.layer<0>().algorithm() == a);
    auto y = net.forward(x);
    outs.emplace_back(y.data(), y.data() + y.size());
  }
  // Each differs from im2col (rounding), the two differ from each other, all close.
  double worst = 0;
  for (const auto& o : outs) {
    CHECK(o != im2col);
    for (std::size_t i = 0; i < o.size(); ++i) worst = std::max(worst, static_cast<double>(std::abs(o[i] - im2col[i])));
  }
  CHECK(outs[0] != outs[1]);
  CHECK(worst < 1e-4);
  // A layer's own choice wins over the process-wide one.
  {
    ForceAlgorithm force(ConvAlgorithm::winograd_f2);
    net.layer<0>().set_algorithm(ConvAlgorithm::im2col);
    auto y = net.forward(x);
    CHECK(std::vector<float>(y.data(), y.data() + y.size()) == im2col);
  }
  // The rule: F(4x4) for 3x3 stride 1 on >= 4x4 planes with 2 Cin Cout / (Cin + Cout) >= 32 with AVX-512,
  // else >= 80.
  const ConvAlgorithm narrow = winograd_min_channel_mean <= 34 ? ConvAlgorithm::winograd_f4 : ConvAlgorithm::im2col;
  CHECK(winograd_min_channel_mean == (avx512_build ? 32 : 80));
  CHECK(winograd_rule<conv3x3(64, 128, 32, 32, 1)>(Precision::fp32) == ConvAlgorithm::winograd_f4);
  CHECK(winograd_rule<conv3x3(512, 512, 4, 4, 1)>(Precision::fp32) == ConvAlgorithm::winograd_f4);
  CHECK(winograd_rule<conv3x3(64, 64, 15, 15, 1)>(Precision::fp32) == narrow);  // mean 64
  CHECK(winograd_rule<conv3x3(24, 64, 31, 31, 1)>(Precision::fp32) == narrow);  // mean 34.9
  CHECK(winograd_rule<conv3x3(16, 32, 31, 31, 1)>(Precision::fp32) == ConvAlgorithm::im2col);  // mean 21.3
  CHECK(winograd_rule<conv3x3(3, 64, 32, 32, 1)>(Precision::fp32) == ConvAlgorithm::im2col);
  CHECK(winograd_rule<conv3x3(256, 256, 3, 3, 1)>(Precision::fp32) == ConvAlgorithm::im2col);
  // The same rule in a bf16 network (Winograd then runs its GEMMs in fp32).
  CHECK(winograd_rule<conv3x3(64, 128, 32, 32, 1)>(Precision::bf16) == ConvAlgorithm::winograd_f4);
  CHECK(winograd_rule<conv3x3(64, 64, 15, 15, 1)>(Precision::bf16) == narrow);
  CHECK(winograd_rule<conv3x3(3, 64, 32, 32, 1)>(Precision::bf16) == ConvAlgorithm::im2col);
  // A batch smaller than one F(4x4) sample group runs im2col (batch-1 latency); a full group F4.
  constexpr ConvGeometry wide = conv3x3(512, 512, 4, 4, 1);
  CHECK(winograd_rule<wide>(Precision::fp32, 1) == ConvAlgorithm::im2col);
  CHECK(winograd_rule<wide>(Precision::fp32, WinogradShape<wide, 4>::samples - 1) == ConvAlgorithm::im2col);
  CHECK(winograd_rule<wide>(Precision::fp32, WinogradShape<wide, 4>::samples) == ConvAlgorithm::winograd_f4);
  CHECK(winograd_rule<ConvGeometry{128, 128, 3, 2, 1, 32, 32, 16, 16}>(Precision::fp32) == ConvAlgorithm::im2col);
  CHECK(parse_conv_algorithm("winograd_f4") == ConvAlgorithm::winograd_f4);
  CHECK(!parse_conv_algorithm("winograd"));
}

TEST_CASE("winograd: ConvAlgorithm::benchmark times the candidates once per shape, batch and mode, and runs the fastest") {
  using First = std::remove_reference_t<decltype(std::declval<WinoNet&>().layer<0>())>;
  using Second = std::remove_reference_t<decltype(std::declval<WinoNet&>().layer<2>())>;
  using Store1 = BenchmarkedAlgorithms<First::geometry>;
  using Store2 = BenchmarkedAlgorithms<Second::geometry>;
  Store1::clear();
  Store2::clear();
  Tensor<WinoNet::in_shape> x(37);
  Rng rng(3);
  for (auto& v : x.span()) v = static_cast<float>(rng.normal());
  std::vector<float> timed_step, second_step;
  {
    ForceAlgorithm force(ConvAlgorithm::benchmark);
    WinoNet net(7);
    CHECK(!Store1::find(37, true));
    timed_step = one_step(net, x);
    second_step = one_step(net, x);
    // Inference without gradients is timed separately (forward only), at its own batch size.
    CHECK(!Store1::find(37, false));
    net.eval();
    NoGrad no_grad(net);
    net.forward(x);
    CHECK(Store1::find(37, false).has_value());
    CHECK(!Store1::find(36, true));
  }
  const auto c1 = Store1::find(37, true), c2 = Store2::find(37, true);
  REQUIRE(c1.has_value());
  REQUIRE(c2.has_value());
  INFO(conv_algorithm_name(*c1), " ", conv_algorithm_name(*c2));
  CHECK(*c1 != ConvAlgorithm::benchmark);
  CHECK(*c2 != ConvAlgorithm::benchmark);
  // The same network with each layer set to what the benchmark chose: the same bits, step after step;
  // so the timing runs left the gradients (they accumulate) and the output alone.
  WinoNet fixed(7);
  fixed.layer<0>().set_algorithm(*c1);
  fixed.layer<2>().set_algorithm(*c2);
  CHECK(one_step(fixed, x) == timed_step);
  CHECK(one_step(fixed, x) == second_step);
  // It applies in both precisions; where it does not apply (not 3x3 stride 1), benchmark is the fixed rule.
  ForceAlgorithm force(ConvAlgorithm::benchmark);
  constexpr ConvGeometry g = conv3x3(64, 64, 15, 15, 1);
  CHECK(resolve_conv_algorithm<g>(ConvAlgorithm::automatic, Precision::fp32, 128) == ConvAlgorithm::benchmark);
  CHECK(resolve_conv_algorithm<g>(ConvAlgorithm::automatic, Precision::bf16, 128) == ConvAlgorithm::benchmark);
  CHECK(resolve_conv_algorithm<ConvGeometry{16, 16, 5, 1, 2, 16, 16, 16, 16}>(ConvAlgorithm::automatic, Precision::fp32,
                                                                             128) == ConvAlgorithm::im2col);
  CHECK(parse_conv_algorithm("benchmark") == ConvAlgorithm::benchmark);
}

namespace {
// Wide enough that its im2col GEMMs run in bf16 under the automatic kernel rule (N = 256 output pixels);
// the conv alone, as a classifier's GEMMs would also run in bf16.
using WideNet = Sequential<Input<64, 16, 16>, Conv<64, 64, 3>>;

std::vector<float> wide_step(Precision precision, ConvAlgorithm a, const Tensor<WideNet::in_shape>& x) {
  WideNet net(11);
  net.set_precision(precision);
  net.layer<0>().set_algorithm(a);
  return one_step(net, x);
}
}  // namespace

TEST_CASE("winograd: in a bf16 network a Winograd layer runs its GEMMs in fp32, im2col in bf16") {
  Tensor<WideNet::in_shape> x(32);
  Rng rng(9);
  for (auto& v : x.span()) v = static_cast<float>(rng.normal());
  CHECK(winograd_gemm_precision(ConvAlgorithm::im2col, Precision::bf16) == Precision::bf16);
  CHECK(winograd_gemm_precision(ConvAlgorithm::winograd_f4, Precision::bf16) == Precision::fp32);
  CHECK(winograd_gemm_precision(ConvAlgorithm::winograd_f2, Precision::fp32) == Precision::fp32);
  // im2col: bf16 is in effect on this shape (the results differ from fp32's) ...
  CHECK(wide_step(Precision::bf16, ConvAlgorithm::im2col, x) != wide_step(Precision::fp32, ConvAlgorithm::im2col, x));
  // ... while Winograd gives fp32's bits in a bf16 network.
  for (ConvAlgorithm a : {ConvAlgorithm::winograd_f2, ConvAlgorithm::winograd_f4}) {
    INFO(std::string(conv_algorithm_name(a)));
    CHECK(wide_step(Precision::bf16, a, x) == wide_step(Precision::fp32, a, x));
  }
}

namespace {
// set_winograd_gradient_precision for one scope, restored after.
struct WinogradGradients {
  Precision before = winograd_gradient_precision();
  explicit WinogradGradients(Precision p) { set_winograd_gradient_precision(p); }
  ~WinogradGradients() { set_winograd_gradient_precision(before); }
};

// max |a - ref| / max |ref| over [first, last) of two one_step results.
double relative_error(const std::vector<float>& a, const std::vector<float>& ref, std::size_t first, std::size_t last) {
  double err = 0, scale = 0;
  for (std::size_t i = first; i < last; ++i) {
    err = std::max(err, std::abs(static_cast<double>(a[i]) - ref[i]));
    scale = std::max(scale, std::abs(static_cast<double>(ref[i])));
  }
  return err / scale;
}

// Cin = 128: the weight-gradient GEMMs' N is Cin, wide enough for use_bf16_gemm (WideNet's 64 is not).
using WiderNet = Sequential<Input<128, 8, 8>, Conv<128, 128, 3>>;
}  // namespace

// The bound: F(4x4, 3x3)'s gradients with bf16 GEMMs measured 3.6-4.4e-2 max / 1.6-2.6e-2 rms relative error
// against double on airbench and ResNet-9 shapes (bench/winograd_error.cpp, docs/winograd.md); here against
// fp32 Winograd (measured here 3.7e-2 dx, 5.1e-2 dw), bounded at 0.15 (3x), and at least 1e-4 so that bf16 is
// shown to be in effect.
TEST_CASE("winograd: with bf16 gradients a Winograd layer in a bf16 network keeps fp32's forward, bf16 gradients within the bound") {
  CHECK(conv_gradient_precision(ConvAlgorithm::im2col, Precision::bf16, Precision::fp32) == Precision::bf16);
  CHECK(conv_gradient_precision(ConvAlgorithm::im2col, Precision::fp32, Precision::bf16) == Precision::fp32);
  CHECK(conv_gradient_precision(ConvAlgorithm::winograd_f4, Precision::bf16, Precision::fp32) == Precision::fp32);
  CHECK(conv_gradient_precision(ConvAlgorithm::winograd_f4, Precision::bf16, Precision::bf16) == Precision::bf16);
  CHECK(conv_gradient_precision(ConvAlgorithm::winograd_f2, Precision::fp32, Precision::bf16) == Precision::fp32);
  Tensor<WiderNet::in_shape> x(64);  // two groups of 32 samples, 128 tile columns: wide enough for bf16 GEMMs
  Rng rng(4);
  for (auto& v : x.span()) v = static_cast<float>(rng.normal());
  const auto step = [&](Precision precision, Precision gradients) {
    WinogradGradients g(gradients);
    WiderNet net(12);
    net.set_precision(precision);
    net.layer<0>().set_algorithm(ConvAlgorithm::winograd_f4);
    return one_step(net, x);
  };
  const auto fp32 = step(Precision::fp32, Precision::fp32);
  // An fp32 network ignores the setting; a bf16 one with fp32 Winograd gradients is fp32 throughout.
  CHECK(step(Precision::fp32, Precision::bf16) == fp32);
  CHECK(step(Precision::bf16, Precision::fp32) == fp32);
  const auto mixed = step(Precision::bf16, Precision::bf16);
  const std::size_t ny = x.size(), nx = x.size(), nw = 128 * 128 * 9;  // y and x: the same shape; the weight, then the bias
  REQUIRE(mixed.size() == fp32.size());
  CHECK(std::equal(fp32.begin(), fp32.begin() + static_cast<std::ptrdiff_t>(ny), mixed.begin()));  // the forward
  const double dx = relative_error(mixed, fp32, ny, ny + nx), dw = relative_error(mixed, fp32, ny + nx, ny + nx + nw);
  const double db = relative_error(mixed, fp32, ny + nx + nw, mixed.size());
  INFO("dx " << dx << " dw " << dw << " db " << db);
  CHECK(dx > 1e-4);
  CHECK(dx <= 0.15);
  CHECK(dw > 1e-4);
  CHECK(dw <= 0.15);
  CHECK(db == 0);  // the bias gradient sums dy in fp32 either way
}
