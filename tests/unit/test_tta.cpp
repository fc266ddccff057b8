// Test-time augmentation: the flip and reflect-translate kernels against hand-written
// references, evaluate_tta against logits averaged by hand, and a flip-invariant network.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include <ctnn/ctnn.hpp>

#include "ctnn/data/dataloader.hpp"
#include "ctnn/data/transforms.hpp"
#include "ctnn/train/confusion.hpp"
#include "ctnn/train/loop.hpp"
#include "ctnn/train/tta.hpp"

namespace data = ctnn::data;
namespace train = ctnn::train;
using ctnn::Rng;
using ctnn::Shape;

namespace {

using S = Shape<3, 8, 8>;
using ConvNet = ctnn::Sequential<ctnn::Input<3, 8, 8>, ctnn::Conv<3, 4, 3>, ctnn::ReLU, ctnn::Linear<3>>;
// Global max pooling then Linear: a max does not depend on the order of its inputs, so the
// mirror gives bit-identical logits.
using FlipInvariantNet = ctnn::Sequential<ctnn::Input<3, 8, 8>, ctnn::MaxPool<8>, ctnn::Linear<3>>;

data::ImageSet<S> random_set(std::size_t n, std::uint64_t seed) {
  data::ImageSet<S> set;
  set.class_names = {"a", "b", "c"};
  set.pixels.resize(n * S::size);
  set.labels.resize(n);
  Rng rng(seed);
  for (auto& p : set.pixels) p = static_cast<std::uint8_t>(rng.below(256));
  for (auto& l : set.labels) l = static_cast<std::int32_t>(rng.below(3));
  return set;
}

const auto kNormalize = data::compose<S>(data::ToTensor{}, data::kHalfNormalize);

// 'reflect' padding as documented (numpy / F.pad): mirror about the edge, edge not repeated.
std::size_t reflect(std::ptrdiff_t i, std::size_t n) {
  const auto last = static_cast<std::ptrdiff_t>(n) - 1;
  if (i < 0) i = -i;
  if (i > last) i = 2 * last - i;
  return static_cast<std::size_t>(i);
}

// [N, C, H, W]: y[n, c, i, j] = x[n, c, reflect(i - dy), reflect(j - dx)].
std::vector<float> translate_ref(const std::vector<float>& x, std::size_t planes, std::size_t h, std::size_t w,
                                 std::ptrdiff_t dy, std::ptrdiff_t dx) {
  std::vector<float> y(x.size());
  for (std::size_t p = 0; p < planes; ++p)
    for (std::size_t i = 0; i < h; ++i)
      for (std::size_t j = 0; j < w; ++j)
        y[(p * h + i) * w + j] =
            x[(p * h + reflect(static_cast<std::ptrdiff_t>(i) - dy, h)) * w + reflect(static_cast<std::ptrdiff_t>(j) - dx, w)];
  return y;
}

std::vector<float> flip_ref(const std::vector<float>& x, std::size_t w) {
  std::vector<float> y(x.size());
  for (std::size_t r = 0; r < x.size() / w; ++r)
    for (std::size_t j = 0; j < w; ++j) y[r * w + j] = x[r * w + w - 1 - j];
  return y;
}

template <class Net>
std::vector<float> forward_copy(Net& net, const std::vector<float>& x) {
  const auto y = net.forward({x.data(), x.size() / Net::in_shape::size});
  return {y.data(), y.data() + y.size()};
}

}  // namespace

TEST_CASE("tta: flip_horizontal and translate_reflect match hand-written references") {
  constexpr std::size_t planes = 6, h = 5, w = 7;
  std::vector<float> x(planes * h * w), y(x.size());
  Rng rng(4);
  for (auto& v : x) v = static_cast<float>(rng.normal());

  ctnn::kernels::flip_horizontal(x.data(), y.data(), planes, h, w);
  CHECK(y == flip_ref(x, w));

  for (std::ptrdiff_t dy = -4; dy <= 4; ++dy)
    for (std::ptrdiff_t dx = -6; dx <= 6; ++dx) {
      ctnn::kernels::translate_reflect(x.data(), y.data(), planes, h, w, dy, dx);
      INFO("dy " << dy << ", dx " << dx);
      CHECK(y == translate_ref(x, planes, h, w, dy, dx));
    }
  ctnn::kernels::translate_reflect(x.data(), y.data(), planes, h, w, 0, 0);
  CHECK(y == x);
}

