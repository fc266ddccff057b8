// Recipe initialisations (train/init.hpp): dirac_ and patch whitening.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include <ctnn/ctnn.hpp>
#include <ctnn/train/init.hpp>

using namespace ctnn;

TEST_CASE("dirac_init: a 3x3 conv passes its first Cin channels through") {
  using Net = BasicSequential<double, Input<3, 5, 4>, Conv<3, 5, 3, 1, 1, 1, false>>;
  Net net(2);
  auto params = net.parameters();
  init::dirac_init(params[0]);
  Tensor<Shape<3, 5, 4>, double> x(2);
  Rng rng(1);
  for (auto& v : x.span()) v = rng.normal();
  auto y = net.forward(x);
  for (std::size_t s = 0; s < 2; ++s)
    for (std::size_t c = 0; c < 3; ++c)
      for (std::size_t i = 0; i < 20; ++i) CHECK(y[(s * 5 + c) * 20 + i] == x[(s * 3 + c) * 20 + i]);
  // The filters beyond Cin keep their default init (not all zero).
  double rest = 0;
  for (std::size_t i = 3 * 27; i < 5 * 27; ++i) rest += std::abs(params[0].value[i]);
  CHECK(rest > 0);
  CHECK_THROWS_AS(init::dirac_init(BasicSequential<double, Input<3, 4, 4>, Conv<3, 2, 2>>(1).parameters()[0]),
                  std::invalid_argument);
}

TEST_CASE("whitening_init: the conv's first half whitens 2x2 patches, the second half is its negative") {
  // Correlated 2-channel images: channel 1 = 0.8 * channel 0 + noise, plus neighbour correlation.
  constexpr std::size_t n = 64, c = 2, h = 9, w = 9;
  std::vector<float> images(n * c * h * w);
  Rng rng(5);
  for (std::size_t s = 0; s < n; ++s)
    for (std::size_t y = 0; y < h; ++y)
      for (std::size_t x = 0; x < w; ++x) {
        const double base = rng.normal() * 2.0;
        float* img = images.data() + s * c * h * w;
        img[y * w + x] = static_cast<float>(base + (x > 0 ? 0.5 * img[y * w + x - 1] : 0.0));
        img[h * w + y * w + x] = static_cast<float>(0.8 * img[y * w + x] + 0.3 * rng.normal());
      }
  using Net = BasicSequential<double, Input<c, h, w>, Conv<c, 16, 2, 1, 0>>;
  Net net(1);
  auto params = net.parameters();
  init::whitening_init(params[0], images.data(), n, c, h, w, 1e-9);
  std::fill(params[1].value, params[1].value + 16, 0.0);  // bias 0: outputs are W p
  Tensor<Shape<c, h, w>, double> x(n);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = images[i];
  auto y = net.forward(x);
  // Second moment of the 8 whitened outputs over all patch positions: the identity.
  constexpr std::size_t d = 8, plane = 8 * 8;
  std::vector<double> m(d * d, 0.0);
  for (std::size_t s = 0; s < n; ++s)
    for (std::size_t p = 0; p < plane; ++p)
      for (std::size_t a = 0; a < d; ++a)
        for (std::size_t b = 0; b < d; ++b)
          m[a * d + b] += y[(s * 16 + a) * plane + p] * y[(s * 16 + b) * plane + p] / double(n * plane);
  for (std::size_t a = 0; a < d; ++a)
    for (std::size_t b = 0; b < d; ++b) CHECK(m[a * d + b] == doctest::Approx(a == b ? 1.0 : 0.0).epsilon(1e-6).scale(1));
  for (std::size_t i = 0; i < d * 8; ++i) CHECK(params[0].value[d * 8 + i] == -params[0].value[i]);
  CHECK_THROWS_AS(init::whitening_init(BasicSequential<double, Input<c, h, w>, Conv<c, 12, 2, 1, 0>>(1).parameters()[0],
                                       images.data(), n, c, h, w),
                  std::invalid_argument);
}
