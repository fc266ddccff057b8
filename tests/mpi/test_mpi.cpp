// Data-parallel training over MPI (ctnn/mpi/), run by CTest under `mpirun -np 2`: every process
// runs the same cases; each checks its own figures against a one-process reference it computes
// itself. The network is the seed (coursework) network on small synthetic data, so no data set
// is needed.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "ctnn/ctnn.hpp"
#include "ctnn/data/dataloader.hpp"
#include "ctnn/data/transforms.hpp"
#include "ctnn/mpi/all.hpp"
#include "compare.hpp"

namespace mpi = ctnn::mpi;
namespace data = ctnn::data;

namespace {

using Seed = ctnn::Sequential<ctnn::Input<3, 32, 32>,                                              //
                              ctnn::Conv<3, 16, 5>, ctnn::BatchNorm, ctnn::ReLU, ctnn::MaxPool<2>,   //
                              ctnn::Conv<16, 32, 5>, ctnn::BatchNorm, ctnn::ReLU, ctnn::MaxPool<2>,  //
                              ctnn::Linear<10>>;
using Images = ctnn::Tensor<Seed::in_shape, float>;
using View = ctnn::TensorView<Seed::in_shape, const float>;
constexpr std::size_t kGlobal = 32;
constexpr int kSteps = 3;
constexpr ctnn::SGDOptions kSgd{.lr = 0.1, .momentum = 0.9};

// Step s's global batch: the same on every process. Channel means away from 0, so that the
// BatchNorm statistics matter.
struct Batch {
  Images images{kGlobal};
  std::vector<std::int32_t> labels = std::vector<std::int32_t>(kGlobal);
};
Batch make_batch(int step) {
  Batch b;
  ctnn::Rng rng(1000 + static_cast<std::uint64_t>(step));
  for (std::size_t i = 0; i < b.images.size(); ++i) b.images[i] = static_cast<float>(0.5 + rng.normal());
  for (std::size_t i = 0; i < kGlobal; ++i) b.labels[i] = static_cast<std::int32_t>(rng.below(10));
  return b;
}

using ctnn_test::worst_difference;
double worst_parameter_difference(Seed& a, Seed& b) { return worst_difference(a.parameters(), b.parameters()); }
double worst_buffer_difference(Seed& a, Seed& b) { return worst_difference(a.buffers(), b.buffers()); }

// One training step on `n` images from `first` of the batch, the loss being their mean.
void forward_backward(Seed& net, const Batch& b, std::size_t first, std::size_t n) {
  ctnn::CrossEntropyLoss<Seed::out_shape> loss;
  loss(net.forward(View(b.images.sample(first), n)), std::span<const std::int32_t>(b.labels).subspan(first, n));
  net.backward(loss.grad());
}

// 3 data-parallel SGD steps: this process trains on its slice of each global batch (the
// sharding helper's, or the one given).
void train_data_parallel(const mpi::Communicator& comm, Seed& net, mpi::DataParallelOptions options,
                         data::Slice slice = {}) {
  ctnn::SGD<float> opt(net.parameters(), kSgd);
  mpi::DataParallel dp(comm, net, options);
  dp.broadcast_from_root();
  if (slice.size == 0)
    slice = data::shard_slice(kGlobal, {static_cast<std::size_t>(comm.rank()), static_cast<std::size_t>(comm.size())});
  for (int s = 0; s < kSteps; ++s) {
    const Batch b = make_batch(s);
    ctnn::CrossEntropyLoss<Seed::out_shape> loss;
    loss(net.forward(View(b.images.sample(slice.begin), slice.size)),
         std::span<const std::int32_t>(b.labels).subspan(slice.begin, slice.size));
    dp.begin_step(slice.size, kGlobal);
    net.backward(loss.grad());
    dp.finish_step();
    opt.step();
    opt.zero_grad();
  }
}

}  // namespace

TEST_CASE("mpi.shard_slice") {
  CHECK(data::shard_slice(32, {0, 2}).begin == 0);
  CHECK(data::shard_slice(32, {1, 2}).begin == 16);
  CHECK(data::shard_slice(32, {1, 2}).size == 16);
  // 10 over 4: 3, 3, 2, 2, consecutive
  CHECK(data::shard_slice(10, {1, 4}).begin == 3);
  CHECK(data::shard_slice(10, {2, 4}).begin == 6);
  CHECK(data::shard_slice(10, {3, 4}).size == 2);
  CHECK_THROWS_WITH(data::check_global_batch(30, {0, 4}),
                    doctest::Contains("global batch size 30 does not divide by the 4 processes"));
}

