// GemmPlan (kernels/gemm.hpp) against a naive reference accumulated in double, with each kernel
// forced (Eigen, the packed AVX-512 kernel where built) and with the automatic choice: many shapes
// (1, primes, not multiples of MR = 6 or NR = 64, K past KC = 256, M past MC = 288, N past
// NC = 512), all four transpose combinations, accumulate on and off, leading dimensions larger
// than the widths.
//
// Error bound, per element of C (the usual one for a dot product in floating point, with slack):
//   |C - ref| <= (K + 2) * eps * (|C0| + sum_k |op(A)(i,k)| |op(B)(k,j)|)
// where eps is the type's machine epsilon and C0 the value C held before (0 unless accumulating).
// Elements of C outside the M x N window (the ldc padding) must be left untouched.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <ctnn/core/aligned_buffer.hpp>
#include <ctnn/core/random.hpp>
#include <ctnn/kernels/gemm.hpp>

using namespace ctnn::kernels;

namespace {

struct Shape {
  Eigen::Index m, n, k;
};

template <class T>
std::vector<T> random_buffer(std::size_t size, ctnn::Rng& rng) {
  std::vector<T> v(size);
  for (auto& x : v) x = static_cast<T>(rng.normal());
  return v;
}

// Checks one GEMM; returns the number of elements outside the bound (0 on success).
template <class T, bool TA, bool TB>
long check_gemm(GemmPlan<T>& plan, Shape s, bool accumulate, ctnn::Rng& rng) {
  const Eigen::Index lda = (TA ? s.m : s.k) + 3, ldb = (TB ? s.k : s.n) + 5, ldc = s.n + 2;
  const auto a = random_buffer<T>(static_cast<std::size_t>((TA ? s.k : s.m) * lda), rng);
  const auto b = random_buffer<T>(static_cast<std::size_t>((TB ? s.n : s.k) * ldb), rng);
  auto c = random_buffer<T>(static_cast<std::size_t>(s.m * ldc), rng);
  const auto c0 = c;
  plan.template run<TA, TB>(s.m, s.n, s.k, a.data(), lda, b.data(), ldb, c.data(), ldc, accumulate);
  const double eps = std::numeric_limits<T>::epsilon();
  long bad = 0;
  for (Eigen::Index i = 0; i < s.m; ++i) {
    for (Eigen::Index j = 0; j < ldc; ++j) {
      const double got = c[i * ldc + j], before = c0[i * ldc + j];
      if (j >= s.n) {
        bad += got != before;  // padding untouched
        continue;
      }
      double ref = accumulate ? before : 0.0, mag = accumulate ? std::abs(before) : 0.0;
      for (Eigen::Index k = 0; k < s.k; ++k) {
        const double x = TA ? a[k * lda + i] : a[i * lda + k];
        const double y = TB ? b[j * ldb + k] : b[k * ldb + j];
        ref += x * y;
        mag += std::abs(x * y);
      }
      bad += !(std::abs(got - ref) <= static_cast<double>(s.k + 2) * eps * mag);
    }
  }
  return bad;
}

template <class T>
void check_all(GemmKernel kernel, const std::vector<Shape>& shapes) {
  GemmPlan<T> plan;  // one plan for every call: buffers grow and are reused, as in training
  plan.set_kernel(kernel);
  ctnn::Rng rng(7);
  for (const Shape& s : shapes)
    for (bool acc : {false, true}) {
      CAPTURE(s.m);
      CAPTURE(s.n);
      CAPTURE(s.k);
      CAPTURE(acc);
      CHECK(check_gemm<T, false, false>(plan, s, acc, rng) == 0);
      CHECK(check_gemm<T, false, true>(plan, s, acc, rng) == 0);
      CHECK(check_gemm<T, true, false>(plan, s, acc, rng) == 0);
      CHECK(check_gemm<T, true, true>(plan, s, acc, rng) == 0);
    }
}

const std::vector<Shape> small_shapes = {
    {1, 1, 1},   {1, 1, 7},   {1, 64, 1},   {6, 64, 1},   {7, 1, 13},  {2, 3, 5},   {5, 63, 17},  {6, 64, 256},
    {7, 65, 257}, {11, 13, 29}, {13, 127, 31}, {31, 67, 2}, {12, 128, 64}, {17, 1, 300}, {1, 97, 300}, {64, 27, 100},
};
const std::vector<Shape> large_shapes = {
    {289, 70, 40},  // M past MC
    {20, 530, 33},  // N past NC
    {37, 100, 600}, // K past 2 x KC
    {300, 521, 263},
};

}  // namespace

TEST_CASE("gemm: float, Eigen kernel, against a double reference (all transposes, accumulate)") {
  check_all<float>(GemmKernel::eigen, small_shapes);
  check_all<float>(GemmKernel::eigen, large_shapes);
}

TEST_CASE("gemm: float, packed kernel, against a double reference (all transposes, accumulate)") {
  if (!packed_gemm_available<float>) MESSAGE("built without AVX-512: GemmKernel::packed runs Eigen");
  check_all<float>(GemmKernel::packed, small_shapes);
  check_all<float>(GemmKernel::packed, large_shapes);
}

