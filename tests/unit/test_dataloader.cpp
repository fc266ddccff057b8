// DataLoader: coverage and order of every epoch, reproducibility, drop_last, labels vs images,
// buffer reuse, and background prefetching against synchronous preparation.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "ctnn/data/cifar10.hpp"
#include "ctnn/data/dataloader.hpp"
#include "ctnn/data/transforms.hpp"
#include "support/data.hpp"

namespace data = ctnn::data;
using ctnn::Rng;
using ctnn::Shape;

namespace {

using Tiny = Shape<1, 4, 4>;

// Image i stores i in its first two bytes (little-endian), then a pattern; label = i % 7.
data::ImageSet<Tiny> numbered_set(std::size_t n) {
  data::ImageSet<Tiny> set;
  set.class_names = {"a", "b", "c", "d", "e", "f", "g"};
  set.pixels.resize(n * Tiny::size);
  set.labels.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    auto img = set.image(i);
    img[0] = static_cast<std::uint8_t>(i & 0xFF);
    img[1] = static_cast<std::uint8_t>(i >> 8);
    for (std::size_t j = 2; j < Tiny::size; ++j) img[j] = static_cast<std::uint8_t>((i * 31 + j * 17) % 256);
    set.labels[i] = static_cast<std::int32_t>(i % 7);
  }
  return set;
}

// Recovers the image number from a ToTensor()'d tiny image.
std::size_t decode(const float* sample) {
  const auto b0 = static_cast<std::size_t>(std::lround(sample[0] * 255.0f));
  const auto b1 = static_cast<std::size_t>(std::lround(sample[1] * 255.0f));
  return b0 | (b1 << 8);
}

template <class Loader>
std::vector<std::vector<std::size_t>> epoch_batches(Loader& loader, std::uint64_t e) {
  std::vector<std::vector<std::size_t>> out;
  for (auto& batch : loader.epoch(e)) {
    std::vector<std::size_t> ids;
    for (std::size_t i = 0; i < batch.size(); ++i) ids.push_back(decode(batch.images.sample(i)));
    out.push_back(ids);
  }
  return out;
}

const auto kTinyToTensor = data::compose<Tiny>(data::ToTensor{});

}  // namespace

TEST_CASE("dataloader: every image exactly once per epoch, labels match images") {
  const auto set = numbered_set(103);
  for (bool prefetch : {true, false}) {
    CAPTURE(prefetch);
    data::DataLoader loader(set, kTinyToTensor, {.batch_size = 10, .shuffle = true, .seed = 3, .prefetch = prefetch});
    static_assert(std::is_same_v<decltype(loader)::shape, Tiny>);
    CHECK(loader.size() == 11);
    for (std::uint64_t e = 0; e < 4; ++e) {
      std::vector<int> seen(set.size(), 0);
      std::size_t batches = 0, expected_number = 0;
      const auto order = loader.order(e);
      for (auto& batch : loader.epoch(e)) {
        ++batches;
        CHECK(batch.number == expected_number++);
        CHECK(batch.epoch == e);
        REQUIRE(batch.labels.size() == batch.size());
        REQUIRE(batch.indices.size() == batch.size());
        CHECK(batch.size() == (batch.number < 10 ? 10u : 3u));
        for (std::size_t i = 0; i < batch.size(); ++i) {
          const std::size_t id = decode(batch.images.sample(i));
          REQUIRE(id < set.size());
          ++seen[id];
          CHECK(batch.indices[i] == id);
          CHECK(order[batch.number * 10 + i] == id);
          CHECK(batch.labels[i] == set.labels[id]);
          CHECK(batch.labels[i] == static_cast<std::int32_t>(id % 7));
        }
      }
      CHECK(batches == 11);
      for (std::size_t i = 0; i < seen.size(); ++i) {
        INFO("image " << i << " in epoch " << e);
        CHECK(seen[i] == 1);
      }
    }
  }
}

