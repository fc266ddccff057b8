#pragma once
// What the optimizers share: the parameter list (in parameter groups, like PyTorch's
// param_groups), per-parameter state in one arena, zero_grad, and a parallel loop over a
// tensor's elements for the fused update.
#include <cstddef>
#include <algorithm>
#include <cstring>
#include <functional>
#include <numeric>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "ctnn/core/aligned_buffer.hpp"
#include "ctnn/core/parameter.hpp"

namespace ctnn {

// What an optimizer is built from when its tensors do not all share one lr and weight decay
// (torch: a dict in the list passed as `params`). An unset lr or weight decay takes the
// optimizer's options, as torch fills a group's missing keys from the defaults.
template <class T>
struct ParamGroup {
  Parameters<T> params;
  std::optional<double> lr{};
  std::optional<double> weight_decay{};
  std::string name{};  // for messages and logs only
};

// A group as the optimizer holds it. `lr` and `weight_decay` may be changed between steps
// (that is how a schedule acts); `base_lr` is the lr the group was built with (torch's
// "initial_lr"), which schedules scale, so applying a schedule for a step never depends on
// the steps applied before it.
struct GroupSettings {
  std::string name;
  double lr;
  double weight_decay;
  double base_lr;
  std::size_t begin, end;  // the group's tensors are parameters()[begin, end)
};

template <class T>
class OptimizerBase {
 public:
  // One group holding every tensor, with the optimizer's lr and weight decay.
  OptimizerBase(Parameters<T> params, std::size_t state_slots, double lr, double weight_decay)
      : params_(std::move(params)) {
    groups_.push_back(GroupSettings{"", lr, weight_decay, lr, 0, params_.size()});
    allocate(state_slots, false);
  }

  // The groups' tensors in group order. `what` names the optimizer in error messages.
  OptimizerBase(std::vector<ParamGroup<T>> groups, std::size_t state_slots, double lr, double weight_decay,
                const char* what) {
    if (groups.empty()) throw std::invalid_argument(std::string(what) + ": no parameter groups given");
    std::set<const T*> seen;
    for (std::size_t g = 0; g < groups.size(); ++g) {
      auto& group = groups[g];
      const std::string label = std::string(what) + ": parameter group " + std::to_string(g) +
                                (group.name.empty() ? "" : " (\"" + group.name + "\")");
      const double glr = group.lr.value_or(lr), gwd = group.weight_decay.value_or(weight_decay);
      if (!(glr >= 0)) throw std::invalid_argument(label + ": lr must be >= 0");
      if (!(gwd >= 0)) throw std::invalid_argument(label + ": weight_decay must be >= 0");
      const std::size_t begin = params_.size();
      for (auto& p : group.params) {
        // torch refuses this too: the tensor would be updated twice per step.
        if (!seen.insert(p.value).second)
          throw std::invalid_argument(label + ": tensor \"" + p.name + "\" is already in an earlier group");
        params_.push_back(std::move(p));
      }
      groups_.push_back(GroupSettings{std::move(group.name), glr, gwd, glr, begin, params_.size()});
    }
    allocate(state_slots, groups_.size() > 1);
  }

  void zero_grad() {
    for (auto& p : params_) std::memset(p.grad, 0, sizeof(T) * p.size);
  }
  // Every tensor, group after group.
  const Parameters<T>& parameters() const { return params_; }
  long long steps() const { return steps_; }

  std::span<GroupSettings> param_groups() { return groups_; }
  std::span<const GroupSettings> param_groups() const { return groups_; }
  // Sets every group's lr (the usual case for a single group).
  void set_lr(double lr) {
    for (auto& g : groups_) g.lr = lr;
  }
  double lr() const { return groups_.front().lr; }

  // The optimizer's state as one array (momentum buffers, moments), for checkpoints.
  AlignedBuffer<T>& state() { return state_; }
  void set_steps(long long s) { steps_ = s; }

 protected:
  T* slot(std::size_t slot_index, std::size_t param_index) {
    return state_.data() + slot_index * slot_stride_ + offsets_[param_index];
  }

  Parameters<T> params_;
  std::vector<GroupSettings> groups_;
  std::vector<std::size_t> offsets_;
  AlignedBuffer<T> state_;
  std::size_t slot_stride_ = 0;
  long long steps_ = 0;

 private:
  // With several groups the state arena still lists the tensors in address order, which for a
  // network's parameters() is the network's order: regrouping a network's tensors keeps the
  // checkpoint layout of the single-group optimizer, so neither can silently load the other's
  // state into the wrong tensors. A single group keeps exactly the order it was given.
  void allocate(std::size_t state_slots, bool address_order) {
    std::vector<std::size_t> order(params_.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    if (address_order)
      std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return std::less<const T*>{}(params_[a].value, params_[b].value);
      });
    offsets_.assign(params_.size(), 0);
    std::size_t total = 0;
    for (std::size_t i : order) {
      offsets_[i] = total;
      total += (params_[i].size + 15) / 16 * 16;  // keep each tensor's state 64-byte aligned
    }
    state_.resize(total * state_slots);
    slot_stride_ = total;
  }
};

// Runs body(begin, end) over [0, size) in parallel chunks when the tensor is large enough to pay.
template <class F>
inline void parallel_chunks(std::size_t size, F&& body) {
  constexpr std::size_t chunk = 1 << 14;
  if (size < 2 * chunk) {
    body(std::size_t{0}, size);
    return;
  }
  const std::size_t chunks = (size + chunk - 1) / chunk;
#pragma omp parallel for schedule(static)
  for (std::size_t c = 0; c < chunks; ++c) body(c * chunk, std::min(size, (c + 1) * chunk));
}

}  // namespace ctnn
