#pragma once
// One epoch of training and one pass of evaluation over a DataLoader: the loop every trainer
// writes, once, with the divergence check every trainer needs (a NaN or infinite loss stops the
// run with DivergedError instead of training on, and saving, NaN weights). The loss, accuracy and throughput it returns are what the trainer prints and
// the metrics file records.
#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "ctnn/core/parameter.hpp"
#include "ctnn/core/thread_governor.hpp"
#include "ctnn/layers/layer.hpp"
#include "ctnn/layers/no_grad.hpp"
#include "ctnn/loss/cross_entropy.hpp"

namespace ctnn::train {

struct PassResult {
  double loss = 0;       // mean over the samples of the pass
  double accuracy = 0;   // fraction in [0, 1]
  std::size_t samples = 0;
  double seconds = 0;
  double images_per_second() const { return seconds > 0 ? static_cast<double>(samples) / seconds : 0; }
};

// Called after every training batch with (batches done, batches in the epoch, running result).
using BatchCallback = std::function<void(std::size_t, std::size_t, const PassResult&)>;

// What a training step does when its loss is not a finite number (NaN or infinite).
enum class OnNonFinite {
  stop,  // throw DivergedError before the optimizer step (the default)
  skip,  // leave the batch out (no step; gradients cleared, BatchNorm running statistics restored),
         // warn, and go on; stops all the same (DivergedError) once the weights are no longer
         // finite or TrainOptions::max_skips_in_a_row batches in a row were non-finite
};

// A run that diverged: a non-finite loss or gradient (or non-finite weights at the end of an epoch). Epoch
// and step count from 1, as the trainers print them. The weights are those before the step that
// diverged (or, for weights found non-finite, as they are); nothing has been saved by the loop.
class DivergedError : public std::runtime_error {
 public:
  DivergedError(const std::string& what, std::uint64_t epoch_, std::size_t step_, double loss_, double last_finite_)
      : std::runtime_error(what), epoch(epoch_), step(step_), loss(loss_), last_finite_loss(last_finite_) {}
  std::uint64_t epoch;      // 1-based
  std::size_t step;         // 1-based, within the epoch
  double loss;              // the step's loss: non-finite, or finite with a non-finite gradient
                            // (NaN when the weights were found non-finite)
  double last_finite_loss;  // NaN when no step of this run had a finite loss yet
};

// Running figures of an epoch in progress; a trainer that checkpoints mid-epoch keeps them and
// continues the epoch with them (train_epoch_resumable). start_epoch() clears the figures but
// keeps the last finite loss, which a DivergedError reports.
struct EpochTally {
  double loss_sum = 0;  // sum over the trained samples of the loss
  std::size_t correct = 0, samples = 0;
  std::size_t batches = 0;  // batches of this epoch done (trained or skipped): where to continue
  std::size_t skipped = 0;  // batches left out with OnNonFinite::skip
  std::size_t skipped_in_a_row = 0;
  double seconds = 0;       // training time of this epoch so far
  double last_finite_loss = std::numeric_limits<double>::quiet_NaN();
  std::uint64_t last_finite_epoch = 0;  // 1-based; 0: none yet
  std::size_t last_finite_step = 0;