TEST_CASE("dataloader: the order depends only on the seed and the epoch") {
  const auto set = numbered_set(200);
  data::DataLoader a(set, kTinyToTensor, {.batch_size = 16, .shuffle = true, .seed = 11});
  data::DataLoader b(set, kTinyToTensor, {.batch_size = 16, .shuffle = true, .seed = 11, .prefetch = false});
  data::DataLoader other_seed(set, kTinyToTensor, {.batch_size = 16, .shuffle = true, .seed = 12});

  // Same seed, same epochs -> same batches (with and without prefetch).
  std::vector<std::vector<std::vector<std::size_t>>> runs;
  for (std::uint64_t e = 0; e < 5; ++e) {
    const auto x = epoch_batches(a, e);
    CHECK(x == epoch_batches(b, e));
    runs.push_back(x);
  }
  // Different epochs -> different orders; another seed -> another order.
  for (std::size_t i = 0; i < runs.size(); ++i)
    for (std::size_t j = i + 1; j < runs.size(); ++j) CHECK(runs[i] != runs[j]);
  CHECK(epoch_batches(other_seed, 0) != runs[0]);
  CHECK(a.order(0) != a.order(1));

  // Resumable: epoch 3 on a fresh loader equals epoch 3 after epochs 0..2, and epochs can be
  // replayed in any order.
  data::DataLoader fresh(set, kTinyToTensor, {.batch_size = 16, .shuffle = true, .seed = 11});
  CHECK(epoch_batches(fresh, 3) == runs[3]);
  CHECK(epoch_batches(fresh, 1) == runs[1]);

  // Without shuffle the order is 0, 1, 2, ... every epoch.
  data::DataLoader plain(set, kTinyToTensor, {.batch_size = 16});
  for (std::uint64_t e : {0u, 9u}) {
    const auto batches = epoch_batches(plain, e);
    std::size_t next = 0;
    for (const auto& ids : batches)
      for (std::size_t id : ids) CHECK(id == next++);
    CHECK(next == set.size());
  }
}

TEST_CASE("dataloader: drop_last keeps or drops the final partial batch") {
  const auto set = numbered_set(103);
  data::DataLoader keep(set, kTinyToTensor, {.batch_size = 10, .shuffle = true, .drop_last = false, .seed = 5});
  data::DataLoader drop(set, kTinyToTensor, {.batch_size = 10, .shuffle = true, .drop_last = true, .seed = 5});
  CHECK(keep.size() == 11);
  CHECK(drop.size() == 10);
  for (std::uint64_t e = 0; e < 3; ++e) {
    const auto k = epoch_batches(keep, e);
    const auto d = epoch_batches(drop, e);
    REQUIRE(k.size() == 11);
    REQUIRE(d.size() == 10);
    CHECK(k.back().size() == 3);
    for (std::size_t i = 0; i < 10; ++i) {
      CHECK(d[i].size() == 10);
      CHECK(d[i] == k[i]);  // same order, the tail is simply not served
    }
  }
  // Dropped images differ between epochs (the shuffle moves them).
  CHECK(epoch_batches(keep, 0).back() != epoch_batches(keep, 1).back());

  // A batch size larger than the set: one short batch, or none with drop_last.
  data::DataLoader big_keep(set, kTinyToTensor, {.batch_size = 500});
  data::DataLoader big_drop(set, kTinyToTensor, {.batch_size = 500, .drop_last = true});
  CHECK(big_keep.size() == 1);
  CHECK(big_drop.size() == 0);
  const auto one = epoch_batches(big_keep, 0);
  REQUIRE(one.size() == 1);
  CHECK(one[0].size() == 103);
  CHECK(epoch_batches(big_drop, 0).empty());
  // An exact multiple has no partial batch either way.
  const auto set100 = numbered_set(100);
  data::DataLoader exact(set100, kTinyToTensor, {.batch_size = 10});
  CHECK(exact.size() == 10);
  CHECK(epoch_batches(exact, 0).back().size() == 10);

  CHECK_THROWS_AS(data::DataLoader(set, kTinyToTensor, {.batch_size = 0}), std::invalid_argument);
}

