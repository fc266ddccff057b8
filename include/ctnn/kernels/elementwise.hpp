#pragma once
// Elementwise activations and dropout, as fused Eigen array expressions.
#include <cstddef>

#include "ctnn/core/random.hpp"
#include "ctnn/kernels/eigen.hpp"

namespace ctnn::kernels {

// y = max(x, 0)
template <class T>
void relu_forward(const T* x, T* y, std::size_t size) {
  const auto S = static_cast<Eigen::Index>(size);
  ArrMap<T>(y, S) = ConstArrMap<T>(x, S).max(T(0));
}

// dx = dy where x > 0, else 0 (PyTorch's gradient at exactly 0 is 0).
// A plain loop: g++ vectorises it, where Eigen 3.4's select() stays scalar.
template <class T>
void relu_backward(const T* x, const T* dy, T* dx, std::size_t size) {
  for (std::size_t i = 0; i < size; ++i) dx[i] = x[i] > T(0) ? dy[i] : T(0);
}

// Inverted dropout: keeps each element with probability 1-p and scales it by 1/(1-p).
// mask receives 0 or 1/(1-p) per element so that backward is one multiply.
template <class T>
void dropout_forward(const T* x, T* y, T* mask, std::size_t size, double p, Rng& rng) {
  const T scale = p < 1.0 ? static_cast<T>(1.0 / (1.0 - p)) : T(0);
  for (std::size_t i = 0; i < size; ++i) mask[i] = rng.uniform() >= p ? scale : T(0);
  const auto S = static_cast<Eigen::Index>(size);
  ArrMap<T>(y, S) = ConstArrMap<T>(x, S) * ConstArrMap<T>(mask, S);
}

template <class T>
void dropout_backward(const T* dy, const T* mask, T* dx, std::size_t size) {
  const auto S = static_cast<Eigen::Index>(size);
  ArrMap<T>(dx, S) = ConstArrMap<T>(dy, S) * ConstArrMap<T>(mask, S);
}

// y = a + b (a residual block's output)
template <class T>
void add(const T* a, const T* b, T* y, std::size_t size) {
  const auto S = static_cast<Eigen::Index>(size);
  ArrMap<T>(y, S) = ConstArrMap<T>(a, S) + ConstArrMap<T>(b, S);
}

// y += x
template <class T>
void add_inplace(T* y, const T* x, std::size_t size) {
  const auto S = static_cast<Eigen::Index>(size);
  ArrMap<T>(y, S) += ConstArrMap<T>(x, S);
}

}  // namespace ctnn::kernels
