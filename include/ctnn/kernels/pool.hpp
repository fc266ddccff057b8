#pragma once
// Max and average pooling without padding, PyTorch floor mode.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#if defined(__AVX512F__)
#include <immintrin.h>

#include "ctnn/kernels/lane_mask.hpp"
#endif

namespace ctnn::kernels {

struct PoolGeometry {
  std::size_t planes;  // N * C
  std::size_t k, stride, h, w, ho, wo;
};

// x: [N*C, H, W]  ->  y: [N*C, Ho, Wo]; argmax: index within the input plane of each maximum
// (the first maximum in row-major window order wins, as in PyTorch).
// The 2x2, stride-2 window of the classic CNN: four candidates in fixed order, branch-free
// (explicitly vectorised for float with AVX-512: the compiler did not vectorise the stride-2
// loop, and a 15x15 -> 7x7 pool took 4-5x longer than reading its input).
#if defined(__AVX512F__)
// One output row of the 2x2 window in float, 16 outputs at a time: the even and odd columns of
// the two input rows are split out of 32 loaded values (masked at the row's end) and compared in
// the same order and with the same rule as the scalar loop below (v > max ordered, or v NaN).
// r0, r1: input rows 2*oy and 2*oy+1; base: index of r0[0] in the plane; w: plane width.
inline void maxpool2x2_row_avx512(const float* r0, const float* r1, std::int32_t base, std::int32_t w,
                                  std::size_t wo, float* y, std::int32_t* argmax) {
  const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
  for (std::size_t ox = 0; ox < wo; ox += 16) {
    const auto n = static_cast<std::ptrdiff_t>(std::min<std::size_t>(16, wo - ox));
    const __mmask16 m0 = first_lanes(2 * n), m1 = first_lanes(2 * n - 16);
    const __m512 p0 = _mm512_maskz_loadu_ps(m0, r0 + 2 * ox), p1 = _mm512_maskz_loadu_ps(m1, r0 + 2 * ox + 16);
    const __m512 q0 = _mm512_maskz_loadu_ps(m0, r1 + 2 * ox), q1 = _mm512_maskz_loadu_ps(m1, r1 + 2 * ox + 16);
    const __m512 a = _mm512_permutex2var_ps(p0, even, p1), b = _mm512_permutex2var_ps(p0, odd, p1);
    const __m512 c = _mm512_permutex2var_ps(q0, even, q1), d = _mm512_permutex2var_ps(q0, odd, q1);
    const __m512i col = _mm512_add_epi32(_mm512_set1_epi32(base + 2 * static_cast<std::int32_t>(ox)), even);
    __m512 m = a;
    __m512i i = col;
    const auto take = [&](__m512 v, __m512i at) {
      const __mmask16 t = _mm512_cmp_ps_mask(v, m, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
      m = _mm512_mask_mov_ps(m, t, v);
      i = _mm512_mask_mov_epi32(i, t, at);
    };
    take(b, _mm512_add_epi32(col, _mm512_set1_epi32(1)));
    take(c, _mm512_add_epi32(col, _mm512_set1_epi32(w)));
    take(d, _mm512_add_epi32(col, _mm512_set1_epi32(w + 1)));
    _mm512_mask_storeu_ps(y + ox, first_lanes(n), m);
    _mm512_mask_storeu_epi32(argmax + ox, first_lanes(n), i);
  }
}
#endif

template <class T>
void maxpool2x2_forward(const T* x, T* y, std::int32_t* argmax, const PoolGeometry& g) {
#pragma omp parallel for schedule(static)
  for (std::size_t p = 0; p < g.planes; ++p) {
    const T* xp = x + p * g.h * g.w;
    T* yp = y + p * g.ho * g.wo;
    std::int32_t* ap = argmax + p * g.ho * g.wo;
    for (std::size_t oy = 0; oy < g.ho; ++oy) {
      const T* r0 = xp + 2 * oy * g.w;
      const T* r1 = r0 + g.w;
      const auto base = static_cast<std::int32_t>(2 * oy * g.w);
      const auto w = static_cast<std::int32_t>(g.w);
#if defined(__AVX512F__)
      if constexpr (std::is_same_v<T, float>) {
        maxpool2x2_row_avx512(r0, r1, base, w, g.wo, yp + oy * g.wo, ap + oy * g.wo);
        continue;
      }
#endif
      for (std::size_t ox = 0; ox < g.wo; ++ox) {
        const T a = r0[2 * ox], b = r0[2 * ox + 1], c = r1[2 * ox], d = r1[2 * ox + 1];
        const auto col = base + static_cast<std::int32_t>(2 * ox);
        // PyTorch's rule, candidate by candidate: take v if v > max or v is NaN.
        T m = a;
        std::int32_t i = col;
        const bool tb = b > m || b != b;
        m = tb ? b : m;
        i = tb ? col + 1 : i;
        const bool tc = c > m || c != c;
        m = tc ? c : m;
        i = tc ? col + w : i;
        const bool td = d > m || d != d;
        m = td ? d : m;
        i = td ? col + w + 1 : i;
        yp[oy * g.wo + ox] = m;
        ap[oy * g.wo + ox] = i;
      }
    }
  }
}

// Inference (no argmax kept): x: [h, w] one plane  ->  y: [h/2, w/2], the 2x2, stride-2 maximum with
// the NaN rule above, then max(0, .) with Relu (which commutes with the maximum, so a ReLU before
// the pool gives the same values). The two rows' maximum first, a contiguous loop the compiler
// vectorises, then the maximum of each pair of columns.
template <bool Relu, class T>
void maxpool2x2_plane(const T* x, std::size_t h, std::size_t w, T* y) {
  const auto take = [](T m, T v) { return v > m || v != v ? v : m; };
  const std::size_t ho = h / 2, wo = w / 2;
  alignas(64) T rows[1024];
  for (std::size_t oy = 0; oy < ho; ++oy) {
    const T* r0 = x + 2 * oy * w;
    const T* r1 = r0 + w;
    for (std::size_t c0 = 0; c0 < 2 * wo; c0 += 1024) {
      const std::size_t len = std::min<std::size_t>(1024, 2 * wo - c0);
      for (std::size_t i = 0; i < len; ++i) rows[i] = take(r0[c0 + i], r1[c0 + i]);
      T* out = y + oy * wo + c0 / 2;
      for (std::size_t i = 0; i < len / 2; ++i) {
        const T m = take(rows[2 * i], rows[2 * i + 1]);
        out[i] = Relu ? take(T(0), m) : m;
      }
    }
  }
}

template <class T>
void maxpool_forward(const T* x, T* y, std::int32_t* argmax, const PoolGeometry& g) {
  if (g.k == 2 && g.stride == 2) return maxpool2x2_forward(x, y, argmax, g);
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
  if (g.stride >= g.k) {
    // Windows do not overlap: each input receives at most one gradient, so zero the plane and
    // store (not accumulate) the gradients at the winners.
#pragma omp parallel for schedule(static)
    for (std::size_t p = 0; p < g.planes; ++p) {
      T* dxp = dx + p * g.h * g.w;
      std::memset(static_cast<void*>(dxp), 0, sizeof(T) * g.h * g.w);
      const T* dyp = dy + p * g.ho * g.wo;
      const std::int32_t* ap = argmax + p * g.ho * g.wo;
      for (std::size_t o = 0; o < g.ho * g.wo; ++o) dxp[ap[o]] = dyp[o];
    }
    return;
  }
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

// x: [P, plane]  ->  y: [P] (P = N * C), the mean of each plane
template <class T>
void global_avgpool_forward(const T* x, T* y, std::size_t planes, std::size_t plane) {
  const T inv = T(1) / static_cast<T>(plane);
#pragma omp parallel for schedule(static) if (planes * plane > (1u << 16))
  for (std::size_t p = 0; p < planes; ++p) {
    T s = 0;
    for (std::size_t i = 0; i < plane; ++i) s += x[p * plane + i];
    y[p] = s * inv;
  }
}
template <class T>
void global_avgpool_backward(const T* dy, T* dx, std::size_t planes, std::size_t plane) {
  const T inv = T(1) / static_cast<T>(plane);
#pragma omp parallel for schedule(static) if (planes * plane > (1u << 16))
  for (std::size_t p = 0; p < planes; ++p)
    for (std::size_t i = 0; i < plane; ++i) dx[p * plane + i] = dy[p] * inv;
}

// x: [P, plane]  ->  y: [P], argmax: index of the (first) maximum; NaN wins, as in PyTorch
template <class T>
void global_maxpool_forward(const T* x, T* y, std::int32_t* argmax, std::size_t planes, std::size_t plane) {
#pragma omp parallel for schedule(static) if (planes * plane > (1u << 16))
  for (std::size_t p = 0; p < planes; ++p) {
    const T* xp = x + p * plane;
    T m = xp[0];
    std::int32_t a = 0;
    for (std::size_t i = 1; i < plane; ++i)
      if (m == m && (xp[i] > m || xp[i] != xp[i])) {
        m = xp[i];
        a = static_cast<std::int32_t>(i);
      }
    y[p] = m;
    argmax[p] = a;
  }
}
template <class T>
void global_maxpool_backward(const T* dy, const std::int32_t* argmax, T* dx, std::size_t planes, std::size_t plane) {
#pragma omp parallel for schedule(static) if (planes * plane > (1u << 16))
  for (std::size_t p = 0; p < planes; ++p) {
    std::fill(dx + p * plane, dx + (p + 1) * plane, T(0));
    dx[p * plane + static_cast<std::size_t>(argmax[p])] = dy[p];
  }
}

}  // namespace ctnn::kernels
