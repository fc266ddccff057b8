#pragma once
// bf16 GEMM: C[M, N] (=, or +=) op(A)[M, K] * op(B)[K, N] with A and B given in fp32, rounded to
// bfloat16 (round to nearest even) while they are packed, products accumulated in fp32, C fp32.
// Same row-major interface and semantics as GemmPlan::run (kernels/gemm.hpp).
//
// Rounding (bf16_bits, and its vector twin round_bits_avx512): the fp32 bit pattern plus 0x7FFF plus
// the lowest kept bit, then the top 16 bits; NaNs stay (quiet) NaNs; denormals are rounded like any
// other value (not flushed). The portable path (GemmPlan without AVX512_BF16) rounds with the same
// function, so both paths multiply exactly the same bf16 values.
//
// Native kernel (AVX512_BF16): BLIS-style like gemm_packed.hpp, with the depth taken in pairs, as
// `vdpbf16ps` (_mm512_dpbf16_ps) multiplies two bf16 pairs per fp32 lane:
//   A block -> panels [ceil(kc/2)][MR] of 32-bit words, word = bf16(a[i][2p]) | bf16(a[i][2p+1]) << 16
//   B block -> panels [ceil(kc/2)][NR] of 32-bit words, word = bf16(b[2p][j]) | bf16(b[2p+1][j]) << 16
//   (an odd depth's last pair has a zero partner; rows past mc, columns past nc are zero)
// micro-kernel MR x NR = 6 x 64: 24 zmm accumulators, per depth pair 4 loads of B (64 columns x 2),
// 6 broadcasts of A's pairs, 24 dpbf16 (twice the FLOPs of the fp32 kernel's 24 FMAs per k).
// Blocking: NC = 512, KC = 512 (256 pairs: the B block is 512 KiB as in the fp32 kernel), MC = 288.
#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "ctnn/core/aligned_buffer.hpp"
#include "ctnn/core/precision.hpp"

#if defined(__AVX512F__)
#include <immintrin.h>

#include "ctnn/kernels/gemm_microkernel.hpp"
#include "ctnn/kernels/gemm_pack.hpp"
#include "ctnn/kernels/gemm_packed.hpp"
#endif

namespace ctnn::kernels {

// The bf16 (round to nearest even) of f, as its 16 bits.
inline std::uint16_t bf16_bits(float f) {
  std::uint32_t u = std::bit_cast<std::uint32_t>(f);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<std::uint16_t>((u | 0x00400000u) >> 16);  // NaN
  u += 0x7FFFu + ((u >> 16) & 1u);
  return static_cast<std::uint16_t>(u >> 16);
}

// f rounded to bf16 and widened back to fp32 (exact).
inline float bf16_round(float f) { return std::bit_cast<float>(static_cast<std::uint32_t>(bf16_bits(f)) << 16); }

}  // namespace ctnn::kernels

#if defined(__AVX512BF16__) && defined(__AVX512BW__) && defined(__AVX512F__)
namespace ctnn::kernels::packed_bf16 {

using packed::Index;
using packed::kMR;
using packed::kNR;
inline constexpr Index kKC = 512;  // even
inline constexpr Index kMC = 288;  // a multiple of MR
inline constexpr Index kNC = 512;  // a multiple of NR

// 16 floats rounded to bf16: each lane's bf16 in its high 16 bits (the low 16 bits are garbage).
inline __m512i round_bits_avx512(__m512 x) {
  const __m512i u = _mm512_castps_si512(x);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  const __m512i r = _mm512_add_epi32(u, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7FFF)));
  const __mmask16 nan =
      _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7FFFFFFF)), _mm512_set1_epi32(0x7F800000));
  return _mm512_mask_mov_epi32(r, nan, _mm512_or_si512(u, _mm512_set1_epi32(0x00400000)));
}

// Pair words from two rows of 16 values: lane j = bf16(lo[j]) | bf16(hi[j]) << 16.
inline __m512i pair_rows(__m512 lo, __m512 hi) {
  return _mm512_or_si512(_mm512_and_si512(round_bits_avx512(hi), _mm512_set1_epi32(static_cast<int>(0xFFFF0000u))),
                         _mm512_srli_epi32(round_bits_avx512(lo), 16));
}

// Pair words from 32 consecutive values x0 (0..15), x1 (16..31): lane i = bf16(x[2i]) | bf16(x[2i+1]) << 16.
inline __m512i pair_consecutive(__m512 x0, __m512 x1) {
  alignas(64) static constexpr std::int16_t odd_words[32] = {1,  3,  5,  7,  9,  11, 13, 15, 17, 19, 21,
                                                              23, 25, 27, 29, 31, 33, 35, 37, 39, 41, 43,
                                                              45, 47, 49, 51, 53, 55, 57, 59, 61, 63};
  return _mm512_permutex2var_epi16(round_bits_avx512(x0), _mm512_load_si512(odd_words), round_bits_avx512(x1));
}

