#pragma once
// Smooth and leaky activations. GELU is PyTorch's exact form (approximate='none'),
// 0.5 x (1 + erf(x / sqrt 2)), computed with xsimd's vectorised erf: std::erf in a scalar loop
// costs as much as a small convolution on the activations that follow a BatchNorm.
#include <cmath>
#include <cstddef>

#include <xsimd/xsimd.hpp>

namespace ctnn::kernels {

namespace detail {
// f(v) for v = x[i] in SIMD batches, the tail one element at a time through the scalar
// overload, so both paths share one formula.
template <class T, class F>
void simd_map(const T* x, T* y, std::size_t size, F&& f) {
  using B = xsimd::batch<T>;
  constexpr std::size_t W = B::size;
  const std::size_t vec_end = size / W * W;
#pragma omp parallel for schedule(static) if (size > (1u << 16))
  for (std::size_t i = 0; i < vec_end; i += W) f(B::load_unaligned(x + i)).store_unaligned(y + i);
  for (std::size_t i = vec_end; i < size; ++i) y[i] = f(x[i]);
}
template <class T, class F>
void simd_map2(const T* x, const T* dy, T* dx, std::size_t size, F&& f) {
  using B = xsimd::batch<T>;
  constexpr std::size_t W = B::size;
  const std::size_t vec_end = size / W * W;
#pragma omp parallel for schedule(static) if (size > (1u << 16))
  for (std::size_t i = 0; i < vec_end; i += W)
    f(B::load_unaligned(x + i), B::load_unaligned(dy + i)).store_unaligned(dx + i);
  for (std::size_t i = vec_end; i < size; ++i) dx[i] = f(x[i], dy[i]);
}
}  // namespace detail

// y = x * Phi(x), Phi the standard normal CDF
template <class T>
void gelu_forward(const T* x, T* y, std::size_t size) {
  detail::simd_map(x, y, size, [](auto v) {
    using xsimd::erf;
    using std::erf;
    return T(0.5) * v * (T(1) + erf(v * T(0.70710678118654752440)));
  });
}

// dx = dy * (Phi(x) + x * phi(x)), phi the standard normal density
template <class T>
void gelu_backward(const T* x, const T* dy, T* dx, std::size_t size) {
  detail::simd_map2(x, dy, dx, size, [](auto v, auto g) {
    using xsimd::erf;
    using xsimd::exp;
    using std::erf;
    using std::exp;
    const auto cdf = T(0.5) * (T(1) + erf(v * T(0.70710678118654752440)));
    const auto pdf = exp(T(-0.5) * v * v) * T(0.39894228040143267794);
    return g * (cdf + v * pdf);
  });
}

// y = x if x > 0 else slope * x (torch.nn.LeakyReLU; the gradient at 0 is slope, as in PyTorch)
template <class T>
void leaky_relu_forward(const T* x, T* y, std::size_t size, T slope) {
  for (std::size_t i = 0; i < size; ++i) y[i] = x[i] > T(0) ? x[i] : slope * x[i];
}
template <class T>
void leaky_relu_backward(const T* x, const T* dy, T* dx, std::size_t size, T slope) {
  for (std::size_t i = 0; i < size; ++i) dx[i] = x[i] > T(0) ? dy[i] : slope * dy[i];
}

// y = s * x
template <class T>
void scale(const T* x, T* y, std::size_t size, T s) {
  for (std::size_t i = 0; i < size; ++i) y[i] = s * x[i];
}

}  // namespace ctnn::kernels
