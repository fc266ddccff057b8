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

namespace ctnn::kernels::packed {

using Index = std::ptrdiff_t;

// One MR-row panel of op(A): rows i0 .. i0+rows (rows <= MR), depth k0 .. k0+kc.
template <Index MR, bool TransA>
void pack_a_panel(const float* A, Index lda, Index i0, Index rows, Index k0, Index kc, float* dst) {
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
