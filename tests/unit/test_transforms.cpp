// Transforms against torchvision (golden vectors from tests/golden/make_transform_golden.py)
// and the random augmentations against their definitions.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "ctnn/data/cifar10.hpp"
#include "ctnn/data/transforms.hpp"
#include "support/golden.hpp"

namespace data = ctnn::data;
using ctnn::Rng;
using ctnn::Shape;
using ctnn::test::GoldenFile;
using ctnn::test::GoldenTensor;

namespace {

std::vector<std::uint8_t> to_bytes(const GoldenTensor& t) {
  std::vector<std::uint8_t> out(t.i32.size());
  for (std::size_t i = 0; i < out.size(); ++i) {
    REQUIRE(t.i32[i] >= 0);
    REQUIRE(t.i32[i] <= 255);
    out[i] = static_cast<std::uint8_t>(t.i32[i]);
  }
  return out;
}

// Runs the image ops of `tf` on every image of golden tensor "input" and compares the bytes
// with golden tensor `name` exactly.
template <class Tf>
void check_image_ops(const Tf& tf, const GoldenFile& g, const std::string& name) {
  using Out = typename Tf::output_shape;
  const auto input = to_bytes(g["input"]);
  const auto& expected = g[name];
  const std::size_t n = static_cast<std::size_t>(expected.shape.at(0));
  REQUIRE(expected.shape == std::vector<std::int64_t>{static_cast<std::int64_t>(n), Out::channels,
                                                      Out::height, Out::width});
  std::vector<std::uint8_t> out(Out::size);
  Rng rng(0);
  std::size_t mismatches = 0;
  int worst = 0;
  for (std::size_t i = 0; i < n; ++i) {
    tf.apply_image(input.data() + i * data::Cifar10Shape::size, out.data(), rng);
    for (std::size_t j = 0; j < Out::size; ++j) {
      const int d = std::abs(int(out[j]) - expected.i32[i * Out::size + j]);
      mismatches += d != 0;
      worst = std::max(worst, d);
    }
  }
  INFO(name << ": " << mismatches << " of " << n * Out::size << " bytes differ, worst by " << worst);
  CHECK(mismatches == 0);
}

// Runs the whole pipeline and compares with f32 golden `name`; returns the max abs error.
template <class Tf>
double check_pipeline(const Tf& tf, const GoldenFile& g, const std::string& name) {
  using Out = typename Tf::output_shape;
  const auto input = to_bytes(g["input"]);
  const auto& expected = g[name];
  const std::size_t n = static_cast<std::size_t>(expected.shape.at(0));
  REQUIRE(expected.numel() == n * Out::size);
  std::vector<float> out(Out::size);
  Rng rng(0);
  double worst = 0;
  std::size_t not_identical = 0;
  for (std::size_t i = 0; i < n; ++i) {
    tf(input.data() + i * data::Cifar10Shape::size, out.data(), rng);
    for (std::size_t j = 0; j < Out::size; ++j) {
      const float e = expected.f32[i * Out::size + j];
      worst = std::max(worst, std::abs(double(out[j]) - double(e)));
      not_identical += out[j] != e;
    }
  }
  INFO(name << ": max abs error " << worst << ", " << not_identical << " values not bit-identical");
  CHECK(not_identical == 0);
  return worst;
}

}  // namespace

TEST_CASE("transforms: Pad(4) + Resize(32) matches torchvision/PIL byte for byte") {
  const auto g = GoldenFile::load("transform_pad_resize");
  auto tf = data::compose<data::Cifar10Shape>(data::Pad<4>{}, data::Resize<32>{}, data::ToTensor{});
  static_assert(std::is_same_v<decltype(tf)::output_shape, Shape<3, 32, 32>>);
  check_image_ops(tf, g, "pad_resize_u8");
}