// One MR-row panel of op(A): rows i0 .. i0+rows, depth k0 .. k0+kc -> [ceil(kc/2)][MR] words.
// Vectorised both ways, since the weight is packed again for every GEMM of a pass and a scalar pack
// cost as much as the multiply itself at these shapes (bench_layers gemmplan/bf16, docs/gemm.md):
//   TransA: rows k and k+1 of stored A hold the panel's MR values side by side: one masked load
//           each, paired lane by lane, one masked store of MR words.
//   else:   row i of stored A holds 32 consecutive depths = 16 pair words of the panel's row r,
//           transposed (16 x 16 words, rows past the panel's zero) into 16 groups of MR words.
template <bool TransA>
void pack_a_panel(const float* A, Index lda, Index i0, Index rows, Index k0, Index kc, std::uint32_t* dst) {
  const Index pairs = (kc + 1) / 2;
  if constexpr (TransA) {
    const __mmask16 m = first_lanes(rows), out = first_lanes(kMR);
    for (Index p = 0; p < pairs; ++p) {
      const float* lo = A + (k0 + 2 * p) * lda + i0;
      const __m512 x0 = _mm512_maskz_loadu_ps(m, lo);
      const __m512 x1 = 2 * p + 1 < kc ? _mm512_maskz_loadu_ps(m, lo + lda) : _mm512_setzero_ps();
      _mm512_mask_storeu_epi32(dst + p * kMR, out, pair_rows(x0, x1));
    }
  } else {
    const __mmask16 out = first_lanes(kMR);
    for (Index pb = 0; pb < pairs; pb += 16) {
      const Index kn = std::min<Index>(32, kc - 2 * pb), pn = (kn + 1) / 2;
      __m512 w[16];
      for (Index r = 0; r < 16; ++r) {
        const float* src = A + (i0 + r) * lda + k0 + 2 * pb;
        w[r] = r < rows ? _mm512_castsi512_ps(pair_consecutive(_mm512_maskz_loadu_ps(first_lanes(kn), src),
                                                               _mm512_maskz_loadu_ps(first_lanes(kn - 16), src + 16)))
                        : _mm512_setzero_ps();
      }
      packed::transpose16(w);  // w[q] = pair pb + q of rows 0 .. MR-1
      for (Index q = 0; q < pn; ++q) _mm512_mask_storeu_epi32(dst + (pb + q) * kMR, out, _mm512_castps_si512(w[q]));
    }
  }
}

template <bool TransA>
void pack_a(const float* A, Index lda, Index i0, Index mc, Index k0, Index kc, std::uint32_t* dst) {
  const Index pairs = (kc + 1) / 2;
  for (Index ir = 0; ir < mc; ir += kMR)
    pack_a_panel<TransA>(A, lda, i0 + ir, std::min(kMR, mc - ir), k0, kc, dst + ir * pairs);
}

// One NR-column panel of op(B): columns j0 .. j0+cols, depth k0 .. k0+kc -> [ceil(kc/2)][NR] words.
template <bool TransB>
void pack_b_panel(const float* B, Index ldb, Index j0, Index cols, Index k0, Index kc, std::uint32_t* dst) {
  if constexpr (!TransB) {
    // Rows k and k+1 of op(B) are rows of stored B: combined lane by lane.
    const Index pairs = (kc + 1) / 2;
    for (Index p = 0; p < pairs; ++p) {
      const float* lo = B + (k0 + 2 * p) * ldb + j0;
      const bool has_hi = 2 * p + 1 < kc;
      for (Index jb = 0; jb < kNR; jb += 16) {
        const __mmask16 m = first_lanes(cols - jb);
        const __m512 x0 = _mm512_maskz_loadu_ps(m, lo + jb);
        const __m512 x1 = has_hi ? _mm512_maskz_loadu_ps(m, lo + ldb + jb) : _mm512_setzero_ps();
        _mm512_store_si512(dst + p * kNR + jb, pair_rows(x0, x1));
      }
    }
  } else {
    // Column j of op(B) is row j of stored B: 32 consecutive depths give 16 pair words, and a
    // 16 x 16 transpose of 16 columns' words puts them in panel order.
    for (Index kb = 0; kb < kc; kb += 32) {
      const Index kn = std::min<Index>(32, kc - kb), pn = (kn + 1) / 2;
      const __mmask16 m0 = first_lanes(kn), m1 = first_lanes(kn - 16);
      for (Index jb = 0; jb < kNR; jb += 16) {
        __m512 r[16];
        for (Index j = 0; j < 16; ++j) {
          if (jb + j < cols) {
            const float* src = B + (j0 + jb + j) * ldb + k0 + kb;
            r[j] = _mm512_castsi512_ps(pair_consecutive(_mm512_maskz_loadu_ps(m0, src), _mm512_maskz_loadu_ps(m1, src + 16)));
          } else {
            r[j] = _mm512_setzero_ps();
          }
        }
        packed::transpose16(r);
        for (Index p = 0; p < pn; ++p) _mm512_store_ps(reinterpret_cast<float*>(dst + (kb / 2 + p) * kNR + jb), r[p]);
      }
    }
  }
}

