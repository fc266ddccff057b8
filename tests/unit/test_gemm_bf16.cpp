// GemmPlan with Precision::bf16 (kernels/gemm_bf16.hpp; the native AVX512_BF16 kernel where built,
// the portable path otherwise) against a double reference computed on the bf16-rounded inputs: the
// shapes of test_gemm.cpp (1, primes, odd depths, not multiples of MR = 6 or NR = 64, K past the bf16
// KC = 512, M past MC = 288, N past NC = 512), all four transposes, accumulate on and off, leading
// dimensions larger than the widths.
//
// Error bounds, per element of C (eps = 2^-23, fp32's machine epsilon; u = 2^-8, bf16's unit roundoff):
//   against the reference on bf16-rounded inputs  |C - ref_bf16| <= (K + 2) * eps * (|C0| + sum_k |ra_ik rb_kj|)
//     (the products of two bf16 are exact in fp32: only the fp32 accumulation rounds)
//   against the reference on the fp32 inputs      |C - ref| <= (2u + u^2 + (K + 2) * eps) * (|C0| + sum_k |a_ik b_kj|)
//     (each input off by at most u relative, so each product by 2u + u^2)
// ra = bf16_round(a) etc. Elements of C outside the M x N window (the ldc padding) must be untouched.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include <ctnn/core/precision.hpp>
#include <ctnn/core/random.hpp>
#include <ctnn/kernels/gemm.hpp>

using namespace ctnn::kernels;
using ctnn::Precision;

namespace {

struct GemmShape {
  Eigen::Index m, n, k;
};

std::vector<float> random_floats(std::size_t size, ctnn::Rng& rng) {
  std::vector<float> v(size);
  for (auto& x : v) x = static_cast<float>(rng.normal());
  return v;
}

// Returns the number of elements outside either bound (0 on success). A GEMM the plan runs in fp32
// (automatic kernel, use_bf16_gemm false) is held to test_gemm.cpp's fp32 bound instead.
template <bool TA, bool TB>
long check_bf16_gemm(GemmPlan<float>& plan, GemmShape s, bool accumulate, ctnn::Rng& rng) {
  const bool in_bf16 = plan.kernel() == GemmKernel::packed || use_bf16_gemm(s.m, s.n, s.k);
  const Eigen::Index lda = (TA ? s.m : s.k) + 3, ldb = (TB ? s.k : s.n) + 5, ldc = s.n + 2;
  const auto a = random_floats(static_cast<std::size_t>((TA ? s.k : s.m) * lda), rng);
  const auto b = random_floats(static_cast<std::size_t>((TB ? s.n : s.k) * ldb), rng);
  auto c = random_floats(static_cast<std::size_t>(s.m * ldc), rng);
  const auto c0 = c;
  plan.run<TA, TB>(s.m, s.n, s.k, a.data(), lda, b.data(), ldb, c.data(), ldc, accumulate);
  const double eps = std::numeric_limits<float>::epsilon(), u = std::ldexp(1.0, -8);
  const double acc_bound = static_cast<double>(s.k + 2) * eps;
  long bad = 0;
  for (Eigen::Index i = 0; i < s.m; ++i) {
    for (Eigen::Index j = 0; j < ldc; ++j) {
      const double got = c[i * ldc + j], before = c0[i * ldc + j];
      if (j >= s.n) {
        bad += got != before;
        continue;
      }
      double ref_r = accumulate ? before : 0.0, ref = ref_r, mag_r = accumulate ? std::abs(before) : 0.0, mag = mag_r;
      for (Eigen::Index k = 0; k < s.k; ++k) {
        const float x = TA ? a[k * lda + i] : a[i * lda + k];
        const float y = TB ? b[j * ldb + k] : b[k * ldb + j];
        const double xr = bf16_round(x), yr = bf16_round(y);
        ref_r += xr * yr;
        mag_r += std::abs(xr * yr);
        ref += double(x) * double(y);
        mag += std::abs(double(x) * double(y));
      }
      if (in_bf16) {
        bad += !(std::abs(got - ref_r) <= acc_bound * mag_r);
        bad += !(std::abs(got - ref) <= (2 * u + u * u + acc_bound) * mag);
      } else {
        bad += !(std::abs(got - ref) <= acc_bound * mag);
      }
    }
  }
  return bad;
}

void check_all_bf16(GemmKernel kernel, const std::vector<GemmShape>& shapes) {
  GemmPlan<float> plan;
  plan.set_kernel(kernel);
  plan.set_precision(Precision::bf16);
  ctnn::Rng rng(11);
  for (const GemmShape& s : shapes)
    for (bool acc : {false, true}) {
      CAPTURE(s.m);
      CAPTURE(s.n);
      CAPTURE(s.k);
      CAPTURE(acc);
      CHECK(check_bf16_gemm<false, false>(plan, s, acc, rng) == 0);
      CHECK(check_bf16_gemm<false, true>(plan, s, acc, rng) == 0);
      CHECK(check_bf16_gemm<true, false>(plan, s, acc, rng) == 0);
      CHECK(check_bf16_gemm<true, true>(plan, s, acc, rng) == 0);
    }
}

const std::vector<GemmShape> bf16_small_shapes = {
    {1, 1, 1},    {1, 1, 7},     {1, 64, 1},   {6, 64, 1},    {7, 1, 13},   {2, 3, 5},
    {5, 63, 17},  {6, 64, 256},  {7, 65, 257}, {11, 13, 29},  {13, 127, 31}, {31, 67, 2},
    {12, 128, 64}, {17, 1, 300}, {1, 97, 300}, {64, 27, 100}, {9, 130, 33},  {6, 16, 31},
};
const std::vector<GemmShape> bf16_large_shapes = {
    {289, 70, 40},    // M past MC
    {20, 530, 33},    // N past NC
    {37, 100, 1100},  // K past 2 x KC (bf16 KC = 512), odd last block
    {300, 521, 263},
};

}  // namespace

