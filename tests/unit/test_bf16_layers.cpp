// Conv and Linear layers with the network set to Precision::bf16 against the same layers in fp32:
// forward output, input gradient, weight gradient, bias gradient; and bf16 determinism.
//
// Bound, per element of each result g (an output, dx or dW element, each a sum of L products p_l of
// a weight or gradient and an activation; u = 2^-8 bf16's unit roundoff, eps = 2^-23):
//   |g_bf16 - g_fp32| <= (2u + u^2 + 2 (L + 2) eps) * g_abs
// where g_abs is the same quantity computed in fp32 from the absolute values of the weights, inputs
// and output gradients (so g_abs >= sum_l |p_l|): each bf16 product is off by at most (2u + u^2)|p_l|
// and each fp32 sum by at most (L + 2) eps sum_l |p_l|. The bias gradient is a sum of dy in fp32 in
// both precisions: it must be bitwise equal. The results must also differ somewhere (else bf16 did not
// run). GEMMs that the rule keeps in fp32 (use_bf16_gemm: N < 128, e.g. a 3-channel conv's weight
// gradient, N = 27) are held to the same bound, which they meet trivially.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include <ctnn/ctnn.hpp>

using namespace ctnn;

namespace {

struct Compared {
  long outside = 0;       // elements outside the bound
  double max_diff = 0.0;  // max |bf16 - fp32|
};

Compared compare(const float* bf, const float* fp, const float* mag, std::size_t size, double length) {
  const double u = std::ldexp(1.0, -8), eps = std::numeric_limits<float>::epsilon();
  const double rel = 2 * u + u * u + 2 * (length + 2) * eps;
  Compared c;
  for (std::size_t i = 0; i < size; ++i) {
    const double d = std::abs(double(bf[i]) - double(fp[i]));
    c.max_diff = std::max(c.max_diff, d);
    c.outside += !(d <= rel * double(mag[i]));
  }
  return c;
}

template <class Net>
struct Run {
  std::vector<float> y, dx, grads;
};

// Forward and backward of one fresh network (seed 3) in the given precision; `absolute` takes the
// absolute values of the parameters, input and output gradient (for the magnitudes).
template <class Net>
Run<Net> run(Precision p, bool absolute, std::size_t batch) {
  Net net(3);
  net.set_precision(p);
  net.train();
  if (absolute)
    for (std::size_t i = 0; i < Net::param_count; ++i) net.parameter_data()[i] = std::abs(net.parameter_data()[i]);
  using In = typename Net::in_shape;
  using Out = typename Net::out_shape;
  Tensor<In> x(batch);
  Tensor<Out> dy(batch);
  Rng rng(9);
  for (auto& v : x.span()) v = static_cast<float>(rng.normal());  // the same values in every run
  for (auto& v : dy.span()) v = static_cast<float>(rng.normal());
  if (absolute) {
    for (auto& v : x.span()) v = std::abs(v);
    for (auto& v : dy.span()) v = std::abs(v);
  }
  Run<Net> out;
  const auto y = net.forward(x);
  out.y.assign(y.data(), y.data() + y.size());
  net.zero_grad();
  const auto dx = net.backward(dy, true);
  out.dx.assign(dx.data(), dx.data() + dx.size());
  out.grads.assign(net.gradient_data(), net.gradient_data() + Net::param_count);
  return out;
}

// Checks one single-layer network; weight_len: the sum length of a forward output (patch size or
// in_features), input_len: of an input gradient element (at most Cout * K * K), wgrad_len: of a
// weight gradient element (batch * Ho * Wo, or batch for Linear).
template <class Net>
void check_layer(std::size_t batch, std::size_t weight_size, double fwd_len, double igrad_len, double wgrad_len,
                 bool wgrad_in_bf16 = true) {
  // Both precisions on im2col: a Winograd conv runs its GEMMs in fp32 in a bf16 network too
  // (kernels/winograd_select.hpp; tested in test_winograd.cpp, with Winograd's accuracy).
  const ConvAlgorithm algorithm = conv_algorithm();
  set_conv_algorithm(ConvAlgorithm::im2col);
  const auto bf = run<Net>(Precision::bf16, false, batch);
  const auto fp = run<Net>(Precision::fp32, false, batch);
  const auto ab = run<Net>(Precision::fp32, true, batch);
  set_conv_algorithm(algorithm);
  const Compared y = compare(bf.y.data(), fp.y.data(), ab.y.data(), bf.y.size(), fwd_len);
  const Compared dx = compare(bf.dx.data(), fp.dx.data(), ab.dx.data(), bf.dx.size(), igrad_len);
  const Compared dw = compare(bf.grads.data(), fp.grads.data(), ab.grads.data(), weight_size, wgrad_len);
  CHECK(y.outside == 0);
  CHECK(dx.outside == 0);
  CHECK(dw.outside == 0);
  CHECK(y.max_diff > 0);  // bf16 really ran
  CHECK(dx.max_diff > 0);
  if (wgrad_in_bf16) CHECK(dw.max_diff > 0);
  else CHECK(dw.max_diff == 0);  // use_bf16_gemm keeps this narrow GEMM in fp32
  // bias gradients: fp32 sums of dy in both precisions
  const std::size_t bias = Net::param_count - weight_size;
  CHECK(std::memcmp(bf.grads.data() + weight_size, fp.grads.data() + weight_size, bias * sizeof(float)) == 0);
  MESSAGE("max |bf16 - fp32|: forward " << y.max_diff << ", dx " << dx.max_diff << ", dW " << dw.max_diff);
}

}  // namespace

