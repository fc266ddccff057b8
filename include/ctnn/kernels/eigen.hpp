#pragma once
// Eigen maps over raw buffers, for the fused elementwise work and reductions around the GEMMs
// (the GEMMs themselves run through GemmPlan, kernels/gemm.hpp).
#include <Eigen/Core>

namespace ctnn::kernels {

template <class T>
using RowMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using ConstMatMap = Eigen::Map<const RowMatrix<T>>;
template <class T>
using MutMatMap = Eigen::Map<RowMatrix<T>>;
template <class T>
using ArrMap = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
template <class T>
using ConstArrMap = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;

}  // namespace ctnn::kernels
