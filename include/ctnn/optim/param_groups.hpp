#pragma once
// Splitting a network's tensors into parameter groups by kind, for recipes that exempt
// normalisation and bias tensors from weight decay or give BatchNorm biases their own lr:
//
//   auto groups = ctnn::decay_groups(net.parameters(), {.lr = 0.2, .weight_decay = 5e-4});
//   ctnn::SGD opt{groups, {.lr = 0.2, .momentum = 0.9, .nesterov = true}};
//
//   // airbench: BN biases train at 64 x lr with weight decay / 64, so lr x wd (the shrink
//   // per step) is the same for every tensor.
//   auto groups = ctnn::decay_groups(net.parameters(), {.lr = lr, .weight_decay = wd,
//       .decay_norm_biases = true, .norm_bias_lr_scale = 64});
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "ctnn/core/parameter.hpp"
#include "ctnn/optim/optimizer.hpp"

namespace ctnn {

struct DecayGroupOptions {
  double lr = 0.01;
  double weight_decay = 0.0;  // for the tensors that decay; the others get 0
  // Which kinds decay besides ParamKind::weight (which always does). The defaults are the
  // common "no decay on biases and norms" recipe.
  bool decay_biases = false;
  bool decay_norm_weights = false;
  bool decay_norm_biases = false;
  // != 1 puts the norm biases in their own group with lr x scale and, when they decay,
  // weight_decay / scale: SGD shrinks a tensor by lr x wd per step, which this keeps equal.
  double norm_bias_lr_scale = 1.0;
};

// Up to three groups, in this order, each left out when it would be empty:
//   "decay"     the tensors that decay, at lr and weight_decay;
//   "no_decay"  the rest, at lr and weight decay 0;
//   "norm_bias" the norm biases, when norm_bias_lr_scale != 1.
// Within a group the tensors keep the order of `params`.
template <class T>
std::vector<ParamGroup<T>> decay_groups(const Parameters<T>& params, const DecayGroupOptions& o) {
  if (!(o.lr >= 0)) throw std::invalid_argument("decay_groups: lr must be >= 0");
  if (!(o.weight_decay >= 0)) throw std::invalid_argument("decay_groups: weight_decay must be >= 0");
  if (!(o.norm_bias_lr_scale > 0))
    throw std::invalid_argument("decay_groups: norm_bias_lr_scale must be > 0");
  const bool own_norm_bias = o.norm_bias_lr_scale != 1.0;
  ParamGroup<T> decay{{}, o.lr, o.weight_decay, "decay"};
  ParamGroup<T> no_decay{{}, o.lr, 0.0, "no_decay"};
  ParamGroup<T> norm_bias{{}, o.lr * o.norm_bias_lr_scale,
                          o.decay_norm_biases ? o.weight_decay / o.norm_bias_lr_scale : 0.0, "norm_bias"};
  for (const auto& p : params) {
    bool decays = false;
    switch (p.kind) {
      case ParamKind::weight: decays = true; break;
      case ParamKind::bias: decays = o.decay_biases; break;
      case ParamKind::norm_weight: decays = o.decay_norm_weights; break;
      case ParamKind::norm_bias:
        if (own_norm_bias) {
          norm_bias.params.push_back(p);
          continue;
        }
        decays = o.decay_norm_biases;
        break;
      case ParamKind::running_mean:
      case ParamKind::running_var: break;  // buffers' roles, never a parameter's
    }
    (decays ? decay : no_decay).params.push_back(p);
  }
  std::vector<ParamGroup<T>> out;
  for (auto* g : {&decay, &no_decay, &norm_bias})
    if (!g->params.empty()) out.push_back(std::move(*g));
  return out;
}

}  // namespace ctnn