TEST_CASE("transforms: ToTensor and Pad+Resize+ToTensor+Normalize match torchvision exactly") {
  const auto g = GoldenFile::load("transform_pad_resize");

  auto to_tensor = data::compose<data::Cifar10Shape>(data::ToTensor{});
  CHECK(check_pipeline(to_tensor, g, "to_tensor") == 0.0);

  // The coursework's pipeline: Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)).
  auto half = data::compose<data::Cifar10Shape>(data::Pad<4>{}, data::Resize<32>{}, data::ToTensor{},
                                                data::Normalize{data::kHalfMean, data::kHalfStd});
  const double half_err = check_pipeline(half, g, "half");
  CHECK(half_err * 0.5 <= 1.0 / 255);  // in [0, 1] units (error * std)

  auto cifar = data::compose<data::Cifar10Shape>(data::Pad<4>{}, data::Resize<32>{}, data::ToTensor{},
                                                 data::kCifar10Normalize);
  const double cifar_err = check_pipeline(cifar, g, "cifar10");
  CHECK(cifar_err * 0.2616 <= 1.0 / 255);
}

TEST_CASE("transforms: Resize geometries and CenterCrop match torchvision/PIL") {
  const auto g = GoldenFile::load("transform_resize");
  using In = data::Cifar10Shape;
  SUBCASE("Resize(48), upscaling") {
    check_image_ops(data::compose<In>(data::Resize<48>{}, data::ToTensor{}), g, "resize_48_u8");
  }
  SUBCASE("Resize(24)") {
    check_image_ops(data::compose<In>(data::Resize<24>{}, data::ToTensor{}), g, "resize_24_u8");
  }
  SUBCASE("Resize((20, 28))") {
    check_image_ops(data::compose<In>(data::Resize<20, 28>{}, data::ToTensor{}), g, "resize_20x28_u8");
  }
  SUBCASE("Resize((32, 13)), horizontal pass only") {
    check_image_ops(data::compose<In>(data::Resize<32, 13>{}, data::ToTensor{}), g, "resize_32x13_u8");
  }
  SUBCASE("CenterCrop(24)") {
    check_image_ops(data::compose<In>(data::CenterCrop<24>{}, data::ToTensor{}), g, "center_crop_u8");
  }
}

TEST_CASE("transforms: Resize(S) keeps the aspect ratio like torchvision (smaller edge -> S)") {
  using Tall = data::Resize<32>::output_shape<Shape<1, 60, 40>>;
  static_assert(Tall::height == 48 && Tall::width == 32);
  using Wide = data::Resize<10>::output_shape<Shape<3, 30, 47>>;
  static_assert(Wide::height == 10 && Wide::width == 15);  // int(10 * 47 / 30) = 15
  using Exact = data::Resize<20, 28>::output_shape<Shape<3, 32, 32>>;
  static_assert(Exact::height == 20 && Exact::width == 28);
  using Same = data::Resize<32>::output_shape<Shape<3, 32, 32>>;
  static_assert(Same::size == 3 * 32 * 32);
  // Resizing to the same size is the identity (Pillow copies).
  std::vector<std::uint8_t> img(Same::size), out(Same::size);
  for (std::size_t i = 0; i < img.size(); ++i) img[i] = static_cast<std::uint8_t>(i * 37 + 11);
  Rng rng(1);
  data::Resize<32>{}.apply<Shape<3, 32, 32>>(img.data(), out.data(), rng);
  CHECK(out == img);
}

TEST_CASE("transforms: Normalize is fused as (x / 255 - mean) / std in float32") {
  auto tf = data::compose<data::Cifar10Shape>(data::ToTensor{}, data::kCifar10Normalize);
  for (std::size_t c = 0; c < 3; ++c)
    for (int v = 0; v < 256; ++v) {
      const float x = static_cast<float>(v) / 255.0f;
      CHECK(tf.lookup(c, static_cast<std::uint8_t>(v)) == (x - data::kCifar10Mean[c]) / data::kCifar10Std[c]);
    }
  // Two Normalize steps apply one after the other; single-channel images work too.
  auto gray = data::compose<Shape<1, 48, 48>>(data::ToTensor{}, data::Normalize{{0.5f}, {0.5f}},
                                              data::Normalize{{1.0f}, {2.0f}});
  CHECK(gray.lookup(0, 0) == ((0.0f - 0.5f) / 0.5f - 1.0f) / 2.0f);
  CHECK(gray.lookup(0, 255) == ((1.0f - 0.5f) / 0.5f - 1.0f) / 2.0f);
  static_assert(!decltype(tf)::random);
}

