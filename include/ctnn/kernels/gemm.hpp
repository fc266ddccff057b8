#pragma once
// A reusable single-threaded GEMM on row-major buffers, running Eigen's own packed kernels with a
// blocking workspace that is kept between calls: after the first call of a given size (or
// smaller), a GEMM allocates nothing. (Eigen's expression API allocates its packing buffers on
// every product larger than EIGEN_STACK_ALLOCATION_LIMIT.) Callers parallelise around it.
//
// With AVX-512, float GEMMs can instead run ctnn's own packed kernel (kernels/gemm_packed.hpp);
// which one runs is GemmKernel::automatic's rule, use_packed_gemm below, unless a plan is told
// otherwise (set_kernel, for benchmarks and tests) or the environment variable CTNN_GEMM is
// `eigen` or `packed` (read once; it replaces the rule for every `automatic` plan, so the same
// binary can time a network both ways). double always runs Eigen.
#include <Eigen/Core>
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <type_traits>

#include <vector>

#include "ctnn/core/precision.hpp"
#include "ctnn/kernels/gemm_bf16.hpp"
#include "ctnn/kernels/gemm_packed.hpp"

namespace ctnn::kernels {

enum class GemmKernel { automatic, eigen, packed };

// Whether `automatic` runs the packed kernel for a float GEMM of this size. The rule is measured
// (bench_layers gemmplan/* and a sweep of N, 1 thread, docs/gemm.md): the packed kernel's 6 x 64
// tile wastes the lanes past N in its last column panel, so it loses to Eigen for narrow C
// (N = 10 to 100: Eigen 1.1-4.4x faster, N = 64 a tie) and wins from N = 128 on when the last panel is
// mostly full (ResNet-9's fwd/igrad N = 256, 1024 and wgrad N = 576..4608: 1.17-1.41x faster, the median
// ratio within a run on a shared machine; its first conv's wgrad, N = 27: Eigen 2.1x faster). Hence: packed
// when N >= 128 and at least 80 % of the lanes of the column panels hold columns of C.
inline bool use_packed_gemm(Eigen::Index M, Eigen::Index N, Eigen::Index K) {
  (void)M, (void)K;
#if defined(__AVX512F__)
  const Eigen::Index panels = (N + packed::kNR - 1) / packed::kNR;
  return N >= 128 && 5 * N >= 4 * panels * packed::kNR;
#else
  (void)N;
  return false;
#endif
}

// Whether a float GEMM of a plan set to Precision::bf16 runs in bf16 (automatic kernel): the same
// shapes as use_packed_gemm's (N >= 128, >= 80 % of the 64-wide panels' lanes used), on every ISA, so
// that the native and the portable build round the same GEMMs. The others (ResNet-9's first conv's
// weight gradient, N = 27; a classifier's forward, N = 10) stay fp32 on Eigen, which is faster there
// than a 64-wide bf16 tile that mostly multiplies zeros.
inline bool use_bf16_gemm(Eigen::Index M, Eigen::Index N, Eigen::Index K) {
  (void)M, (void)K;
  const Eigen::Index panels = (N + 63) / 64;
  return N >= 128 && 5 * N >= 4 * panels * 64;
}

// True when GemmKernel::packed can run here (float, built with AVX-512).
template <class T>
inline constexpr bool packed_gemm_available =
#if defined(__AVX512F__)
    std::is_same_v<T, float>;
#else
    false;
#endif

// GemmKernel::automatic as CTNN_GEMM sets it: eigen, packed, or (unset, anything else) the rule.
inline GemmKernel gemm_kernel_from_environment() {
  static const GemmKernel kernel = [] {
    const char* v = std::getenv("CTNN_GEMM");
    if (v && std::strcmp(v, "eigen") == 0) return GemmKernel::eigen;
    if (v && std::strcmp(v, "packed") == 0) return GemmKernel::packed;
    return GemmKernel::automatic;
  }();
  return kernel;
}

template <class T>
class GemmPlan {
 public:
  // Which kernel run() uses; `packed` where it is not available means Eigen.
  void set_kernel(GemmKernel k) { kernel_ = k; }
  GemmKernel kernel() const { return kernel_; }

