// Every layer, the loss and the optimizers against PyTorch (tests/golden/make_golden.py computes
// the references in float64 from float32 inputs; ctnn runs in float32).
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <ctnn/ctnn.hpp>

#include "support/golden.hpp"

using namespace ctnn;
using test::GoldenFile;

namespace {

constexpr double kTolerance = 1e-4;  // worst error relative to the tensor's largest magnitude

void expect_close(const std::string& case_name, const std::string& tensor, const float* actual,
                  const test::GoldenTensor& expected, double tolerance = kTolerance) {
  const auto c = test::compare(actual, expected);
  test::record(case_name, tensor, c.rel);
  INFO(case_name << "/" << tensor << ": max abs error " << c.max_abs << ", relative " << c.rel << " at element "
                 << c.worst_index);
  CHECK(c.rel < tolerance);
}

void expect_config(const GoldenFile& f, std::vector<int> config) {
  const auto& c = f["config"];
  REQUIRE(c.i32.size() == config.size());
  for (std::size_t i = 0; i < config.size(); ++i) REQUIRE(c.i32[i] == config[i]);
}

void load_param(Parameters<float>& params, const std::string& name, const test::GoldenTensor& t) {
  auto it = std::find_if(params.begin(), params.end(), [&](auto& p) { return p.name == name; });
  REQUIRE(it != params.end());
  REQUIRE(it->size == t.numel());
  std::copy(t.f32.begin(), t.f32.end(), it->value);
}

const float* grad_of(Parameters<float>& params, const std::string& name) {
  for (auto& p : params)
    if (p.name == name) return p.grad;
  FAIL("no parameter " << name);
  return nullptr;
}

// Runs one layer (as a one-layer Sequential) forward and backward and compares y, dx and, for
// layers with parameters, dweight and dbias.
template <class Net>
void check_layer(const std::string& case_name, bool has_params) {
  const auto f = GoldenFile::load(case_name);
  Net net(0);
  auto params = net.parameters();
  if (has_params) {
    load_param(params, "0.weight", f["weight"]);
    load_param(params, "0.bias", f["bias"]);
  }
  const auto& x = f["x"];
  const std::size_t n = static_cast<std::size_t>(x.shape[0]);
  Tensor<typename Net::in_shape> input(n);
  REQUIRE(input.size() == x.numel());
  std::copy(x.f32.begin(), x.f32.end(), input.data());
  Tensor<typename Net::out_shape> dy(n);
  REQUIRE(dy.size() == f["dy"].numel());
  std::copy(f["dy"].f32.begin(), f["dy"].f32.end(), dy.data());

  auto y = net.forward(input);
  expect_close(case_name, "y", y.data(), f["y"]);
  auto dx = net.backward(dy, true);
  expect_close(case_name, "dx", dx.data(), f["dx"]);
  if (has_params) {
    expect_close(case_name, "dweight", grad_of(params, "0.weight"), f["dweight"]);
    expect_close(case_name, "dbias", grad_of(params, "0.bias"), f["dbias"]);
  }
}

}  // namespace

TEST_CASE("golden conv: odd sizes, stride 2, padding 0 and same, even kernel, batch 1 and 7") {
  expect_config(GoldenFile::load("conv_a"), {3, 4, 3, 1, 1, 7, 9, 1});
  check_layer<Sequential<Input<3, 7, 9>, Conv<3, 4, 3, 1, 1>>>("conv_a", true);
  expect_config(GoldenFile::load("conv_b"), {2, 5, 5, 2, 0, 11, 10, 7});
  check_layer<Sequential<Input<2, 11, 10>, Conv<2, 5, 5, 2, 0>>>("conv_b", true);
  expect_config(GoldenFile::load("conv_c"), {3, 16, 5, 1, 2, 8, 8, 2});
  check_layer<Sequential<Input<3, 8, 8>, Conv<3, 16, 5>>>("conv_c", true);
  expect_config(GoldenFile::load("conv_d"), {4, 3, 1, 1, 0, 5, 6, 7});
  check_layer<Sequential<Input<4, 5, 6>, Conv<4, 3, 1>>>("conv_d", true);
  expect_config(GoldenFile::load("conv_e"), {3, 6, 3, 2, 1, 9, 9, 7});
  check_layer<Sequential<Input<3, 9, 9>, Conv<3, 6, 3, 2, 1>>>("conv_e", true);
  expect_config(GoldenFile::load("conv_f"), {5, 4, 4, 2, 1, 10, 10, 3});
  check_layer<Sequential<Input<5, 10, 10>, Conv<5, 4, 4, 2, 1>>>("conv_f", true);
}