template <bool TransB>
void pack_b(const float* B, Index ldb, Index j0, Index nc, Index k0, Index kc, std::uint32_t* dst) {
  const Index pairs = (kc + 1) / 2;
  for (Index jr = 0; jr < nc; jr += kNR)
    pack_b_panel<TransB>(B, ldb, j0 + jr, std::min(kNR, nc - jr), k0, kc, dst + jr * pairs);
}

template <int R>
void microkernel(Index pairs, const std::uint32_t* __restrict Ap, const std::uint32_t* __restrict Bp, float* C,
                 Index ldc, Index cols, bool add) {
  __m512 acc[R][4];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < 4; ++v) acc[r][v] = _mm512_setzero_ps();
#pragma GCC unroll 4
  for (Index p = 0; p < pairs; ++p) {
    const std::uint32_t* b = Bp + p * kNR;
    const __m512bh b0 = (__m512bh)_mm512_load_si512(b), b1 = (__m512bh)_mm512_load_si512(b + 16);
    const __m512bh b2 = (__m512bh)_mm512_load_si512(b + 32), b3 = (__m512bh)_mm512_load_si512(b + 48);
    const std::uint32_t* a = Ap + p * kMR;
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m512bh ar = (__m512bh)_mm512_set1_epi32(static_cast<int>(a[r]));
      acc[r][0] = _mm512_dpbf16_ps(acc[r][0], ar, b0);
      acc[r][1] = _mm512_dpbf16_ps(acc[r][1], ar, b1);
      acc[r][2] = _mm512_dpbf16_ps(acc[r][2], ar, b2);
      acc[r][3] = _mm512_dpbf16_ps(acc[r][3], ar, b3);
    }
  }
  packed::store_tile<R>(acc, C, ldc, cols, add);
}

inline void microkernel_rows(Index rows, Index pairs, const std::uint32_t* Ap, const std::uint32_t* Bp, float* C,
                             Index ldc, Index cols, bool add) {
  packed::with_rows(rows, [&]<int R>() { microkernel<R>(pairs, Ap, Bp, C, ldc, cols, add); });
}

class PackedGemmBf16 {
 public:
  template <bool TransA, bool TransB>
  void run(Index M, Index N, Index K, const float* A, Index lda, const float* B, Index ldb, float* C, Index ldc,
           bool accumulate) {
    if (M > 0 && N > 0 && K > 0) reserve(M, N, K);
    packed::blocked_gemm<kNC, kKC, kMC>(
        M, N, K, C, ldc, accumulate,
        [&](Index jc, Index nc, Index pc, Index kc) { pack_b<TransB>(B, ldb, jc, nc, pc, kc, b_.data()); },
        [&](Index ic, Index mc, Index pc, Index kc) { pack_a<TransA>(A, lda, ic, mc, pc, kc, a_.data()); },
        [&](Index mc, Index nc, Index kc, float* Cb, bool add) { block(mc, nc, kc, Cb, ldc, add); });
  }

 private:
  static Index round_up(Index x, Index m) { return (x + m - 1) / m * m; }

  void reserve(Index M, Index N, Index K) {
    const Index pairs = (std::min(kKC, K) + 1) / 2;
    const Index a_need = round_up(std::min(kMC, M), kMR) * pairs;
    const Index b_need = round_up(std::min(kNC, N), kNR) * pairs;
    if (static_cast<std::size_t>(a_need) > a_.size()) a_.resize(static_cast<std::size_t>(a_need));
    if (static_cast<std::size_t>(b_need) > b_.size()) b_.resize(static_cast<std::size_t>(b_need));
  }

  void block(Index mc, Index nc, Index kc, float* C, Index ldc, bool add) const {
    const Index pairs = (kc + 1) / 2;
    for (Index ir = 0; ir < mc; ir += kMR) {
      const Index rows = std::min(kMR, mc - ir);
      const std::uint32_t* ap = a_.data() + ir * pairs;
      for (Index jr = 0; jr < nc; jr += kNR)
        microkernel_rows(rows, pairs, ap, b_.data() + jr * pairs, C + ir * ldc + jr, ldc, std::min(kNR, nc - jr), add);
    }
  }

  AlignedBuffer<std::uint32_t> a_, b_;  // the packed blocks (64-byte aligned, grown, never shrunk)
};

}  // namespace ctnn::kernels::packed_bf16
#endif