TEST_CASE("mpi.plan_buckets") {
  // Layers of 10, 0, 30, 5 parameters (offsets 0, 10, 10, 40, 45), 4-byte scalars.
  const std::array<std::size_t, 5> off{0, 10, 10, 40, 45};
  const auto per_layer = mpi::plan_buckets(off, 0, 4);
  REQUIRE(per_layer.size() == 3);
  CHECK(per_layer[0].begin == 40);
  CHECK(per_layer[1].begin == 10);
  CHECK(per_layer[2].begin == 0);
  const auto two = mpi::plan_buckets(off, 100, 4);  // 5 + 30 parameters = 140 bytes close the first
  REQUIRE(two.size() == 2);
  CHECK(two[0].begin == 10);
  CHECK(two[0].end == 45);
  CHECK(two[1].end == 10);
  CHECK(mpi::plan_buckets(off, std::size_t{1} << 20, 4).size() == 1);
}

// The sharded loader's slices, put together, are the one-process loader's batches, image for
// image (same shuffle, same per-image augmentation).
TEST_CASE("mpi.sharded_loader") {
  using Tiny = ctnn::Shape<1, 4, 4>;
  data::ImageSet<Tiny> set;
  set.class_names = {"a", "b"};
  for (std::size_t i = 0; i < 22; ++i) {
    for (std::size_t j = 0; j < Tiny::size; ++j) set.pixels.push_back(static_cast<std::uint8_t>(i * 11 + j * 7));
    set.labels.push_back(static_cast<std::int32_t>(i % 2));
  }
  const auto tf = data::compose<Tiny>(data::RandomHorizontalFlip{}, data::ToTensor{});
  data::DataLoader whole(set, tf, {.batch_size = 8, .shuffle = true, .seed = 5});
  std::vector<float> expected;
  for (auto& b : whole.epoch(1)) expected.insert(expected.end(), b.images.data(), b.images.data() + b.images.size());
  std::vector<float> got;
  {
    data::DataLoader s0(set, tf, {.batch_size = 8, .shuffle = true, .seed = 5, .shard = {0, 2}});
    data::DataLoader s1(set, tf, {.batch_size = 8, .shuffle = true, .seed = 5, .shard = {1, 2}});
    std::vector<std::vector<float>> a, c;
    for (auto& b : s0.epoch(1)) a.emplace_back(b.images.data(), b.images.data() + b.images.size());
    for (auto& b : s1.epoch(1)) {
      c.emplace_back(b.images.data(), b.images.data() + b.images.size());
      CHECK(b.global_size == (b.number < 2 ? 8u : 6u));
    }
    REQUIRE(a.size() == 3);
    REQUIRE(c.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
      got.insert(got.end(), a[i].begin(), a[i].end());
      got.insert(got.end(), c[i].begin(), c[i].end());
    }
  }
  CHECK(got == expected);
  CHECK_THROWS_WITH(data::DataLoader(set, tf, {.batch_size = 7, .shard = {0, 2}}),
                    doctest::Contains("global batch size 7 does not divide by the 2 processes"));
  CHECK_THROWS_WITH(data::DataLoader(set, tf, {.batch_size = 20, .shard = {0, 4}}),
                    doctest::Contains("the last batch holds 2 images, fewer than the 4 processes"));
}

// 2 processes x 16 images with SyncBatchNorm = 1 process x 32 images; and 20 + 12 images (a
// last batch split unevenly: each process's gradients weighted by its share).
TEST_CASE("mpi.sync_batchnorm_equals_one_process") {
  mpi::Communicator comm;
  REQUIRE(comm.size() == 2);
  Seed reference{42};
  {
    ctnn::SGD<float> opt(reference.parameters(), kSgd);
    for (int s = 0; s < kSteps; ++s) {
      const Batch b = make_batch(s);
      forward_backward(reference, b, 0, kGlobal);
      opt.step();
      opt.zero_grad();
    }
  }
  for (const data::Slice slice : {data::Slice{}, comm.rank() == 0 ? data::Slice{0, 20} : data::Slice{20, 12}}) {
    CAPTURE(slice.size);
    Seed net{42};
    train_data_parallel(comm, net, {.sync_batchnorm = true}, slice);
    const double params = worst_parameter_difference(net, reference);
    const double buffers = worst_buffer_difference(net, reference);
    MESSAGE("process " << comm.rank() << ", slice of " << (slice.size ? slice.size : kGlobal / 2) << ": parameters within "
                       << params << ", running statistics within " << buffers);
    CHECK(params < 1e-5);
    CHECK(buffers < 1e-5);
  }
}