  // Precision::bf16: float GEMMs round op(A) and op(B) to bf16 (kernels/gemm_bf16.hpp) and accumulate in
  // fp32 -- where use_bf16_gemm says so under GemmKernel::automatic, always under GemmKernel::packed;
  // GemmKernel::eigen stays fp32. Natively with AVX512_BF16, else through the portable path (the
  // rounded operands copied into buffers kept by the plan, then the fp32 GEMM). double ignores it.
  void set_precision(Precision p) { precision_ = p; }
  Precision precision() const { return precision_; }

  // C[M, N] = (or +=) op(A)[M, K] * op(B)[K, N]; all row-major with leading dimensions lda, ldb, ldc.
  // op(A) = A, stored [M, K], or A^T with A stored [K, M] when TransA; likewise for B.
  template <bool TransA, bool TransB>
  void run(Eigen::Index M, Eigen::Index N, Eigen::Index K, const T* A, Eigen::Index lda, const T* B,
           Eigen::Index ldb, T* C, Eigen::Index ldc, bool accumulate) {
    if constexpr (std::is_same_v<T, float>) {
      if (takes_bf16(M, N, K)) {
        run_bf16<TransA, TransB>(M, N, K, A, lda, B, ldb, C, ldc, accumulate);
        return;
      }
    }
    run_fp32<TransA, TransB>(M, N, K, A, lda, B, ldb, C, ldc, accumulate);
  }

  // Whether run() of this size takes ctnn's packed fp32 kernel (where run_packed_a may be called).
  bool takes_packed_fp32(Eigen::Index M, Eigen::Index N, Eigen::Index K) const {
    return packed_gemm_available<T> && !takes_bf16(M, N, K) && takes_packed(M, N, K);
  }

#if defined(__AVX512F__)
  // run() with op(A) packed beforehand by packed::PackedGemm::pack_a_all, for an A that many products
  // share; only where takes_packed_fp32(M, N, K). The same bits as run().
  template <bool TransB>
  void run_packed_a(Eigen::Index M, Eigen::Index N, Eigen::Index K, const float* Ap, const float* B, Eigen::Index ldb,
                    float* C, Eigen::Index ldc, bool accumulate) {
    static_assert(std::is_same_v<T, float>);
    packed_.template run_packed_a<TransB>(M, N, K, Ap, B, ldb, C, ldc, accumulate);
  }
  // ... and with op(B) too laid out beforehand (packed::PackedGemm::packed_b_offset).
  void run_packed_ab(Eigen::Index M, Eigen::Index N, Eigen::Index K, const float* Ap, const float* Bp, float* C,
                     Eigen::Index ldc, bool accumulate) {
    static_assert(std::is_same_v<T, float>);
    packed_.run_packed_ab(M, N, K, Ap, Bp, C, ldc, accumulate);
  }
#endif

 private:
  GemmKernel effective_kernel() const {
    return kernel_ == GemmKernel::automatic ? gemm_kernel_from_environment() : kernel_;
  }
  // run()'s choices: the bf16 GEMM (float, precision bf16); else, in run_fp32, the packed kernel.
  bool takes_bf16(Eigen::Index M, Eigen::Index N, Eigen::Index K) const {
    const GemmKernel k = effective_kernel();
    return std::is_same_v<T, float> && precision_ == Precision::bf16 &&
           (k == GemmKernel::packed || (k == GemmKernel::automatic && use_bf16_gemm(M, N, K)));
  }
  bool takes_packed(Eigen::Index M, Eigen::Index N, Eigen::Index K) const {
    const GemmKernel k = effective_kernel();
    return k == GemmKernel::packed || (k == GemmKernel::automatic && use_packed_gemm(M, N, K));
  }

