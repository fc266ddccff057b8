// Finite-difference gradient checks of every layer, alone and composed, in double precision.
#include <doctest/doctest.h>

#include <ctnn/ctnn.hpp>
#include <ctnn/testing/gradcheck.hpp>

using namespace ctnn;

template <class Net>
void expect_gradients_match(std::size_t batch, Mode mode = Mode::train) {
  Net net(7);
  auto r = ctnn::testing::gradcheck(net, batch, 11, mode);
  INFO("worst tensor: " << r.worst_tensor << ", relative error " << r.worst_rel);
  CHECK(r.worst_rel < 1e-6);
}

TEST_CASE("gradcheck conv: same padding, stride 1") {
  expect_gradients_match<BasicSequential<double, Input<3, 7, 6>, Conv<3, 4, 3>>>(2);
}
TEST_CASE("gradcheck conv: stride 2, no padding, odd sizes") {
  expect_gradients_match<BasicSequential<double, Input<2, 9, 7>, Conv<2, 3, 3, 2, 0>>>(3);
}
TEST_CASE("gradcheck conv: even kernel, stride 2, padding 1") {
  expect_gradients_match<BasicSequential<double, Input<2, 8, 8>, Conv<2, 2, 4, 2, 1>>>(2);
}
TEST_CASE("gradcheck conv: pointwise 1x1") {
  expect_gradients_match<BasicSequential<double, Input<4, 5, 5>, Conv<4, 3, 1>>>(3);
}
TEST_CASE("gradcheck batchnorm 2d: train and eval mode") {
  expect_gradients_match<BasicSequential<double, Input<3, 4, 5>, BatchNorm>>(4, Mode::train);
  expect_gradients_match<BasicSequential<double, Input<3, 4, 5>, BatchNorm>>(4, Mode::eval);
}
TEST_CASE("gradcheck batchnorm 1d after linear") {
  expect_gradients_match<BasicSequential<double, Input<2, 3, 3>, Linear<5>, BatchNorm>>(6);
}
TEST_CASE("gradcheck relu") { expect_gradients_match<BasicSequential<double, Input<2, 5, 5>, ReLU>>(3); }
TEST_CASE("gradcheck maxpool 2 and 3/2 on odd sizes") {
  expect_gradients_match<BasicSequential<double, Input<2, 7, 7>, MaxPool<2>>>(2);
  expect_gradients_match<BasicSequential<double, Input<2, 9, 8>, MaxPool<3, 2>>>(2);
}
TEST_CASE("gradcheck avgpool") {
  expect_gradients_match<BasicSequential<double, Input<2, 7, 7>, AvgPool<2>>>(2);
  expect_gradients_match<BasicSequential<double, Input<1, 9, 9>, AvgPool<3>>>(2);
}
TEST_CASE("gradcheck linear and flatten") {
  expect_gradients_match<BasicSequential<double, Input<3, 2, 2>, Flatten, Linear<4>>>(3);
}
TEST_CASE("gradcheck dropout (same mask in every evaluation)") {
  expect_gradients_match<BasicSequential<double, Input<2, 4, 4>, Dropout<0.3>>>(3);
}
TEST_CASE("gradcheck the seed network shape at small size") {
  expect_gradients_match<BasicSequential<double, Input<3, 8, 8>, Conv<3, 4, 5>, BatchNorm, ReLU, MaxPool<2>,
                                          Conv<4, 6, 5>, BatchNorm, ReLU, MaxPool<2>, Linear<10>>>(3);
}

TEST_CASE("gradcheck cross_entropy gradient, with and without label smoothing") {
  for (double smoothing : {0.0, 0.1}) {
    Rng rng(3);
    Tensor<Shape<5, 1, 1>, double> logits(4);
    for (auto& v : logits.span()) v = 3 * rng.normal();
    std::vector<std::int32_t> labels{0, 4, 2, 2};
    CrossEntropyLoss<Shape<5, 1, 1>, double> loss({.label_smoothing = smoothing});
    loss(logits, labels);
    std::vector<double> analytic(loss.grad().data(), loss.grad().data() + logits.size());
    double worst = 0;
    for (std::size_t i = 0; i < logits.size(); ++i) {
      const double keep = logits[i], h = 1e-6;
      logits[i] = keep + h;
      const double lp = loss(logits, labels);
      logits[i] = keep - h;
      const double lm = loss(logits, labels);
      logits[i] = keep;
      worst = std::max(worst, std::abs((lp - lm) / (2 * h) - analytic[i]));
    }
    CHECK(worst < 1e-8);
  }
}

TEST_CASE("gradcheck fused BatchNorm+ReLU (Sequential runs the pair as one pass), train and eval, also last") {
  expect_gradients_match<BasicSequential<double, Input<3, 4, 5>, BatchNorm, ReLU, AvgPool<2>>>(4, Mode::train);
  expect_gradients_match<BasicSequential<double, Input<3, 4, 5>, BatchNorm, ReLU, AvgPool<2>>>(4, Mode::eval);
  expect_gradients_match<BasicSequential<double, Input<2, 3, 3>, Conv<2, 3, 3>, BatchNorm, ReLU>>(3, Mode::train);
}