TEST_CASE("golden linear: implicit flatten, batch 1 and 7") {
  expect_config(GoldenFile::load("linear_a"), {3, 3, 3, 5, 1});
  check_layer<Sequential<Input<3, 3, 3>, Linear<5>>>("linear_a", true);
  expect_config(GoldenFile::load("linear_b"), {2, 1, 7, 13, 7});
  check_layer<Sequential<Input<2, 1, 7>, Linear<13>>>("linear_b", true);
}

TEST_CASE("golden relu") { check_layer<Sequential<Input<3, 5, 5>, ReLU>>("relu", false); }

TEST_CASE("golden maxpool: 2/2 on odd sizes, 3/2, 2/1") {
  expect_config(GoldenFile::load("maxpool_a"), {2, 2, 7, 3, 7, 7});
  check_layer<Sequential<Input<3, 7, 7>, MaxPool<2>>>("maxpool_a", false);
  expect_config(GoldenFile::load("maxpool_b"), {3, 2, 2, 4, 9, 8});
  check_layer<Sequential<Input<4, 9, 8>, MaxPool<3, 2>>>("maxpool_b", false);
  expect_config(GoldenFile::load("maxpool_c"), {2, 1, 1, 2, 5, 5});
  check_layer<Sequential<Input<2, 5, 5>, MaxPool<2, 1>>>("maxpool_c", false);
}

TEST_CASE("golden avgpool") {
  expect_config(GoldenFile::load("avgpool_a"), {2, 2, 7, 3, 7, 7});
  check_layer<Sequential<Input<3, 7, 7>, AvgPool<2>>>("avgpool_a", false);
  expect_config(GoldenFile::load("avgpool_b"), {3, 3, 1, 2, 9, 9});
  check_layer<Sequential<Input<2, 9, 9>, AvgPool<3>>>("avgpool_b", false);
}

// BatchNorm: train-mode forward/backward, running statistics after 3 steps, eval mode.
template <class Net>
void check_batchnorm(const std::string& case_name) {
  const auto f = GoldenFile::load(case_name);
  using S = typename Net::in_shape;
  auto fill = [&](Tensor<S>& t, const std::string& name) {
    const auto& g = f[name];
    t.resize(static_cast<std::size_t>(g.shape[0]));
    REQUIRE(t.size() == g.numel());
    std::copy(g.f32.begin(), g.f32.end(), t.data());
  };
  auto load_affine = [&](Net& net) {
    auto params = net.parameters();
    load_param(params, "0.weight", f["weight"]);
    load_param(params, "0.bias", f["bias"]);
    return params;
  };
  {
    Net net(0);
    auto params = load_affine(net);
    Tensor<S> x, dy;
    fill(x, "x");
    fill(dy, "dy");
    net.train();
    expect_close(case_name, "y", net.forward(x).data(), f["y"]);
    expect_close(case_name, "dx", net.backward(dy, true).data(), f["dx"]);
    expect_close(case_name, "dweight", grad_of(params, "0.weight"), f["dweight"]);
    expect_close(case_name, "dbias", grad_of(params, "0.bias"), f["dbias"]);
  }
  Net net(0);
  auto params = load_affine(net);
  Tensor<S> x1, x2, x3;
  fill(x1, "x1");
  fill(x2, "x2");
  fill(x3, "x3");
  net.train();
  net.forward(x1);
  net.forward(x2);
  net.forward(x3);
  auto buffers = net.buffers();
  expect_close(case_name, "running_mean", buffers[0].value, f["running_mean"]);
  expect_close(case_name, "running_var", buffers[1].value, f["running_var"]);
  Tensor<S> xe, dye;
  fill(xe, "x_eval");
  fill(dye, "dy_eval");
  net.eval();
  net.zero_grad();
  expect_close(case_name, "y_eval", net.forward(xe).data(), f["y_eval"]);
  expect_close(case_name, "dx_eval", net.backward(dye, true).data(), f["dx_eval"]);
  expect_close(case_name, "dweight_eval", grad_of(params, "0.weight"), f["dweight_eval"]);
  expect_close(case_name, "dbias_eval", grad_of(params, "0.bias"), f["dbias_eval"]);
}

