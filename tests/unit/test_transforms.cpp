// Transforms against torchvision (golden vectors from tests/golden/make_transform_golden.py)
// and the random augmentations against their definitions.
#include <doctest/doctest.h>

#include <algorithm>
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

// ---- reflect padding and Cutout (the CIFAR-10 speed-run augmentations) ----------------------

namespace {
// numpy.pad(mode='reflect') / F.pad(mode='reflect') index for one axis, as documented: mirror
// about the edge without repeating it; pad < n so one reflection is enough.
std::size_t reflect_index(std::ptrdiff_t i, std::size_t n) {
  const auto last = static_cast<std::ptrdiff_t>(n) - 1;
  if (i < 0) i = -i;
  if (i > last) i = 2 * last - i;
  return static_cast<std::size_t>(i);
}
}  // namespace

TEST_CASE("transforms: RandomCrop with PadMode::reflect crops the reflect-padded image (torch 'reflect')") {
  static_assert(std::is_same_v<data::RandomCrop<32, 32, 4>, data::RandomCrop<32, 32, 4, data::PadMode::constant>>,
                "the old spelling keeps meaning constant (zero) padding");
  // A 2 x 3 x 5 image: channel 0 holds 1..15 row by row, channel 1 the same plus 100.
  using S = Shape<2, 3, 5>;
  std::vector<std::uint8_t> img(S::size);
  for (std::size_t i = 0; i < 15; ++i) {
    img[i] = static_cast<std::uint8_t>(1 + i);
    img[15 + i] = static_cast<std::uint8_t>(101 + i);
  }
  // F.pad(x, (2, 2, 2, 2), mode='reflect')[0, 0] written out by hand; numpy's documented
  // example np.pad([1, 2, 3, 4, 5], 2, 'reflect') == [3, 2, 1, 2, 3, 4, 5, 4, 3] is row 2.
  constexpr std::uint8_t padded[7][9] = {
      {13, 12, 11, 12, 13, 14, 15, 14, 13},
      {8, 7, 6, 7, 8, 9, 10, 9, 8},
      {3, 2, 1, 2, 3, 4, 5, 4, 3},
      {8, 7, 6, 7, 8, 9, 10, 9, 8},
      {13, 12, 11, 12, 13, 14, 15, 14, 13},
      {8, 7, 6, 7, 8, 9, 10, 9, 8},
      {3, 2, 1, 2, 3, 4, 5, 4, 3},
  };
  SUBCASE("the whole padded image") {
    std::vector<std::uint8_t> out(2 * 7 * 9);
    data::RandomCrop<7, 9, 2, data::PadMode::reflect>{}.crop_at<S>(img.data(), out.data(), 0, 0);
    for (std::size_t c = 0; c < 2; ++c)
      for (std::size_t y = 0; y < 7; ++y)
        for (std::size_t x = 0; x < 9; ++x) {
          CAPTURE(c);
          CAPTURE(y);
          CAPTURE(x);
          CHECK(int(out[(c * 7 + y) * 9 + x]) == padded[y][x] + 100 * int(c));
        }
  }
  SUBCASE("every 3 x 5 window, i.e. padded[:, top:top+3, left:left+5]") {
    const data::RandomCrop<3, 5, 2, data::PadMode::reflect> crop;
    std::vector<std::uint8_t> out(S::size);
    for (std::size_t top = 0; top <= 4; ++top)
      for (std::size_t left = 0; left <= 4; ++left) {
        crop.crop_at<S>(img.data(), out.data(), top, left);
        bool same = true;
        for (std::size_t c = 0; c < 2; ++c)
          for (std::size_t y = 0; y < 3; ++y)
            for (std::size_t x = 0; x < 5; ++x)
              same = same && int(out[(c * 3 + y) * 5 + x]) == padded[top + y][left + x] + 100 * int(c);
        INFO("top " << top << ", left " << left);
        CHECK(same);
      }
    // The centre window is the image itself.
    crop.crop_at<S>(img.data(), out.data(), 2, 2);
    CHECK(out == img);
  }
}

