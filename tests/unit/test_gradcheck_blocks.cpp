// Finite-difference gradient checks of the layers that speed-run networks need (GELU,
// LeakyReLU, Scale, global pooling, grouped and bias-free convolutions, BatchNorm options).
#include <doctest/doctest.h>

#include <ctnn/ctnn.hpp>
#include <ctnn/testing/gradcheck.hpp>

using namespace ctnn;

namespace {
template <class Net>
void expect_gradients_match(std::size_t batch, Mode mode = Mode::train) {
  Net net(7);
  auto r = ctnn::testing::gradcheck(net, batch, 11, mode);
  INFO("worst tensor: " << r.worst_tensor << ", relative error " << r.worst_rel);
  CHECK(r.worst_rel < 1e-6);
}
constexpr BatchNormOptions kNoAffine{.affine = false};
constexpr BatchNormOptions kFrozenWeight{.momentum = 0.4, .eps = 1e-12, .learn_weight = false};
}  // namespace

TEST_CASE("gradcheck gelu, leaky relu and scale") {
  expect_gradients_match<BasicSequential<double, Input<2, 5, 5>, Conv<2, 3, 3>, GELU>>(3);
  expect_gradients_match<BasicSequential<double, Input<2, 5, 5>, Conv<2, 3, 3>, LeakyReLU<0.1>>>(3);
  expect_gradients_match<BasicSequential<double, Input<2, 5, 5>, Conv<2, 3, 3>, Scale<0.125>>>(3);
}
TEST_CASE("gradcheck global average and max pooling") {
  expect_gradients_match<BasicSequential<double, Input<2, 5, 4>, Conv<2, 3, 3>, GlobalAvgPool, Linear<2>>>(3);
  expect_gradients_match<BasicSequential<double, Input<2, 5, 4>, Conv<2, 3, 3>, GlobalMaxPool, Linear<2>>>(3);
}
TEST_CASE("gradcheck grouped, depthwise and bias-free convolutions") {
  expect_gradients_match<BasicSequential<double, Input<4, 6, 5>, Conv<4, 6, 3, 1, 1, 2>>>(2);
  expect_gradients_match<BasicSequential<double, Input<3, 7, 7>, DepthwiseConv<3, 3, 2>>>(2);
  expect_gradients_match<BasicSequential<double, Input<3, 6, 6>, Conv<3, 4, 3, 1, 1, 1, false>, Linear<3, false>>>(2);
}
TEST_CASE("gradcheck batchnorm without affine and with a frozen weight") {
  expect_gradients_match<BasicSequential<double, Input<3, 4, 5>, Conv<3, 3, 3>, BatchNormWith<kNoAffine>>>(4);
  expect_gradients_match<BasicSequential<double, Input<3, 4, 5>, Conv<3, 3, 3>, BatchNormWith<kFrozenWeight>, ReLU>>(4);
  expect_gradients_match<BasicSequential<double, Input<3, 4, 5>, Conv<3, 3, 3>, BatchNormWith<kFrozenWeight>>>(4, Mode::eval);
}

TEST_CASE("batchnorm options: parameter and buffer lists follow PyTorch's requires_grad and affine") {
  BasicSequential<float, Input<3, 4, 4>, BatchNormWith<kFrozenWeight>, BatchNormWith<kNoAffine>, BatchNorm> net;
  std::vector<std::string> params, buffers;
  for (auto& p : net.parameters()) params.push_back(p.name);
  for (auto& b : net.buffers()) buffers.push_back(b.name);
  CHECK(params == std::vector<std::string>{"0.bias", "2.weight", "2.bias"});
  CHECK(buffers == std::vector<std::string>{"0.running_mean", "0.running_var", "0.weight", "1.running_mean",
                                            "1.running_var", "2.running_mean", "2.running_var"});
  for (auto& b : net.buffers())
    if (b.name == "0.weight") CHECK(b.value[0] == 1.0f);
}

TEST_CASE("batchnorm options: a moved network keeps its fixed weight and bias") {
  using Net = BasicSequential<float, Input<2, 3, 3>, BatchNormWith<kNoAffine>>;
  auto make = [] { return Net(3); };
  Net net = make();
  Net moved = std::move(net);
  Tensor<Shape<2, 3, 3>, float> x(2);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 7);
  auto y = moved.forward(x);
  double sum = 0;
  for (std::size_t i = 0; i < y.size(); ++i) sum += y[i];
  CHECK(sum == doctest::Approx(0.0).epsilon(1e-5));  // normalised per channel, weight 1, bias 0
}
