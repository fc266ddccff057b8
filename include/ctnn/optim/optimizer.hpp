#pragma once
// What the optimizers share: the parameter list, per-parameter state in one arena, zero_grad,
// and a parallel loop over a tensor's elements for the fused update.
#include <cstddef>
#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include "ctnn/core/aligned_buffer.hpp"
#include "ctnn/core/parameter.hpp"

namespace ctnn {

template <class T>
class OptimizerBase {
 public:
  explicit OptimizerBase(Parameters<T> params, std::size_t state_slots) : params_(std::move(params)) {
    std::size_t total = 0;
    for (const auto& p : params_) {
      offsets_.push_back(total);
      total += (p.size + 15) / 16 * 16;  // keep each tensor's state 64-byte aligned
    }
    state_.resize(total * state_slots);
    slot_stride_ = total;
  }

  void zero_grad() {
    for (auto& p : params_) std::memset(p.grad, 0, sizeof(T) * p.size);
  }
  const Parameters<T>& parameters() const { return params_; }
  long long steps() const { return steps_; }

  // The optimizer's state as one array (momentum buffers, moments), for checkpoints.
  AlignedBuffer<T>& state() { return state_; }
  void set_steps(long long s) { steps_ = s; }

 protected:
  T* slot(std::size_t slot_index, std::size_t param_index) {
    return state_.data() + slot_index * slot_stride_ + offsets_[param_index];
  }

  Parameters<T> params_;
  std::vector<std::size_t> offsets_;
  AlignedBuffer<T> state_;
  std::size_t slot_stride_ = 0;
  long long steps_ = 0;
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