TEST_CASE("dataloader: background prefetch gives exactly the synchronous batches, random transforms included") {
  using S = data::Cifar10Shape;
  data::ImageSet<S> set;
  set.class_names.assign(data::kCifar10ClassNames.begin(), data::kCifar10ClassNames.end());
  const std::size_t n = 77;
  set.pixels.resize(n * S::size);
  set.labels.resize(n);
  Rng fill(123);
  for (auto& p : set.pixels) p = static_cast<std::uint8_t>(fill.below(256));
  for (std::size_t i = 0; i < n; ++i) set.labels[i] = static_cast<std::int32_t>(fill.below(10));

  auto aug = data::compose<S>(data::RandomCrop<32, 32, 4>{}, data::RandomHorizontalFlip{}, data::ToTensor{},
                              data::kCifar10Normalize);
  data::DataLoader async(set, aug, {.batch_size = 8, .shuffle = true, .seed = 99, .prefetch = true});
  data::DataLoader sync(set, aug, {.batch_size = 8, .shuffle = true, .seed = 99, .prefetch = false});
  data::DataLoader other_bs(set, aug, {.batch_size = 5, .shuffle = true, .seed = 99, .prefetch = false});

  for (std::uint64_t e = 0; e < 3; ++e) {
    std::vector<std::vector<float>> a_images, s_images;
    std::vector<std::vector<std::int32_t>> a_labels, s_labels;
    for (auto& batch : async.epoch(e)) {
      a_images.emplace_back(batch.images.span().begin(), batch.images.span().end());
      a_labels.emplace_back(batch.labels.begin(), batch.labels.end());
    }
    for (auto& batch : sync.epoch(e)) {
      s_images.emplace_back(batch.images.span().begin(), batch.images.span().end());
      s_labels.emplace_back(batch.labels.begin(), batch.labels.end());
      // Each image is the transform of the image the batch names, with that image's Rng.
      std::vector<float> expect(S::size);
      for (std::size_t i = 0; i < batch.size(); ++i) {
        Rng rng(sync.sample_seed(e, batch.indices[i]));
        aug(set.image(batch.indices[i]).data(), expect.data(), rng);
        CHECK(std::equal(expect.begin(), expect.end(), batch.images.sample(i)));
        CHECK(batch.labels[i] == set.labels[batch.indices[i]]);
      }
    }
    CHECK(a_images == s_images);
    CHECK(a_labels == s_labels);
    CHECK(a_images.size() == 10);

    // Augmentation of an image does not depend on the batch size.
    std::vector<std::vector<float>> by_index(n);
    for (auto& batch : other_bs.epoch(e))
      for (std::size_t i = 0; i < batch.size(); ++i)
        by_index[batch.indices[i]].assign(batch.images.sample(i), batch.images.sample(i) + S::size);
    for (auto& batch : sync.epoch(e))
      for (std::size_t i = 0; i < batch.size(); ++i)
        CHECK(std::equal(by_index[batch.indices[i]].begin(), by_index[batch.indices[i]].end(),
                         batch.images.sample(i)));
  }
  // The same image gets different crops/flips in different epochs.
  std::vector<float> e0(S::size), e1(S::size);
  Rng r0(sync.sample_seed(0, 4)), r1(sync.sample_seed(1, 4));
  aug(set.image(4).data(), e0.data(), r0);
  aug(set.image(4).data(), e1.data(), r1);
  CHECK(e0 != e1);
}

TEST_CASE("dataloader: buffers are reused, epochs can stop early, one epoch at a time") {
  const auto set = numbered_set(250);
  data::DataLoader loader(set, kTinyToTensor, {.batch_size = 32, .shuffle = true, .seed = 1});
  std::set<const float*> image_buffers;
  std::set<const std::int32_t*> label_buffers;
  for (std::uint64_t e = 0; e < 3; ++e)
    for (auto& batch : loader.epoch(e)) {
      image_buffers.insert(batch.images.data());
      label_buffers.insert(batch.labels.data());
    }
  CHECK(image_buffers.size() == 2);  // double buffering, nothing reallocated
  CHECK(label_buffers.size() == 2);

  data::DataLoader sync(set, kTinyToTensor, {.batch_size = 32, .shuffle = true, .seed = 1, .prefetch = false});
  image_buffers.clear();
  for (std::uint64_t e = 0; e < 2; ++e)
    for (auto& batch : sync.epoch(e)) image_buffers.insert(batch.images.data());
  CHECK(image_buffers.size() == 1);

  // Leaving an epoch early (while the worker may be preparing) and starting the next is fine.
  const auto full = epoch_batches(loader, 4);
  for (int rep = 0; rep < 20; ++rep) {
    std::size_t k = 0;
    for (auto& batch : loader.epoch(4)) {
      CHECK(decode(batch.images.sample(0)) == full[k][0]);
      if (++k == static_cast<std::size_t>(rep % 5)) break;
    }
  }
  CHECK(epoch_batches(loader, 4) == full);

  // Starting a second epoch while one is alive is a logic error.
  {
    auto first = loader.epoch(0);
    CHECK_THROWS_AS(loader.epoch(1), std::logic_error);
  }
  CHECK(epoch_batches(loader, 0).size() == loader.size());

  // An exception inside the loop ends the epoch cleanly.
  try {
    for (auto& batch : loader.epoch(2)) {
      if (batch.number == 1) throw std::runtime_error("stop");
    }
  } catch (const std::runtime_error&) {
  }
  CHECK(epoch_batches(loader, 2) == epoch_batches(sync, 2));
}

