#pragma once
// Adam and AdamW: torch.optim.Adam (L2 weight decay added to the gradient) and torch.optim.AdamW
// (decoupled weight decay, default 1e-2), with PyTorch's bias corrections and eps placement;
// one parameter group or several (each with its own lr and weight decay).
#include <cmath>
#include <stdexcept>
#include <vector>

#include "ctnn/kernels/eigen.hpp"
#include "ctnn/optim/optimizer.hpp"

namespace ctnn {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
};

struct AdamWOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-2;
};

namespace detail {
template <class T>
class AdamCore : public OptimizerBase<T> {
  using Base = OptimizerBase<T>;

 protected:
  AdamCore(Parameters<T> params, double lr, double b1, double b2, double eps, double wd)
      : Base(std::move(params), 2, lr, wd) {
    validate(lr, b1, b2, eps, wd);
  }
  AdamCore(std::vector<ParamGroup<T>> groups, double lr, double b1, double b2, double eps, double wd,
           const char* what)
      : Base(std::move(groups), 2, lr, wd, what) {
    validate(lr, b1, b2, eps, wd);
  }

  void update(double b1, double b2, double eps, bool decoupled) {
    ++this->steps_;
    const double t = static_cast<double>(this->steps_);
    const T inv_sqrt_bc2 = static_cast<T>(1 / std::sqrt(1 - std::pow(b2, t)));
    const T tb1 = static_cast<T>(b1), tb2 = static_cast<T>(b2), teps = static_cast<T>(eps);
    for (const auto& group : this->groups_) {
      const double lr = group.lr, wd = group.weight_decay;
      const T step_size = static_cast<T>(lr / (1 - std::pow(b1, t)));
      const T l2 = decoupled ? T(0) : static_cast<T>(wd);
      const T shrink = decoupled ? static_cast<T>(1 - lr * wd) : T(1);
      for (std::size_t i = group.begin; i < group.end; ++i) {
        auto& p = this->params_[i];
        T* m1 = this->slot(0, i);
        T* m2 = this->slot(1, i);
        parallel_chunks(p.size, [&](std::size_t b, std::size_t e) {
          const auto n = static_cast<Eigen::Index>(e - b);
          kernels::ArrMap<T> w(p.value + b, n), m(m1 + b, n), v(m2 + b, n);
          kernels::ConstArrMap<T> g0(p.grad + b, n);
          if (decoupled) w *= shrink;
          m = tb1 * m + (1 - tb1) * (g0 + l2 * w);
          v = tb2 * v + (1 - tb2) * (g0 + l2 * w).square();
          w -= step_size * m / (v.sqrt() * inv_sqrt_bc2 + teps);
        });
      }
    }
  }

 private:
  static void validate(double lr, double b1, double b2, double eps, double wd) {
    if (lr < 0) throw std::invalid_argument("Adam: lr must be >= 0");
    if (!(b1 >= 0 && b1 < 1)) throw std::invalid_argument("Adam: beta1 must be in [0, 1)");
    if (!(b2 >= 0 && b2 < 1)) throw std::invalid_argument("Adam: beta2 must be in [0, 1)");
    if (eps < 0) throw std::invalid_argument("Adam: eps must be >= 0");
    if (wd < 0) throw std::invalid_argument("Adam: weight_decay must be >= 0");
  }
};
}  // namespace detail

// options() are the construction-time defaults and the shared betas / eps; a group's current
// lr and weight decay are in param_groups().
template <class T>
class Adam : public detail::AdamCore<T> {
 public:
  Adam(Parameters<T> params, AdamOptions options = {})
      : detail::AdamCore<T>(std::move(params), options.lr, options.beta1, options.beta2, options.eps,
                            options.weight_decay),
        options_(options) {}
  Adam(std::vector<ParamGroup<T>> groups, AdamOptions options = {})
      : detail::AdamCore<T>(std::move(groups), options.lr, options.beta1, options.beta2, options.eps,
                            options.weight_decay, "Adam"),
        options_(options) {}
  void step() { this->update(options_.beta1, options_.beta2, options_.eps, false); }
  const AdamOptions& options() const { return options_; }

 private:
  AdamOptions options_;
};

template <class T>
class AdamW : public detail::AdamCore<T> {
 public:
  AdamW(Parameters<T> params, AdamWOptions options = {})
      : detail::AdamCore<T>(std::move(params), options.lr, options.beta1, options.beta2, options.eps,
                            options.weight_decay),
        options_(options) {}
  AdamW(std::vector<ParamGroup<T>> groups, AdamWOptions options = {})
      : detail::AdamCore<T>(std::move(groups), options.lr, options.beta1, options.beta2, options.eps,
                            options.weight_decay, "AdamW"),
        options_(options) {}
  void step() { this->update(options_.beta1, options_.beta2, options_.eps, true); }
  const AdamWOptions& options() const { return options_; }

 private:
  AdamWOptions options_;
};

template <class T>
Adam(Parameters<T>, AdamOptions) -> Adam<T>;
template <class T>
Adam(Parameters<T>) -> Adam<T>;
template <class T>
Adam(std::vector<ParamGroup<T>>, AdamOptions) -> Adam<T>;
template <class T>
Adam(std::vector<ParamGroup<T>>) -> Adam<T>;
template <class T>
AdamW(Parameters<T>, AdamWOptions) -> AdamW<T>;
template <class T>
AdamW(Parameters<T>) -> AdamW<T>;
template <class T>
AdamW(std::vector<ParamGroup<T>>, AdamWOptions) -> AdamW<T>;
template <class T>
AdamW(std::vector<ParamGroup<T>>) -> AdamW<T>;

}  // namespace ctnn