TEST_CASE("transforms: reflect RandomCrop draws its offsets like the constant one and matches the reference") {
  using S = data::Cifar10Shape;
  constexpr std::size_t P = 4;
  std::vector<std::uint8_t> img(S::size), out(S::size), zero_out(S::size);
  Rng fill(3);
  for (auto& v : img) v = static_cast<std::uint8_t>(1 + fill.below(255));  // never 0
  const data::RandomCrop<32, 32, P, data::PadMode::reflect> crop;
  const data::RandomCrop<32, 32, P> zero_crop;
  std::vector<int> seen_top(2 * P + 1, 0), seen_left(2 * P + 1, 0);
  for (std::uint64_t seed = 0; seed < 300; ++seed) {
    Rng rng(seed), zero_rng(seed), mirror(seed);
    crop.apply<S>(img.data(), out.data(), rng);
    zero_crop.apply<S>(img.data(), zero_out.data(), zero_rng);
    const auto top = static_cast<std::ptrdiff_t>(mirror.below(2 * P + 1)) - static_cast<std::ptrdiff_t>(P);
    const auto left = static_cast<std::ptrdiff_t>(mirror.below(2 * P + 1)) - static_cast<std::ptrdiff_t>(P);
    ++seen_top[static_cast<std::size_t>(top + P)];
    ++seen_left[static_cast<std::size_t>(left + P)];
    bool same = true, interior_same = true;
    for (std::size_t c = 0; c < 3; ++c)
      for (std::size_t y = 0; y < 32; ++y)
        for (std::size_t x = 0; x < 32; ++x) {
          const std::ptrdiff_t sy = top + static_cast<std::ptrdiff_t>(y), sx = left + static_cast<std::ptrdiff_t>(x);
          const std::size_t o = (c * 32 + y) * 32 + x;
          same = same && out[o] == img[(c * 32 + reflect_index(sy, 32)) * 32 + reflect_index(sx, 32)];
          // Where the window is inside the image both modes agree; elsewhere constant gives 0.
          const bool inside = sy >= 0 && sy < 32 && sx >= 0 && sx < 32;
          interior_same = interior_same && (inside ? zero_out[o] == out[o] : zero_out[o] == 0);
        }
    INFO("seed " << seed << ", top " << top << ", left " << left);
    REQUIRE(same);
    REQUIRE(interior_same);
    const auto after = mirror.next();
    CHECK(rng.next() == after);  // two draws, as in constant mode
    CHECK(zero_rng.next() == after);
  }
  for (int n : seen_top) CHECK(n > 0);
  for (int n : seen_left) CHECK(n > 0);
}

TEST_CASE("transforms: Cutout geometry, clipping at the borders, fill value") {
  using S = Shape<2, 6, 7>;
  std::vector<float> base(S::size);
  for (std::size_t i = 0; i < base.size(); ++i) base[i] = 1.0f + static_cast<float>(i);  // never 0
  // Runs cut_at and returns, for channel 0, which pixels were filled; checks the channels agree
  // and that untouched pixels kept their values.
  auto cut = [&](const data::Cutout& co, std::size_t cy, std::size_t cx) {
    std::vector<float> x = base;
    co.cut_at<S>(x.data(), cy, cx);
    std::vector<std::vector<int>> mask(6, std::vector<int>(7, 0));
    for (std::size_t y = 0; y < 6; ++y)
      for (std::size_t xx = 0; xx < 7; ++xx) {
        const std::size_t i0 = y * 7 + xx, i1 = 42 + i0;
        const bool f0 = x[i0] != base[i0], f1 = x[i1] != base[i1];
        CHECK(f0 == f1);  // the same square in every channel
        if (f0) {
          CHECK(x[i0] == co.fill);
          CHECK(x[i1] == co.fill);
        }
        mask[y][xx] = f0;
      }
    return mask;
  };
  // The filled rectangle [y0, y1) x [x0, x1) as a mask.
  auto rect = [](std::size_t y0, std::size_t y1, std::size_t x0, std::size_t x1) {
    std::vector<std::vector<int>> m(6, std::vector<int>(7, 0));
    for (std::size_t y = y0; y < y1; ++y)
      for (std::size_t x = x0; x < x1; ++x) m[y][x] = 1;
    return m;
  };
  const data::Cutout four{4};
  CHECK(four.fill == 0.0f);  // the mean, after Normalize
  CHECK(cut(four, 3, 3) == rect(1, 5, 1, 5));  // whole: rows/cols [c - 2, c + 2)
  CHECK(cut(four, 0, 0) == rect(0, 2, 0, 2));  // clipped at the top-left corner
  CHECK(cut(four, 5, 6) == rect(3, 6, 4, 7));  // clipped at the bottom-right corner
  CHECK(cut(four, 1, 6) == rect(0, 3, 4, 7));
  CHECK(cut(data::Cutout{3}, 3, 3) == rect(2, 5, 2, 5));  // odd: [c - 1, c + 2), side 3
  CHECK(cut(data::Cutout{1}, 4, 2) == rect(4, 5, 2, 3));
  CHECK(cut(data::Cutout{0}, 4, 2) == rect(0, 0, 0, 0));  // size 0 cuts nothing
  CHECK(cut(data::Cutout{20}, 2, 5) == rect(0, 6, 0, 7));  // larger than the image: all of it
  CHECK(cut(data::Cutout{4, 0.5f}, 3, 3) == rect(1, 5, 1, 5));  // another fill (checked inside)
  CHECK(cut(data::Cutout{4, -2.0f}, 0, 6) == rect(0, 2, 4, 7));
}