TEST_CASE("tta: a (+1, +1) shift is airbench's reflect-pad-1 window at (0, 0), (-1, -1) the one at (2, 2)") {
  // Cross-checks the float kernel with the uint8 RandomCrop<..., PadMode::reflect> of the
  // augmentation pipeline: two implementations of F.pad(x, (1, 1, 1, 1), mode='reflect').
  const auto set = random_set(1, 9);
  const data::RandomCrop<8, 8, 1, data::PadMode::reflect> crop;
  std::vector<std::uint8_t> window(S::size);
  std::vector<float> x(S::size), y(S::size);
  for (std::size_t i = 0; i < S::size; ++i) x[i] = set.pixels[i];
  for (const std::ptrdiff_t d : {1, -1}) {
    const std::size_t corner = d == 1 ? 0 : 2;
    crop.crop_at<S>(set.pixels.data(), window.data(), corner, corner);
    ctnn::kernels::translate_reflect(x.data(), y.data(), S::channels, S::height, S::width, d, d);
    bool same = true;
    for (std::size_t i = 0; i < S::size; ++i) same = same && y[i] == static_cast<float>(window[i]);
    CAPTURE(d);
    CHECK(same);
  }
}

TEST_CASE("tta: evaluate_tta with flip is the mean of forward(x) and forward(flip(x))") {
  const auto set = random_set(20, 1);
  data::DataLoader loader(set, kNormalize, {.batch_size = 7});  // 7 + 7 + 6
  ConvNet net(3);
  net.eval();

  // By hand, batch by batch: average the two logits, then the loss and accuracy of the result.
  ctnn::CrossEntropyLoss<ConvNet::out_shape> loss;
  train::TestTimeAugmentation<ConvNet> tta;  // default: flip, no translate
  double loss_sum = 0;
  std::size_t correct = 0, samples = 0;
  const float* logits_buffer = nullptr;
  for (auto& batch : loader.epoch(0)) {
    const std::vector<float> x(batch.images.span().begin(), batch.images.span().end());
    const auto a = forward_copy(net, x);
    const auto b = forward_copy(net, flip_ref(x, S::width));
    ctnn::Tensor<ConvNet::out_shape> mean(batch.size());
    for (std::size_t i = 0; i < a.size(); ++i) mean[i] = (a[i] + b[i]) / 2;  // exact: halving is exact

    const auto got = tta.logits(net, batch.images);
    REQUIRE(got.size() == a.size());
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(got[i] == mean[i]);
    if (logits_buffer) CHECK(got.data() == logits_buffer);  // buffers reused, not reallocated
    logits_buffer = got.data();

    loss(mean, batch.labels);
    loss_sum += loss.value() * static_cast<double>(batch.size());
    correct += loss.correct();
    samples += batch.size();
  }
  const auto r = train::evaluate_tta(net, loader);
  CHECK(r.samples == 20);
  CHECK(r.samples == samples);
  CHECK(r.loss == loss_sum / 20);
  CHECK(r.accuracy == static_cast<double>(correct) / 20);

  // The flip matters for this network; without it evaluate_tta is evaluate.
  const auto plain = train::evaluate(net, loader);
  CHECK(r.loss != plain.loss);
  const auto no_flip = train::evaluate_tta(net, loader, {.flip = false});
  CHECK(no_flip.loss == plain.loss);
  CHECK(no_flip.accuracy == plain.accuracy);
}

TEST_CASE("tta: a flip-invariant network gives exactly evaluate's results") {
  const auto set = random_set(30, 2);
  data::DataLoader loader(set, kNormalize, {.batch_size = 8});
  FlipInvariantNet net(5);
  const auto plain = train::evaluate(net, loader);
  const auto flipped = train::evaluate_tta(net, loader, {.flip = true});
  CHECK(flipped.samples == plain.samples);
  CHECK(flipped.loss == plain.loss);
  CHECK(flipped.accuracy == plain.accuracy);
  CHECK(net.mode() == ctnn::Mode::eval);
}

TEST_CASE("tta: translate weights the untranslated pair 1/2 and each shifted pair 1/4 (airbench level 2)") {
  const auto set = random_set(10, 3);
  data::DataLoader loader(set, kNormalize, {.batch_size = 10});
  ConvNet net(8);
  net.eval();
  train::TestTimeAugmentation<ConvNet> level2({.flip = true, .translate = true});
  train::TestTimeAugmentation<ConvNet> shifts_only({.flip = false, .translate = true});
  for (auto& batch : loader.epoch(0)) {
    const std::vector<float> x(batch.images.span().begin(), batch.images.span().end());
    const std::size_t planes = batch.size() * S::channels;
    const auto up = translate_ref(x, planes, S::height, S::width, 1, 1);
    const auto down = translate_ref(x, planes, S::height, S::width, -1, -1);
    // airbench's infer_mirror and infer_mirror_translate, written as it writes them.
    auto mirror = [&](const std::vector<float>& v) {
      const auto a = forward_copy(net, v), b = forward_copy(net, flip_ref(v, S::width));
      std::vector<float> m(a.size());
      for (std::size_t i = 0; i < a.size(); ++i) m[i] = 0.5f * a[i] + 0.5f * b[i];
      return m;
    };
    const auto m0 = mirror(x), m1 = mirror(up), m2 = mirror(down);
    const auto p0 = forward_copy(net, x), p1 = forward_copy(net, up), p2 = forward_copy(net, down);

    const auto got = level2.logits(net, batch.images);
    for (std::size_t i = 0; i < m0.size(); ++i)
      CHECK(got[i] == doctest::Approx(0.5f * m0[i] + 0.5f * (0.5f * m1[i] + 0.5f * m2[i])).epsilon(1e-6));
    const auto got_shifts = shifts_only.logits(net, batch.images);
    for (std::size_t i = 0; i < p0.size(); ++i)
      CHECK(got_shifts[i] == doctest::Approx(0.5f * p0[i] + 0.25f * p1[i] + 0.25f * p2[i]).epsilon(1e-6));
  }
  const auto r = train::evaluate_tta(net, loader, {.translate = true});
  CHECK(r.samples == 10);
  CHECK(r.loss != train::evaluate_tta(net, loader).loss);
}

