// Residual blocks: shapes, tensor names, gradients (finite differences) and the identity path.
#include <doctest/doctest.h>

#include <cmath>

#include <ctnn/ctnn.hpp>
#include <ctnn/testing/gradcheck.hpp>

using namespace ctnn;

using IdentityBlock = BasicSequential<double, Input<3, 6, 5>,
                                      Residual<Conv<3, 3, 3>, BatchNorm, ReLU, Conv<3, 3, 3>, BatchNorm>, ReLU>;
using ProjectedBlock = BasicSequential<double, Input<2, 7, 7>,
                                       Residual<Shortcut<Conv<2, 4, 1, 2, 0>, BatchNorm>, Conv<2, 4, 3, 2>, BatchNorm,
                                                ReLU, Conv<4, 4, 3>, BatchNorm>,
                                       ReLU, Linear<3>>;

static_assert(std::is_same_v<IdentityBlock::out_shape, Shape<3, 6, 5>>);
static_assert(std::is_same_v<ProjectedBlock::layer_type<0>::out_shape, Shape<4, 4, 4>>);
static_assert(IdentityBlock::param_count == 2 * (3 * 3 * 9 + 3) + 2 * 6);

TEST_CASE("residual: gradcheck of an identity block (BN+ReLU fused inside) in train and eval mode") {
  for (Mode mode : {Mode::train, Mode::eval}) {
    IdentityBlock net(3);
    auto r = ctnn::testing::gradcheck(net, 3, 5, mode);
    INFO("worst tensor: " << r.worst_tensor << ", relative error " << r.worst_rel);
    CHECK(r.worst_rel < 1e-6);
  }
}

TEST_CASE("residual: gradcheck of a projected, strided block") {
  ProjectedBlock net(4);
  auto r = ctnn::testing::gradcheck(net, 3, 6);
  INFO("worst tensor: " << r.worst_tensor << ", relative error " << r.worst_rel);
  CHECK(r.worst_rel < 1e-6);
}

TEST_CASE("residual: tensor names nest like a PyTorch module") {
  ProjectedBlock net(1);
  auto params = net.parameters();
  std::vector<std::string> names;
  std::size_t total = 0;
  for (auto& p : params) {
    names.push_back(p.name);
    total += p.size;
  }
  CHECK(names == std::vector<std::string>{"0.0.weight", "0.0.bias", "0.1.weight", "0.1.bias", "0.3.weight",
                                          "0.3.bias", "0.4.weight", "0.4.bias", "0.shortcut.0.weight",
                                          "0.shortcut.0.bias", "0.shortcut.1.weight", "0.shortcut.1.bias",
                                          "2.weight", "2.bias"});
  CHECK(total == ProjectedBlock::param_count);
  // Views must tile the arena without overlap, in order.
  CHECK(params.front().value == net.parameter_data());
  for (std::size_t i = 1; i < params.size(); ++i) CHECK(params[i].value == params[i - 1].value + params[i - 1].size);
  auto buffers = net.buffers();
  REQUIRE(buffers.size() == 6);
  CHECK(buffers[4].name == "0.shortcut.1.running_mean");
  CHECK(buffers[5].value + buffers[5].size == net.buffer_data() + ProjectedBlock::buffer_count);
}

TEST_CASE("residual: a body that outputs zero makes the block the identity") {
  // Zero the last BatchNorm's weight and bias: f(x) = 0, so y = x exactly, and dx = dy.
  BasicSequential<double, Input<2, 4, 4>, Residual<Conv<2, 2, 3>, BatchNorm>> net(2);
  for (auto& p : net.parameters())
    if (p.name.rfind("0.1.", 0) == 0) std::fill(p.value, p.value + p.size, 0.0);
  Tensor<Shape<2, 4, 4>, double> x(3);
  Rng rng(9);
  for (auto& v : x.span()) v = rng.normal();
  auto y = net.forward(x);
  for (std::size_t i = 0; i < x.size(); ++i) CHECK(y[i] == x[i]);
  Tensor<Shape<2, 4, 4>, double> dy(3);
  for (auto& v : dy.span()) v = rng.normal();
  auto dx = net.backward(dy, true);
  for (std::size_t i = 0; i < x.size(); ++i) CHECK(dx[i] == doctest::Approx(dy[i]).epsilon(1e-12));
}
