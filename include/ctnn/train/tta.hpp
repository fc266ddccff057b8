#pragma once
// Test-time augmentation: evaluate on the weighted mean of the network's logits over a few
// mirrored and shifted copies of each test image, as the airbench CIFAR-10 speed runs do.
//
//   auto r = ctnn::train::evaluate_tta(net, test_loader, {.translate = true});  // airbench level 2
//   r.accuracy;   // the same PassResult as train::evaluate
//
// Views and weights (airbench's tta_level; logits are averaged, not probabilities):
//   {.flip = false}      level 0: the image alone (the same logits as evaluate)
//   {}                   level 1: 1/2 image + 1/2 its horizontal mirror
//   {.translate = true}  level 2: 1/2 * level 1 of the image
//                                + 1/4 * level 1 of the image shifted by (+1, +1)
//                                + 1/4 * level 1 of the image shifted by (-1, -1)
//   {.flip = false, .translate = true}: 1/2 image + 1/4 each shifted image.
//   {.corners = 2}       ten views, the analogue of the ten-crop evaluation FER2013 papers use
//                        (4 corner crops + the centre crop, each with its mirror): level 1 of
//                        the image and of the image shifted by (+2, +2), (+2, -2), (-2, +2),
//                        (-2, -2), each 1/5. A network that keeps its input size cannot take
//                        crops, so the corner crops of a (H-4)x(W-4) window become shifts of 2.
// A shift by (+1, +1) moves the content one pixel down and right, the uncovered row and column
// filled by reflection: F.pad(x, (1, 1, 1, 1), mode='reflect')[..., 0:H, 0:W]; (-1, -1) is the
// window at (2, 2). Like airbench, the shift is diagonal, not one view per axis.
//
// The views are made from the float batch the loader produces (NCHW, already normalised).
// Mirroring and reflecting only move values within a channel plane, so they commute with the
// per-channel Normalize: the result is the same as transforming the uint8 images.
//
// Cost: one forward pass per view (2 for level 1, 6 for level 2, 10 for corners), each at the loader's batch
// size, so the network's activation buffers do not grow. A TestTimeAugmentation kept across
// evaluations allocates only on its first batch; evaluate_tta builds one per call.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "ctnn/core/tensor.hpp"
#include "ctnn/kernels/views.hpp"
#include "ctnn/loss/cross_entropy.hpp"
#include "ctnn/train/loop.hpp"

namespace ctnn::train {

struct TtaOptions {
  bool flip = true;        // average with the horizontal mirror (airbench level 1)
  bool translate = false;  // also the images shifted by (+1, +1) and (-1, -1) (level 2)
  int corners = 0;         // > 0: also the four diagonal shifts by this many pixels, all five
                           // weighted equally (ten-crop); excludes translate
};

// The levels both example trainers take (--tta): 0 none, 1 mirror, 2 mirror + (+-1, +-1)
// shifts (airbench), 3 ten views (mirror x centre + four 2-pixel diagonal shifts).
inline constexpr int kMaxTtaLevel = 3;
inline TtaOptions tta_options(int level) {
  if (level < 0 || level > kMaxTtaLevel)
    throw std::invalid_argument("test-time augmentation level " + std::to_string(level) + " is not 0..3");
  return {.flip = level >= 1, .translate = level == 2, .corners = level == 3 ? 2 : 0};
}
inline const char* tta_level_name(int level) {
  static constexpr const char* names[] = {"none", "mirror", "mirror + 1-pixel shifts",
                                          "ten views: mirror x centre + four 2-pixel diagonal shifts"};
  return level >= 0 && level <= kMaxTtaLevel ? names[level] : "?";
}

// The view buffers and the logit accumulator, reused from batch to batch.
template <class Net>
class TestTimeAugmentation {
 public:
  using T = typename Net::scalar;
  using in_shape = typename Net::in_shape;
  using out_shape = typename Net::out_shape;

  explicit TestTimeAugmentation(TtaOptions options = {}) : opt_(options) {
    if (opt_.translate && (in_shape::height < 2 || in_shape::width < 2))
      throw std::invalid_argument("ctnn::train::TestTimeAugmentation: translate needs images of at least 2 x 2 "
                                  "pixels (reflect padding)");
    if (opt_.corners < 0 || (opt_.corners > 0 && opt_.translate))
      throw std::invalid_argument("ctnn::train::TestTimeAugmentation: corners must be >= 0 and excludes translate "
                                  "(got corners = " + std::to_string(opt_.corners) + ")");
    if (static_cast<std::size_t>(opt_.corners) >= std::min(in_shape::height, in_shape::width))
      throw std::invalid_argument("ctnn::train::TestTimeAugmentation: a corner shift of " +
                                  std::to_string(opt_.corners) + " pixels needs images larger than that (reflect "
                                  "padding), these are " + std::to_string(in_shape::height) + " x " +
                                  std::to_string(in_shape::width));
  }

  const TtaOptions& options() const noexcept { return opt_; }

  // With keep_plain(true), each logits() call also keeps a copy of the logits of the image itself
  // (the first view, unflipped and unshifted: what evaluate() scores) in plain_logits(), so that
  // one pass gives the plain and the augmented figures (evaluate_tta_and_plain).
  void keep_plain(bool on) { keep_plain_ = on; }
  TensorView<out_shape, const T> plain_logits() const { return plain_; }