TEST_CASE("transforms: Cutout's centre is uniform over the image, two draws") {
  using S = Shape<1, 5, 3>;
  std::vector<int> seen(15, 0);
  const data::Cutout one{1, -1.0f};
  for (std::uint64_t seed = 0; seed < 600; ++seed) {
    std::vector<float> x(S::size, 1.0f);
    Rng rng(seed), mirror(seed);
    one.apply<S>(x.data(), rng);
    const std::size_t cy = mirror.below(5), cx = mirror.below(3);
    for (std::size_t i = 0; i < 15; ++i) CHECK(x[i] == (i == cy * 3 + cx ? -1.0f : 1.0f));
    ++seen[cy * 3 + cx];
    CHECK(rng.next() == mirror.next());
  }
  for (int n : seen) {  // 40 expected per pixel
    CHECK(n > 15);
    CHECK(n < 70);
  }
}

TEST_CASE("transforms: Cutout inside (airbench96): every cut is a whole size x size square, its corner uniform") {
  using S = Shape<2, 6, 5>;
  const data::Cutout three{.size = 3, .fill = -1.0f, .inside = true};
  std::vector<int> corners(4 * 3, 0);  // top-left corners (y0, x0) in [0, 3] x [0, 2]
  for (std::uint64_t seed = 0; seed < 1200; ++seed) {
    std::vector<float> x(S::size, 1.0f);
    Rng rng(seed), mirror(seed);
    three.apply<S>(x.data(), rng);
    const std::size_t y0 = mirror.below(4), x0 = mirror.below(3);  // row first, then column
    for (std::size_t c = 0; c < 2; ++c)
      for (std::size_t y = 0; y < 6; ++y)
        for (std::size_t xx = 0; xx < 5; ++xx) {
          const bool in = y >= y0 && y < y0 + 3 && xx >= x0 && xx < x0 + 3;
          CHECK(x[(c * 6 + y) * 5 + xx] == (in ? -1.0f : 1.0f));
        }
    CHECK(rng.next() == mirror.next());  // two draws, no more
    ++corners[y0 * 3 + x0];
  }
  for (int n : corners) {  // 100 expected per corner; the 4 x 3 corners all occur
    CHECK(n > 55);
    CHECK(n < 150);
  }
  // An even size, and a square as large as the image (one possible corner: all of it).
  std::vector<float> x(S::size, 1.0f);
  Rng rng(7);
  data::Cutout{.size = 4, .inside = true}.apply<S>(x.data(), rng);
  CHECK(std::count(x.begin(), x.end(), 0.0f) == 2 * 16);
  std::vector<float> all(S::size, 1.0f);
  data::Cutout{.size = 6, .inside = true}.apply<S>(all.data(), rng);
  CHECK(std::count(all.begin(), all.end(), 0.0f) == 2 * 30);  // 6 > width 5: all of it
}

