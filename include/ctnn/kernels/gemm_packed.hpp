#pragma once
// A packed, register-blocked FP32 GEMM for AVX-512 (BLIS-style), single-threaded:
//   C[M, N] (=, or +=) op(A)[M, K] * op(B)[K, N], row-major, leading dimensions lda, ldb, ldc,
// with GemmPlan::run's semantics (kernels/gemm.hpp). Its packing buffers are kept in the object:
// after the first call of a given size (or smaller), a call allocates nothing.
//
// Loops, outermost first (MR x NR = 6 x 64, gemm_microkernel.hpp):
//   jc  over N in blocks of NC = 512 columns
//   pc  over K in blocks of KC = 256: pack op(B)[KC, NC] into NR-column panels (512 KiB, for L2)
//   ic  over M in blocks of MC = 288 rows: pack op(A)[MC, KC] into MR-row panels
//   ir  over the block's MR-row panels: the A panel (6 KiB) stays in L1 ...
//   jr  ... while the B panels stream past it from L2, one 6 x 64 tile of C each
// The first K block overwrites C unless `accumulate`; later K blocks add to it.
#if defined(__AVX512F__)
#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "ctnn/core/aligned_buffer.hpp"
#include "ctnn/kernels/gemm_microkernel.hpp"
#include "ctnn/kernels/gemm_pack.hpp"

namespace ctnn::kernels::packed {

inline constexpr Index kKC = 256;
inline constexpr Index kMC = 288;  // a multiple of MR
inline constexpr Index kNC = 512;  // a multiple of NR

// The loop nest above, shared by the fp32 and the bf16 kernel (gemm_bf16.hpp): pack_b(jc, nc, pc, kc),
// pack_a(ic, mc, pc, kc) and block(mc, nc, kc, C block, add) are the kernel's packing and block multiply;
// M, N or K = 0 zeroes C unless accumulating.
template <Index NC, Index KC, Index MC, class PackB, class PackA, class Block>
void blocked_gemm(Index M, Index N, Index K, float* C, Index ldc, bool accumulate, PackB&& pack_b, PackA&& pack_a,
                  Block&& block) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate)
      for (Index i = 0; i < M; ++i) std::memset(C + i * ldc, 0, sizeof(float) * static_cast<std::size_t>(N));
    return;
  }
  for (Index jc = 0; jc < N; jc += NC) {
    const Index nc = std::min(NC, N - jc);
    for (Index pc = 0; pc < K; pc += KC) {
      const Index kc = std::min(KC, K - pc);
      pack_b(jc, nc, pc, kc);
      const bool add = accumulate || pc > 0;
      for (Index ic = 0; ic < M; ic += MC) {
        const Index mc = std::min(MC, M - ic);
        pack_a(ic, mc, pc, kc);
        block(mc, nc, kc, C + ic * ldc + jc, add);
      }
    }
  }
}

class PackedGemm {
 public:
  template <bool TransA, bool TransB>
  void run(Index M, Index N, Index K, const float* A, Index lda, const float* B, Index ldb, float* C, Index ldc,
           bool accumulate) {
    if (M > 0 && N > 0 && K > 0) reserve(M, N, K);
    blocked_gemm<kNC, kKC, kMC>(
        M, N, K, C, ldc, accumulate,
        [&](Index jc, Index nc, Index pc, Index kc) { pack_b<kNR, TransB>(B, ldb, jc, nc, pc, kc, b_.data()); },
        [&](Index ic, Index mc, Index pc, Index kc) { pack_a<kMR, TransA>(A, lda, ic, mc, pc, kc, a_.data()); },
        [&](Index mc, Index nc, Index kc, float* Cb, bool add) { block(a_.data(), b_.data(), mc, nc, kc, Cb, ldc, add); });
  }