  // With keep_mirror_pair(true), on level 2's views ({.translate = true}), each logits() call also
  // keeps level 1's logits (1/2 image + 1/2 mirror) in mirror_pair_logits(): twice the sum after
  // the unshifted pair (weighted 1/4 + 1/4), which is level 1's own result bit for bit, since
  // scaling by a power of two is exact. So one pass scores levels 0, 1 and 2 (train_fer2013's report).
  // Other views throw std::invalid_argument: with corners the pair is weighted 1/10 + 1/10, and
  // times 5 would not give level 1's bits.
  void keep_mirror_pair(bool on) {
    if (on && !(opt_.flip && opt_.translate))
      throw std::invalid_argument("ctnn::train::TestTimeAugmentation::keep_mirror_pair: needs level 2's views "
                                  "({.flip = true, .translate = true})");
    keep_pair_ = on;
  }
  TensorView<out_shape, const T> mirror_pair_logits() const { return pair_; }

  // The weighted mean of net's logits over the views of x: [N, out_shape]. Runs forward in the
  // network's current mode (evaluate_tta sets eval). Valid until the next call.
  TensorView<out_shape, const T> logits(Net& net, TensorView<in_shape, const T> x) {
    const std::size_t n = x.batch();
    sum_.resize(n);
    first_ = true;
    if (opt_.corners > 0) {
      add_pair(net, x, T(0.2));
      shifted_.resize(n);
      const std::ptrdiff_t s = opt_.corners;
      for (const std::ptrdiff_t dy : {s, -s})
        for (const std::ptrdiff_t dx : {s, -s}) {
          kernels::translate_reflect(x.data(), shifted_.data(), n * in_shape::channels, in_shape::height,
                                     in_shape::width, dy, dx);
          add_pair(net, shifted_, T(0.2));
        }
    } else if (!opt_.translate) {
      add_pair(net, x, T(1));
    } else {
      // Half for the image, a quarter for each shift (airbench's 0.5 * logits + 0.5 * mean of
      // the two shifted pairs).
      add_pair(net, x, T(0.5));
      if (keep_pair_) {
        pair_.resize(n);
        kernels::scale_into(sum_.data(), T(2), pair_.data(), sum_.size());
      }
      shifted_.resize(n);
      for (const std::ptrdiff_t d : {std::ptrdiff_t{1}, std::ptrdiff_t{-1}}) {
        kernels::translate_reflect(x.data(), shifted_.data(), n * in_shape::channels, in_shape::height,
                                   in_shape::width, d, d);
        add_pair(net, shifted_, T(0.25));
      }
    }
    return sum_;
  }

 private:
  // Adds weight * (the view's logits), split evenly with its mirror when flipping.
  void add_pair(Net& net, TensorView<in_shape, const T> v, T weight) {
    if (!opt_.flip) {
      add(net.forward(v), weight);
      return;
    }
    add(net.forward(v), weight / 2);
    mirrored_.resize(v.batch());
    kernels::flip_horizontal(v.data(), mirrored_.data(), v.batch() * in_shape::channels, in_shape::height,
                             in_shape::width);
    add(net.forward(mirrored_), weight / 2);
  }
  void add(TensorView<out_shape, const T> y, T weight) {
    if (first_ && keep_plain_) {
      plain_.resize(y.batch());
      std::memcpy(plain_.data(), y.data(), y.size() * sizeof(T));
    }
    if (first_) kernels::scale_into(y.data(), weight, sum_.data(), y.size());
    else kernels::add_scaled(y.data(), weight, sum_.data(), y.size());
    first_ = false;
  }

  TtaOptions opt_;
  Tensor<in_shape, T> mirrored_;
  Tensor<in_shape, T> shifted_;
  Tensor<out_shape, T> sum_;
  Tensor<out_shape, T> plain_;
  Tensor<out_shape, T> pair_;
  bool first_ = true;
  bool keep_plain_ = false;
  bool keep_pair_ = false;
};

// train::evaluate on the test-time-augmented logits: eval mode, no gradients, mean loss and
// accuracy of the averaged logits. Leaves the network in eval mode.
template <class Net, class Loader>
PassResult evaluate_tta(Net& net, Loader& loader, TestTimeAugmentation<Net>& tta, std::uint64_t epoch = 0) {
  static_assert(std::is_same_v<typename Loader::shape, typename Net::in_shape>,
                "ctnn::train::evaluate_tta: the loader's sample shape differs from the network's Input");
  return evaluate_logits(net, loader, [&](const auto& images) { return tta.logits(net, images); }, epoch);
}

template <class Net, class Loader>
PassResult evaluate_tta(Net& net, Loader& loader, const TtaOptions& options = {}, std::uint64_t epoch = 0) {
  TestTimeAugmentation<Net> tta(options);
  return evaluate_tta(net, loader, tta, epoch);
}

// Both figures of one pass: the test-time augmented logits and those of the image alone, which
// are the first view's (so `plain` has the bits evaluate() gives, without its extra forward pass).
// Both carry the pass's seconds.
struct TtaAndPlain {
  PassResult tta;
  PassResult plain;
};

template <class Net, class Loader>
TtaAndPlain evaluate_tta_and_plain(Net& net, Loader& loader, const TtaOptions& options = {}, std::uint64_t epoch = 0) {
  static_assert(std::is_same_v<typename Loader::shape, typename Net::in_shape>,
                "ctnn::train::evaluate_tta_and_plain: the loader's sample shape differs from the network's Input");
  TestTimeAugmentation<Net> tta(options);
  tta.keep_plain(true);
  CrossEntropyLoss<typename Net::out_shape, typename Net::scalar> loss;
  EpochTally plain;
  TtaAndPlain r;
  r.tta = evaluate_logits_each(
      net, loader, [&](const auto& images) { return tta.logits(net, images); },
      [&](const auto& batch) {
        loss(tta.plain_logits(), batch.labels);
        plain.add(loss.value(), loss.correct(), batch.size());
      },
      epoch);
  plain.seconds = r.tta.seconds;
  r.plain = plain.result();
  return r;
}

}  // namespace ctnn::train
