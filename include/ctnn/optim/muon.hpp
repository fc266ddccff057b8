#pragma once
// Muon: MomentUm Orthogonalized by Newton-Schulz (Keller Jordan et al., 2024,
// https://kellerjordan.github.io/posts/muon/), for the conv filters and hidden matrices of a
// network, with the network's other tensors (biases, norms, the head) on torch.optim.SGD in the
// same optimizer, as one set of parameter groups: one state arena, one step count, so that a
// checkpoint (io/checkpoint.hpp) and a schedule (optim/schedule.hpp) see it as any optimizer.
//
// A Muon tensor W of shape [rows, ...] is updated as a [rows, prod(rest)] matrix:
//
//   momentum_style ema (the Muon repository's muon_update):  m <- mu m + (1 - mu) g
//                                                     Nesterov:  u = (1 - mu) g + mu m, else u = m
//   momentum_style sgd (airbench94_muon's Muon):              m <- mu m + g
//                                                     Nesterov:  u = g + mu m,           else u = m
//   renormalize_weights (airbench94_muon): W <- W sqrt(rows) / ||W||_F
//   O = newton_schulz(u)                   (kernels/newton_schulz.hpp: ns_steps quintic steps)
//   W <- (1 - lr weight_decay) W - lr scale O                       (decoupled weight decay)
//
// with scale = sqrt(max(1, rows / cols)) for MuonScale::shape (the Muon repository) or 1 for
// MuonScale::none (airbench94_muon). rows / cols are those of the [rows, prod(rest)] matrix;
// the repository's muon_update reads them from the last two dimensions of the tensor itself,
// which for a conv filter [Cout, Cin, K, K] is K / K = 1: the same for every filter that is
// wider than tall (Cout <= Cin K K, every conv of airbench94 and ResNet-9), different otherwise.
//
// The defaults are the Muon repository's (lr 0.02, momentum 0.95, Nesterov, 5 steps, no weight
// decay, shape scale); airbench94_muon_options() are airbench94_muon's. The reference runs
// Newton-Schulz in bfloat16 on the GPU; ctnn runs it in fp32.
//
//   auto groups = ctnn::muon_groups(net.parameters(), {.lr = 0.02, .aux_lr = 0.05});
//   ctnn::Muon opt{groups, {.aux = {.momentum = 0.9, .nesterov = true}}};
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "ctnn/core/threads.hpp"
#include "ctnn/kernels/eigen.hpp"
#include "ctnn/kernels/newton_schulz.hpp"
#include "ctnn/optim/optimizer.hpp"
#include "ctnn/optim/sgd.hpp"

namespace ctnn {

enum class MuonMomentum {
  ema,  // m <- mu m + (1 - mu) g  (Muon repository: momentum.lerp_(grad, 1 - beta))
  sgd,  // m <- mu m + g           (airbench94_muon: buf.mul_(momentum).add_(g))
};
enum class MuonScale {
  shape,  // sqrt(max(1, rows / cols))  (Muon repository)
  none,   // 1                          (airbench94_muon)
};

struct MuonOptions {
  double lr = 0.02;
  double momentum = 0.95;
  bool nesterov = true;
  double weight_decay = 0.0;  // decoupled: W <- (1 - lr weight_decay) W
  int ns_steps = 5;
  double ns_eps = 1e-7;
  kernels::NewtonSchulzCoefficients ns_coefficients{};
  MuonMomentum momentum_style = MuonMomentum::ema;
  MuonScale scale = MuonScale::shape;
  bool renormalize_weights = false;  // W <- W sqrt(rows) / ||W||_F before each step
  // The groups with use_muon = false: torch.optim.SGD with these settings (L2 weight decay added
  // to the gradient, as torch's); a group's own lr / weight_decay replace aux.lr / weight_decay.
  SGDOptions aux{};
};

// airbench94_muon (Keller Jordan, cifar10-airbench, 2024): Muon at lr 0.24, SGD-style momentum
// 0.6 with Nesterov, 3 Newton-Schulz steps, the filters renormalised to norm sqrt(Cout) every
// step, no scale and no weight decay on the filters; the other tensors on Nesterov SGD with
// momentum 0.85, their lr and weight decay per group (airbench94_muon_groups; aux.lr is only
// what a group without its own lr would take).
inline MuonOptions airbench94_muon_options() {
  return MuonOptions{.lr = 0.24,
                     .momentum = 0.6,
                     .nesterov = true,
                     .weight_decay = 0.0,
                     .ns_steps = 3,
                     .ns_eps = 1e-7,
                     .ns_coefficients = {},
                     .momentum_style = MuonMomentum::sgd,
                     .scale = MuonScale::none,
                     .renormalize_weights = true,
                     .aux = SGDOptions{.lr = 0.01, .momentum = 0.85, .nesterov = true}};
}

// A parameter group of Muon (torch: a dict with "use_muon", as in the Muon repository's
// MuonWithAuxAdam). An unset lr / weight_decay takes MuonOptions' (use_muon) or MuonOptions::aux's.
template <class T>
struct MuonParamGroup {
  Parameters<T> params;
  bool use_muon = true;
  std::optional<double> lr{};
  std::optional<double> weight_decay{};
  std::string name{};
};

template <class T>
class Muon : public OptimizerBase<T> {
  using Base = OptimizerBase<T>;

