#pragma once
// NoGrad: `with torch.no_grad():` for a ctnn network. While it lives, net.forward() keeps nothing
// for a backward, and in eval mode runs the inference plan (layers/chain.hpp). The previous
// setting comes back when it goes out of scope, exceptions included.
//     net.eval();
//     ctnn::NoGrad no_grad(net);
//     auto logits = net.forward(x);
namespace ctnn {

template <class Net>
class NoGrad {
 public:
  explicit NoGrad(Net& net) : net_(net), was_enabled_(net.grad_enabled()) { net_.set_grad_enabled(false); }
  ~NoGrad() { net_.set_grad_enabled(was_enabled_); }
  NoGrad(const NoGrad&) = delete;
  NoGrad& operator=(const NoGrad&) = delete;

 private:
  Net& net_;
  bool was_enabled_;
};

}  // namespace ctnn
