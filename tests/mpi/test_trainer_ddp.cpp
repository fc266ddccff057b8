// The library trainer over MPI (train::Trainer with mpi::DdpStrategy), run by CTest under
// `mpirun -np 2` with the cases of test_mpi.cpp: 2 processes x 16 images equal 1 process x 32
// through the whole fit() (sharded loaders, augmentation, evaluation, history); a 2-process
// checkpoint resumes bit-identically; a non-finite loss on one process is handled alike on both.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <unistd.h>
#include <filesystem>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "ctnn/ctnn.hpp"
#include "ctnn/data/dataloader.hpp"
#include "ctnn/data/transforms.hpp"
#include "ctnn/mpi/all.hpp"
#include "ctnn/train/trainer.hpp"
#include "compare.hpp"

namespace mpi = ctnn::mpi;
namespace data = ctnn::data;
namespace train = ctnn::train;

namespace {

using Small = ctnn::Shape<3, 8, 8>;
using Net = ctnn::Sequential<ctnn::Input<3, 8, 8>, ctnn::Conv<3, 8, 3>, ctnn::BatchNorm, ctnn::ReLU, ctnn::MaxPool<2>,
                             ctnn::Linear<4>>;
constexpr std::size_t kImages = 64, kBatch = 16, kPoisoned = 28;  // image 28: batch 2, process 1's slice

// 64 images of 4 classes; with `poison`, image 28 is all 255, which the transform turns into NaN.
data::ImageSet<Small> make_set(bool poison) {
  data::ImageSet<Small> set;
  set.class_names = {"a", "b", "c", "d"};
  for (std::size_t i = 0; i < kImages; ++i) {
    for (std::size_t j = 0; j < Small::size; ++j)
      set.pixels.push_back(poison && i == kPoisoned ? 255 : static_cast<std::uint8_t>((i * 37 + j * 11 + i * j) % 251));
    set.labels.push_back(static_cast<std::int32_t>((i * 7) % 4));
  }
  return set;
}

// A random flip (seeded per image by the loader) and ToTensor; an all-255 image becomes NaN.
struct Transform {
  using input_shape = Small;
  using output_shape = Small;
  void operator()(const std::uint8_t* src, float* dst, ctnn::Rng& rng, const data::SampleInfo& info) const {
    data::compose<Small>(data::RandomHorizontalFlip{}, data::ToTensor{})(src, dst, rng, info);
    bool marker = true;
    for (std::size_t j = 0; j < Small::size; ++j) marker = marker && src[j] == 255;
    if (marker) dst[0] = std::numeric_limits<float>::quiet_NaN();
  }
};

train::TrainerOptions epochs(int n) {
  train::TrainerOptions o;
  o.epochs = n;
  return o;
}

struct Run {
  explicit Run(std::uint64_t seed = 7) : net(seed) {}
  Net net;
  std::vector<train::EpochMetrics> history;
  train::FitResult result;
};

// fit() of 2 epochs, SGD with momentum, sharded over `comm` (null: one process on the whole batch).
void fit(Run& run, const data::ImageSet<Small>& set, const mpi::Communicator* comm, train::TrainerOptions o,
         bool sync_bn = true) {
  const data::Shard shard = comm ? mpi::shard_of(*comm) : data::Shard{};
  data::DataLoader train_loader(set, Transform{}, {.batch_size = kBatch, .shuffle = true, .seed = 3, .shard = shard});
  data::DataLoader test_loader(set, data::compose<Small>(data::ToTensor{}), {.batch_size = 32, .shard = shard});
  ctnn::SGD<float> opt(run.net.parameters(), {.lr = 0.05, .momentum = 0.9, .weight_decay = 5e-4});
  o.print_epochs = false;
  o.progress = false;
  std::optional<mpi::DdpStrategy<Net>> ddp;
  if (comm) {
    ddp.emplace(*comm, run.net, mpi::DataParallelOptions{.sync_batchnorm = sync_bn});
    o.strategy = &*ddp;
  }
  run.result = train::Trainer<Net>(run.net, opt, o).fit(train_loader, test_loader);
  run.history = run.result.history;
}

double worst_relative_difference(Net& a, Net& b) { return ctnn_test::worst_difference(a.parameters(), b.parameters()); }

// Every process holds rank 0's parameters, bit for bit.
bool identical_everywhere(const mpi::Communicator& comm, Net& net) {
  std::vector<float> mine(net.parameter_data(), net.parameter_data() + Net::param_count), root = mine;
  comm.broadcast(std::span<float>(root));
  return !comm.any(std::memcmp(mine.data(), root.data(), mine.size() * sizeof(float)) != 0);
}

// A folder every process names alike (rank 0's name, broadcast).
std::filesystem::path shared_temp_dir(const mpi::Communicator& comm, const char* stem) {
  std::vector<char> name(64, 0);
  if (comm.is_root()) std::snprintf(name.data(), name.size(), "%s-%ld", stem, static_cast<long>(::getpid()));
  std::vector<std::uint8_t> bytes(name.begin(), name.end());
  comm.broadcast(std::span<std::uint8_t>(bytes));
  const auto dir = std::filesystem::temp_directory_path() / reinterpret_cast<const char*>(bytes.data());
  comm.barrier();
  return dir;
}

}  // namespace

