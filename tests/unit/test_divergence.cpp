// The training loop's divergence check (ctnn/train/loop.hpp): a NaN or infinite loss stops the
// epoch at that step with DivergedError (epoch, step, last finite loss), before the optimizer
// step, so the weights stay finite; OnNonFinite::skip leaves the batch out; weights that become
// non-finite with a finite loss are caught when the epoch ends, before anything can save them.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <ctnn/ctnn.hpp>
#include <ctnn/data/dataloader.hpp>
#include <ctnn/data/image_set.hpp>
#include <ctnn/train/loop.hpp>
#include <limits>
#include <string>
#include <vector>

namespace data = ctnn::data;
namespace train = ctnn::train;

namespace {

using Tiny = ctnn::Shape<1, 4, 4>;
using Net = ctnn::Sequential<ctnn::Input<1, 4, 4>, ctnn::Conv<1, 2, 3>, ctnn::ReLU, ctnn::Linear<3>>;

// 16 images, label i % 3; image i's first byte is i.
data::ImageSet<Tiny> small_set() {
  data::ImageSet<Tiny> set;
  set.class_names = {"a", "b", "c"};
  set.pixels.resize(16 * Tiny::size);
  set.labels.resize(16);
  for (std::size_t i = 0; i < 16; ++i) {
    for (std::size_t j = 0; j < Tiny::size; ++j) set.image(i)[j] = static_cast<std::uint8_t>((i * 29 + j * 13) % 256);
    set.image(i)[0] = static_cast<std::uint8_t>(i);
    set.labels[i] = static_cast<std::int32_t>(i % 3);
  }
  return set;
}

// ToTensor, except that image `*poisoned` (if >= 0) becomes NaN: a batch whose loss is NaN.
struct Poison {
  using input_shape = Tiny;
  using output_shape = Tiny;
  const int* poisoned;
  void operator()(const std::uint8_t* src, float* dst, ctnn::Rng&) const {
    for (std::size_t j = 0; j < Tiny::size; ++j) dst[j] = static_cast<float>(src[j]) / 255.0f;
    if (*poisoned >= 0 && src[0] == *poisoned) dst[5] = std::numeric_limits<float>::quiet_NaN();
  }
};

std::vector<float> weights(Net& net) {
  std::vector<float> w;
  for (const auto& p : net.parameters()) w.insert(w.end(), p.value, p.value + p.size);
  return w;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// The DivergedError that f() throws (a test failure, naming `what`, if it throws none).
template <class F>
train::DivergedError diverged(const char* what, F&& f) {
  try {
    f();
  } catch (const train::DivergedError& e) {
    MESSAGE(std::string(e.what()));
    return e;
  }
  FAIL(what);
  return train::DivergedError("", 0, 0, 0, 0);
}

}  // namespace

TEST_CASE("divergence: a NaN loss stops the epoch at that step, names it, and leaves the weights as before it") {
  const auto set = small_set();
  int poisoned = -1;
  data::DataLoader loader(set, Poison{&poisoned}, {.batch_size = 4, .shuffle = false, .prefetch = false});
  Net net(1);
  ctnn::SGD<float> opt{net.parameters(), {.lr = 0.01, .momentum = 0.9}};
  train::EpochTally t;
  CHECK(train::train_epoch_resumable(net, opt, loader, 0, t));  // epoch 1 is finite
  const double epoch1_last = t.last_finite_loss;
  CHECK(std::isfinite(epoch1_last));
  CHECK(t.last_finite_epoch == 1);
  CHECK(t.last_finite_step == 4);

  poisoned = 9;  // image 9 is in batch 3 of every epoch (no shuffling)
  t.start_epoch();
  std::vector<float> before_step3;
  train::TrainHooks hooks;
  hooks.after_batch = [&](const train::EpochTally&) {
    before_step3 = weights(net);
    return true;
  };
  {
    const auto e = diverged("a NaN loss did not stop the epoch",
                            [&] { train::train_epoch_resumable(net, opt, loader, 1, t, {}, hooks); });
    const std::string msg = e.what();
    CHECK(e.epoch == 2);
    CHECK(e.step == 3);
    CHECK(std::isnan(e.loss));
    CHECK(contains(msg, "training diverged at epoch 2, step 3 of 4: the loss is nan"));
    CHECK(contains(msg, "the last finite loss was "));
    CHECK(contains(msg, "at epoch 2, step 2"));
    CHECK(e.last_finite_loss == t.last_finite_loss);
    CHECK(std::isfinite(e.last_finite_loss));
  }
  CHECK(weights(net) == before_step3);  // the diverging step changed nothing
  CHECK(t.batches == 2);                // a checkpoint of t would resume at step 3
  CHECK(opt.steps() == 6);
  for (float w : weights(net)) REQUIRE(std::isfinite(w));

  // train_epoch (the whole-epoch form both trainers' loops share) throws the same.
  CHECK_THROWS_AS(train::train_epoch(net, opt, loader, 2), train::DivergedError);
}

TEST_CASE("divergence: a non-finite gradient with a finite loss stops the step too, or is skipped") {
  // The network whose backward pass leaves a NaN in one gradient once, before optimizer step `at`.
  struct BadGrad : Net {
    using Net::Net;
    long long* steps = nullptr;
    long long at = 0;
    auto backward(ctnn::TensorView<out_shape, const float> dy) {
      auto r = Net::backward(dy);
      if (at != 0 && *steps + 1 == at) {
        parameters().back().grad[1] = std::numeric_limits<float>::quiet_NaN();
        at = 0;
      }
      return r;
    }
  };
  const auto set = small_set();
  int poisoned = -1;
  data::DataLoader loader(set, Poison{&poisoned}, {.batch_size = 4, .shuffle = false, .prefetch = false});
  BadGrad net(1);
  ctnn::SGD<float> opt{net.parameters(), {.lr = 0.01, .momentum = 0.9}};
  long long steps = 0;
  net.steps = &steps;
  net.at = 2;
  train::EpochTally t;
  std::vector<float> after_step1;
  train::TrainHooks hooks;
  hooks.after_step = [&] {
    steps = opt.steps();
    after_step1 = weights(net);
  };
  {
    const auto e = diverged("a NaN gradient went into the optimizer step",
                            [&] { train::train_epoch_resumable(net, opt, loader, 0, t, {}, hooks); });
    CHECK(contains(e.what(),
                   "training diverged at epoch 1, step 2 of 4: the gradient of 2.bias is not finite (the loss, "));
    CHECK(std::isfinite(e.loss));
  }
  CHECK(opt.steps() == 1);
  CHECK(weights(net) == after_step1);

  // skip: the batch is left out, its gradients cleared, the next steps train normally.
  std::vector<std::string> notes;
  hooks.warn = [&](const std::string& n) { notes.push_back(n); };
  train::EpochTally u;
  net.at = opt.steps() + 1;
  CHECK(train::train_epoch_resumable(net, opt, loader, 1, u, {.on_non_finite = train::OnNonFinite::skip}, hooks));
  CHECK(u.skipped == 1);
  CHECK(opt.steps() == 4);
  REQUIRE(notes.size() == 1);
  CHECK(contains(notes[0], "epoch 2, step 1 of 4: the gradient of 2.bias is not finite"));
  for (const auto& p : net.parameters())
    for (std::size_t i = 0; i < p.size; ++i) REQUIRE(std::isfinite(p.grad[i]));
}

TEST_CASE("divergence: OnNonFinite::skip leaves the batch out, warns, and trains the rest") {
  const auto set = small_set();
  int poisoned = 9;
  data::DataLoader loader(set, Poison{&poisoned}, {.batch_size = 4, .shuffle = false, .prefetch = false});
  Net net(1);
  ctnn::SGD<float> opt{net.parameters(), {.lr = 0.01}};
  train::EpochTally t;
  std::vector<std::string> notes;
  train::TrainHooks hooks;
  hooks.warn = [&](const std::string& n) { notes.push_back(n); };
  CHECK(train::train_epoch_resumable(net, opt, loader, 0, t, {.on_non_finite = train::OnNonFinite::skip}, hooks));
  CHECK(t.skipped == 1);
  CHECK(t.batches == 4);
  CHECK(t.samples == 12);
  CHECK(opt.steps() == 3);
  REQUIRE(notes.size() == 1);
  CHECK(contains(notes[0], "epoch 1, step 3 of 4: the loss is nan; batch left out"));
  CHECK(std::isfinite(t.result().loss));

  // With BatchNorm, the NaN batch's forward pass changed the running statistics: restored.
  using BnNet =
      ctnn::Sequential<ctnn::Input<1, 4, 4>, ctnn::Conv<1, 2, 3>, ctnn::BatchNorm, ctnn::ReLU, ctnn::Linear<3>>;
  BnNet bn(1);
  ctnn::SGD<float> bn_opt{bn.parameters(), {.lr = 0.01}};
  train::EpochTally u;
  CHECK(train::train_epoch_resumable(bn, bn_opt, loader, 0, u, {.on_non_finite = train::OnNonFinite::skip}, hooks));
  CHECK(u.skipped == 1);
  for (const auto& b : bn.buffers())
    for (std::size_t i = 0; i < b.size; ++i) REQUIRE(std::isfinite(b.value[i]));

  // Non-finite batch after non-finite batch: more than max_skips_in_a_row stop the run.
  poisoned = 256;  // none
  Net net2(1);
  ctnn::SGD<float> opt2{net2.parameters(), {.lr = 0.01}};
  train::EpochTally v;
  struct AllNaN {
    using input_shape = Tiny;
    using output_shape = Tiny;
    void operator()(const std::uint8_t*, float* dst, ctnn::Rng&) const {
      for (std::size_t j = 0; j < Tiny::size; ++j) dst[j] = std::numeric_limits<float>::quiet_NaN();
    }
  };
  data::DataLoader bad(set, AllNaN{}, {.batch_size = 4, .shuffle = false, .prefetch = false});
  {
    const auto e = diverged("skip went on past max_skips_in_a_row", [&] {
      train::train_epoch_resumable(net2, opt2, bad, 0, v,
                                   {.on_non_finite = train::OnNonFinite::skip, .max_skips_in_a_row = 2}, hooks);
    });
    CHECK(contains(e.what(), "epoch 1, step 3 of 4: the loss is nan, 3 non-finite batches in a row"));
  }
}

TEST_CASE("divergence: non-finite weights are caught, with skip too, and at the end of an epoch") {
  const auto set = small_set();
  int poisoned = -1;
  data::DataLoader loader(set, Poison{&poisoned}, {.batch_size = 4, .shuffle = false, .prefetch = false});
  SUBCASE("NaN weights: the first loss is NaN, no finite loss yet") {
    Net net(1);
    ctnn::SGD<float> opt{net.parameters(), {.lr = 0.01}};
    net.parameters()[0].value[0] = std::numeric_limits<float>::quiet_NaN();
    train::EpochTally t;
    {
      const auto e = diverged("NaN weights trained on", [&] { train::train_epoch_resumable(net, opt, loader, 0, t); });
      CHECK(contains(e.what(), "epoch 1, step 1 of 4"));
      CHECK(contains(e.what(), "no step of this run had a finite loss"));
    }
    // skip cannot help when the weights themselves are NaN: it stops too, naming the tensor.
    {
      const auto e = diverged("skip trained on NaN weights", [&] {
        train::train_epoch_resumable(net, opt, loader, 0, t, {.on_non_finite = train::OnNonFinite::skip});
      });
      CHECK(contains(e.what(), "tensor 0.weight holds a non-finite value after a non-finite loss"));
    }
  }
  SUBCASE("a weight made infinite by the last step (finite loss): caught when the epoch ends") {
    Net net(1);
    ctnn::SGD<float> opt{net.parameters(), {.lr = 0.01}};
    train::TrainHooks hooks;
    hooks.after_step = [&] {
      if (opt.steps() == 4) net.parameters().back().value[0] = std::numeric_limits<float>::infinity();
    };
    train::EpochTally t;
    {
      const auto e = diverged("an infinite weight went unnoticed",
                              [&] { train::train_epoch_resumable(net, opt, loader, 0, t, {}, hooks); });
      CHECK(contains(e.what(), "holds a non-finite value at the end of the epoch (epoch 1, step 4)"));
    }
  }
}
