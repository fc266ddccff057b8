#pragma once
// Max and average pooling without padding, PyTorch floor mode.
#include <cstddef>
#include <cstdint>
#include <limits>

namespace ctnn::kernels {

struct PoolGeometry {
  std::size_t planes;  // N * C
  std::size_t k, stride, h, w, ho, wo;
};

// x: [N*C, H, W]  ->  y: [N*C, Ho, Wo]; argmax: index within the input plane of each maximum
// (the first maximum in row-major window order wins, as in PyTorch).
template <class T>
void maxpool_forward(const T* x, T* y, std::int32_t* argmax, const PoolGeometry& g) {
#pragma omp parallel for schedule(static)
  for (std::size_t p = 0; p < g.planes; ++p) {
    const T* xp = x + p * g.h * g.w;
    T* yp = y + p * g.ho * g.wo;
    std::int32_t* ap = argmax + p * g.ho * g.wo;
    for (std::size_t oy = 0; oy < g.ho; ++oy) {
      for (std::size_t ox = 0; ox < g.wo; ++ox) {
        const std::size_t y0 = oy * g.stride, x0 = ox * g.stride;
        T best = -std::numeric_limits<T>::infinity();
        std::size_t best_i = y0 * g.w + x0;
        for (std::size_t ky = 0; ky < g.k; ++ky) {
          const std::size_t row = (y0 + ky) * g.w + x0;
          for (std::size_t kx = 0; kx < g.k; ++kx) {
            const T v = xp[row + kx];
            if (v > best || v != v) {  // NaN propagates, as in PyTorch
              best = v;
              best_i = row + kx;
              if (v != v) goto done;
            }
          }
        }
      done:
        yp[oy * g.wo + ox] = best;
        ap[oy * g.wo + ox] = static_cast<std::int32_t>(best_i);
      }
    }
  }
}

// dy: [N*C, Ho, Wo]  ->  dx: [N*C, H, W], overwritten.
template <class T>
void maxpool_backward(const T* dy, const std::int32_t* argmax, T* dx, const PoolGeometry& g) {
#pragma omp parallel for schedule(static)
  for (std::size_t p = 0; p < g.planes; ++p) {
    T* dxp = dx + p * g.h * g.w;
    for (std::size_t i = 0; i < g.h * g.w; ++i) dxp[i] = T(0);
    const T* dyp = dy + p * g.ho * g.wo;
    const std::int32_t* ap = argmax + p * g.ho * g.wo;
    for (std::size_t o = 0; o < g.ho * g.wo; ++o) dxp[ap[o]] += dyp[o];
  }
}

template <class T>
void avgpool_forward(const T* x, T* y, const PoolGeometry& g) {
  const T inv = T(1) / static_cast<T>(g.k * g.k);
#pragma omp parallel for schedule(static)
  for (std::size_t p = 0; p < g.planes; ++p) {
    const T* xp = x + p * g.h * g.w;
    T* yp = y + p * g.ho * g.wo;
    for (std::size_t oy = 0; oy < g.ho; ++oy)
      for (std::size_t ox = 0; ox < g.wo; ++ox) {
        T s = 0;
        for (std::size_t ky = 0; ky < g.k; ++ky)
          for (std::size_t kx = 0; kx < g.k; ++kx) s += xp[(oy * g.stride + ky) * g.w + ox * g.stride + kx];
        yp[oy * g.wo + ox] = s * inv;
      }
  }
}

template <class T>
void avgpool_backward(const T* dy, T* dx, const PoolGeometry& g) {
  const T inv = T(1) / static_cast<T>(g.k * g.k);
#pragma omp parallel for schedule(static)
  for (std::size_t p = 0; p < g.planes; ++p) {
    T* dxp = dx + p * g.h * g.w;
    for (std::size_t i = 0; i < g.h * g.w; ++i) dxp[i] = T(0);
    const T* dyp = dy + p * g.ho * g.wo;
    for (std::size_t oy = 0; oy < g.ho; ++oy)
      for (std::size_t ox = 0; ox < g.wo; ++ox) {
        const T d = dyp[oy * g.wo + ox] * inv;
        for (std::size_t ky = 0; ky < g.k; ++ky)
          for (std::size_t kx = 0; kx < g.k; ++kx) dxp[(oy * g.stride + ky) * g.w + ox * g.stride + kx] += d;
      }
  }
}

}  // namespace ctnn::kernels
