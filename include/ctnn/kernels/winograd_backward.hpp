#pragma once
// Winograd F(m x m, 3 x 3) backward: weight, bias and input gradients (see kernels/winograd.hpp
// for the transforms and the layout). Included by winograd.hpp.
#include <algorithm>
#include <cstddef>

#include "ctnn/kernels/winograd.hpp"

namespace ctnn::kernels {

namespace winograd {

// dy: `count` samples of [Cout, Ho, Wo], channel co  ->  tiles [aa][Cout][cols] of region mt:
// dMt = AT^T dY AT of each [m, m] output tile (positions past Ho, Wo are zero).
template <ConvGeometry G, std::size_t M, class T>
void output_grad_tiles(const T* dy, std::size_t count, std::size_t ncols, std::size_t co, T* planes, T* mt) {
  using S = WinogradShape<G, M>;
  constexpr std::size_t L = S::L, m = S::m;
  for (std::size_t s = 0; s < count; ++s) {
    const T* src = dy + s * G.out_size() + co * G.out_plane();
    for (std::size_t oy = 0; oy < G.ho; ++oy) std::copy_n(src + oy * G.wo, G.wo, planes + s * S::oplane + oy * S::ow);
  }
  alignas(64) T d[m * m * L], t[S::aa * L];  // ncols columns: zeros past the group's tiles
  for (std::size_t t0 = 0; t0 < ncols; t0 += L) {
    gather<S, m>(planes, t0, count, S::oplane, S::ow, d);
    Transforms<M>::output_adjoint(d, t);
    for (std::size_t xi = 0; xi < S::aa; ++xi) std::copy_n(t + xi * L, L, mt + (xi * G.cout + co) * S::cols + t0);
  }
}

// Tiles dV [aa][Cin][cols] of region v, channel ci  ->  dx: `count` samples of [Cin, H, W],
// channel ci, overwritten with the sum of the overlapping windows BT^T dV BT.
template <ConvGeometry G, std::size_t M, class T>
void input_grad_tiles(const T* v, std::size_t count, std::size_t ci, T* planes, T* dx) {
  using S = WinogradShape<G, M>;
  constexpr std::size_t L = S::L, a = S::a;
  std::fill(planes, planes + count * S::plane, T(0));
  const std::size_t valid = count * S::tiles;
  alignas(64) T dv[S::aa * L], dd[S::aa * L];
  for (std::size_t t0 = 0; t0 < valid; t0 += L) {
    for (std::size_t xi = 0; xi < S::aa; ++xi) std::copy_n(v + (xi * G.cin + ci) * S::cols + t0, L, dv + xi * L);
    Transforms<M>::input_adjoint(dv, dd);
    for (std::size_t l = 0; l < L && t0 + l < valid; ++l) {
      T* p = planes + tile_base<S>(t0 + l, count, S::plane, S::wp);
      for (std::size_t i = 0; i < a; ++i)
        for (std::size_t j = 0; j < a; ++j) p[i * S::wp + j] += dd[(i * a + j) * L + l];
    }
  }
  for (std::size_t s = 0; s < count; ++s) {
    T* dst = dx + s * G.in_size() + ci * G.h * G.w;
    for (std::size_t y = 0; y < G.h; ++y)
      std::copy_n(planes + s * S::plane + (y + G.pad) * S::wp + G.pad, G.w, dst + y * G.w);
  }
}

// dU: [a*a][Cout, Cin]  ->  dw: [Cout, Cin, 3, 3] += G^T dU G; parallel over Cout.
template <ConvGeometry G, std::size_t M, class T>
void filter_grad(const T* du, T* dw) {
  using S = WinogradShape<G, M>;
  constexpr std::size_t L = S::L;
#pragma omp parallel for schedule(static)
  for (std::size_t co = 0; co < G.cout; ++co) {
    alignas(64) T t[S::aa * L], g[9 * L];
    for (std::size_t ci0 = 0; ci0 < G.cin; ci0 += L) {
      const std::size_t nl = std::min(L, G.cin - ci0);
      for (std::size_t xi = 0; xi < S::aa; ++xi)
        for (std::size_t l = 0; l < L; ++l) t[xi * L + l] = l < nl ? du[(xi * G.cout + co) * G.cin + ci0 + l] : T(0);
      Transforms<M>::filter_adjoint(t, g);
      for (std::size_t l = 0; l < nl; ++l)
        for (std::size_t k = 0; k < 9; ++k) dw[(co * G.cin + ci0 + l) * 9 + k] += g[k * L + l];
    }
  }
}

}  // namespace winograd

// Gradients with conv2d_backward's contract: dweight [Cout, Cin, 3, 3] and dbias [Cout]
// accumulate (+=), dx (if not null) is overwritten. u: WinogradShape::filter_buffer; scratch:
// num_threads() * WinogradShape::scratch; partials: `slots` * WinogradShape::partial.
template <ConvGeometry G, std::size_t M, class T>
void winograd_backward(const T* x, const T* w, const T* dy, T* dx, T* dweight, T* dbias, std::size_t n, T* u,
                       T* scratch, T* partials, ConvThreadPlans<T>* plans, std::size_t slots) {
  static_assert(winograd_applies<G>);
  using S = WinogradShape<G, M>;
  if (dx) winograd_filter<G, M>(w, u);
  const auto groups = S::groups(n, slots);
  const std::size_t ncols = S::gemm_cols(groups.size);
  const auto N = static_cast<Eigen::Index>(ncols);
  const bool packed = dx && winograd::pack_filter<S, true>(u, plans[0].input_grad, N);
  constexpr Eigen::Index Co = S::Co, Ci = S::Ci, ld = S::ld;
#pragma omp parallel
  {
    const int tid = thread_id();
    winograd::Regions<G, M, T> r(scratch, tid);
    ConvThreadPlans<T>& plan = plans[tid];
#pragma omp for schedule(static)
    for (std::size_t slot = 0; slot < slots; ++slot) {
      T* du = partials + slot * S::partial;
      T* db = du + S::filter;
      std::fill(du, du + S::partial, T(0));
      for (std::size_t grp = slot * groups.count / slots; grp < (slot + 1) * groups.count / slots; ++grp) {
        const std::size_t first = grp * groups.size, count = std::min(groups.size, n - first);
        const T* dyg = dy + first * G.out_size();
        r.input(x, first, count, ncols);
        for (std::size_t co = 0; co < G.cout; ++co)
          winograd::output_grad_tiles<G, M>(dyg, count, ncols, co, r.dy, r.mt);
        for (std::size_t s = 0; s < count; ++s)
          for (std::size_t co = 0; co < G.cout; ++co) {
            const T* p = dyg + s * G.out_size() + co * G.out_plane();
            T sum = 0;
            for (std::size_t i = 0; i < G.out_plane(); ++i) sum += p[i];
            db[co] += sum;
          }
        // dU[xi][Co, Ci] += dMt[xi][Co, N] * V[xi][Ci, N]^T
        for (std::size_t xi = 0; xi < S::aa; ++xi)
          plan.weight_grad.template run<false, true>(Co, Ci, N, r.mt + xi * G.cout * S::cols, ld,
                                                     r.v + xi * G.cin * S::cols, ld, du + xi * G.cout * G.cin, Ci,
                                                     true);
        if (!dx) continue;
        // dV[xi][Ci, N] = U[xi][Co, Ci]^T * dMt[xi][Co, N], into V's region
        for (std::size_t xi = 0; xi < S::aa; ++xi)
          winograd::filter_gemm<S, true>(plan.input_grad, packed, u, xi, N, r.mt + xi * G.cout * S::cols,
                                         r.v + xi * G.cin * S::cols);
        for (std::size_t c = 0; c < G.cin; ++c)
          winograd::input_grad_tiles<G, M>(r.v, count, c, r.out, dx + first * G.in_size());
      }
    }
  }
  // Sum the partials in slot order (into slot 0), then transform back to the 3x3 filters.
  const std::size_t chunks = (S::partial + 4095) / 4096;
#pragma omp parallel for schedule(static)
  for (std::size_t k = 0; k < chunks; ++k) {
    const std::size_t lo = k * 4096, hi = std::min(S::partial, lo + 4096);
    for (std::size_t s = 1; s < slots; ++s)
      for (std::size_t i = lo; i < hi; ++i) partials[i] += partials[s * S::partial + i];
  }
  winograd::filter_grad<G, M>(partials, dweight);
  for (std::size_t co = 0; co < G.cout; ++co) dbias[co] += partials[S::filter + co];
}

}  // namespace ctnn::kernels
