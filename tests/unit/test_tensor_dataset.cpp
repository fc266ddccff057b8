// In-memory data (data/tensor_dataset.hpp, data/tensor_transforms.hpp): make_dataset's checks,
// and a DataLoader over float samples giving, batch for batch, the uint8 pipeline's floats for
// the same data (same order, same crops, flips and cutouts, same Normalize arithmetic).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "ctnn/data/dataloader.hpp"
#include "ctnn/data/split.hpp"
#include "ctnn/data/tensor_dataset.hpp"
#include "ctnn/data/tensor_transforms.hpp"
#include "ctnn/data/transforms.hpp"

namespace data = ctnn::data;
using ctnn::Shape;

namespace {

using S = Shape<3, 8, 6>;

std::string message_of(auto&& f) {
  try {
    f();
  } catch (const data::DataError& e) {
    return e.what();
  }
  FAIL("no DataError");
  return {};
}
bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

struct Pair {
  data::ImageSet<S> bytes;
  data::TensorDataset<S> floats;
};

// n samples; the float set holds the byte set's values / 255 (ToTensor's floats).
Pair make_pair(std::size_t n) {
  std::vector<std::uint8_t> px(n * S::size);
  std::vector<float> fx(px.size());
  std::vector<std::int32_t> labels(n);
  for (std::size_t i = 0; i < px.size(); ++i) {
    px[i] = static_cast<std::uint8_t>((i * 29 + i / 7) % 256);
    fx[i] = static_cast<float>(px[i]) / 255.0f;
  }
  for (std::size_t i = 0; i < n; ++i) labels[i] = static_cast<std::int32_t>(i % 3);
  return {data::make_dataset<S>(px, labels, {"a", "b", "c"}), data::make_dataset<S>(fx, labels, {"a", "b", "c"})};
}

}  // namespace

TEST_CASE("make_dataset: float data gives a TensorDataset, uint8 an ImageSet, both checked") {
  const auto p = make_pair(10);
  static_assert(std::is_same_v<decltype(p.floats), data::TensorDataset<S>>);
  CHECK(p.floats.size() == 10);
  CHECK(p.bytes.size() == 10);
  CHECK(p.floats.class_names == std::vector<std::string>{"a", "b", "c"});
  CHECK(p.floats.sample(3)[5] == p.floats.values[3 * S::size + 5]);

  std::vector<float> x(2 * S::size, 0.5f);
  CHECK(contains(message_of([&] { data::make_dataset<S>(x, std::vector<std::int32_t>{0, 1, 2}); }),
                 "288 values for 3 labels; expected labels x 144 = 432"));
  CHECK(contains(message_of([&] { data::make_dataset<S>(x, std::vector<std::int32_t>{0, 3}, {"a", "b", "c"}); }),
                 "sample 1 has label 3, outside 0..2"));
  x[S::size + 7] = std::numeric_limits<float>::quiet_NaN();
  CHECK(contains(message_of([&] { data::make_dataset<S>(x, std::vector<std::int32_t>{0, 1}); }),
                 "sample 1 holds a non-finite value"));
  x[S::size + 7] = 0;
  const auto unnamed = data::make_dataset<S>(x, std::vector<std::int32_t>{0, 4});
  CHECK(unnamed.class_names == std::vector<std::string>{"0", "1", "2", "3", "4"});
}

TEST_CASE("DataLoader over a TensorDataset: the uint8 pipeline's floats, batch for batch, shuffled and prefetched") {
  const auto p = make_pair(37);
  const data::Normalize<3> norm{{0.4f, 0.5f, 0.6f}, {0.2f, 0.25f, 0.3f}};
  const auto u8 = data::compose<S>(data::RandomCrop<8, 6, 2>{}, data::RandomHorizontalFlip{}, data::ToTensor{}, norm,
                                   data::Cutout{3});
  // Padding 0 in the float data is 0 / 255 in the byte data: the same samples.
  const auto f32 = data::tensor_compose<S>(data::RandomCrop<8, 6, 2>{}, data::RandomHorizontalFlip{}, norm, data::Cutout{3});
  static_assert(decltype(f32)::random);
  for (const bool prefetch : {true, false}) {
    data::DataLoader a(p.bytes, u8, {.batch_size = 8, .shuffle = true, .seed = 5, .prefetch = prefetch});
    data::DataLoader b(p.floats, f32, {.batch_size = 8, .shuffle = true, .seed = 5, .prefetch = prefetch});
    static_assert(std::is_same_v<decltype(b)::dataset_type, data::TensorDataset<S>>);
    for (std::uint64_t e = 0; e < 2; ++e) {
      auto ea = a.epoch(e);
      auto eb = b.epoch(e);
      auto ia = ea.begin();
      std::size_t batches = 0, differ = 0;
      for (auto ib = eb.begin(); ib != eb.end(); ++ib, ++ia, ++batches) {
        REQUIRE(ia->size() == ib->size());
        CHECK(std::equal(ia->labels.begin(), ia->labels.end(), ib->labels.begin()));
        for (std::size_t k = 0; k < ib->images.size(); ++k) differ += ia->images.data()[k] != ib->images.data()[k];
      }
      CHECK(batches == 5);
      CHECK(differ == 0);
    }
  }
}

TEST_CASE("tensor_compose: no ops copies, CenterCrop and AlternatingFlip on floats, train_val_split of a TensorDataset") {
  const auto p = make_pair(6);
  const auto id = data::tensor_compose<S>();
  static_assert(!decltype(id)::random);
  data::DataLoader plain(p.floats, id, {.batch_size = 6});
  for (auto& b : plain.epoch(0)) CHECK(std::equal(b.images.data(), b.images.data() + b.images.size(), p.floats.values.begin()));

  const auto crop = data::tensor_compose<S>(data::CenterCrop<4, 4>{}, data::AlternatingFlip{});
  static_assert(std::is_same_v<decltype(crop)::output_shape, Shape<3, 4, 4>>);
  const auto crop8 = data::compose<S>(data::CenterCrop<4, 4>{}, data::AlternatingFlip{}, data::ToTensor{});
  data::DataLoader a(p.bytes, crop8, {.batch_size = 6, .seed = 2});
  data::DataLoader b(p.floats, crop, {.batch_size = 6, .seed = 2});
  for (std::uint64_t e = 0; e < 2; ++e) {
    auto ea = a.epoch(e);
    auto eb = b.epoch(e);
    auto& x = *ea.begin();
    auto& y = *eb.begin();
    CHECK(std::equal(x.images.data(), x.images.data() + x.images.size(), y.images.data()));
  }
  const auto parts = data::train_val_split(p.floats, 0.5, 1);
  CHECK(parts.train.size() + parts.val.size() == 6);
  CHECK(parts.val.values.size() == parts.val.size() * S::size);
  CHECK(parts.val.sample(0)[0] == p.floats.sample(parts.val_indices[0])[0]);
}