TEST_CASE("mpi.trainer_equals_one_process") {
  mpi::Communicator comm;
  REQUIRE(comm.size() == 2);
  const auto set = make_set(false);
  Run one, two;
  fit(one, set, nullptr, epochs(2));
  fit(two, set, &comm, epochs(2));
  CHECK(identical_everywhere(comm, two.net));
  const double worst = worst_relative_difference(two.net, one.net);
  MESSAGE("process " << comm.rank() << ": worst parameter difference " << worst);
  CHECK(worst < 1e-5);
  CHECK(worst > 0);  // the two runs are different computations: the test compares something
  REQUIRE(two.history.size() == 2);
  for (std::size_t e = 0; e < 2; ++e) {  // the figures are the whole set's, on every process
    CHECK(two.history[e].train_loss == doctest::Approx(one.history[e].train_loss).epsilon(1e-5));
    CHECK(two.history[e].train_accuracy == doctest::Approx(one.history[e].train_accuracy));
    CHECK(two.history[e].test_loss == doctest::Approx(one.history[e].test_loss).epsilon(1e-5));
    CHECK(two.history[e].test_accuracy == doctest::Approx(one.history[e].test_accuracy));
  }
}

TEST_CASE("mpi.trainer_resume_is_bit_identical") {
  mpi::Communicator comm;
  REQUIRE(comm.size() == 2);
  const auto set = make_set(false);
  const auto dir = shared_temp_dir(comm, "ctnn-ddp-resume");
  Run whole;
  fit(whole, set, &comm, epochs(2), /*sync_bn=*/false);

  Run first, second(99);  // other weights: the checkpoint must restore them
  train::TrainerOptions o = epochs(2);
  o.checkpoint_dir = dir;
  o.interrupt_after_batches = 5;  // epoch 2, after its first batch
  fit(first, set, &comm, o, false);
  CHECK(first.result.interrupted());
  train::clear_interrupt();
  if (comm.is_root()) CHECK(std::filesystem::exists(dir / "checkpoint.safetensors"));

  train::TrainerOptions r = epochs(2);
  r.resume_dir = dir;
  fit(second, set, &comm, r, false);
  CHECK_FALSE(second.result.interrupted());
  CHECK(std::memcmp(second.net.parameter_data(), whole.net.parameter_data(), Net::param_count * sizeof(float)) == 0);
  CHECK(std::memcmp(second.net.buffer_data(), whole.net.buffer_data(), Net::buffer_count * sizeof(float)) == 0);
  REQUIRE(second.history.size() == 2);
  CHECK(second.history[1].train_loss == whole.history[1].train_loss);  // the epoch's sums survive the resume
  CHECK(second.history[1].test_accuracy == whole.history[1].test_accuracy);

  if (comm.is_root()) {  // one process may not continue what two began
    Run alone;
    train::TrainerOptions a = epochs(2);
    a.resume_dir = dir;
    CHECK_THROWS_WITH(fit(alone, set, nullptr, a),
                      doctest::Contains("field 'trainer.processes': the checkpoint was written by 2 data-parallel processes, this run has 1"));
  }
  comm.barrier();
  if (comm.is_root()) std::filesystem::remove_all(dir);
}

TEST_CASE("mpi.trainer_non_finite_on_one_process") {
  mpi::Communicator comm;
  REQUIRE(comm.size() == 2);
  const auto set = make_set(true);
  // skip: both processes leave the batch out; the run equals one process skipping it.
  Run one, two;
  train::TrainerOptions o = epochs(1);
  o.step.on_non_finite = train::OnNonFinite::skip;
  fit(one, set, nullptr, o);
  fit(two, set, &comm, o);
  CHECK(identical_everywhere(comm, two.net));
  CHECK(worst_relative_difference(two.net, one.net) < 1e-5);
  CHECK(two.history.at(0).train_loss == doctest::Approx(one.history.at(0).train_loss).epsilon(1e-5));
  // stop: both throw at the same step. Without SyncBatchNorm the NaN stays in one process's
  // loss; the other finds the summed gradients non-finite.
  Run stopped;
  std::string what;
  try {
    fit(stopped, set, &comm, epochs(1), /*sync_bn=*/false);
  } catch (const train::DivergedError& e) {
    what = e.what();
  }
  MESSAGE("process " << comm.rank() << ": " << what);
  CHECK(what.find("training diverged at epoch 1, step 3 of 4: ") != std::string::npos);
  const bool own = what.find("the loss is nan") != std::string::npos;
  CHECK((own || what.find("is not finite") != std::string::npos));
  double owners[1] = {own ? 1.0 : 0.0};
  comm.allreduce_sum(std::span<double>(owners));
  CHECK(owners[0] == 1);
}
