#pragma once
// ctnn::testing::gradcheck: the finite-difference gradient check of any layer or whole network,
// for checking a layer you wrote (like dlib's test_layer; docs/custom_layer.md). Instantiate the
// network in double precision, and it takes the scalar L = sum(output * R) for a fixed random
// R, and compares backward()'s gradients with central differences of L, for the input and for
// every parameter element. Buffers (BatchNorm running statistics) are restored after every
// evaluation, and stochastic layers see the same randomness each time.
//
//   using Net = ctnn::BasicSequential<double, ctnn::Input<2, 5, 5>, MyLayer, ctnn::Linear<3>>;
//   Net net(1);
//   auto r = ctnn::testing::gradcheck(net, /*batch=*/3, /*seed=*/7);   // train mode
//   // r.worst_rel below ~1e-6: the gradients agree; r.worst_tensor names the worst one
//
// The cost is two forward passes per input and parameter element: keep the network small.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "ctnn/core/random.hpp"
#include "ctnn/core/tensor.hpp"
#include "ctnn/layers/layer.hpp"

namespace ctnn::testing {

struct GradCheckResult {
  double worst_rel = 0;   // max over tensors of max|analytic - numeric| / max(max|numeric|, 1e-3)
  std::string worst_tensor;
};

template <class Net>
GradCheckResult gradcheck(Net& net, std::size_t batch, std::uint64_t seed, ctnn::Mode mode = ctnn::Mode::train,
                          double h = 1e-5) {
  using S = typename Net::in_shape;
  using O = typename Net::out_shape;
  static_assert(std::is_same_v<typename Net::scalar, double>, "gradcheck wants a double-precision network");
  ctnn::Rng rng(seed);
  ctnn::Tensor<S, double> x(batch);
  for (auto& v : x.span()) v = rng.normal();
  ctnn::Tensor<O, double> r(batch);
  for (auto& v : r.span()) v = rng.normal();
  mode == ctnn::Mode::train ? net.train() : net.eval();

  // Stochastic layers must see the same randomness in every evaluation.
  const auto rng_state = net.rng().state();
  auto loss = [&]() {
    net.rng().set_state(rng_state);
    auto y = net.forward(x);
    double s = 0;
    for (std::size_t i = 0; i < y.size(); ++i) s += y[i] * r[i];
    return s;
  };
  // Snapshot buffers (BN running stats change on each train-mode forward).
  auto buffers = net.buffers();
  std::vector<std::vector<double>> saved;
  for (auto& b : buffers) saved.emplace_back(b.value, b.value + b.size);
  auto restore = [&]() {
    for (std::size_t i = 0; i < buffers.size(); ++i) std::copy(saved[i].begin(), saved[i].end(), buffers[i].value);
  };

  net.zero_grad();
  loss();
  auto dx = net.backward(r, /*want_input_grad=*/true);
  std::vector<double> analytic_dx(dx.data(), dx.data() + dx.size());
  restore();

  GradCheckResult result;
  auto check = [&](const std::string& name, double* value, const double* analytic, std::size_t size) {
    double max_err = 0, max_num = 0;
    for (std::size_t i = 0; i < size; ++i) {
      const double keep = value[i];
      value[i] = keep + h;
      const double lp = loss();
      restore();
      value[i] = keep - h;
      const double lm = loss();
      restore();
      value[i] = keep;
      const double numeric = (lp - lm) / (2 * h);
      max_err = std::max(max_err, std::abs(numeric - analytic[i]));
      max_num = std::max(max_num, std::abs(numeric));
    }
    const double rel = max_err / std::max(max_num, 1e-3);
    if (rel >= result.worst_rel) {
      result.worst_rel = rel;
      result.worst_tensor = name;
    }
  };
  check("input", x.data(), analytic_dx.data(), x.size());
  for (auto& p : net.parameters()) {
    std::vector<double> analytic(p.grad, p.grad + p.size);
    check(p.name, p.value, analytic.data(), p.size);
  }
  return result;
}

}  // namespace ctnn::testing