TEST_CASE("golden batchnorm2d: train, running statistics after 3 steps, eval") {
  expect_config(GoldenFile::load("bn2d"), {7, 3, 5, 4});
  check_batchnorm<Sequential<Input<3, 5, 4>, BatchNorm>>("bn2d");
}
TEST_CASE("golden batchnorm2d with batch 1") {
  expect_config(GoldenFile::load("bn2d_n1"), {1, 2, 3, 3});
  check_batchnorm<Sequential<Input<2, 3, 3>, BatchNorm>>("bn2d_n1");
}
TEST_CASE("golden batchnorm1d (the BatchNorm after a Linear sees <F, 1, 1>)") {
  expect_config(GoldenFile::load("bn1d"), {7, 6, 1, 1});
  check_batchnorm<Sequential<Input<6, 1, 1>, BatchNorm>>("bn1d");
}

TEST_CASE("golden cross_entropy: mean reduction, label smoothing, batch 1, large logits") {
  const auto f = GoldenFile::load("cross_entropy");
  auto run = [&](const std::string& logits_name, const std::string& labels_name, const std::string& loss_name,
                 const std::string& grad_name, double smoothing) {
    const auto& z = f[logits_name];
    Tensor<Shape<10, 1, 1>> logits(static_cast<std::size_t>(z.shape[0]));
    std::copy(z.f32.begin(), z.f32.end(), logits.data());
    CrossEntropyLoss<Shape<10, 1, 1>> loss({.label_smoothing = smoothing});
    const float value = static_cast<float>(loss(logits, f[labels_name].i32));
    expect_close("cross_entropy", loss_name, &value, f[loss_name]);
    expect_close("cross_entropy", grad_name, loss.grad().data(), f[grad_name]);
  };
  run("logits", "labels", "loss", "dlogits", 0.0);
  run("logits", "labels", "loss_ls", "dlogits_ls", 0.1);
  run("logits_1", "labels_1", "loss_1", "dlogits_1", 0.0);
  run("logits_big", "labels_big", "loss_big", "dlogits_big", 0.0);
  if (f.has("logits_huge")) run("logits_huge", "labels_huge", "loss_huge", "dlogits_huge", 0.0);
}

// The seed network: first-step logits, loss and every parameter gradient, then 3 optimizer steps.
using SeedNet = Sequential<Input<3, 32, 32>, Conv<3, 16, 5>, BatchNorm, ReLU, MaxPool<2>, Conv<16, 32, 5>, BatchNorm,
                           ReLU, MaxPool<2>, Linear<10>>;

// torch.nn.Sequential needs an explicit Flatten (index 8), so its Linear is "9.*" where ours is "8.*".
std::string torch_name(const std::string& ours) { return ours.rfind("8.", 0) == 0 ? "9." + ours.substr(2) : ours; }

