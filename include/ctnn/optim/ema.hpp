#pragma once
// Weight averaging for training recipes: an exponential moving average of the weights
// (torch.optim.swa_utils.AveragedModel with an EMA avg_fn), evaluated by swapping it into the
// network, and airbench's Lookahead (slow weights pulled towards the fast ones every k steps,
// then copied back into the network).
//
//   ctnn::WeightEMA ema{net.parameters(), 0.999, net.buffers()};  // buffers: optional
//   ... opt.step(); ema.update();
//   { auto averaged = ema.use_averaged(); evaluate(net, ...); }   // swapped back here
//
//   ctnn::Lookahead la{net.parameters(), 5, net.buffers()};
//   ... opt.step(); la.step(opt.steps(), ctnn::Lookahead<float>::airbench_decay(opt.steps(), total));
//   la.finish();  // the network ends on the slow weights
//
// Each keeps its copy of the tensors in one aligned arena of its own; neither allocates after
// construction.
#include <cmath>
#include <cstddef>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "ctnn/core/aligned_buffer.hpp"
#include "ctnn/core/parameter.hpp"
#include "ctnn/optim/optimizer.hpp"

namespace ctnn {

namespace detail {

// torch.lerp's two-sided form: start + w (end - start) for w < 0.5, else end - (end - start)(1 - w),
// which is exact at w = 1 (a copy), as the copy-back of Lookahead with decay 0 needs.
template <class T>
inline void lerp_towards(T* start, const T* end, std::size_t n, T w) {
  parallel_chunks(n, [&](std::size_t b, std::size_t e) {
    if (w < T(0.5)) {
      for (std::size_t i = b; i < e; ++i) start[i] += w * (end[i] - start[i]);
    } else {
      const T rest = T(1) - w;
      for (std::size_t i = b; i < e; ++i) start[i] = end[i] - (end[i] - start[i]) * rest;
    }
  });
}

// The network tensors an averager follows (parameters, then buffers) and its copy of them.
template <class T>
class ShadowCopy {
 public:
  ShadowCopy(const Parameters<T>& params, const std::vector<BufferRef<T>>& buffers) {
    std::size_t total = 0;
    auto add = [&](T* value, std::size_t size) {
      refs_.push_back({value, size, total});
      total += (size + 15) / 16 * 16;  // 64-byte aligned per tensor
    };
    for (const auto& p : params) add(p.value, p.size);
    for (const auto& b : buffers) add(b.value, b.size);
    copy_.resize(total);
    load_from_live();
  }

  std::size_t tensors() const { return refs_.size(); }
  T* copy(std::size_t i) { return copy_.data() + refs_[i].offset; }
  const T* copy(std::size_t i) const { return copy_.data() + refs_[i].offset; }
  T* live(std::size_t i) { return refs_[i].value; }
  std::size_t size(std::size_t i) const { return refs_[i].size; }

  void load_from_live() {
    for (std::size_t i = 0; i < refs_.size(); ++i) std::memcpy(copy(i), live(i), sizeof(T) * size(i));
  }
  void store_to_live() {
    for (std::size_t i = 0; i < refs_.size(); ++i) std::memcpy(live(i), copy(i), sizeof(T) * size(i));
  }
  void swap_with_live() {
    for (std::size_t i = 0; i < refs_.size(); ++i) {
      T* a = copy(i);
      T* b = live(i);
      for (std::size_t j = 0; j < size(i); ++j) std::swap(a[j], b[j]);
    }
  }
  // copy = lerp(copy, live, w)
  void lerp_towards_live(T w) {
    for (std::size_t i = 0; i < refs_.size(); ++i) lerp_towards(copy(i), live(i), size(i), w);
  }

 private:
  struct Ref {
    T* value;
    std::size_t size;
    std::size_t offset;
  };
  std::vector<Ref> refs_;
  AlignedBuffer<T> copy_;
};

inline void check_decay(double decay, const char* what) {
  if (!(decay >= 0 && decay <= 1))
    throw std::invalid_argument(std::string(what) + ": decay " + std::to_string(decay) + " is outside [0, 1]");
}

}  // namespace detail

// average = decay x average + (1 - decay) x weights after each update(); the first update
// copies the weights, as AveragedModel does with its first update_parameters. Given the
// network's buffers() it averages the BatchNorm running statistics too (AveragedModel's
// use_buffers=True); without them the averaged weights are evaluated with the live
// statistics.
template <class T>
class WeightEMA {
 public:
  WeightEMA(const Parameters<T>& params, double decay, const std::vector<BufferRef<T>>& buffers = {})
      : decay_(decay), shadow_(params, buffers) {
    detail::check_decay(decay, "WeightEMA");
  }

  void update() { update(decay_); }
  // With this call's own decay (e.g. a warm-up of the decay, or decay^k when updating every k steps).
  void update(double decay) {
    detail::check_decay(decay, "WeightEMA");
    if (swapped_) throw std::logic_error("WeightEMA::update: the averaged weights are swapped into the network");
    if (updates_++ == 0) shadow_.load_from_live();
    else shadow_.lerp_towards_live(static_cast<T>(1 - decay));
  }
  long long updates() const { return updates_; }
  double decay() const { return decay_; }