TEST_CASE("bf16 layers: Conv 3->64 3x3 at 32x32 (first conv) against fp32 within the bound") {
  using Net = Sequential<Input<3, 32, 32>, Conv<3, 64, 3>>;
  check_layer<Net>(4, 64 * 27, 27, 64 * 9, 4 * 1024, false);
}

TEST_CASE("bf16 layers: Conv 64->128 3x3 at 16x16 against fp32 within the bound") {
  using Net = Sequential<Input<64, 16, 16>, Conv<64, 128, 3>>;
  check_layer<Net>(3, 128 * 576, 576, 128 * 9, 3 * 256);
}

TEST_CASE("bf16 layers: Conv 128->256 3x3 at 8x8 (several samples per GEMM) against fp32 within the bound") {
  using Net = Sequential<Input<128, 8, 8>, Conv<128, 256, 3>>;
  check_layer<Net>(5, 256 * 1152, 1152, 256 * 9, 5 * 64);
}

TEST_CASE("bf16 layers: Conv 64->128 1x1 (pointwise) against fp32 within the bound") {
  using Net = Sequential<Input<64, 16, 16>, Conv<64, 128, 1, 1, 0>>;
  check_layer<Net>(2, 128 * 64, 64, 128, 2 * 256, false);
}

TEST_CASE("bf16 layers: Linear 512->256 against fp32 within the bound") {
  using Net = Sequential<Input<512, 1, 1>, Linear<256>>;
  check_layer<Net>(130, 256 * 512, 512, 256, 130);
}

TEST_CASE("bf16 layers: the same seed and thread count give bitwise the same training steps") {
  using Net = Sequential<Input<3, 16, 16>, Conv<3, 64, 3>, BatchNorm, ReLU, Conv<64, 128, 3>, BatchNorm, ReLU,
                         MaxPool<2>, Linear<10>>;
  auto train = [] {
    Net net(5);
    net.set_precision(Precision::bf16);
    SGD opt{net.parameters(), {.lr = 0.05, .momentum = 0.9}};
    CrossEntropyLoss<Net::out_shape> loss;
    Tensor<Net::in_shape> x(16);
    std::vector<std::int32_t> labels(16);
    Rng rng(2);
    for (auto& v : x.span()) v = static_cast<float>(rng.normal());
    for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<std::int32_t>(i % 10);
    for (int s = 0; s < 3; ++s) {
      loss(net.forward(x), labels);
      net.backward(loss.grad());
      opt.step();
      opt.zero_grad();
    }
    return std::vector<float>(net.parameter_data(), net.parameter_data() + Net::param_count);
  };
  const auto a = train(), b = train();
  CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
  // and bf16 is not fp32 in disguise
  Net fp(5);
  CHECK(fp.precision() == Precision::fp32);
}