 public:
  // Every tensor on Muon (each must have 2 or more dimensions).
  Muon(Parameters<T> params, MuonOptions options = {})
      : Base(std::move(params), 1, options.lr, options.weight_decay), options_(options) {
    muon_group_.assign(1, true);
    setup();
  }
  Muon(std::vector<MuonParamGroup<T>> groups, MuonOptions options = {})
      : Base(to_param_groups(groups, options), 1, options.lr, options.weight_decay, "Muon"), options_(options) {
    for (const auto& g : groups) muon_group_.push_back(g.use_muon);
    setup();
  }

  void step() {
    const int threads = num_threads();
    if (scratch_.size() < static_cast<std::size_t>(threads)) grow_scratch();
    if (threads != planned_threads_) plan(threads);
    const bool first = this->steps_ == 0;
    for (std::size_t gi = 0; gi < this->groups_.size(); ++gi) {
      if (muon_group_[gi]) continue;
      const auto& group = this->groups_[gi];
      for (std::size_t i = group.begin; i < group.end; ++i)
        sgd_update(this->params_[i], this->slot(0, i), group.lr, group.weight_decay, options_.aux, first);
    }
    // Lane k's tensors run on thread k (static schedule, one lane each), so that each thread
    // meets the same shapes every step: its GEMM plan and scratch stop growing after the first.
#pragma omp parallel for schedule(static, 1) if (threads > 1 && tasks_.size() > 1)
    for (int k = 0; k < threads; ++k)
      for (std::size_t t : lanes_[static_cast<std::size_t>(k)]) muon_step(tasks_[t], scratch_[thread_id()]);
    ++this->steps_;
  }

  const MuonOptions& options() const { return options_; }
  // Whether param_groups()[g] is a Muon group (else SGD with options().aux).
  bool is_muon_group(std::size_t g) const { return muon_group_.at(g); }

 private:
  struct Task {
    std::size_t param, group, rows, cols;
  };
  struct Scratch {
    AlignedBuffer<T> update;  // u, then O, [rows, cols]
    kernels::NewtonSchulzWorkspace<T> ns;
  };

  static std::vector<ParamGroup<T>> to_param_groups(const std::vector<MuonParamGroup<T>>& groups,
                                                    const MuonOptions& o) {
    std::vector<ParamGroup<T>> out;
    for (const auto& g : groups)
      out.push_back({g.params, g.lr.value_or(g.use_muon ? o.lr : o.aux.lr),
                     g.weight_decay.value_or(g.use_muon ? o.weight_decay : o.aux.weight_decay), g.name});
    return out;
  }

  void setup() {
    validate();
    for (std::size_t gi = 0; gi < this->groups_.size(); ++gi) {
      if (!muon_group_[gi]) continue;
      const auto& group = this->groups_[gi];
      for (std::size_t i = group.begin; i < group.end; ++i) {
        const auto& p = this->params_[i];
        if (p.dims.size() < 2 || p.dims[0] == 0 || p.size == 0)
          throw std::invalid_argument("Muon: parameter group " + std::to_string(gi) +
                                      (group.name.empty() ? "" : " (\"" + group.name + "\")") + ": tensor \"" +
                                      p.name + "\" has " + std::to_string(p.dims.size()) +
                                      " dimension(s); Muon updates matrices and conv filters (2 or more "
                                      "dimensions), put it in a group with use_muon = false");
        tasks_.push_back({i, gi, p.dims[0], p.size / p.dims[0]});
      }
    }
    grow_scratch();
  }

  // Newton-Schulz FLOP of one step on the tensor: 4 n^2 m + 2 n^3 (n = min, m = max).
  static double cost(const Task& t) {
    const double n = static_cast<double>(std::min(t.rows, t.cols)), m = static_cast<double>(std::max(t.rows, t.cols));
    return 4 * n * n * m + 2 * n * n * n;
  }

  // Spreads the Muon tensors over `threads` lanes: the costliest first, each to the lane with
  // the least work so far (ties to the lowest lane). Fixed for a thread count.
  void plan(int threads) {
    planned_threads_ = threads;
    lanes_.assign(static_cast<std::size_t>(threads), {});
    std::vector<double> load(lanes_.size(), 0.0);
    std::vector<std::size_t> order(tasks_.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return cost(tasks_[a]) > cost(tasks_[b]); });
    for (std::size_t t : order) {
      const auto k = static_cast<std::size_t>(std::min_element(load.begin(), load.end()) - load.begin());
      lanes_[k].push_back(t);
      load[k] += cost(tasks_[t]);
    }
  }