  // Exchanges the averaged and the live tensors; calling it again swaps back.
  void swap() {
    shadow_.swap_with_live();
    swapped_ = !swapped_;
  }
  bool swapped() const { return swapped_; }

  // The averaged weights in the network until the returned guard goes out of scope.
  class Scope {
   public:
    explicit Scope(WeightEMA& e) : ema_(&e) { ema_->swap(); }
    Scope(Scope&& o) noexcept : ema_(std::exchange(o.ema_, nullptr)) {}
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
    Scope& operator=(Scope&&) = delete;
    ~Scope() {
      if (ema_) ema_->swap();
    }

   private:
    WeightEMA* ema_;
  };
  [[nodiscard]] Scope use_averaged() {
    if (swapped_) throw std::logic_error("WeightEMA::use_averaged: already swapped in");
    return Scope(*this);
  }
  // Keeps the average in the network for good (e.g. before saving the final model).
  void copy_to_network() {
    if (swapped_) swap();
    shadow_.store_to_live();
  }

  // Tensor i's average (parameters in the order given, then buffers); the live values while swapped.
  const T* average(std::size_t i) const { return shadow_.copy(i); }

  // For checkpoints (train/train_checkpoint.hpp): the averages as written and restored, and the
  // update count (the first update copies).
  std::size_t tensors() const { return shadow_.tensors(); }
  std::size_t size(std::size_t i) const { return shadow_.size(i); }
  T* average_data(std::size_t i) { return shadow_.copy(i); }
  void set_updates(long long n) { updates_ = n; }

 private:
  double decay_;
  detail::ShadowCopy<T> shadow_;
  long long updates_ = 0;
  bool swapped_ = false;
};

// airbench's Lookahead: every k optimizer steps, slow = lerp(slow, fast, 1 - decay) and then
// fast = slow, where the fast weights are the network's and the slow ones start as a copy of
// them. Given buffers() it does the same to the BatchNorm running statistics (airbench walks
// the whole floating-point state_dict). The decay may change from call to call.
template <class T>
class Lookahead {
 public:
  Lookahead(const Parameters<T>& params, long long k = 5, const std::vector<BufferRef<T>>& buffers = {})
      : k_(k), slow_(params, buffers) {
    if (k <= 0) throw std::invalid_argument("Lookahead: k must be > 0");
  }

  // slow = lerp(slow, fast, 1 - decay); fast = slow. decay 1 only resets the network to the
  // slow weights, decay 0 only takes the fast ones.
  void sync(double decay) {
    detail::check_decay(decay, "Lookahead");
    slow_.lerp_towards_live(static_cast<T>(1 - decay));
    slow_.store_to_live();
    ++syncs_;
  }
  // Call after each optimizer step with the steps done so far (opt.steps()): syncs when that is
  // a multiple of k, as airbench does. Returns whether it synced.
  bool step(long long steps_done, double decay) {
    if (steps_done <= 0 || steps_done % k_ != 0) return false;
    sync(decay);
    return true;
  }
  // The end of training: the network takes the slow weights (airbench's final update with decay 1).
  void finish() { sync(1.0); }

  // airbench's decay at a step: 0.95^5 x (step / total)^3, small early so the slow weights
  // follow the fast ones closely, stronger averaging towards the end.
  static double airbench_decay(long long step, long long total_steps) {
    if (total_steps <= 0) throw std::invalid_argument("Lookahead::airbench_decay: total_steps must be > 0");
    return std::pow(0.95, 5) * std::pow(static_cast<double>(step) / static_cast<double>(total_steps), 3);
  }

  long long k() const { return k_; }
  long long syncs() const { return syncs_; }
  const T* slow(std::size_t i) const { return slow_.copy(i); }

  // For checkpoints (train/train_checkpoint.hpp): the slow weights as written and restored.
  std::size_t tensors() const { return slow_.tensors(); }
  std::size_t size(std::size_t i) const { return slow_.size(i); }
  T* slow_data(std::size_t i) { return slow_.copy(i); }
  void set_syncs(long long n) { syncs_ = n; }

 private:
  long long k_;
  detail::ShadowCopy<T> slow_;
  long long syncs_ = 0;
};

template <class T>
WeightEMA(const Parameters<T>&, double) -> WeightEMA<T>;
template <class T>
WeightEMA(const Parameters<T>&, double, const std::vector<BufferRef<T>>&) -> WeightEMA<T>;
template <class T>
Lookahead(const Parameters<T>&) -> Lookahead<T>;
template <class T>
Lookahead(const Parameters<T>&, long long) -> Lookahead<T>;
template <class T>
Lookahead(const Parameters<T>&, long long, const std::vector<BufferRef<T>>&) -> Lookahead<T>;

}  // namespace ctnn
