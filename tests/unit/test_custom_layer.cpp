// The worked example of a user-written layer (examples/custom_layer/silu.hpp, docs/custom_layer.md):
// it meets the layer contract, composes in a Sequential, passes the public gradient checker,
// and matches torch.nn.SiLU (tests/golden/make_golden.py, case "silu").
#include <doctest/doctest.h>

#include <algorithm>

#include <ctnn/ctnn.hpp>
#include <ctnn/testing/gradcheck.hpp>

#include "../../examples/custom_layer/silu.hpp"
#include "support/golden.hpp"

using namespace ctnn;

static_assert(BoundLayer<my::SiLULayer<double, Shape<2, 5, 5>, 2>, double>);
static_assert(!BoundLayer<int, float>, "a type that is no layer does not meet the contract");

TEST_CASE("custom layer: SiLU's gradients pass ctnn::testing::gradcheck, alone and inside a network") {
  {
    BasicSequential<double, Input<2, 3, 3>, my::SiLU> alone(1);
    const auto r = testing::gradcheck(alone, 4, 3);
    INFO("worst tensor " << r.worst_tensor << ", relative error " << r.worst_rel);
    CHECK(r.worst_tensor == "input");
    CHECK(r.worst_rel < 1e-7);
  }
  BasicSequential<double, Input<2, 5, 5>, Conv<2, 3, 3>, BatchNorm, my::SiLU, MaxPool<2>, Linear<4>> net(7);
  const auto r = testing::gradcheck(net, 3, 11);
  INFO("worst tensor " << r.worst_tensor << ", relative error " << r.worst_rel);
  CHECK(r.worst_rel < 1e-6);
}

TEST_CASE("custom layer: SiLU forward and backward equal torch.nn.SiLU") {
  const auto f = test::GoldenFile::load("silu");
  Sequential<Input<3, 5, 5>, my::SiLU> net(0);
  const auto& x = f["x"];
  const std::size_t n = static_cast<std::size_t>(x.shape[0]);
  Tensor<Shape<3, 5, 5>> input(n), dy(n);
  REQUIRE(input.size() == x.numel());
  std::copy(x.f32.begin(), x.f32.end(), input.data());
  std::copy(f["dy"].f32.begin(), f["dy"].f32.end(), dy.data());
  const auto y = net.forward(input);
  const auto cy = test::compare(y.data(), f["y"]);
  INFO("y: relative error " << cy.rel);
  CHECK(cy.rel < 1e-6);
  const auto dx = net.backward(dy, true);
  const auto cdx = test::compare(dx.data(), f["dx"]);
  INFO("dx: relative error " << cdx.rel);
  CHECK(cdx.rel < 1e-6);
}
