// RandomErasing (data/random_erasing.hpp) against its definition, torchvision's
// transforms.RandomErasing: the coin, the area and aspect-ratio ranges, the box strictly inside the
// image, the fill in every channel, the options it refuses, and its place in a pipeline.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "ctnn/data/transforms.hpp"

namespace data = ctnn::data;
using ctnn::Rng;
using ctnn::Shape;

TEST_CASE("random erasing: a fixed area and ratio erase that square, in every channel, at a draw that fits") {
  using S = Shape<3, 16, 12>;
  const data::RandomErasing erasing{.p = 1, .scale_min = 0.25, .scale_max = 0.25, .ratio_min = 1, .ratio_max = 1,
                                    .value = -7.0f};
  Rng rng(3);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<float> x(S::size);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i);
    const auto before = rng;
    auto copy = before;
    const auto box = erasing.draw<S>(copy);
    // area 0.25 * 192 = 48, ratio 1: h = w = round(sqrt(48)) = 7
    REQUIRE(box.h == 7);
    REQUIRE(box.w == 7);
    REQUIRE(box.top + box.h <= S::height);
    REQUIRE(box.left + box.w <= S::width);
    erasing.apply<S>(x.data(), rng);
    for (std::size_t c = 0; c < S::channels; ++c)
      for (std::size_t y = 0; y < S::height; ++y)
        for (std::size_t xx = 0; xx < S::width; ++xx) {
          const std::size_t i = (c * S::height + y) * S::width + xx;
          const bool inside = y >= box.top && y < box.top + box.h && xx >= box.left && xx < box.left + box.w;
          REQUIRE(x[i] == (inside ? -7.0f : static_cast<float>(i)));
        }
  }
}

TEST_CASE("random erasing: torchvision's defaults erase half the images, with areas and ratios in range") {
  using S = Shape<1, 48, 48>;
  const data::RandomErasing erasing{};
  Rng rng(11);
  const int trials = 4000;
  int erased = 0;
  double area_sum = 0;
  std::size_t top_max = 0, left_max = 0;
  for (int t = 0; t < trials; ++t) {
    const auto box = erasing.draw<S>(rng);
    if (box.h == 0) continue;
    ++erased;
    REQUIRE(box.h < S::height);  // strictly inside, as torchvision's `h < img_h and w < img_w`
    REQUIRE(box.w < S::width);
    REQUIRE(box.top + box.h <= S::height);
    REQUIRE(box.left + box.w <= S::width);
    const double area = static_cast<double>(box.h * box.w) / (S::height * S::width);
    // rounding h and w moves the area by up to about (h + w) / 2 + 1/4 pixels
    const double slack = (static_cast<double>(box.h + box.w) / 2 + 0.25) / (S::height * S::width);
    REQUIRE(area >= 0.02 - slack);
    REQUIRE(area <= 0.33 + slack);
    // h and w are each rounded by at most 1/2: some unrounded ratio in [0.3, 3.3] must give them
    const double h = static_cast<double>(box.h), w = static_cast<double>(box.w);
    REQUIRE((h + 0.5) / (w - 0.5) >= 0.3);
    REQUIRE((h - 0.5) / (w + 0.5) <= 3.3);
    area_sum += area;
    top_max = std::max(top_max, box.top);
    left_max = std::max(left_max, box.left);
  }
  // p = 0.5: 2000 expected, standard deviation 32
  CHECK(erased > 1850);
  CHECK(erased < 2150);
  // The area fraction is uniform on [0.02, 0.33] (mean 0.175); tall or wide boxes of large area do not
  // fit and are drawn again, which lowers the mean a little.
  CHECK(area_sum / erased > 0.15);
  CHECK(area_sum / erased < 0.18);
  CHECK(top_max > 35);  // small boxes reach the far corner
  CHECK(left_max > 35);
}

TEST_CASE("random erasing: p 0 never erases, and impossible boxes give up after 10 draws") {
  using S = Shape<2, 8, 8>;
  Rng rng(5);
  const data::RandomErasing never{.p = 0};
  const data::RandomErasing too_big{.p = 1, .scale_min = 1, .scale_max = 1, .ratio_min = 1, .ratio_max = 1};
  for (int t = 0; t < 100; ++t) {
    CHECK(never.draw<S>(rng).h == 0);
    CHECK(too_big.draw<S>(rng).h == 0);  // h = w = 8 is not < 8
  }
}

TEST_CASE("random erasing: options torchvision refuses are refused") {
  CHECK_NOTHROW(data::RandomErasing{}.check());
  CHECK_THROWS_AS(data::RandomErasing{.p = 1.5}.check(), std::invalid_argument);
  CHECK_THROWS_AS((data::RandomErasing{.scale_min = 0.5, .scale_max = 0.2}.check()), std::invalid_argument);
  CHECK_THROWS_AS((data::RandomErasing{.ratio_min = 0, .ratio_max = 1}.check()), std::invalid_argument);
  CHECK_THROWS_AS((data::RandomErasing{.ratio_min = 2, .ratio_max = 1}.check()), std::invalid_argument);
}

TEST_CASE("random erasing: after Normalize in a pipeline, reproducible from the seed") {
  using S = Shape<1, 48, 48>;
  const auto tf = data::compose<S>(data::ToTensor{}, data::Normalize<1>{{0.5f}, {0.25f}},
                                   data::RandomErasing{.p = 1, .value = 0.0f});
  std::vector<std::uint8_t> image(S::size, 200);  // normalised: (200 / 255 - 0.5) / 0.25 = 1.137
  std::vector<float> a(S::size), b(S::size);
  Rng r1(42), r2(42);
  tf(image.data(), a.data(), r1);
  tf(image.data(), b.data(), r2);
  CHECK(a == b);
  std::size_t zeros = 0;
  for (float v : a) {
    CHECK((v == 0.0f || std::abs(v - 1.1372549f) < 1e-5f));
    zeros += v == 0.0f;
  }
  CHECK(zeros >= 1);
}
