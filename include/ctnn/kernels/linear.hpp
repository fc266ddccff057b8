#pragma once
// Fully connected layer: y = x W^T + b, with x flattened per sample.
#include <cstddef>

#include "ctnn/kernels/eigen.hpp"
#include "ctnn/kernels/gemm.hpp"

namespace ctnn::kernels {

// x: [N, In], weight: [Out, In], bias: [Out]  ->  y: [N, Out]
template <class T>
void linear_forward(const T* x, const T* weight, const T* bias, T* y, std::size_t n, std::size_t in,
                    std::size_t out, GemmPlan<T>& plan) {
  const auto N = static_cast<Eigen::Index>(n), I = static_cast<Eigen::Index>(in), O = static_cast<Eigen::Index>(out);
  plan.template run<false, true>(N, O, I, x, I, weight, I, y, O, false);
  MutMatMap<T>(y, N, O).rowwise() += Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>>(bias, O);
}

// dweight += dy^T x; dbias += column sums of dy; dx (if not null) = dy W.
template <class T>
void linear_backward(const T* x, const T* weight, const T* dy, T* dx, T* dweight, T* dbias,
                     std::size_t n, std::size_t in, std::size_t out, GemmPlan<T>& weight_plan, GemmPlan<T>& input_plan) {
  const auto N = static_cast<Eigen::Index>(n), I = static_cast<Eigen::Index>(in), O = static_cast<Eigen::Index>(out);
  weight_plan.template run<true, false>(O, I, N, dy, O, x, I, dweight, I, true);
  Eigen::Map<Eigen::Matrix<T, 1, Eigen::Dynamic>>(dbias, O) += ConstMatMap<T>(dy, N, O).colwise().sum();
  if (dx) input_plan.template run<false, false>(N, I, O, dy, O, weight, I, dx, I, false);
}

}  // namespace ctnn::kernels