TEST_CASE("dataloader: CIFAR-10 sample through Pad(4)+Resize(32)+ToTensor+Normalize") {
  const auto sample = ctnn::test::cifar10_sample_or_skip();
  if (!sample) return;
  const auto set = data::load_cifar10_file(*sample);
  auto tf = data::compose<data::Cifar10Shape>(data::Pad<4>{}, data::Resize<32>{}, data::ToTensor{},
                                              data::kHalfNormalize);
  data::DataLoader loader(set, tf, {.batch_size = 64, .shuffle = true, .seed = 2024});
  CHECK(loader.size() == 8);
  std::vector<float> expect(data::Cifar10Shape::size);
  Rng unused(0);
  std::size_t total = 0;
  for (auto& batch : loader.epoch(0)) {
    for (std::size_t i = 0; i < batch.size(); ++i) {
      tf(set.image(batch.indices[i]).data(), expect.data(), unused);
      CHECK(std::equal(expect.begin(), expect.end(), batch.images.sample(i)));
      CHECK(batch.labels[i] == set.labels[batch.indices[i]]);
      const auto [lo, hi] = std::minmax_element(batch.images.sample(i), batch.images.sample(i) + expect.size());
      CHECK(*lo >= -1.0f);
      CHECK(*hi <= 1.0f);
    }
    total += batch.size();
  }
  CHECK(total == 500);
}

TEST_CASE("dataloader: speed-run augmentation (reflect crop, alternating flip, Cutout) is reproducible per image and epoch") {
  using S = data::Cifar10Shape;
  data::ImageSet<S> set;
  set.class_names.assign(data::kCifar10ClassNames.begin(), data::kCifar10ClassNames.end());
  const std::size_t n = 40;
  set.pixels.resize(n * S::size);
  set.labels.resize(n);
  Rng fill(5);
  for (auto& p : set.pixels) p = static_cast<std::uint8_t>(fill.below(256));
  for (std::size_t i = 0; i < n; ++i) set.labels[i] = static_cast<std::int32_t>(fill.below(10));

  auto aug = data::compose<S>(data::RandomCrop<32, 32, 2, data::PadMode::reflect>{}, data::AlternatingFlip{},
                              data::ToTensor{}, data::kCifar10Normalize, data::Cutout{12});
  data::DataLoader async(set, aug, {.batch_size = 16, .shuffle = true, .seed = 3, .prefetch = true});
  data::DataLoader sync(set, aug, {.batch_size = 16, .shuffle = true, .seed = 3, .prefetch = false});
  CHECK(async.image_seed(7) == sync.image_seed(7));
  data::DataLoader other_seed(set, aug, {.batch_size = 16, .seed = 4});
  CHECK(other_seed.image_seed(7) != sync.image_seed(7));

  std::size_t coins = 0;
  for (std::size_t i = 0; i < n; ++i) coins += sync.image_seed(i) >> 63;
  CHECK(coins > 8);  // about half of 40 images flip on even epochs
  CHECK(coins < 32);

  std::vector<float> expect(S::size);
  for (std::uint64_t e = 0; e < 2; ++e) {
    std::vector<float> a, s;
    for (auto& batch : async.epoch(e)) a.insert(a.end(), batch.images.span().begin(), batch.images.span().end());
    for (auto& batch : sync.epoch(e)) {
      s.insert(s.end(), batch.images.span().begin(), batch.images.span().end());
      for (std::size_t i = 0; i < batch.size(); ++i) {
        const std::size_t idx = batch.indices[i];
        Rng rng(sync.sample_seed(e, idx));
        aug(set.image(idx).data(), expect.data(), rng, {.epoch = e, .image_seed = sync.image_seed(idx)});
        CHECK(std::equal(expect.begin(), expect.end(), batch.images.sample(i)));
      }
    }
    CHECK(a == s);
  }

  // Without crop and cutout, an image in epochs e and e + 1 is itself and its mirror.
  auto flip_only = data::compose<S>(data::AlternatingFlip{}, data::ToTensor{});
  data::DataLoader flips(set, flip_only, {.batch_size = 40, .seed = 3, .prefetch = false});
  std::vector<std::vector<float>> by_epoch;
  for (std::uint64_t e = 0; e < 3; ++e)
    for (auto& batch : flips.epoch(e)) by_epoch.emplace_back(batch.images.span().begin(), batch.images.span().end());
  std::size_t flipped_in_epoch0 = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const float* e0 = by_epoch[0].data() + i * S::size;
    const float* e1 = by_epoch[1].data() + i * S::size;
    const float* e2 = by_epoch[2].data() + i * S::size;
    bool mirror = true;
    for (std::size_t r = 0; r < 3 * 32; ++r)
      for (std::size_t x = 0; x < 32; ++x) mirror = mirror && e0[r * 32 + x] == e1[r * 32 + 31 - x];
    CHECK(mirror);
    CHECK(std::equal(e0, e0 + S::size, e2));  // period two
    flipped_in_epoch0 += e0[0] != static_cast<float>(set.image(i)[0]) / 255.0f;
  }
  CHECK(flipped_in_epoch0 > 0);
}