  // One scratch per thread that may run a step, each sized for the largest Muon tensor.
  void grow_scratch() {
    scratch_.resize(static_cast<std::size_t>(std::max(thread_width(), num_threads())));
    for (auto& s : scratch_)
      for (const auto& t : tasks_) {
        if (s.update.size() < t.rows * t.cols) s.update.resize(t.rows * t.cols);
        s.ns.reserve(t.rows, t.cols);
      }
  }

  void validate() const {
    const auto& o = options_;
    if (!(o.lr >= 0)) throw std::invalid_argument("Muon: lr must be >= 0");
    if (!(o.weight_decay >= 0)) throw std::invalid_argument("Muon: weight_decay must be >= 0");
    if (!(o.momentum >= 0)) throw std::invalid_argument("Muon: momentum must be >= 0");
    if (o.momentum_style == MuonMomentum::ema && !(o.momentum < 1))
      throw std::invalid_argument("Muon: momentum must be < 1 with MuonMomentum::ema");
    if (o.nesterov && o.momentum <= 0) throw std::invalid_argument("Muon: Nesterov momentum requires a momentum");
    if (o.ns_steps < 0) throw std::invalid_argument("Muon: ns_steps must be >= 0");
    if (!(o.ns_eps >= 0)) throw std::invalid_argument("Muon: ns_eps must be >= 0");
    if (!(o.aux.lr >= 0)) throw std::invalid_argument("Muon: aux.lr must be >= 0");
    if (!(o.aux.momentum >= 0)) throw std::invalid_argument("Muon: aux.momentum must be >= 0");
    if (!(o.aux.weight_decay >= 0)) throw std::invalid_argument("Muon: aux.weight_decay must be >= 0");
    if (o.aux.nesterov && (o.aux.momentum <= 0 || o.aux.dampening != 0))
      throw std::invalid_argument("Muon: aux Nesterov momentum requires a momentum and zero dampening");
  }

  void muon_step(const Task& t, Scratch& s) {
    const auto& o = options_;
    const auto& group = this->groups_[t.group];
    auto& p = this->params_[t.param];
    const auto n = static_cast<Eigen::Index>(p.size);
    kernels::ArrMap<T> w(p.value, n), m(this->slot(0, t.param), n), u(s.update.data(), n);
    kernels::ConstArrMap<T> g(p.grad, n);
    const T mu = static_cast<T>(o.momentum);
    const T gain = o.momentum_style == MuonMomentum::ema ? static_cast<T>(1 - o.momentum) : T(1);
    m = mu * m + gain * g;
    if (o.nesterov) u = gain * g + mu * m;
    else u = m;
    if (o.renormalize_weights) {
      const double norm = std::sqrt(w.template cast<double>().square().sum());
      if (norm > 0) w *= static_cast<T>(std::sqrt(static_cast<double>(t.rows)) / norm);
    }
    if (group.lr == 0) return;  // nothing moves; the momentum (and renormalisation) still happened
    kernels::newton_schulz(s.update.data(), t.rows, t.cols, s.update.data(), o.ns_steps, o.ns_coefficients, o.ns_eps,
                           s.ns);
    const double scale =
        o.scale == MuonScale::shape ? std::sqrt(std::max(1.0, static_cast<double>(t.rows) / static_cast<double>(t.cols)))
                                    : 1.0;
    if (group.weight_decay != 0) w *= static_cast<T>(1 - group.lr * group.weight_decay);
    w -= static_cast<T>(group.lr * scale) * u;
  }

  MuonOptions options_;
  std::vector<bool> muon_group_;
  std::vector<Task> tasks_;
  std::vector<std::vector<std::size_t>> lanes_;  // per thread, indices into tasks_
  int planned_threads_ = 0;
  std::vector<Scratch> scratch_;
};

template <class T>
Muon(Parameters<T>, MuonOptions) -> Muon<T>;
template <class T>
Muon(Parameters<T>) -> Muon<T>;
template <class T>
Muon(std::vector<MuonParamGroup<T>>, MuonOptions) -> Muon<T>;
template <class T>
Muon(std::vector<MuonParamGroup<T>>) -> Muon<T>;

