// Training checkpoints: a run resumed from a checkpoint (at an epoch boundary or mid-epoch)
// ends with exactly the weights of an uninterrupted run; a failed write leaves the previous
// checkpoint whole; a checkpoint that does not fit the network or optimizer is refused.
#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <ctnn/ctnn.hpp>
#include <ctnn/data/dataloader.hpp>
#include <ctnn/data/image_set.hpp>
#include <ctnn/data/transforms.hpp>
#include <ctnn/io/checkpoint.hpp>

using namespace ctnn;
namespace data = ctnn::data;
namespace fs = std::filesystem;

namespace {

using Img = Shape<3, 8, 8>;
// Small but with everything that has state: BatchNorm statistics (2-D and 1-D), Dropout (the
// network's random stream) and, through the optimizers, momentum / moments.
using Tiny = Sequential<Input<3, 8, 8>, Conv<3, 4, 3>, BatchNorm, ReLU, MaxPool<2>, Linear<8>, BatchNorm, Dropout<0.25>,
                        Linear<3>>;

data::ImageSet<Img> synthetic_set(std::size_t n) {
  data::ImageSet<Img> set;
  set.class_names = {"a", "b", "c"};
  Rng rng(11);
  set.labels.resize(n);
  set.pixels.resize(n * Img::size);
  for (std::size_t i = 0; i < n; ++i) {
    const auto label = static_cast<std::int32_t>(rng.below(3));
    set.labels[i] = label;
    for (std::size_t j = 0; j < Img::size; ++j)  // a little signal in the first channel
      set.pixels[i * Img::size + j] = static_cast<std::uint8_t>(rng.below(128) + (j < 64 ? 60 * label : 0));
  }
  return set;
}

auto transform() {
  return data::compose<Img>(data::RandomHorizontalFlip{}, data::ToTensor{}, data::kHalfNormalize);
}

std::vector<float> weights(Tiny& net) {
  std::vector<float> v(net.parameter_data(), net.parameter_data() + Tiny::param_count);
  v.insert(v.end(), net.buffer_data(), net.buffer_data() + Tiny::buffer_count);
  return v;
}

// Trains epochs [first, last) starting at batch `skip` of the first one; stops after `stop_after`
// batches in total if > 0 (an "interruption"). Returns the batches trained in the last epoch run.
template <class Optimizer, class Loader>
std::size_t train(Tiny& net, Optimizer& opt, Loader& loader, int first, int last, std::size_t skip = 0,
                  std::size_t stop_after = 0) {
  CrossEntropyLoss<Tiny::out_shape> loss;
  std::size_t done = 0, in_epoch = 0;
  net.train();
  for (int e = first; e < last; ++e) {
    std::size_t b = 0;
    in_epoch = e == first ? skip : 0;
    for (auto& batch : loader.epoch(static_cast<std::uint64_t>(e))) {
      if (e == first && b++ < skip) continue;
      loss(net.forward(batch.images), batch.labels);
      net.backward(loss.grad());
      opt.step();
      opt.zero_grad();
      ++in_epoch;
      if (stop_after && ++done == stop_after) return in_epoch;
    }
  }
  return in_epoch;
}

struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& name) : path(fs::temp_directory_path() / name) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

template <class MakeOptimizer>
void check_resume(const char* label, MakeOptimizer make_optimizer) {
  CAPTURE(label);
  const auto set = synthetic_set(60);  // 8 batches of 8 (the last one 4) per epoch
  TempDir dir(std::string("ctnn_checkpoint_") + label);
  const auto file = dir.path / "checkpoint.safetensors";

  // Uninterrupted: 4 epochs.
  Tiny full(5);
  auto full_opt = make_optimizer(full);
  data::DataLoader full_loader(set, transform(), {.batch_size = 8, .shuffle = true, .seed = 3});
  train(full, full_opt, full_loader, 0, 4);

  // 2 epochs, checkpoint, then a fresh process (new network, optimizer and loader) resumes.
  {
    Tiny net(5);
    auto opt = make_optimizer(net);
    data::DataLoader loader(set, transform(), {.batch_size = 8, .shuffle = true, .seed = 3});
    train(net, opt, loader, 0, 2);
    io::save_checkpoint(file, net, opt, {.epoch = 2, .batch = 0, .optimizer_steps = 0, .rng = net.rng().state(),
                                         .metadata = {{"train.note", "two epochs"}}});
  }
  {
    Tiny net(77);  // another seed: everything must come from the checkpoint
    auto opt = make_optimizer(net);
    data::DataLoader loader(set, transform(), {.batch_size = 8, .shuffle = true, .seed = 3});
    const auto st = io::load_checkpoint(file, net, opt);
    CHECK(st.epoch == 2);
    CHECK(st.batch == 0);
    CHECK(st.optimizer_steps == 16);
    CHECK(opt.steps() == 16);
    CHECK(st.metadata.at("train.note") == "two epochs");
    train(net, opt, loader, static_cast<int>(st.epoch), 4);
    CHECK(weights(net) == weights(full));
  }

  // Interrupted mid-epoch (after 11 steps: 3 into the second epoch), resumed from there.
  {
    Tiny net(5);
    auto opt = make_optimizer(net);
    data::DataLoader loader(set, transform(), {.batch_size = 8, .shuffle = true, .seed = 3});
    const std::size_t in_epoch = train(net, opt, loader, 0, 4, 0, 11);
    CHECK(in_epoch == 3);
    io::save_checkpoint(file, net, opt, {.epoch = 1, .batch = 3, .optimizer_steps = 0, .rng = net.rng().state(),
                                         .metadata = {}});
  }
  {
    Tiny net(78);
    auto opt = make_optimizer(net);
    data::DataLoader loader(set, transform(), {.batch_size = 8, .shuffle = true, .seed = 3});
    const auto st = io::load_checkpoint(file, net, opt);
    CHECK(st.epoch == 1);
    CHECK(st.batch == 3);
    train(net, opt, loader, static_cast<int>(st.epoch), 4, static_cast<std::size_t>(st.batch));
    CHECK(weights(net) == weights(full));
  }

  // The test can tell: without the random state (Dropout masks) the result differs.
  {
    Tiny net(79);
    auto opt = make_optimizer(net);
    data::DataLoader loader(set, transform(), {.batch_size = 8, .shuffle = true, .seed = 3});
    io::load_checkpoint(file, net, opt);
    net.rng().reseed(12345);
    train(net, opt, loader, 1, 4, 3);
    CHECK(weights(net) != weights(full));
  }
}

}  // namespace

