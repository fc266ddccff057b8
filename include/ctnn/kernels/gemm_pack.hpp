#pragma once
// Packing for the register-blocked FP32 GEMM (gemm_packed.hpp): op(A) and op(B) blocks copied
// into the contiguous panel layouts the micro-kernel (gemm_microkernel.hpp) streams through.
//
//   A block  op(A)[i0 : i0+mc, k0 : k0+kc]  ->  ceil(mc/MR) panels, each [kc][MR]
//            (for every k the MR values of one column of the panel side by side; rows past mc are 0)
//   B block  op(B)[k0 : k0+kc, j0 : j0+nc]  ->  ceil(nc/NR) panels, each [kc][NR]
//            (for every k the NR values of one row of the panel side by side; columns past nc are 0)
//
// op(A)(i, k) = TransA ? A[k*lda + i] : A[i*lda + k]   (A stored [M, K], or [K, M] when TransA)
// op(B)(k, j) = TransB ? B[j*ldb + k] : B[k*ldb + j]   (B stored [K, N], or [N, K] when TransB)
#include <algorithm>
#include <cstddef>
#if defined(__AVX512F__)
#include <immintrin.h>

#include "ctnn/kernels/lane_mask.hpp"
#endif

namespace ctnn::kernels::packed {

using Index = std::ptrdiff_t;

#if defined(__AVX512F__)
// In-register transpose of 16 rows of 16 floats: r[i][j] -> r[j][i].
// (GCC 12 warns, wrongly, that the shuffles' internal _mm512_undefined_ps is used uninitialised
// once this is inlined into a caller whose rows are partly zero vectors.)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
inline void transpose16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; ++i) {  // 128-bit lanes: rows i, i+4, i+8, i+12 hold quarter-columns
    t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], _MM_SHUFFLE(2, 0, 2, 0));
    t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], _MM_SHUFFLE(3, 1, 3, 1));
    t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], _MM_SHUFFLE(2, 0, 2, 0));
    t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], _MM_SHUFFLE(3, 1, 3, 1));
  }
  for (int i = 0; i < 4; ++i) {
    r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], _MM_SHUFFLE(2, 0, 2, 0));
    r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], _MM_SHUFFLE(3, 1, 3, 1));
    r[i + 4] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], _MM_SHUFFLE(2, 0, 2, 0));
    r[i + 12] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], _MM_SHUFFLE(3, 1, 3, 1));
  }
}
#pragma GCC diagnostic pop

// The transposing B pack in 16 x 16 tiles: stored rows j (columns of op(B)) are read 16 floats at a
// time (masked at the depth's end), rows past `cols` are zeros; dst has stride NR.
template <Index NR>
void pack_bt_panel_avx512(const float* B, Index ldb, Index j0, Index cols, Index k0, Index kc, float* dst) {
  for (Index kb = 0; kb < kc; kb += 16) {
    const Index kn = std::min<Index>(16, kc - kb);
    const __mmask16 kmask = first_lanes(kn);
    for (Index jb = 0; jb < NR; jb += 16) {
      __m512 r[16];
      for (Index j = 0; j < 16; ++j)
        r[j] = jb + j < cols ? _mm512_maskz_loadu_ps(kmask, B + (j0 + jb + j) * ldb + k0 + kb) : _mm512_setzero_ps();
      transpose16(r);
      for (Index k = 0; k < kn; ++k) _mm512_store_ps(dst + (kb + k) * NR + jb, r[k]);
    }
  }
}
#endif

// One MR-row panel of op(A): rows i0 .. i0+rows (rows <= MR), depth k0 .. k0+kc.
// With AVX-512 (MR <= 16) it is vectorised: TransA, a masked load and store of MR values per depth;
// otherwise 16 depths of each row loaded at once and transposed (16 x 16, rows past the panel's zero).
template <Index MR, bool TransA>
void pack_a_panel(const float* A, Index lda, Index i0, Index rows, Index k0, Index kc, float* dst) {
#if defined(__AVX512F__)
  if constexpr (MR <= 16) {
    const __mmask16 out = first_lanes(MR);
    if constexpr (TransA) {
      const __mmask16 m = first_lanes(rows);
      for (Index k = 0; k < kc; ++k)
        _mm512_mask_storeu_ps(dst + k * MR, out, _mm512_maskz_loadu_ps(m, A + (k0 + k) * lda + i0));
    } else {
      for (Index kb = 0; kb < kc; kb += 16) {
        const Index kn = std::min<Index>(16, kc - kb);
        __m512 r[16];
        for (Index i = 0; i < 16; ++i)
          r[i] = i < rows ? _mm512_maskz_loadu_ps(first_lanes(kn), A + (i0 + i) * lda + k0 + kb) : _mm512_setzero_ps();
        transpose16(r);  // r[k] = depth kb + k of rows 0 .. 15
        for (Index k = 0; k < kn; ++k) _mm512_mask_storeu_ps(dst + (kb + k) * MR, out, r[k]);
      }
    }
    return;
  }
#endif
  for (Index k = 0; k < kc; ++k) {
    float* d = dst + k * MR;
    if constexpr (TransA) {
      const float* src = A + (k0 + k) * lda + i0;
      for (Index r = 0; r < rows; ++r) d[r] = src[r];
    } else {
      for (Index r = 0; r < rows; ++r) d[r] = A[(i0 + r) * lda + k0 + k];
    }
    for (Index r = rows; r < MR; ++r) d[r] = 0.0f;
  }
}

template <Index MR, bool TransA>
void pack_a(const float* A, Index lda, Index i0, Index mc, Index k0, Index kc, float* dst) {
  for (Index ir = 0; ir < mc; ir += MR)
    pack_a_panel<MR, TransA>(A, lda, i0 + ir, std::min(MR, mc - ir), k0, kc, dst + ir * kc);
}

// One NR-column panel of op(B): columns j0 .. j0+cols (cols <= NR), depth k0 .. k0+kc.
template <Index NR, bool TransB>
void pack_b_panel(const float* B, Index ldb, Index j0, Index cols, Index k0, Index kc, float* dst) {
  if constexpr (TransB) {
#if defined(__AVX512F__)
    if constexpr (NR % 16 == 0) {
      pack_bt_panel_avx512<NR>(B, ldb, j0, cols, k0, kc, dst);
      return;
    }
#endif
    // Rows of stored B are columns of op(B): read each contiguously, write with stride NR.
    for (Index j = 0; j < cols; ++j) {
      const float* src = B + (j0 + j) * ldb + k0;
      for (Index k = 0; k < kc; ++k) dst[k * NR + j] = src[k];
    }
    if (cols < NR)
      for (Index k = 0; k < kc; ++k) std::fill(dst + k * NR + cols, dst + (k + 1) * NR, 0.0f);
  } else {
    for (Index k = 0; k < kc; ++k) {
      const float* src = B + (k0 + k) * ldb + j0;
      float* d = dst + k * NR;
      std::copy(src, src + cols, d);
      if (cols < NR) std::fill(d + cols, d + NR, 0.0f);
    }
  }
}

template <Index NR, bool TransB>
void pack_b(const float* B, Index ldb, Index j0, Index nc, Index k0, Index kc, float* dst) {
  for (Index jr = 0; jr < nc; jr += NR)
    pack_b_panel<NR, TransB>(B, ldb, j0 + jr, std::min(NR, nc - jr), k0, kc, dst + jr * kc);
}

}  // namespace ctnn::kernels::packed