TEST_CASE("gemm: float, automatic kernel choice, against a double reference") {
  check_all<float>(GemmKernel::automatic, small_shapes);
  check_all<float>(GemmKernel::automatic, large_shapes);
}

TEST_CASE("gemm: double runs Eigen for every kernel setting, against a double reference") {
  check_all<double>(GemmKernel::packed, small_shapes);
  check_all<double>(GemmKernel::automatic, {{300, 521, 263}});
}

TEST_CASE("gemm: M, N or K = 0 leaves C alone when accumulating and zeroes it otherwise") {
  for (GemmKernel kernel : {GemmKernel::eigen, GemmKernel::packed}) {
    GemmPlan<float> plan;
    plan.set_kernel(kernel);
    std::vector<float> a(4, 1.0f), b(4, 1.0f), c(6, 2.0f);
    plan.run<false, false>(2, 3, 0, a.data(), 1, b.data(), 3, c.data(), 3, true);
    CHECK(c == std::vector<float>(6, 2.0f));
    plan.run<false, false>(2, 3, 0, a.data(), 1, b.data(), 3, c.data(), 3, false);
    CHECK(c == std::vector<float>(6, 0.0f));
  }
}

#if defined(__AVX512F__)
// run_packed_a on an op(A) packed once by pack_a_all (as Winograd packs its filters), and run_packed_ab
// with op(B) laid out by packed_b_offset too, give run()'s bits, over several K blocks (K > 256), M
// blocks (M > 288) and N blocks (N > 512), both ways round, overwriting or adding.
namespace {
template <bool TA>
void check_packed_a_bits(Shape s, bool accumulate, ctnn::Rng& rng) {
  const Eigen::Index lda = TA ? s.m : s.k, ldb = s.n + 5, ldc = s.n + 2;
  const auto a = random_buffer<float>(static_cast<std::size_t>((TA ? s.k : s.m) * lda), rng);
  const auto b = random_buffer<float>(static_cast<std::size_t>(s.k * ldb), rng);
  auto c = random_buffer<float>(static_cast<std::size_t>(s.m * ldc), rng);
  auto c2 = c;
  GemmPlan<float> plan, plan2;
  REQUIRE(plan.takes_packed_fp32(s.m, s.n, s.k));
  plan.run<TA, false>(s.m, s.n, s.k, a.data(), lda, b.data(), ldb, c.data(), ldc, accumulate);
  std::vector<float> ap(static_cast<std::size_t>(packed::PackedGemm::packed_a_size(s.m, s.k)), -1.0f);
  packed::PackedGemm::pack_a_all<TA>(a.data(), lda, s.m, s.k, ap.data());
  auto c3 = c2;
  plan2.run_packed_a<false>(s.m, s.n, s.k, ap.data(), b.data(), ldb, c2.data(), ldc, accumulate);
  CHECK(c == c2);
  // op(B) laid out in place by packed_b_offset (zeros past N), as Winograd's input transform writes V.
  const Eigen::Index npad = (s.n + packed::kNR - 1) / packed::kNR * packed::kNR;
  ctnn::AlignedBuffer<float> bp(static_cast<std::size_t>(s.k * npad));  // the kernel's aligned loads
  std::fill(bp.data(), bp.data() + s.k * npad, 0.0f);
  for (Eigen::Index k = 0; k < s.k; ++k)
    for (Eigen::Index j = 0; j < s.n; ++j)
      bp[static_cast<std::size_t>(packed::PackedGemm::packed_b_offset(k, j, s.k, s.n))] = b[k * ldb + j];
  plan2.run_packed_ab(s.m, s.n, s.k, ap.data(), bp.data(), c3.data(), ldc, accumulate);
  CHECK(c == c3);
}
}  // namespace

TEST_CASE("gemm: run_packed_a and run_packed_ab on panels packed beforehand give run()'s bits") {
  ctnn::Rng rng(11);
  for (Shape s : {Shape{256, 256, 256}, Shape{64, 512, 24}, Shape{301, 300, 530}, Shape{20, 700, 300}, Shape{7, 128, 3}})
    for (bool accumulate : {false, true}) {
      CAPTURE(s.m);
      CAPTURE(s.n);
      CAPTURE(s.k);
      CAPTURE(accumulate);
      check_packed_a_bits<false>(s, accumulate, rng);
      check_packed_a_bits<true>(s, accumulate, rng);
    }
}

TEST_CASE("gemm: takes_packed_fp32 follows run()'s choice") {
  GemmPlan<float> plan;
  CHECK(plan.takes_packed_fp32(256, 256, 256) == use_packed_gemm(256, 256, 256));
  CHECK_FALSE(plan.takes_packed_fp32(64, 27, 64));  // narrow: Eigen
  plan.set_kernel(GemmKernel::eigen);
  CHECK_FALSE(plan.takes_packed_fp32(256, 256, 256));
  plan.set_kernel(GemmKernel::automatic);
  plan.set_precision(ctnn::Precision::bf16);
  CHECK_FALSE(plan.takes_packed_fp32(256, 256, 256));  // the bf16 kernel runs it
}
#endif
