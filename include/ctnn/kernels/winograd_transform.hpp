#pragma once
// Winograd F(m x m, 3 x 3) transform matrices and the small matrix products that apply them to
// kLanes tiles at once (Lavin & Gray 2016, "Fast Algorithms for Convolutional Neural Networks").
// One output tile Y [m, m] of a 3x3 correlation of an input tile d [a, a] (a = m + 2) with a
// filter g [3, 3] is
//   Y = AT [ (G g G^T) (.) (BT d BT^T) ] AT^T          ((.) = element-wise product)
// and the adjoints the backward passes use are
//   dM = AT^T dY AT,   dd = BT^T dV BT,   dg = G^T dU G.
// Tiles are stored "lane-major": a value [i][j] of kLanes tiles is kLanes consecutive values, so
// every product below is a run of kLanes-wide multiply-adds that the compiler vectorises (one zmm
// with AVX-512); the matrices are constexpr, and after unrolling the zero coefficients drop out
// and the +-1 ones become plain adds.
#include <cstddef>
#include <type_traits>

namespace ctnn::kernels::winograd {

inline constexpr std::size_t kLanes = 16;

template <std::size_t M>
struct Matrices;

// F(2x2, 3x3): interpolation points 0, 1, -1 and infinity. All coefficients are 0, +-1 or +-1/2,
// so the transforms are exact up to one rounding per add.
template <>
struct Matrices<2> {
  static constexpr std::size_t m = 2, a = 4;
  static constexpr double BT[4][4] = {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}};
  static constexpr double G[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
  static constexpr double AT[2][4] = {{1, 1, 1, 0}, {0, 1, -1, -1}};
};

// F(4x4, 3x3): points 0, 1, -1, 2, -2 and infinity. Coefficients up to 8 in AT and 5 in BT, and
// 1/6, 1/12, 1/24 in G: the products mix magnitudes, which costs accuracy (docs/winograd.md).
template <>
struct Matrices<4> {
  static constexpr std::size_t m = 4, a = 6;
  static constexpr double BT[6][6] = {{4, 0, -5, 0, 1, 0},  {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},
                                     {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}};
  static constexpr double G[6][3] = {{1.0 / 4, 0, 0},
                                    {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                    {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                    {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                    {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                    {0, 0, 1}};
  static constexpr double AT[4][6] = {{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}};
};

// op(Mat) = Mat, or Mat^T when Trans.
template <const auto& Mat, bool Trans>
struct Op {
  using A = std::remove_cvref_t<decltype(Mat)>;
  static constexpr std::size_t rows = Trans ? std::extent_v<A, 1> : std::extent_v<A, 0>;
  static constexpr std::size_t cols = Trans ? std::extent_v<A, 0> : std::extent_v<A, 1>;
  static constexpr double at(std::size_t r, std::size_t k) { return Trans ? Mat[k][r] : Mat[r][k]; }
};

// out [rows][J][kLanes] = op(Mat) [rows][cols] * in [cols][J][kLanes]
template <const auto& Mat, bool Trans, std::size_t J, class T>
inline void mul_left(const T* __restrict in, T* __restrict out) {
  using O = Op<Mat, Trans>;
#pragma GCC unroll 8
  for (std::size_t r = 0; r < O::rows; ++r)
#pragma GCC unroll 8
    for (std::size_t j = 0; j < J; ++j) {
      T acc[kLanes] = {};
#pragma GCC unroll 8
      for (std::size_t k = 0; k < O::cols; ++k) {
        const T c = static_cast<T>(O::at(r, k));
        if (c == 0) continue;
        const T* src = in + (k * J + j) * kLanes;
#pragma omp simd
        for (std::size_t l = 0; l < kLanes; ++l) acc[l] += c * src[l];
      }
      T* dst = out + (r * J + j) * kLanes;
#pragma omp simd
      for (std::size_t l = 0; l < kLanes; ++l) dst[l] = acc[l];
    }
}

// out [I][rows][kLanes] = in [I][cols][kLanes] * op(Mat)^T
template <const auto& Mat, bool Trans, std::size_t I, class T>
inline void mul_right(const T* __restrict in, T* __restrict out) {
  using O = Op<Mat, Trans>;
#pragma GCC unroll 8
  for (std::size_t i = 0; i < I; ++i)
#pragma GCC unroll 8
    for (std::size_t r = 0; r < O::rows; ++r) {
      T acc[kLanes] = {};
#pragma GCC unroll 8
      for (std::size_t k = 0; k < O::cols; ++k) {
        const T c = static_cast<T>(O::at(r, k));
        if (c == 0) continue;
        const T* src = in + (i * O::cols + k) * kLanes;
#pragma omp simd
        for (std::size_t l = 0; l < kLanes; ++l) acc[l] += c * src[l];
      }
      T* dst = out + (i * O::rows + r) * kLanes;
#pragma omp simd
      for (std::size_t l = 0; l < kLanes; ++l) dst[l] = acc[l];
    }
}

// out = op(Mat) * in * op(Mat)^T for kLanes square tiles: in [cols][cols], out [rows][rows].
template <const auto& Mat, bool Trans, class T>
inline void sandwich(const T* __restrict in, T* __restrict out) {
  using O = Op<Mat, Trans>;
  alignas(64) T tmp[O::rows * O::cols * kLanes];
  mul_left<Mat, Trans, O::cols>(in, tmp);
  mul_right<Mat, Trans, O::rows>(tmp, out);
}

template <std::size_t M>
struct Transforms {
  using W = Matrices<M>;
  static constexpr std::size_t m = W::m, a = W::a;
  template <class T>
  static void input(const T* d, T* v) { sandwich<W::BT, false>(d, v); }        // [a,a] -> [a,a]
  template <class T>
  static void input_adjoint(const T* dv, T* dd) { sandwich<W::BT, true>(dv, dd); }
  template <class T>
  static void output(const T* mt, T* y) { sandwich<W::AT, false>(mt, y); }    // [a,a] -> [m,m]
  template <class T>
  static void output_adjoint(const T* dy, T* dm) { sandwich<W::AT, true>(dy, dm); }  // [m,m] -> [a,a]
  template <class T>
  static void filter(const T* g, T* u) { sandwich<W::G, false>(g, u); }       // [3,3] -> [a,a]
  template <class T>
  static void filter_adjoint(const T* du, T* dg) { sandwich<W::G, true>(du, dg); }   // [a,a] -> [3,3]
};

}  // namespace ctnn::kernels::winograd