// Splitting a network's tensors between Muon and SGD by their role and shape (ParamKind and
// dims, in the network's parameter order; never by name): the weights with 2 or more dimensions
// (conv filters [Cout, Cin, K, K], linear weights [out, in]) go to Muon, except the first layer's
// and the head's unless asked; everything else (biases, BatchNorm tensors) to SGD.
struct MuonGroupOptions {
  double lr = 0.02;              // the Muon tensors
  double weight_decay = 0.0;     // decoupled, on the Muon tensors
  double aux_lr = 0.01;          // the SGD tensors
  double aux_weight_decay = 0.0; // L2 (torch.optim.SGD's), on the SGD tensors
  // The first layer: the first weight with 2 or more dimensions. The Muon repository keeps the
  // first conv of a ConvNet on the other optimizer; airbench94_muon's first conv is its frozen
  // whitening layer, which is not trained at all (leave it out of `params`), and every trainable
  // filter goes to Muon.
  bool first_layer_on_muon = false;
  // The head: the last weight with 2 dimensions (the classifier's Linear), kept off Muon by both
  // references. head_lr puts it in a group of its own ("head") at that lr and head_weight_decay
  // (else aux_weight_decay); without it the head is with the other SGD tensors.
  bool head_on_muon = false;
  std::optional<double> head_lr{};
  std::optional<double> head_weight_decay{};
};

// Up to three groups, in this order, each left out when empty: "muon" (use_muon), "aux" and
// "head". Within a group the tensors keep the order of `params`.
template <class T>
std::vector<MuonParamGroup<T>> muon_groups(const Parameters<T>& params, const MuonGroupOptions& o) {
  if (!(o.lr >= 0) || !(o.aux_lr >= 0) || !(o.head_lr.value_or(0) >= 0))
    throw std::invalid_argument("muon_groups: lr, aux_lr and head_lr must be >= 0");
  if (!(o.weight_decay >= 0) || !(o.aux_weight_decay >= 0) || !(o.head_weight_decay.value_or(0) >= 0))
    throw std::invalid_argument("muon_groups: weight_decay, aux_weight_decay and head_weight_decay must be >= 0");
  auto is_matrix = [](const ParamRef<T>& p) { return p.kind == ParamKind::weight && p.dims.size() >= 2; };
  std::optional<std::size_t> first, head;
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (!is_matrix(params[i])) continue;
    if (!first) first = i;
    if (params[i].dims.size() == 2) head = i;
  }
  MuonParamGroup<T> muon{{}, true, o.lr, o.weight_decay, "muon"};
  MuonParamGroup<T> aux{{}, false, o.aux_lr, o.aux_weight_decay, "aux"};
  MuonParamGroup<T> head_group{{}, false, o.head_lr, o.head_weight_decay.value_or(o.aux_weight_decay), "head"};
  for (std::size_t i = 0; i < params.size(); ++i) {
    const bool on_muon = is_matrix(params[i]) && (i != first || o.first_layer_on_muon) && (i != head || o.head_on_muon);
    if (on_muon) muon.params.push_back(params[i]);
    else if (i == head && o.head_lr) head_group.params.push_back(params[i]);
    else aux.params.push_back(params[i]);
  }
  std::vector<MuonParamGroup<T>> out;
  for (auto* g : {&muon, &aux, &head_group})
    if (!g->params.empty()) out.push_back(std::move(*g));
  return out;
}

// airbench94_muon's groups for a batch of `batch_size`: every filter on Muon at 0.24, the
// BatchNorm biases at 0.053 and the head at 0.67 on SGD, with its weight decay 2e-6 x batch size
// divided by each SGD group's lr. airbench94_muon sums the loss over the batch; ctnn's loss is the
// mean (torch's default), for which the same SGD steps are lr x batch_size and weight decay /
// batch_size (SGD is linear in the gradient's scale, lr x weight decay is unchanged). Muon needs
// no conversion: Newton-Schulz normalises the update (up to its eps, 1e-7 of the momentum's norm).
// `summed_loss` gives airbench94_muon's own numbers, for gradients of the summed loss.
// Pass the network's tensors without its whitening layer (frozen); the whitening bias, which
// airbench94_muon trains for its first 3 epochs like the BatchNorm biases, goes in a group of its
// own, with the "aux" group's lr and weight decay.
inline MuonGroupOptions airbench94_muon_groups(std::size_t batch_size = 2000, bool summed_loss = false) {
  const double batch = static_cast<double>(batch_size), to_mean = summed_loss ? 1.0 : batch;
  const double wd = 2e-6 * batch, bias_lr = 0.053, head_lr = 0.67;
  return MuonGroupOptions{.lr = 0.24,
                          .weight_decay = 0.0,
                          .aux_lr = bias_lr * to_mean,
                          .aux_weight_decay = wd / bias_lr / to_mean,
                          .first_layer_on_muon = true,
                          .head_on_muon = false,
                          .head_lr = head_lr * to_mean,
                          .head_weight_decay = wd / head_lr / to_mean};
}

}  // namespace ctnn
