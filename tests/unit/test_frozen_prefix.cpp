// Sequential::set_frozen_prefix: the backward stops below the first trainable layer, as PyTorch's
// does when a prefix of the network has requires_grad off. The gradients it still computes are
// those of the full backward, bit for bit; the frozen layers' stay untouched.
#include <doctest/doctest.h>

#include <cstring>
#include <stdexcept>
#include <vector>

#include <ctnn/ctnn.hpp>

using namespace ctnn;

namespace {

// 0 Conv, 1 GELU, 2 Conv, 3 BatchNorm + 4 ReLU (one fused pass), 5 MaxPool, 6 Linear
using Net = Sequential<Input<3, 8, 8>, Conv<3, 4, 3>, GELU, Conv<4, 6, 3>, BatchNorm, ReLU, MaxPool<2>, Linear<5>>;
static_assert(Net::next_layer_with_parameters(0) == 2);
static_assert(Net::next_layer_with_parameters(2) == 3);
static_assert(Net::next_layer_with_parameters(6) == Net::depth);

struct Run {
  std::vector<float> grads;  // every parameter gradient, in arena order
  std::vector<float> input_grad;
};

Run backward_with(std::size_t frozen, bool want_input_grad) {
  Net net(4);
  net.set_frozen_prefix(frozen);
  CHECK(net.frozen_prefix() == frozen);
  Tensor<Net::in_shape> x(3);
  Rng rng(5);
  for (auto& v : x.span()) v = static_cast<float>(rng.uniform(-1, 1));
  const auto y = net.forward(x);
  Tensor<Net::out_shape> dy(3);
  for (auto& v : dy.span()) v = static_cast<float>(rng.uniform(-1, 1));
  (void)y;
  net.zero_grad();
  const auto dx = net.backward(dy, want_input_grad);
  Run r;
  for (const auto& p : net.parameters()) r.grads.insert(r.grads.end(), p.grad, p.grad + p.size);
  if (want_input_grad) r.input_grad.assign(dx.data(), dx.data() + dx.size());
  return r;
}

bool all_zero(const float* p, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    if (p[i] != 0) return false;
  return true;
}

}  // namespace

TEST_CASE("frozen prefix: the trainable layers' gradients are the full backward's, bit for bit; the frozen ones stay 0") {
  const Run full = backward_with(0, false);
  for (const std::size_t frozen : {std::size_t{2}, std::size_t{4}}) {
    CAPTURE(frozen);
    const Run part = backward_with(frozen, false);
    // layer 0's conv owns the first 3*4*9 + 4 values; with 4 frozen layers (the cut inside the
    // BatchNorm + ReLU pair) layer 2's conv is frozen too, and the pair runs without an input gradient
    const std::size_t cut = frozen == 2 ? Net::param_offsets[2] : Net::param_offsets[3];
    REQUIRE(part.grads.size() == full.grads.size());
    CHECK(all_zero(part.grads.data(), cut));
    CHECK(!all_zero(full.grads.data(), cut));
    // A BatchNorm + ReLU without an input gradient has nowhere to stage the masked gradient and
    // sums it in another order (kernels/batchnorm.hpp), so its own two gradients agree to rounding.
    const std::size_t exact = frozen == 2 ? cut : Net::param_offsets[4];
    for (std::size_t i = cut; i < exact; ++i) CHECK(part.grads[i] == doctest::Approx(full.grads[i]).epsilon(1e-5));
    CHECK(std::memcmp(part.grads.data() + exact, full.grads.data() + exact, (full.grads.size() - exact) * sizeof(float)) == 0);
  }
}

TEST_CASE("frozen prefix: a backward that asks for the input gradient goes through every layer") {
  const Run full = backward_with(0, true);
  const Run part = backward_with(2, true);
  CHECK(part.grads == full.grads);
  CHECK(part.input_grad == full.input_grad);
}

TEST_CASE("frozen prefix: every layer frozen leaves every gradient alone; more layers than the network has is refused") {
  const Run none = backward_with(Net::depth, false);
  CHECK(all_zero(none.grads.data(), none.grads.size()));
  Net net(1);
  CHECK_THROWS_AS(net.set_frozen_prefix(Net::depth + 1), std::invalid_argument);
}