template <class Optimizer, class Options>
void check_optimizer(const std::string& case_name, Options options) {
  // Adam-type updates turn the (noise) gradient of a bias feeding BatchNorm into real steps.
  constexpr bool adaptive = !std::is_same_v<Optimizer, SGD<float>>;
  const auto f = GoldenFile::load(case_name);
  SeedNet net(0);
  auto params = net.parameters();
  for (auto& p : params) load_param(params, p.name, f["init." + torch_name(p.name)]);
  Optimizer opt(params, options);
  CrossEntropyLoss<Shape<10, 1, 1>> loss;
  Tensor<Shape<3, 32, 32>> x(8);
  net.train();
  for (int step = 1; step <= 3; ++step) {
    const auto s = std::to_string(step);
    std::copy(f["x." + s].f32.begin(), f["x." + s].f32.end(), x.data());
    auto logits = net.forward(x);
    const float value = static_cast<float>(loss(logits, f["labels." + s].i32));
    expect_close(case_name, "loss." + s, &value, f["loss." + s]);
    net.backward(loss.grad());
    if (step == 1) {
      expect_close(case_name, "logits.1", logits.data(), f["logits.1"]);
      for (auto& p : params) {
        const auto& expected = f["grad1." + torch_name(p.name)];
        if (p.name == "0.bias" || p.name == "4.bias") {
          // A conv bias feeding a BatchNorm has an exactly zero gradient (BN subtracts the mean):
          // the reference is float64 rounding noise, so compare absolutely, at the scale of the weights' gradient.
          const auto c = test::compare(p.grad, expected, 1.0);
          test::record(case_name, "grad1." + p.name + " (abs)", c.max_abs);
          CHECK(c.max_abs < 1e-5);
        } else {
          expect_close(case_name, "grad1." + p.name, p.grad, expected);
        }
      }
    }
    opt.step();
    opt.zero_grad();
  }
  for (auto& p : params) {
    const auto& expected = f["final." + torch_name(p.name)];
    if (adaptive && (p.name == "0.bias" || p.name == "4.bias")) {
      // Those zero-in-theory gradients are noise; Adam normalises noise to steps of up to lr, so
      // the bias may wander by at most 3 steps of lr from where PyTorch's did.
      const auto c = test::compare(p.value, expected, 1.0);
      test::record(case_name, "final." + p.name + " (abs)", c.max_abs);
      CHECK(c.max_abs <= 3 * 1e-3 * 1.0001);
    } else {
      expect_close(case_name, "final." + p.name, p.value, expected);
    }
  }
  auto buffers = net.buffers();
  for (auto& b : buffers) {
    if (adaptive && b.name.ends_with("running_mean")) {
      // BN's batch mean includes the conv bias above it, so running_mean inherits that bias's
      // drift: at most (0.1 + 0.09 + 0.081) x 3 lr after 3 steps with momentum 0.1.
      const auto c = test::compare(b.value, f["final." + b.name], 1.0);
      test::record(case_name, "final." + b.name + " (abs)", c.max_abs);
      CHECK(c.max_abs <= 0.271 * 3 * 1e-3 * 1.0001);
    } else {
      expect_close(case_name, "final." + b.name, b.value, f["final." + b.name]);
    }
  }
}

TEST_CASE("golden optimizer: SGD with Nesterov momentum and weight decay, 3 steps on the seed network") {
  check_optimizer<SGD<float>>("optim_sgd_nesterov",
                              SGDOptions{.lr = 0.01, .momentum = 0.9, .weight_decay = 5e-4, .nesterov = true});
}
TEST_CASE("golden optimizer: Adam, 3 steps on the seed network") {
  check_optimizer<Adam<float>>("optim_adam", AdamOptions{.lr = 1e-3});
}
TEST_CASE("golden optimizer: AdamW, 3 steps on the seed network") {
  check_optimizer<AdamW<float>>("optim_adamw", AdamWOptions{.lr = 1e-3, .weight_decay = 1e-2});
}

// CTNN_GOLDEN_REPORT=1 ctnn_tests -tc='golden*' prints every comparison's worst error at exit
// (the table quoted in the closing note).
namespace {
struct GoldenReport {
  GoldenReport() { test::records(); }  // construct the registry first, so it outlives this object
  ~GoldenReport() {
    if (!std::getenv("CTNN_GOLDEN_REPORT")) return;
    for (const auto& r : test::records()) std::printf("%-55s %.3g\n", r.name.c_str(), r.rel);
  }
} golden_report;
}  // namespace
