#pragma once
// The quintic Newton-Schulz iteration of Muon (Keller Jordan et al., 2024,
// https://kellerjordan.github.io/posts/muon/): an approximation of the orthogonal polar factor
// U V^T of a matrix G = U S V^T, from a few matrix products and no SVD.
//
//   X <- G / (||G||_F + eps)            (so every singular value is at most 1)
//   repeat steps times, with n = min(rows, cols):
//     A <- X X^T                        [n, n]   (X^T X for a tall matrix)
//     B <- b A + c A A                  [n, n]
//     X <- a X + B X                    (a X + X B for a tall matrix)
//
// Each step maps every singular value s of X to p(s) = a s + b s^3 + c s^5. The published
// coefficients (a, b, c) = (3.4445, -4.7750, 2.0315) maximise the slope at zero rather than
// converge to 1: after 5 steps the singular values lie in about [0.7, 1.2] (the reference says
// "S' ~ Uniform(0.5, 1.5)"), which the optimizer does not mind. The reference transposes a tall
// matrix so that the products run on the short side; here the tall form works on X^T X and
// multiplies from the right instead, which is the same iteration without the copy.
//
// The reference runs the iteration in bfloat16 on the GPU; ctnn runs it in the element type T
// (fp32 for float: the GEMMs through GemmPlan in fp32, the norm accumulated in double).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

#include "ctnn/core/aligned_buffer.hpp"
#include "ctnn/kernels/eigen.hpp"
#include "ctnn/kernels/gemm.hpp"

namespace ctnn::kernels {

// p(s) = a s + b s^3 + c s^5, one Newton-Schulz step on a singular value.
struct NewtonSchulzCoefficients {
  double a = 3.4445;
  double b = -4.7750;
  double c = 2.0315;
};

// What one thread needs to run newton_schulz: the second copy of X, A and B, and its GEMM plan.
// reserve() sizes it; a call on a matrix no larger than the reserved ones allocates nothing.
template <class T>
class NewtonSchulzWorkspace {
 public:
  void reserve(std::size_t rows, std::size_t cols) {
    const std::size_t n = std::min(rows, cols);
    if (rows * cols > next_.size()) next_.resize(rows * cols);
    if (n * n > a_.size()) {
      a_.resize(n * n);
      b_.resize(n * n);
    }
  }
  // Whether reserve() has covered a [rows, cols] matrix.
  bool fits(std::size_t rows, std::size_t cols) const {
    const std::size_t n = std::min(rows, cols);
    return rows * cols <= next_.size() && n * n <= a_.size();
  }
  T* next() { return next_.data(); }  // [rows, cols]
  T* a() { return a_.data(); }        // [n, n]
  T* b() { return b_.data(); }        // [n, n]
  GemmPlan<T>& gemm() { return gemm_; }

 private:
  AlignedBuffer<T> next_, a_, b_;
  GemmPlan<T> gemm_;
};

// Shapes: G [rows, cols] row-major, out [rows, cols] row-major (out may be G itself).
// out = the quintic Newton-Schulz approximation of the orthogonal factor of G after `steps`
// steps (steps = 0: G / (||G||_F + eps)). The workspace must have been reserved for at least
// this shape.
template <class T>
void newton_schulz(const T* G, std::size_t rows, std::size_t cols, T* out, int steps,
                   NewtonSchulzCoefficients k, double eps, NewtonSchulzWorkspace<T>& ws) {
  const std::size_t size = rows * cols, n = std::min(rows, cols);
  if (steps < 0) throw std::invalid_argument("newton_schulz: steps must be >= 0");
  if (!ws.fits(rows, cols))
    throw std::invalid_argument("newton_schulz: the workspace is not reserved for a [" + std::to_string(rows) +
                                ", " + std::to_string(cols) + "] matrix");
  if (size == 0) return;
  const auto count = static_cast<Eigen::Index>(size);
  const double sq = ConstArrMap<T>(G, count).template cast<double>().square().sum();
  const T inv = static_cast<T>(1.0 / (std::sqrt(sq) + eps));
  ArrMap<T>(out, count) = ConstArrMap<T>(G, count) * inv;

  const auto r = static_cast<Eigen::Index>(rows), c = static_cast<Eigen::Index>(cols);
  const auto nn = static_cast<Eigen::Index>(n);
  const bool tall = rows > cols;
  const T ka = static_cast<T>(k.a), kb = static_cast<T>(k.b), kc = static_cast<T>(k.c);
  T* x = out;
  T* next = ws.next();
  T* A = ws.a();
  T* B = ws.b();
  auto& gemm = ws.gemm();
  for (int s = 0; s < steps; ++s) {
    if (tall) gemm.template run<true, false>(nn, nn, r, x, c, x, c, A, nn, false);   // A = X^T X
    else gemm.template run<false, true>(nn, nn, c, x, c, x, c, A, nn, false);        // A = X X^T
    gemm.template run<false, false>(nn, nn, nn, A, nn, A, nn, B, nn, false);          // B = A A
    ArrMap<T>(B, nn * nn) = kc * ArrMap<T>(B, nn * nn) + kb * ArrMap<T>(A, nn * nn);  // B = b A + c A A
    ArrMap<T>(next, count) = ka * ArrMap<T>(x, count);
    if (tall) gemm.template run<false, false>(r, c, c, x, c, B, nn, next, c, true);   // += X B
    else gemm.template run<false, false>(r, c, r, B, nn, x, c, next, c, true);        // += B X
    std::swap(x, next);
  }
  if (x != out) std::memcpy(out, x, sizeof(T) * size);
}

}  // namespace ctnn::kernels
