#pragma once
// SGD: torch.optim.SGD (momentum, dampening, Nesterov, L2 weight decay added to the gradient),
// with one parameter group or several (each with its own lr and weight decay).
#include <stdexcept>
#include <vector>

#include "ctnn/kernels/eigen.hpp"
#include "ctnn/optim/optimizer.hpp"

namespace ctnn {

struct SGDOptions {
  double lr = 0.01;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;
};

// One tensor's torch.optim.SGD step with momentum buffer `buf` (options' momentum, dampening and
// Nesterov; lr and weight decay are the tensor's group's). `first`: the optimizer's first step.
// Also the update of Muon's SGD groups (optim/muon.hpp).
template <class T>
void sgd_update(ParamRef<T>& p, T* buf, double group_lr, double group_weight_decay, const SGDOptions& o, bool first) {
  const T lr = static_cast<T>(group_lr), wd = static_cast<T>(group_weight_decay);
  const T mu = static_cast<T>(o.momentum), damp = static_cast<T>(1 - o.dampening);
  parallel_chunks(p.size, [&](std::size_t b, std::size_t e) {
    const auto n = static_cast<Eigen::Index>(e - b);
    kernels::ArrMap<T> w(p.value + b, n), m(buf + b, n);
    kernels::ConstArrMap<T> g0(p.grad + b, n);
    if (mu == T(0)) {
      w -= lr * (g0 + wd * w);
      return;
    }
    // PyTorch starts the momentum buffer at the first gradient (no dampening on step 1).
    if (first) m = g0 + wd * w;
    else m = mu * m + damp * (g0 + wd * w);
    if (o.nesterov) w -= lr * ((g0 + wd * w) + mu * m);
    else w -= lr * m;
  });
}

template <class T>
class SGD : public OptimizerBase<T> {
  using Base = OptimizerBase<T>;

 public:
  SGD(Parameters<T> params, SGDOptions options)
      : Base(std::move(params), 1, options.lr, options.weight_decay), options_(options) {
    validate();
  }
  // Groups without their own lr / weight_decay take options.lr / options.weight_decay; the
  // momentum settings are shared.
  SGD(std::vector<ParamGroup<T>> groups, SGDOptions options)
      : Base(std::move(groups), 1, options.lr, options.weight_decay, "SGD"), options_(options) {
    validate();
  }

  void step() {
    const bool first = this->steps_ == 0;
    for (const auto& group : this->groups_)
      for (std::size_t i = group.begin; i < group.end; ++i)
        sgd_update(this->params_[i], this->slot(0, i), group.lr, group.weight_decay, options_, first);
    ++this->steps_;
  }

  // The construction-time defaults and the shared momentum settings. A group's current lr and
  // weight decay are in param_groups() (a schedule changes those, not these).
  const SGDOptions& options() const { return options_; }

 private:
  void validate() const {
    if (options_.lr < 0) throw std::invalid_argument("SGD: lr must be >= 0");
    if (options_.momentum < 0) throw std::invalid_argument("SGD: momentum must be >= 0");
    if (options_.weight_decay < 0) throw std::invalid_argument("SGD: weight_decay must be >= 0");
    if (options_.nesterov && (options_.momentum <= 0 || options_.dampening != 0))
      throw std::invalid_argument("SGD: Nesterov momentum requires a momentum and zero dampening");
  }

  SGDOptions options_;
};

template <class T>
SGD(Parameters<T>, SGDOptions) -> SGD<T>;
template <class T>
SGD(std::vector<ParamGroup<T>>, SGDOptions) -> SGD<T>;

}  // namespace ctnn