TEST_CASE("transforms: the speed-run pipeline (reflect crop, flip, Normalize, Cutout) is the ops in order") {
  using S = data::Cifar10Shape;
  auto tf = data::compose<S>(data::RandomCrop<32, 32, 4, data::PadMode::reflect>{}, data::RandomHorizontalFlip{},
                             data::ToTensor{}, data::kCifar10Normalize, data::Cutout{8});
  static_assert(decltype(tf)::random);
  static_assert(std::is_same_v<decltype(tf)::output_shape, S>);
  // Cutout alone makes a pipeline random; Normalize stays fused before it.
  auto only_cutout = data::compose<S>(data::ToTensor{}, data::kHalfNormalize, data::Cutout{8});
  static_assert(decltype(only_cutout)::random);
  CHECK(only_cutout.lookup(0, 255) == 1.0f);

  const auto img = ramp(S::size);
  std::vector<float> out(S::size), again(S::size);
  std::vector<std::uint8_t> cropped(S::size);
  int cut_pixels_total = 0;
  for (std::uint64_t seed = 0; seed < 50; ++seed) {
    Rng rng(seed), mirror(seed), again_rng(seed);
    tf(img.data(), out.data(), rng);
    tf(img.data(), again.data(), again_rng);
    CHECK(out == again);  // reproducible from the seed
    // Reference: the image ops with the same Rng, the lookup table, then the square from the
    // next two draws of that Rng.
    tf.apply_image(img.data(), cropped.data(), mirror);
    const std::size_t cy = mirror.below(32), cx = mirror.below(32);
    int cut_pixels = 0;
    bool same = true;
    for (std::size_t c = 0; c < 3; ++c)
      for (std::size_t y = 0; y < 32; ++y)
        for (std::size_t x = 0; x < 32; ++x) {
          const bool in_square = y + 4 >= cy && y < cy + 4 && x + 4 >= cx && x < cx + 4;
          const std::size_t o = (c * 32 + y) * 32 + x;
          const float expect = in_square ? 0.0f : tf.lookup(c, cropped[o]);
          same = same && out[o] == expect;
          cut_pixels += in_square;
        }
    INFO("seed " << seed << ", centre " << cy << ", " << cx);
    CHECK(same);
    CHECK(rng.next() == mirror.next());  // crop 2 + flip 1 + cutout 2 draws
    cut_pixels_total += cut_pixels;
  }
  CHECK(cut_pixels_total > 0);
}

TEST_CASE("transforms: AlternatingFlip mirrors on even epochs iff the image's coin is set, on odd iff not") {
  const auto img = ramp(Small::size);
  std::vector<std::uint8_t> mirrored(Small::size), out(Small::size);
  for (std::size_t r = 0; r < 2 * 5; ++r)
    for (std::size_t x = 0; x < 7; ++x) mirrored[r * 7 + x] = img[r * 7 + 6 - x];
  const data::AlternatingFlip flip;
  for (const std::uint64_t image_seed : {0x0123456789ABCDEFull, 0xF123456789ABCDEFull}) {
    const bool coin = (image_seed >> 63) != 0;
    for (std::uint64_t epoch = 0; epoch < 6; ++epoch) {
      Rng rng(1), untouched(1);
      flip.apply<Small>(img.data(), out.data(), rng, data::SampleInfo{epoch, image_seed});
      const bool flipped = epoch % 2 == 0 ? coin : !coin;
      CAPTURE(epoch);
      CAPTURE(coin);
      CHECK(out == (flipped ? mirrored : img));
      CHECK(rng.next() == untouched.next());  // no draws
    }
  }
  // In a pipeline: called with the SampleInfo (the 3-argument call would not compile).
  auto tf = data::compose<Small>(data::RandomCrop<5, 7, 1, data::PadMode::reflect>{}, data::AlternatingFlip{},
                                 data::ToTensor{});
  static_assert(decltype(tf)::uses_sample_info && decltype(tf)::random);
  static_assert(!decltype(data::compose<Small>(data::RandomHorizontalFlip{}, data::ToTensor{}))::uses_sample_info);
  std::vector<float> even(Small::size), odd(Small::size);
  std::vector<std::uint8_t> even_u8(Small::size), odd_u8(Small::size);
  Rng r0(9), r1(9);
  tf(img.data(), even.data(), r0, {.epoch = 4, .image_seed = 77});
  tf(img.data(), odd.data(), r1, {.epoch = 5, .image_seed = 77});
  Rng r2(9), r3(9);
  tf.apply_image(img.data(), even_u8.data(), r2, {.epoch = 4, .image_seed = 77});
  tf.apply_image(img.data(), odd_u8.data(), r3, {.epoch = 5, .image_seed = 77});
  // Same crop (same Rng), opposite flips: the two epochs are mirror images.
  for (std::size_t r = 0; r < 2 * 5; ++r)
    for (std::size_t x = 0; x < 7; ++x) {
      CHECK(even[r * 7 + x] == odd[r * 7 + 6 - x]);
      CHECK(even[r * 7 + x] == tf.lookup(r / 5, even_u8[r * 7 + x]));
      CHECK(even_u8[r * 7 + x] == odd_u8[r * 7 + 6 - x]);
    }
}