TEST_CASE("gemm bf16: bf16_round rounds to nearest even, keeps NaN and infinities") {
  CHECK(bf16_round(1.0f) == 1.0f);
  // bf16 keeps 8 significant bits: its spacing at 1 is 2^-7
  CHECK(bf16_round(1.0f + std::ldexp(1.0f, -8)) == 1.0f);                              // a tie: to even (down)
  CHECK(bf16_round(1.0f + 3 * std::ldexp(1.0f, -8)) == 1.0f + std::ldexp(1.0f, -6));  // a tie: to even (up)
  CHECK(bf16_round(1.0f + std::ldexp(1.0f, -8) + std::ldexp(1.0f, -20)) == 1.0f + std::ldexp(1.0f, -7));
  CHECK(bf16_round(1.0f + std::ldexp(1.0f, -8) - std::ldexp(1.0f, -20)) == 1.0f);
  CHECK(bf16_round(-3.0f) == -3.0f);
  CHECK(std::isinf(bf16_round(std::numeric_limits<float>::infinity())));
  CHECK(std::isnan(bf16_round(std::numeric_limits<float>::quiet_NaN())));
  std::uint32_t snan_bits = 0x7F800001u;
  float snan;
  std::memcpy(&snan, &snan_bits, 4);
  CHECK(std::isnan(bf16_round(snan)));  // the low payload bits are dropped: still a NaN, not infinity
  CHECK(std::isinf(bf16_round(3.4e38f)));  // rounds past bf16's largest finite value
}

TEST_CASE("gemm bf16: packed kernel against double references (all transposes, accumulate, odd sizes)") {
  if (!ctnn::bf16_native) MESSAGE("built without AVX512_BF16: the portable bf16 path runs");
  check_all_bf16(GemmKernel::packed, bf16_small_shapes);
  check_all_bf16(GemmKernel::packed, bf16_large_shapes);
}

TEST_CASE("gemm bf16: automatic kernel choice against double references (fp32 where use_bf16_gemm is false)") {
  check_all_bf16(GemmKernel::automatic, bf16_small_shapes);
  check_all_bf16(GemmKernel::automatic, bf16_large_shapes);
}