TEST_CASE("tta: evaluate_tta_and_plain gives evaluate's and evaluate_tta's figures from one pass, bit for bit") {
  const auto set = random_set(37, 6);  // a last partial batch too
  data::DataLoader loader(set, kNormalize, {.batch_size = 8});
  ConvNet net(9);
  for (int level = 1; level <= train::kMaxTtaLevel; ++level) {
    CAPTURE(level);
    const auto both = train::evaluate_tta_and_plain(net, loader, train::tta_options(level));
    const auto plain = train::evaluate(net, loader);
    const auto tta = train::evaluate_tta(net, loader, train::tta_options(level));
    CHECK(both.plain.samples == 37);
    CHECK(both.tta.samples == 37);
    CHECK(both.plain.loss == plain.loss);
    CHECK(both.plain.accuracy == plain.accuracy);
    CHECK(both.tta.loss == tta.loss);
    CHECK(both.tta.accuracy == tta.accuracy);
    CHECK(both.plain.loss != both.tta.loss);  // two different sets of logits were scored
    CHECK(both.plain.seconds == both.tta.seconds);
    CHECK(net.mode() == ctnn::Mode::eval);
  }
}

TEST_CASE("tta: level 2's pass keeps level 0's and level 1's logits bit for bit (keep_plain, keep_mirror_pair)") {
  const auto set = random_set(21, 8);
  data::DataLoader loader(set, kNormalize, {.batch_size = 8});  // 8 + 8 + 5
  ConvNet net(12);
  net.eval();
  train::TestTimeAugmentation<ConvNet> level0(train::tta_options(0)), level1(train::tta_options(1));
  train::TestTimeAugmentation<ConvNet> level2(train::tta_options(2));
  level2.keep_plain(true);
  level2.keep_mirror_pair(true);
  std::size_t checked = 0;
  for (auto& batch : loader.epoch(0)) {
    const auto y2 = level2.logits(net, batch.images);
    const std::vector<float> want2(y2.data(), y2.data() + y2.size());
    const auto plain = level2.plain_logits(), pair = level2.mirror_pair_logits();
    const std::vector<float> got0(plain.data(), plain.data() + plain.size()), got1(pair.data(), pair.data() + pair.size());
    const auto y0 = level0.logits(net, batch.images);
    CHECK(got0 == std::vector<float>(y0.data(), y0.data() + y0.size()));
    const auto y1 = level1.logits(net, batch.images);
    CHECK(got1 == std::vector<float>(y1.data(), y1.data() + y1.size()));
    CHECK(got1 != want2);  // level 2 is another set of logits
    checked += batch.size();
  }
  CHECK(checked == 21);
  // for_each_prediction hands a four-argument record the sample's row, to read those logits.
  std::size_t rows = 0;
  ctnn::TensorView<ConvNet::out_shape, const float> last;
  train::for_each_prediction(
      net, loader, [&](const auto& images) { return last = level2.logits(net, images); },
      [&](std::size_t, std::size_t predicted, std::size_t index, std::size_t row) {
        REQUIRE(row < 8);
        CHECK(index % 8 == row);  // unshuffled: sample index = batch * 8 + row
        const float* z = last.sample(row);
        CHECK(predicted == static_cast<std::size_t>(std::max_element(z, z + 3) - z));
        ++rows;
      });
  CHECK(rows == 21);
  CHECK_THROWS_WITH_AS(level1.keep_mirror_pair(true), doctest::Contains("needs level 2's views"), std::invalid_argument);
  train::TestTimeAugmentation<ConvNet> ten(train::tta_options(3));
  CHECK_THROWS_AS(ten.keep_mirror_pair(true), std::invalid_argument);
}