  template <bool TransA, bool TransB>
  void run_bf16(Eigen::Index M, Eigen::Index N, Eigen::Index K, const float* A, Eigen::Index lda, const float* B,
                Eigen::Index ldb, float* C, Eigen::Index ldc, bool accumulate) {
#if defined(__AVX512BF16__) && defined(__AVX512BW__) && defined(__AVX512F__)
    bf16_.template run<TransA, TransB>(M, N, K, A, lda, B, ldb, C, ldc, accumulate);
#else
    // Portable: the stored operands rounded into compact copies, then the fp32 GEMM on them.
    const Eigen::Index a_rows = TransA ? K : M, a_cols = TransA ? M : K;
    const Eigen::Index b_rows = TransB ? N : K, b_cols = TransB ? K : N;
    round_copy(A, lda, a_rows, a_cols, a_round_);
    round_copy(B, ldb, b_rows, b_cols, b_round_);
    run_fp32<TransA, TransB>(M, N, K, a_round_.data(), a_cols, b_round_.data(), b_cols, C, ldc, accumulate);
#endif
  }

  static void round_copy(const float* src, Eigen::Index ld, Eigen::Index rows, Eigen::Index cols,
                         std::vector<float>& dst) {
    const auto size = static_cast<std::size_t>(rows * cols);
    if (dst.size() < size) dst.resize(size);
    for (Eigen::Index r = 0; r < rows; ++r)
      for (Eigen::Index c = 0; c < cols; ++c) dst[static_cast<std::size_t>(r * cols + c)] = bf16_round(src[r * ld + c]);
  }

  template <bool TransA, bool TransB>
  void run_fp32(Eigen::Index M, Eigen::Index N, Eigen::Index K, const T* A, Eigen::Index lda, const T* B,
                Eigen::Index ldb, T* C, Eigen::Index ldc, bool accumulate) {
#if defined(__AVX512F__)
    if constexpr (std::is_same_v<T, float>) {
      if (takes_packed(M, N, K)) {
        packed_.template run<TransA, TransB>(M, N, K, A, lda, B, ldb, C, ldc, accumulate);
        return;
      }
    }
#endif
    if (!accumulate) {
      for (Eigen::Index i = 0; i < M; ++i) std::memset(C + i * ldc, 0, sizeof(T) * static_cast<std::size_t>(N));
    }
    if (M == 0 || N == 0 || K == 0) return;
    reserve(N, M, K);
    // Row-major C is column-major C^T = op(B)^T * op(A)^T: Eigen's column-major kernel with the
    // operands' storage orders chosen so that no data is transposed.
    constexpr int lhs_order = TransB ? Eigen::RowMajor : Eigen::ColMajor;
    constexpr int rhs_order = TransA ? Eigen::RowMajor : Eigen::ColMajor;
    Eigen::internal::general_matrix_matrix_product<Eigen::Index, T, lhs_order, false, T, rhs_order, false,
                                                   Eigen::ColMajor, 1>::run(N, M, K, B, ldb, A, lda, C, 1, ldc,
                                                                            T(1), *blocking_, nullptr);
  }

  using Blocking = Eigen::internal::gemm_blocking_space<Eigen::ColMajor, T, T, Eigen::Dynamic, Eigen::Dynamic,
                                                        Eigen::Dynamic, 1, false>;
  void reserve(Eigen::Index rows, Eigen::Index cols, Eigen::Index depth) {
    if (blocking_ && rows <= rows_ && cols <= cols_ && depth <= depth_) return;
    rows_ = std::max(rows, rows_);
    cols_ = std::max(cols, cols_);
    depth_ = std::max(depth, depth_);
    blocking_ = std::make_unique<Blocking>(rows_, cols_, depth_, 1, true);
    blocking_->allocateAll();
  }

  std::unique_ptr<Blocking> blocking_;
  Eigen::Index rows_ = 0, cols_ = 0, depth_ = 0;
  GemmKernel kernel_ = GemmKernel::automatic;
  Precision precision_ = Precision::fp32;
  std::vector<float> a_round_, b_round_;  // the portable bf16 path's rounded operands
#if defined(__AVX512BF16__) && defined(__AVX512BW__) && defined(__AVX512F__)
  struct NoBf16 {};
  std::conditional_t<std::is_same_v<T, float>, packed_bf16::PackedGemmBf16, NoBf16> bf16_;
#endif
#if defined(__AVX512F__)
  struct NoPacked {};
  std::conditional_t<std::is_same_v<T, float>, packed::PackedGemm, NoPacked> packed_;
#endif
};

}  // namespace ctnn::kernels