  void start_epoch() {
    const EpochTally keep = *this;
    *this = EpochTally{};
    last_finite_loss = keep.last_finite_loss;
    last_finite_epoch = keep.last_finite_epoch;
    last_finite_step = keep.last_finite_step;
    skipped_in_a_row = keep.skipped_in_a_row;
  }
  // One batch of n samples scored: its mean loss and how many it got right.
  void add(double mean_loss, std::size_t right, std::size_t n) {
    loss_sum += mean_loss * static_cast<double>(n);
    correct += right;
    samples += n;
  }
  PassResult result() const {
    PassResult r;
    r.samples = samples;
    r.loss = samples ? loss_sum / static_cast<double>(samples) : 0;
    r.accuracy = samples ? static_cast<double>(correct) / static_cast<double>(samples) : 0;
    r.seconds = seconds;
    return r;
  }
};

struct TrainOptions {
  CrossEntropyOptions loss{};
  OnNonFinite on_non_finite = OnNonFinite::stop;
  std::size_t max_skips_in_a_row = 5;  // skip: more non-finite batches in a row than this stop the run
  // The per-step pass over the gradients (measured: under 0.5 % of a step for every preset,
  // about 2 % for ResNet-9 at batch 32; docs/reliability.md). Off: the loss and the once-per-epoch
  // weight check remain.
  bool check_gradients = true;
};

// What a trainer adds around each step. Any may be empty.
struct TrainHooks {
  // Data-parallel training (train/strategy.hpp): around every backward, and the agreement on a
  // bad step. With `agree` set, every process runs its backward even when its own loss is not
  // finite (its collectives must run), and a step is left out (or stops the run) everywhere
  // when agree(bad here) says some process found it bad.
  std::function<void(std::size_t local, std::size_t global)> before_backward;
  std::function<void()> after_backward;  // the gradients are final (summed over the processes)
  std::function<bool(bool)> agree;
  std::function<void()> before_step;                  // before optimizer.step() (an lr schedule)
  std::function<void()> after_step;                   // after it (Lookahead)
  std::function<bool(const EpochTally&)> after_batch;  // after each batch; false stops the epoch there
  std::function<void(const std::string&)> warn;       // OnNonFinite::skip's notes (default: stderr)
};

namespace detail {

// The images of the whole batch of which `b` is a process's slice (data::Batch::global_size).
template <class Batch>
std::size_t global_batch_size(const Batch& b) {
  if constexpr (requires { b.global_size; }) return b.global_size != 0 ? b.global_size : b.size();
  else return b.size();
}

inline std::string loss_text(double v) {
  if (std::isnan(v)) return "nan";  // printf may write "-nan"
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

inline std::string last_finite_text(const EpochTally& t) {
  if (t.last_finite_epoch == 0) return "no step of this run had a finite loss";
  return "the last finite loss was " + loss_text(t.last_finite_loss) + ", at epoch " +
         std::to_string(t.last_finite_epoch) + ", step " + std::to_string(t.last_finite_step);
}

// The first tensor (parameter or buffer) holding a NaN or infinity, or "" if none. One pass
// over the weights: the loop calls it once per epoch (and on OnNonFinite::skip), not per step.
template <class Net>
std::string first_non_finite_tensor(Net& net) {
  for (const auto& p : net.parameters())
    for (std::size_t i = 0; i < p.size; ++i)
      if (!std::isfinite(static_cast<double>(p.value[i]))) return p.name;
  for (const auto& b : net.buffers())
    for (std::size_t i = 0; i < b.size; ++i)
      if (!std::isfinite(static_cast<double>(b.value[i]))) return b.name;
  return {};
}

template <class Net>
void check_weights_finite(Net& net, const EpochTally& t, std::uint64_t epoch1, std::size_t step, const char* when) {
  const std::string bad = first_non_finite_tensor(net);
  if (bad.empty()) return;
  throw DivergedError("training diverged: tensor " + bad + " holds a non-finite value " + when + " (epoch " +
                          std::to_string(epoch1) + ", step " + std::to_string(step) + "); " + last_finite_text(t),
                      epoch1, step, std::numeric_limits<double>::quiet_NaN(), t.last_finite_loss);
}

// The first parameter whose gradient holds a NaN or infinity, or null. A branch-free OR over
// the exponent bits, which vectorises: about as costly as reading the gradients once, a small
// part of what the optimizer step itself reads and writes.
template <class T>
const ParamRef<T>* first_non_finite_grad(const Parameters<T>& params) {
  using Bits = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
  constexpr Bits exponent = static_cast<Bits>(sizeof(T) == 4 ? 0x7f800000ull : 0x7ff0000000000000ull);
  for (const auto& p : params) {
    Bits any = 0;
    for (std::size_t i = 0; i < p.size; ++i) any |= Bits((std::bit_cast<Bits>(p.grad[i]) & exponent) == exponent);
    if (any) return &p;
  }
  return nullptr;
}

// The running statistics (BatchNorm) that a forward pass in train mode changes: kept before each
// step with OnNonFinite::skip (a few numbers per channel), so a skipped batch leaves no trace.
template <class Net>
void save_buffers(Net& net, std::vector<typename Net::scalar>& out) {
  out.clear();
  for (const auto& b : net.buffers()) out.insert(out.end(), b.value, b.value + b.size);
}
template <class Net>
void restore_buffers(Net& net, const std::vector<typename Net::scalar>& saved) {
  std::size_t at = 0;
  for (const auto& b : net.buffers()) {
    std::copy(saved.begin() + static_cast<std::ptrdiff_t>(at), saved.begin() + static_cast<std::ptrdiff_t>(at + b.size),
              b.value);
    at += b.size;
  }
}

}  // namespace detail

// One training epoch (train mode; one optimizer step per batch) that can start part-way: the
// first `t.batches` batches of the epoch are passed over (they were trained before an
// interruption; the loader's order depends only on its seed and the epoch), and the figures
// add to `t`. Returns false if hooks.after_batch stopped it, true at the end of the epoch.
//
// Every step's loss (one scalar) and gradients (one branch-free pass, a fraction of what the
// optimizer step reads) are checked: a NaN or infinity throws DivergedError naming the epoch,
// the step and the last finite loss, before the optimizer step, so the weights stay as they were
// (OnNonFinite::skip leaves the batch out instead). When the epoch ends or stops, the weights
// and running statistics are checked once more: what a trainer then saves is finite.
// Each batch ticks thread_governor() (core/thread_governor.hpp): fewer threads run while other
// processes hold cores, which changes the speed and never the result.
template <class Net, class Optimizer, class Loader>
bool train_epoch_resumable(Net& net, Optimizer& optimizer, Loader& loader, std::uint64_t epoch, EpochTally& t,
                           const TrainOptions& options = {}, const TrainHooks& hooks = {}) {
  CrossEntropyLoss<typename Net::out_shape, typename Net::scalar> loss(options.loss);
  const auto start = std::chrono::steady_clock::now();
  const double seconds_before = t.seconds;
  const std::size_t skip = t.batches;
  const std::uint64_t epoch1 = epoch + 1;
  std::size_t b = 0;
  bool finished = true;
  const bool skipping = options.on_non_finite == OnNonFinite::skip;
  std::vector<typename Net::scalar> buffers;
  const auto params = net.parameters();  // once per epoch: the per-step gradient check allocates nothing
  net.train();
  for (auto& batch : loader.epoch(epoch)) {
    if (b++ < skip) continue;
    thread_governor().tick();
    if (skipping) detail::save_buffers(net, buffers);
    loss(net.forward(batch.images), batch.labels);
    const double value = loss.value();
    std::string bad;  // what is not finite, if anything
    const bool collective = static_cast<bool>(hooks.agree);
    if (!std::isfinite(value)) bad = "the loss is " + detail::loss_text(value);
    if (bad.empty() || collective) {
      if (hooks.before_backward) hooks.before_backward(batch.size(), detail::global_batch_size(batch));
      net.backward(loss.grad());
      if (hooks.after_backward) hooks.after_backward();
      if (bad.empty())
        if (const auto* p = options.check_gradients ? detail::first_non_finite_grad(params) : nullptr)
          bad = "the gradient of " + p->name + " is not finite (the loss, " + detail::loss_text(value) + ", is)";
    }
    if (collective && hooks.agree(!bad.empty()) && bad.empty())
      bad = "the loss or a gradient of another process is not finite";
    if (!bad.empty()) {
      const std::string where = "epoch " + std::to_string(epoch1) + ", step " + std::to_string(b) + " of " +
                                std::to_string(loader.size());
      if (!skipping)
        throw DivergedError("training diverged at " + where + ": " + bad + "; " + detail::last_finite_text(t) +
                                ". The weights are those before this step",
                            epoch1, b, value, t.last_finite_loss);
      optimizer.zero_grad();
      detail::restore_buffers(net, buffers);
      detail::check_weights_finite(net, t, epoch1, b, "after a non-finite loss or gradient");
      if (++t.skipped_in_a_row > options.max_skips_in_a_row)
        throw DivergedError("training diverged at " + where + ": " + bad + ", " + std::to_string(t.skipped_in_a_row) +
                                " non-finite batches in a row (--on-nan skip allows " +
                                std::to_string(options.max_skips_in_a_row) + "); " + detail::last_finite_text(t),
                            epoch1, b, value, t.last_finite_loss);
      ++t.skipped;
      ++t.batches;
      const std::string note = "warning: " + where + ": " + bad + "; batch left out (" + std::to_string(t.skipped) +
                               " this epoch)";
      if (hooks.warn) hooks.warn(note);
      else std::fprintf(stderr, "%s\n", note.c_str());
    } else {
      if (hooks.before_step) hooks.before_step();
      optimizer.step();
      optimizer.zero_grad();
      if (hooks.after_step) hooks.after_step();
      t.add(value, loss.correct(), batch.size());
      ++t.batches;
      t.last_finite_loss = value;
      t.last_finite_epoch = epoch1;
      t.last_finite_step = b;
      t.skipped_in_a_row = 0;
    }
    t.seconds = seconds_before + std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (hooks.after_batch && !hooks.after_batch(t)) {
      finished = false;
      break;
    }
  }
  detail::check_weights_finite(net, t, epoch1, t.batches, finished ? "at the end of the epoch" : "where training stopped");
  return finished;
}

// One whole epoch. Mean loss and accuracy are over the batches as trained (like the running
// figures a PyTorch loop prints), weighted by batch size. A non-finite loss throws DivergedError
// (see train_epoch_resumable).
template <class Net, class Optimizer, class Loader>
PassResult train_epoch(Net& net, Optimizer& optimizer, Loader& loader, std::uint64_t epoch, const TrainOptions& options,
                       const BatchCallback& on_batch = {}) {
  EpochTally t;
  TrainHooks hooks;
  if (on_batch)
    hooks.after_batch = [&](const EpochTally& now) {
      on_batch(now.batches, loader.size(), now.result());
      return true;
    };
  train_epoch_resumable(net, optimizer, loader, epoch, t, options, hooks);
  return t.result();
}

template <class Net, class Optimizer, class Loader>
PassResult train_epoch(Net& net, Optimizer& optimizer, Loader& loader, std::uint64_t epoch,
                       const CrossEntropyOptions& loss_options = {}, const BatchCallback& on_batch = {}) {
  return train_epoch(net, optimizer, loader, epoch, TrainOptions{.loss = loss_options}, on_batch);
}

// Mean loss and accuracy of logits(images) over one pass of the loader, in eval mode
// (BatchNorm uses running statistics, Dropout is off) and without gradients (NoGrad: the
// inference plan). Leaves the network in eval mode. evaluate() and evaluate_tta() differ only in `logits`.
// after_batch(batch) runs after each batch's loss (evaluate_tta_and_plain scores a second set of
// logits there).
template <class Net, class Loader, class Logits, class AfterBatch>
PassResult evaluate_logits_each(Net& net, Loader& loader, Logits&& logits, AfterBatch&& after_batch,
                                std::uint64_t epoch = 0) {
  CrossEntropyLoss<typename Net::out_shape, typename Net::scalar> loss;
  EpochTally t;
  const auto start = std::chrono::steady_clock::now();
  net.eval();
  NoGrad no_grad(net);
  for (auto& batch : loader.epoch(epoch)) {
    thread_governor().tick();
    loss(logits(batch.images), batch.labels);
    t.add(loss.value(), loss.correct(), batch.size());
    after_batch(batch);
  }
  t.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return t.result();
}

template <class Net, class Loader, class Logits>
PassResult evaluate_logits(Net& net, Loader& loader, Logits&& logits, std::uint64_t epoch = 0) {
  return evaluate_logits_each(net, loader, std::forward<Logits>(logits), [](const auto&) {}, epoch);
}

template <class Net, class Loader>
PassResult evaluate(Net& net, Loader& loader, std::uint64_t epoch = 0) {
  return evaluate_logits(net, loader, [&](const auto& images) { return net.forward(images); }, epoch);
}

}  // namespace ctnn::train