  // op(A) [M, K] packed once for many products (a Winograd filter, used by every group of a batch):
  // the blocks run() packs, one after another, block (ic, pc) at pc * round_up(M, MR) + ic * kc.
  static Index packed_a_size(Index M, Index K) { return round_up(M, kMR) * K; }
  static Index packed_a_block(Index M, Index ic, Index pc, Index kc) { return pc * round_up(M, kMR) + ic * kc; }
  template <bool TransA>
  static void pack_a_all(const float* A, Index lda, Index M, Index K, float* dst) {
    for (Index pc = 0; pc < K; pc += kKC) {
      const Index kc = std::min(kKC, K - pc);
      for (Index ic = 0; ic < M; ic += kMC)
        pack_a<kMR, TransA>(A, lda, ic, std::min(kMC, M - ic), pc, kc, dst + packed_a_block(M, ic, pc, kc));
    }
  }
  // run() on op(A) packed by pack_a_all: the same products in the same order, so the same bits.
  template <bool TransB>
  void run_packed_a(Index M, Index N, Index K, const float* Ap, const float* B, Index ldb, float* C, Index ldc,
                    bool accumulate) {
    if (M > 0 && N > 0 && K > 0) reserve(M, N, K);
    const float* a = Ap;
    blocked_gemm<kNC, kKC, kMC>(
        M, N, K, C, ldc, accumulate,
        [&](Index jc, Index nc, Index pc, Index kc) { pack_b<kNR, TransB>(B, ldb, jc, nc, pc, kc, b_.data()); },
        [&](Index ic, Index, Index pc, Index kc) { a = Ap + packed_a_block(M, ic, pc, kc); },
        [&](Index mc, Index nc, Index kc, float* Cb, bool add) { block(a, b_.data(), mc, nc, kc, Cb, ldc, add); });
  }

  // op(B) [K, N] as the blocks run() packs, written in place by its producer (Winograd's input
  // transform): block (jc, pc) at pc * round_up(N, NR) + jc * kc, so element (k, j) is at
  // packed_b_offset(k, j, K, N); the columns past N of the last panel must be zeros.
  static Index packed_b_block(Index N, Index jc, Index pc, Index kc) { return pc * round_up(N, kNR) + jc * kc; }
  static Index packed_b_offset(Index k, Index j, Index K, Index N) {
    const Index pc = k / kKC * kKC, kc = std::min(kKC, K - pc);
    return packed_b_block(N, j / kNR * kNR, pc, kc) + (k - pc) * kNR + j % kNR;
  }
  // run() on op(A) from pack_a_all and op(B) laid out by packed_b_offset: the same bits again.
  void run_packed_ab(Index M, Index N, Index K, const float* Ap, const float* Bp, float* C, Index ldc,
                     bool accumulate) {
    const float *a = Ap, *b = Bp;
    blocked_gemm<kNC, kKC, kMC>(
        M, N, K, C, ldc, accumulate, [&](Index jc, Index, Index pc, Index kc) { b = Bp + packed_b_block(N, jc, pc, kc); },
        [&](Index ic, Index, Index pc, Index kc) { a = Ap + packed_a_block(M, ic, pc, kc); },
        [&](Index mc, Index nc, Index kc, float* Cb, bool add) { block(a, b, mc, nc, kc, Cb, ldc, add); });
  }

 private:
  static Index round_up(Index x, Index m) { return (x + m - 1) / m * m; }

  // Buffers for the largest blocks a call of this size packs.
  void reserve(Index M, Index N, Index K) {
    const Index kc = std::min(kKC, K);
    const Index a_need = round_up(std::min(kMC, M), kMR) * kc;
    const Index b_need = round_up(std::min(kNC, N), kNR) * kc;
    if (static_cast<std::size_t>(a_need) > a_.size()) a_.resize(static_cast<std::size_t>(a_need));
    if (static_cast<std::size_t>(b_need) > b_.size()) b_.resize(static_cast<std::size_t>(b_need));
  }

  // C[mc, nc] (+)= packed A block a [mc, kc] * packed B block b [kc, nc].
  void block(const float* a, const float* b, Index mc, Index nc, Index kc, float* C, Index ldc, bool add) const {
    for (Index ir = 0; ir < mc; ir += kMR) {
      const Index rows = std::min(kMR, mc - ir);
      const float* ap = a + ir * kc;
      for (Index jr = 0; jr < nc; jr += kNR)
        microkernel_rows(rows, kc, ap, b + jr * kc, C + ir * ldc + jr, ldc, std::min(kNR, nc - jr), add);
    }
  }

  AlignedBuffer<float> a_, b_;  // the packed blocks (64-byte aligned, grown, never shrunk)
};

}  // namespace ctnn::kernels::packed
#endif  // __AVX512F__