namespace {
using Small = Shape<2, 5, 7>;
std::vector<std::uint8_t> ramp(std::size_t n) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(1 + i % 250);  // never 0
  return v;
}
}  // namespace

TEST_CASE("transforms: RandomCrop(size, padding) takes a window of the zero-padded image") {
  const auto img = ramp(Small::size);
  constexpr std::size_t P = 3, H = 5, W = 7;
  using Padded = data::Pad<P>::output_shape<Small>;
  std::vector<std::uint8_t> padded(Padded::size), out(Small::size);
  Rng unused(0);
  data::Pad<P>{}.apply<Small>(img.data(), padded.data(), unused);

  const data::RandomCrop<H, W, P> crop;
  static_assert(decltype(crop)::random);
  std::vector<int> seen_top(2 * P + 1, 0), seen_left(2 * P + 1, 0);
  for (std::uint64_t seed = 0; seed < 400; ++seed) {
    Rng rng(seed), mirror(seed);
    crop.apply<Small>(img.data(), out.data(), rng);
    const std::size_t top = mirror.below(Padded::height - H + 1);
    const std::size_t left = mirror.below(Padded::width - W + 1);
    ++seen_top[top];
    ++seen_left[left];
    bool same = true;
    for (std::size_t c = 0; c < 2; ++c)
      for (std::size_t y = 0; y < H; ++y)
        for (std::size_t x = 0; x < W; ++x)
          same = same && out[(c * H + y) * W + x] ==
                             padded[(c * Padded::height + top + y) * Padded::width + left + x];
    INFO("seed " << seed << ", top " << top << ", left " << left);
    REQUIRE(same);
    CHECK(rng.next() == mirror.next());  // exactly two draws per image
  }
  for (int n : seen_top) CHECK(n > 0);  // every offset happens
  for (int n : seen_left) CHECK(n > 0);

  // No padding and the full size: the identity.
  Rng rng(5);
  data::RandomCrop<5, 7>{}.apply<Small>(img.data(), out.data(), rng);
  CHECK(out == img);
}

TEST_CASE("transforms: RandomHorizontalFlip mirrors with probability p") {
  const auto img = ramp(Small::size);
  std::vector<std::uint8_t> out(Small::size), back(Small::size);
  Rng rng(42);
  data::RandomHorizontalFlip always{1.0};
  always.apply<Small>(img.data(), out.data(), rng);
  for (std::size_t r = 0; r < 2 * 5; ++r)
    for (std::size_t x = 0; x < 7; ++x) CHECK(out[r * 7 + x] == img[r * 7 + 6 - x]);
  always.apply<Small>(out.data(), back.data(), rng);
  CHECK(back == img);

  data::RandomHorizontalFlip never{0.0};
  never.apply<Small>(img.data(), out.data(), rng);
  CHECK(out == img);

  data::RandomHorizontalFlip half{};
  int flips = 0;
  for (int i = 0; i < 2000; ++i) {
    half.apply<Small>(img.data(), out.data(), rng);
    flips += out != img;
  }
  CHECK(flips > 900);
  CHECK(flips < 1100);
}

TEST_CASE("transforms: augmentation pipeline is reproducible from the Rng seed") {
  auto aug = data::compose<data::Cifar10Shape>(data::RandomCrop<32, 32, 4>{}, data::RandomHorizontalFlip{},
                                               data::ToTensor{}, data::kCifar10Normalize);
  static_assert(decltype(aug)::random);
  const auto img = ramp(data::Cifar10Shape::size);
  std::vector<float> a(data::Cifar10Shape::size), b(a.size()), c(a.size());
  Rng r1(7), r2(7), r3(8);
  aug(img.data(), a.data(), r1);
  aug(img.data(), b.data(), r2);
  CHECK(a == b);
  int differ = 0;
  for (int i = 0; i < 10; ++i) {  // other seeds give other crops or flips (almost always)
    aug(img.data(), c.data(), r3);
    differ += c != a;
  }
  CHECK(differ >= 8);
}