TEST_CASE("checkpoint: resuming after 2 of 4 epochs, or mid-epoch, gives the uninterrupted run's weights exactly") {
  // One thread: this network is so small that with two, on a machine whose other core is busy,
  // OpenMP barriers would dominate (0.2 s becomes 10 s). The trainer's end-to-end resume test
  // (tests/io/resume_e2e.sh) runs with two.
  struct OneThread {
    int before = num_threads();
    OneThread() { set_num_threads(1); }
    ~OneThread() { set_num_threads(before); }
  } one_thread;
  check_resume("adam", [](Tiny& net) { return Adam<float>(net.parameters(), {.lr = 1e-2}); });
  check_resume("adamw", [](Tiny& net) { return AdamW<float>(net.parameters(), {.lr = 1e-2, .weight_decay = 0.1}); });
  check_resume("sgd", [](Tiny& net) {
    return SGD<float>(net.parameters(), {.lr = 0.05, .momentum = 0.9, .dampening = 0, .weight_decay = 1e-3,
                                         .nesterov = true});
  });
}

TEST_CASE("checkpoint: a failed write leaves the previous checkpoint whole and loadable") {
  TempDir dir("ctnn_checkpoint_atomic");
  const auto file = dir.path / "checkpoint.safetensors";
  Tiny net(1);
  Adam<float> opt(net.parameters());
  io::save_checkpoint(file, net, opt, {.epoch = 1, .batch = 0, .optimizer_steps = 0, .rng = {}, .metadata = {}});
  CHECK(!fs::exists(file.string() + ".tmp"));
  std::ifstream in(file, std::ios::binary);
  const std::string before((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());

  // The temporary file cannot be created (a folder is in its way): the write fails, the old file stays.
  fs::create_directories(file.string() + ".tmp");
  CHECK_THROWS_WITH_AS(
      io::save_checkpoint(file, net, opt, {.epoch = 2, .batch = 0, .optimizer_steps = 0, .rng = {}, .metadata = {}}),
      doctest::Contains("checkpoint.safetensors.tmp"), io::Error);
  std::ifstream again(file, std::ios::binary);
  CHECK(std::string((std::istreambuf_iterator<char>(again)), std::istreambuf_iterator<char>()) == before);
  Tiny other(2);
  Adam<float> other_opt(other.parameters());
  CHECK(io::load_checkpoint(file, other, other_opt).epoch == 1);

  // A crash while writing leaves at most a stray temporary file; the next save replaces it.
  fs::remove_all(file.string() + ".tmp");
  std::ofstream(file.string() + ".tmp") << "half a checkpoi";
  io::save_checkpoint(file, net, opt, {.epoch = 3, .batch = 0, .optimizer_steps = 0, .rng = {}, .metadata = {}});
  CHECK(!fs::exists(file.string() + ".tmp"));
  CHECK(io::load_checkpoint(file, other, other_opt).epoch == 3);
}

TEST_CASE("checkpoint: refused if it does not fit the network or the optimizer, or is not a checkpoint") {
  TempDir dir("ctnn_checkpoint_mismatch");
  const auto file = dir.path / "checkpoint.safetensors";
  Tiny net(1);
  Adam<float> adam(net.parameters());
  io::save_checkpoint(file, net, adam, {.epoch = 1, .batch = 0, .optimizer_steps = 0, .rng = {}, .metadata = {}});

  Tiny fresh(2);
  const auto before = weights(fresh);
  SGD<float> sgd(fresh.parameters(), {.lr = 0.1, .momentum = 0.9, .dampening = 0, .weight_decay = 0, .nesterov = false});
  CHECK_THROWS_WITH_AS(io::load_checkpoint(file, fresh, sgd),
                       doctest::Contains("tensor 'optimizer.state' is F32 ["), io::Error);
  CHECK(weights(fresh) == before);

  using Other = Sequential<Input<3, 8, 8>, Conv<3, 5, 3>, BatchNorm, ReLU, MaxPool<2>, Linear<8>, BatchNorm,
                           Dropout<0.25>, Linear<3>>;
  Other other(1);
  Adam<float> other_opt(other.parameters());
  CHECK_THROWS_AS(io::load_checkpoint(file, other, other_opt), io::Error);

  // A model file is not a checkpoint.
  const auto model = dir.path / "model.safetensors";
  io::save(net, model);
  Adam<float> adam2(fresh.parameters());
  CHECK_THROWS_WITH_AS(io::load_checkpoint(model, fresh, adam2), doctest::Contains("not a ctnn checkpoint"), io::Error);
  CHECK(weights(fresh) == before);

  // But a checkpoint's network part loads as a model (ignoring the optimizer state).
  io::LoadOptions lenient;
  lenient.allow_unexpected = true;
  io::load(fresh, file, lenient);
  CHECK(weights(fresh) == weights(net));
  CHECK_THROWS_WITH_AS(io::load(fresh, file), doctest::Contains("unexpected tensor 'optimizer.state'"), io::Error);
}
