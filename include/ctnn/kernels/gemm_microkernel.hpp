#pragma once
// The AVX-512 FP32 GEMM micro-kernel: C[R, cols] (=, or +=) Ap[R, kc] * Bp[kc, NR] for one A panel
// and one B panel packed by gemm_pack.hpp, R <= MR = 6 rows, NR = 64 columns (4 zmm).
//
//   accumulators  R x 4 zmm (24 for a full tile), held in registers for the whole kc loop
//   per k         4 loads of the B panel's row k (64 floats), R broadcasts of A's column k,
//                 4R FMAs
//   C update      rows of C at C + r*ldc, columns masked to `cols` (<= NR); `add` adds the
//                 accumulators to C, otherwise they overwrite it
//
// R is a template parameter so that a tile at the bottom edge of C does only its own rows' work;
// columns past `cols` are zero in the packed B panel and are never stored.
#if defined(__AVX512F__)
#include <immintrin.h>

#include <cstddef>

#include "ctnn/kernels/lane_mask.hpp"

namespace ctnn::kernels::packed {

inline constexpr std::ptrdiff_t kMR = 6;
inline constexpr std::ptrdiff_t kNR = 64;

// Lane masks of the 4 vectors of a row holding `cols` valid columns.
inline __mmask16 column_mask(std::ptrdiff_t cols, int v) { return first_lanes(cols - 16 * v); }

// The accumulators of an R x 64 tile into C (rows at C + r*ldc, columns masked to `cols`): added to C
// when `add`, else overwriting it. Shared with the bf16 micro-kernel (gemm_bf16.hpp).
template <int R>
inline void store_tile(const __m512 (&acc)[R][4], float* C, std::ptrdiff_t ldc, std::ptrdiff_t cols, bool add) {
  const __mmask16 m[4] = {column_mask(cols, 0), column_mask(cols, 1), column_mask(cols, 2), column_mask(cols, 3)};
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    float* c = C + r * ldc;
#pragma GCC unroll 4
    for (int v = 0; v < 4; ++v) {
      __m512 x = acc[r][v];
      if (add) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(m[v], c + 16 * v));
      _mm512_mask_storeu_ps(c + 16 * v, m[v], x);
    }
  }
}

template <int R>
void microkernel(std::ptrdiff_t kc, const float* __restrict Ap, const float* __restrict Bp, float* C,
                 std::ptrdiff_t ldc, std::ptrdiff_t cols, bool add) {
  __m512 acc[R][4];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < 4; ++v) acc[r][v] = _mm512_setzero_ps();
#pragma GCC unroll 4
  for (std::ptrdiff_t k = 0; k < kc; ++k) {
    const float* b = Bp + k * kNR;
    const __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
    const __m512 b2 = _mm512_load_ps(b + 32), b3 = _mm512_load_ps(b + 48);
    const float* a = Ap + k * kMR;
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m512 ar = _mm512_set1_ps(a[r]);
      acc[r][0] = _mm512_fmadd_ps(ar, b0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(ar, b1, acc[r][1]);
      acc[r][2] = _mm512_fmadd_ps(ar, b2, acc[r][2]);
      acc[r][3] = _mm512_fmadd_ps(ar, b3, acc[r][3]);
    }
  }
  store_tile<R>(acc, C, ldc, cols, add);
}

// f.template operator()<R>() with R = rows (1..MR), a compile-time row count (the bf16 kernel uses it too).
template <class F>
inline void with_rows(std::ptrdiff_t rows, F&& f) {
  switch (rows) {
    case 6: f.template operator()<6>(); break;
    case 5: f.template operator()<5>(); break;
    case 4: f.template operator()<4>(); break;
    case 3: f.template operator()<3>(); break;
    case 2: f.template operator()<2>(); break;
    default: f.template operator()<1>(); break;
  }
}

// The micro-kernel for a tile of `rows` (1..MR) rows.
inline void microkernel_rows(std::ptrdiff_t rows, std::ptrdiff_t kc, const float* Ap, const float* Bp, float* C,
                             std::ptrdiff_t ldc, std::ptrdiff_t cols, bool add) {
  with_rows(rows, [&]<int R>() { microkernel<R>(kc, Ap, Bp, C, ldc, cols, add); });
}

}  // namespace ctnn::kernels::packed
#endif  // __AVX512F__