TEST_CASE("gemm bf16: the inputs really are rounded to bf16") {
  // a = 1 + 2^-8 + 2^-12 rounds to 1 + 2^-7 in bf16; b = 1 exactly. K = 4: C = 4 * bf16(a) in bf16,
  // 4 * a (to fp32) in fp32.
  for (GemmKernel kernel : {GemmKernel::packed, GemmKernel::automatic}) {
    GemmPlan<float> plan;
    plan.set_kernel(kernel);
    plan.set_precision(Precision::bf16);
    const float a_val = 1.0f + std::ldexp(1.0f, -8) + std::ldexp(1.0f, -12);
    std::vector<float> a(6 * 4, a_val), b(4 * 128, 1.0f), c(6 * 128, -1.0f);
    plan.run<false, false>(6, 128, 4, a.data(), 4, b.data(), 128, c.data(), 128, false);
    for (float x : c) CHECK(x == 4.0f * (1.0f + std::ldexp(1.0f, -7)));
    plan.set_precision(Precision::fp32);
    plan.run<false, false>(6, 128, 4, a.data(), 4, b.data(), 128, c.data(), 128, false);
    for (float x : c) CHECK(x == 4.0f * a_val);
  }
}

TEST_CASE("gemm bf16: the native kernel and the portable path's arithmetic agree") {
  // The portable path is the fp32 GEMM on bf16-rounded copies of the operands: emulated here in any
  // build, and compared with Precision::bf16, within the accumulation bound of two fp32 sums.
  ctnn::Rng rng(5);
  const Eigen::Index M = 70, N = 300, K = 577;
  const auto a = random_floats(static_cast<std::size_t>(M * K), rng);
  const auto b = random_floats(static_cast<std::size_t>(K * N), rng);
  std::vector<float> ar(a.size()), br(b.size()), c_bf16(static_cast<std::size_t>(M * N)), c_port(c_bf16.size());
  for (std::size_t i = 0; i < a.size(); ++i) ar[i] = bf16_round(a[i]);
  for (std::size_t i = 0; i < b.size(); ++i) br[i] = bf16_round(b[i]);
  GemmPlan<float> bf16_plan, fp32_plan;
  bf16_plan.set_precision(Precision::bf16);
  bf16_plan.run<false, false>(M, N, K, a.data(), K, b.data(), N, c_bf16.data(), N, false);
  fp32_plan.run<false, false>(M, N, K, ar.data(), K, br.data(), N, c_port.data(), N, false);
  const double eps = std::numeric_limits<float>::epsilon();
  long bad = 0;
  for (Eigen::Index i = 0; i < M; ++i)
    for (Eigen::Index j = 0; j < N; ++j) {
      double mag = 0;
      for (Eigen::Index k = 0; k < K; ++k) mag += std::abs(double(ar[i * K + k]) * br[k * N + j]);
      bad += !(std::abs(double(c_bf16[i * N + j]) - c_port[i * N + j]) <= 2.0 * (K + 2) * eps * mag);
    }
  CHECK(bad == 0);
}

TEST_CASE("gemm bf16: the same inputs give bitwise the same outputs, call after call and plan after plan") {
  ctnn::Rng rng(3);
  const Eigen::Index M = 64, N = 256, K = 300;
  const auto a = random_floats(static_cast<std::size_t>(M * K), rng);
  const auto b = random_floats(static_cast<std::size_t>(N * K), rng);
  std::vector<float> c1(static_cast<std::size_t>(M * N)), c2(c1.size());
  GemmPlan<float> p1, p2;
  p1.set_precision(Precision::bf16);
  p2.set_precision(Precision::bf16);
  p1.run<false, true>(M, N, K, a.data(), K, b.data(), K, c1.data(), N, false);
  p2.run<false, true>(M, N, K, a.data(), K, b.data(), K, c2.data(), N, false);
  CHECK(std::memcmp(c1.data(), c2.data(), c1.size() * sizeof(float)) == 0);
  p1.run<false, true>(M, N, K, a.data(), K, b.data(), K, c2.data(), N, false);
  CHECK(std::memcmp(c1.data(), c2.data(), c1.size() * sizeof(float)) == 0);
}

TEST_CASE("gemm bf16: M, N or K = 0 leaves C alone when accumulating and zeroes it otherwise") {
  GemmPlan<float> plan;
  plan.set_kernel(GemmKernel::packed);
  plan.set_precision(Precision::bf16);
  std::vector<float> a(4, 1.0f), b(4, 1.0f), c(6, 2.0f);
  plan.run<false, false>(2, 3, 0, a.data(), 1, b.data(), 3, c.data(), 3, true);
  CHECK(c == std::vector<float>(6, 2.0f));
  plan.run<false, false>(2, 3, 0, a.data(), 1, b.data(), 3, c.data(), 3, false);
  CHECK(c == std::vector<float>(6, 0.0f));
}