// Without SyncBatchNorm each process normalises its own half: the reference normalises each
// half of the batch separately and averages the two halves' gradients.
TEST_CASE("mpi.per_process_batchnorm_equals_halves") {
  mpi::Communicator comm;
  REQUIRE(comm.size() == 2);
  Seed reference{42};
  {
    ctnn::SGD<float> opt(reference.parameters(), kSgd);
    for (int s = 0; s < kSteps; ++s) {
      const Batch b = make_batch(s);
      forward_backward(reference, b, 0, kGlobal / 2);
      forward_backward(reference, b, kGlobal / 2, kGlobal / 2);
      for (auto& p : reference.parameters())
        for (std::size_t i = 0; i < p.size; ++i) p.grad[i] *= 0.5f;
      opt.step();
      opt.zero_grad();
    }
  }
  Seed net{42};
  train_data_parallel(comm, net, {});
  const double params = worst_parameter_difference(net, reference);
  MESSAGE("process " << comm.rank() << ": parameters within " << params);
  CHECK(params < 1e-5);
  // and the one-process statistics are NOT what it computes (the test can tell them apart)
  Seed whole{42};
  {
    ctnn::SGD<float> opt(whole.parameters(), kSgd);
    for (int s = 0; s < kSteps; ++s) {
      forward_backward(whole, make_batch(s), 0, kGlobal);
      opt.step();
      opt.zero_grad();
    }
  }
  CHECK(worst_parameter_difference(net, whole) > 1e-4);
}

// Buckets reduced during the backward give the very bits of one allreduce after it: buckets of
// one layer each, of a few layers each, and one bucket of every gradient.
TEST_CASE("mpi.bucketed_overlap_is_bit_identical") {
  mpi::Communicator comm;
  for (const bool sync : {false, true}) {
    Seed single{7};
    train_data_parallel(comm, single, {.overlap = false, .sync_batchnorm = sync});
    for (const std::size_t bytes : {std::size_t{0}, std::size_t{4096}, std::size_t{1} << 20}) {
      CAPTURE(sync);
      CAPTURE(bytes);
      Seed bucketed{7};
      mpi::DataParallelOptions options{.bucket_bytes = bytes, .overlap = true, .sync_batchnorm = sync};
      {
        mpi::DataParallel probe(comm, bucketed, options);
        // one per layer with parameters (Linear, BN, Conv, BN, Conv); Linear, BN+Conv, BN+Conv; all
        CHECK(probe.buckets().size() == (bytes == 0 ? 5u : bytes == 4096 ? 3u : 1u));
      }
      train_data_parallel(comm, bucketed, options);
      CHECK(std::memcmp(bucketed.parameter_data(), single.parameter_data(), Seed::param_count * sizeof(float)) == 0);
      CHECK(std::memcmp(bucketed.buffer_data(), single.buffer_data(), Seed::buffer_count * sizeof(float)) == 0);
    }
  }
}

// Started from different seeds, the processes are identical after broadcast_from_root(), and
// stay identical through training, parameters and running statistics, with SyncBatchNorm and
// without (broadcast_buffers).
TEST_CASE("mpi.broadcast_makes_processes_identical") {
  mpi::Communicator comm;
  Seed net{100 + static_cast<std::uint64_t>(comm.rank())};
  for (std::size_t i = 0; i < Seed::buffer_count; ++i) net.buffer_data()[i] = static_cast<float>(comm.rank() + i);
  Seed root_copy{100};
  for (std::size_t i = 0; i < Seed::buffer_count; ++i) root_copy.buffer_data()[i] = static_cast<float>(i);
  {
    mpi::DataParallel dp(comm, net);
    dp.broadcast_from_root();
  }
  CHECK(std::memcmp(net.parameter_data(), root_copy.parameter_data(), Seed::param_count * sizeof(float)) == 0);
  CHECK(std::memcmp(net.buffer_data(), root_copy.buffer_data(), Seed::buffer_count * sizeof(float)) == 0);
  for (const bool sync : {true, false}) {  // without sync, broadcast_buffers keeps the statistics alike
    CAPTURE(sync);
    train_data_parallel(comm, net, {.sync_batchnorm = sync});
    std::vector<float> theirs(net.parameter_data(), net.parameter_data() + Seed::param_count);
    theirs.insert(theirs.end(), net.buffer_data(), net.buffer_data() + Seed::buffer_count);
    std::vector<float> mine = theirs;
    comm.broadcast(std::span<float>(theirs));
    CHECK(std::memcmp(mine.data(), theirs.data(), mine.size() * sizeof(float)) == 0);
  }
  CHECK(comm.any(comm.rank() == 1));
  CHECK_FALSE(comm.any(false));
}

// Sharded evaluation sums the counts: the figures of the whole set.
TEST_CASE("mpi.sharded_evaluation_sums_counts") {
  mpi::Communicator comm;
  REQUIRE(comm.size() == 2);
  ctnn::train::PassResult mine;
  mine.samples = comm.rank() == 0 ? 6 : 4;
  mine.loss = comm.rank() == 0 ? 1.0 : 2.0;
  mine.accuracy = comm.rank() == 0 ? 0.5 : 0.25;
  mine.seconds = 1.0 + comm.rank();
  const auto all = mpi::combine(comm, mine);
  CHECK(all.samples == 10);
  CHECK(all.loss == doctest::Approx((6 * 1.0 + 4 * 2.0) / 10));
  CHECK(all.accuracy == doctest::Approx(4.0 / 10));
  CHECK(all.seconds == 2.0);
}

int main(int argc, char** argv) {
  mpi::Environment env(argc, argv);
  doctest::Context context(argc, argv);
  return context.run();
}
