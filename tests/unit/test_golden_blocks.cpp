// Whole blocks of the speed-run networks against PyTorch modules with the same state_dict names
// (tests/golden/make_golden.py, section 6): residual blocks with and without projection, GELU,
// frozen-weight and non-affine BatchNorm, global pooling, grouped/depthwise and bias-free
// layers, output scaling. Train-mode forward and backward, running statistics, then eval mode.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include <ctnn/ctnn.hpp>

#include "support/golden.hpp"

using namespace ctnn;
using test::GoldenFile;

namespace {

// A conv bias feeding a BatchNorm has a gradient that is exactly 0 in theory, so its float64
// reference is rounding noise (|g| ~ 1e-8) and a relative error means nothing: such tensors
// are held to an absolute bound instead.
void expect_close(const std::string& case_name, const std::string& tensor, const float* actual,
                  const test::GoldenTensor& expected) {
  const auto c = test::compare(actual, expected);
  double largest = 0;
  for (float v : expected.f32) largest = std::max(largest, static_cast<double>(std::abs(v)));
  INFO(case_name << "/" << tensor << ": max abs error " << c.max_abs << ", relative " << c.rel << " at element "
                 << c.worst_index << " (largest reference value " << largest << ")");
  if (largest < 1e-5) {
    test::record(case_name, tensor + " (absolute)", c.max_abs);
    CHECK(c.max_abs < 1e-6);
  } else {
    test::record(case_name, tensor, c.rel);
    CHECK(c.rel < 1e-4);
  }
}

template <class Net>
void check_block(const std::string& case_name) {
  const auto f = GoldenFile::load(case_name);
  Net net(0);
  auto params = net.parameters();
  auto buffers = net.buffers();
  // Every PyTorch state_dict entry must land in a ctnn tensor of the same name and size, and
  // every ctnn tensor must be given one: the names and layouts match exactly.
  std::size_t loaded = 0;
  for (auto& p : params) {
    INFO("parameter " << p.name);
    const auto& t = f["init." + p.name];
    REQUIRE(t.numel() == p.size);
    std::copy(t.f32.begin(), t.f32.end(), p.value);
    ++loaded;
  }
  for (auto& b : buffers) {
    INFO("buffer " << b.name);
    const auto& t = f["init." + b.name];
    REQUIRE(t.numel() == b.size);
    std::copy(t.f32.begin(), t.f32.end(), b.value);
    ++loaded;
  }
  std::size_t init_entries = 0;
  for (const auto& t : f.tensors())
    if (t.name.rfind("init.", 0) == 0) ++init_entries;
  CHECK(loaded == init_entries);

  const auto& gx = f["x"];
  const auto n = static_cast<std::size_t>(gx.shape[0]);
  Tensor<typename Net::in_shape> x(n);
  REQUIRE(x.size() == gx.numel());
  std::copy(gx.f32.begin(), gx.f32.end(), x.data());
  Tensor<typename Net::out_shape> dy(n);
  REQUIRE(dy.size() == f["dy"].numel());
  std::copy(f["dy"].f32.begin(), f["dy"].f32.end(), dy.data());

  net.train();
  expect_close(case_name, "y", net.forward(x).data(), f["y"]);
  expect_close(case_name, "dx", net.backward(dy, true).data(), f["dx"]);
  for (auto& p : params) expect_close(case_name, "grad." + p.name, p.grad, f["grad." + p.name]);
  for (auto& b : buffers)
    if (f.has("after." + b.name)) expect_close(case_name, "after." + b.name, b.value, f["after." + b.name]);
  net.eval();
  expect_close(case_name, "y_eval", net.forward(x).data(), f["y_eval"]);
}

constexpr BatchNormOptions kFrozen{.momentum = 0.4, .eps = 1e-12, .learn_weight = false};
constexpr BatchNormOptions kNoAffine{.affine = false};

}  // namespace

TEST_CASE("golden block: projected and identity residual blocks, global average pool, scaled head") {
  check_block<Sequential<Input<4, 8, 8>,
                         Residual<Shortcut<Conv<4, 8, 1, 2, 0>, BatchNorm>, Conv<4, 8, 3, 2>, BatchNorm, ReLU,
                                  Conv<8, 8, 3>, BatchNorm>,
                         ReLU, Residual<Conv<8, 8, 3>, BatchNorm, ReLU, Conv<8, 8, 3>, BatchNorm>, ReLU, GlobalAvgPool,
                         Flatten, Linear<5>, Scale<0.125>>>("block_resnet");
}

TEST_CASE("golden block: airbench-style whitening conv, GELU, frozen-weight BatchNorm, global max pool") {
  check_block<Sequential<Input<3, 13, 13>, Conv<3, 6, 2, 1, 0>, GELU, Conv<6, 8, 3, 1, 1, 1, false>, MaxPool<2>,
                         BatchNormWith<kFrozen>, GELU, Conv<8, 8, 3, 1, 1, 1, false>, BatchNormWith<kFrozen>, GELU,
                         GlobalMaxPool, Flatten, Linear<5, false>, Scale<1.0 / 9>>>("block_airbench");
}

TEST_CASE("golden block: grouped conv, non-affine BatchNorm, LeakyReLU, depthwise stride-2 conv") {
  check_block<Sequential<Input<4, 7, 7>, Conv<4, 6, 3, 1, 1, 2>, BatchNormWith<kNoAffine>, LeakyReLU<0.1>,
                         DepthwiseConv<6, 3, 2>, GELU, Flatten, Linear<3>>>("block_misc");
}
