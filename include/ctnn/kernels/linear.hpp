#pragma once
// Fully connected layer: y = x W^T + b, with x flattened per sample.
#include <cstddef>

#include "ctnn/kernels/eigen.hpp"

namespace ctnn::kernels {

// x: [N, In], weight: [Out, In], bias: [Out]  ->  y: [N, Out]
template <class T>
void linear_forward(const T* x, const T* weight, const T* bias, T* y, std::size_t n, std::size_t in,
                    std::size_t out) {
  const auto N = static_cast<Eigen::Index>(n), I = static_cast<Eigen::Index>(in), O = static_cast<Eigen::Index>(out);
  MutMatMap<T> Y(y, N, O);
  Y.noalias() = ConstMatMap<T>(x, N, I) * ConstMatMap<T>(weight, O, I).transpose();
  Y.rowwise() += Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>>(bias, O);
}

// dweight += dy^T x; dbias += column sums of dy; dx (if not null) = dy W.
template <class T>
void linear_backward(const T* x, const T* weight, const T* dy, T* dx, T* dweight, T* dbias,
                     std::size_t n, std::size_t in, std::size_t out) {
  const auto N = static_cast<Eigen::Index>(n), I = static_cast<Eigen::Index>(in), O = static_cast<Eigen::Index>(out);
  ConstMatMap<T> dY(dy, N, O);
  MutMatMap<T>(dweight, O, I).noalias() += dY.transpose() * ConstMatMap<T>(x, N, I);
  Eigen::Map<Eigen::Matrix<T, 1, Eigen::Dynamic>>(dbias, O) += dY.colwise().sum();
  if (dx) MutMatMap<T>(dx, N, I).noalias() = dY * ConstMatMap<T>(weight, O, I);
}

}  // namespace ctnn::kernels