TEST_CASE("tta: corners averages the mirrored pairs of the image and its four diagonal shifts, 1/5 each") {
  const auto set = random_set(6, 4);
  data::DataLoader loader(set, kNormalize, {.batch_size = 6});
  ConvNet net(9);
  net.eval();
  train::TestTimeAugmentation<ConvNet> ten({.corners = 2});
  train::TestTimeAugmentation<ConvNet> five({.flip = false, .corners = 3});
  for (auto& batch : loader.epoch(0)) {
    const std::vector<float> x(batch.images.span().begin(), batch.images.span().end());
    const std::size_t planes = batch.size() * S::channels;
    const auto pair_mean = [&](const std::vector<float>& v) {
      const auto a = forward_copy(net, v), b = forward_copy(net, flip_ref(v, S::width));
      std::vector<float> m(a.size());
      for (std::size_t i = 0; i < a.size(); ++i) m[i] = 0.5f * a[i] + 0.5f * b[i];
      return m;
    };
    std::vector<float> want_ten = pair_mean(x), want_five = forward_copy(net, x);
    for (auto& v : want_ten) v *= 0.2f;
    for (auto& v : want_five) v *= 0.2f;
    for (const int dy : {1, -1})
      for (const int dx : {1, -1}) {
        const auto m = pair_mean(translate_ref(x, planes, S::height, S::width, 2 * dy, 2 * dx));
        const auto p = forward_copy(net, translate_ref(x, planes, S::height, S::width, 3 * dy, 3 * dx));
        for (std::size_t i = 0; i < m.size(); ++i) want_ten[i] += 0.2f * m[i];
        for (std::size_t i = 0; i < p.size(); ++i) want_five[i] += 0.2f * p[i];
      }
    const auto got_ten = ten.logits(net, batch.images);
    for (std::size_t i = 0; i < want_ten.size(); ++i) CHECK(got_ten[i] == doctest::Approx(want_ten[i]).epsilon(1e-5));
    const auto got_five = five.logits(net, batch.images);
    for (std::size_t i = 0; i < want_five.size(); ++i)
      CHECK(got_five[i] == doctest::Approx(want_five[i]).epsilon(1e-5));
  }
  CHECK_THROWS_WITH_AS(train::TestTimeAugmentation<ConvNet>({.translate = true, .corners = 2}),
                       doctest::Contains("excludes translate"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(train::TestTimeAugmentation<ConvNet>({.corners = 8}),
                       doctest::Contains("a corner shift of 8 pixels needs images larger than that"),
                       std::invalid_argument);
}

TEST_CASE("tta: for_each_prediction records each sample once, with the arg-max of the TTA logits and its index") {
  auto set = random_set(23, 5);
  data::DataLoader loader(set, kNormalize, {.batch_size = 8, .shuffle = true, .seed = 3});  // 8 + 8 + 7
  ConvNet net(11);
  train::TestTimeAugmentation<ConvNet> tta({.translate = true});
  const auto tta_logits = [&](const auto& images) { return tta.logits(net, images); };

  // By hand: the arg-max of each row of the TTA logits, keyed by data-set index.
  std::vector<int> want(set.size(), -1);
  net.eval();
  for (auto& batch : loader.epoch(4)) {
    const auto y = tta.logits(net, batch.images);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const float* z = y.sample(i);
      want[batch.indices[i]] = static_cast<int>(std::max_element(z, z + 3) - z);
    }
  }
  std::vector<int> got(set.size(), -1), seen(set.size(), 0);
  train::ConfusionMatrix even(set.class_names), odd(set.class_names);
  train::for_each_prediction(
      net, loader, tta_logits,
      [&](std::size_t truth, std::size_t predicted, std::size_t index) {
        REQUIRE(index < set.size());
        CHECK(truth == static_cast<std::size_t>(set.labels[index]));
        got[index] = static_cast<int>(predicted);
        ++seen[index];
        (index % 2 ? odd : even).add(truth, predicted);
      },
      4);
  CHECK(got == want);
  CHECK(seen == std::vector<int>(set.size(), 1));
  CHECK(even.total() == 12);
  CHECK(odd.total() == 11);
  // Together the two parts give evaluate_tta's accuracy.
  const auto r = train::evaluate_tta(net, loader, tta, 4);
  CHECK(static_cast<double>(even.correct() + odd.correct()) / 23 == doctest::Approx(r.accuracy));

  set.labels[17] = 3;  // the network has 3 outputs: 0..2
  data::DataLoader bad(set, kNormalize, {.batch_size = 8});
  std::size_t recorded = 0;
  CHECK_THROWS_WITH_AS(
      train::for_each_prediction(net, bad, tta_logits, [&](std::size_t, std::size_t, std::size_t) { ++recorded; }),
      "for_each_prediction: label 3 of data-set sample 17 is outside 0..2 (the network has 3 outputs)",
      std::invalid_argument);
  CHECK(recorded == 16);  // the first two batches; none of the batch holding sample 17
}
