#pragma once
// 3x3 stride-1 convolutions (any zero padding) by Winograd F(m x m, 3 x 3), m = 2 or 4, in all
// three passes, with PyTorch Conv2d semantics like kernels/conv.hpp (whose results these match
// to the error bound in docs/winograd.md). For a group of S samples (S * tiles = about 256 tiles,
// so the GEMMs are wide), with a = m + 2 and T the group's tile count rounded up to kLanes:
//   U  [a*a][Cout, Cin]  = G w G^T           filter transform, once per call (winograd_filter)
//   V  [a*a][Cin,  T]    = BT d BT^T         input tiles d [a, a], overlapping by 2
//   Mt [a*a][Cout, T]    = U[xi] * V[xi]     a*a GEMMs (GemmPlan: ctnn's packed kernel or Eigen)
//   y  tiles [m, m]      = AT Mt AT^T + bias
// Backward, per group: dMt = AT^T dy AT; dU[xi] += dMt[xi] * V[xi]^T (weight gradient);
// dV[xi] = U[xi]^T * dMt[xi], dx = sum of the overlapping tiles BT^T dV BT (input gradient);
// finally dw += G^T dU G (kernels/winograd_backward.hpp). These are the exact adjoints of the forward's linear maps.
// Where the GEMMs run on ctnn's packed kernel, U (U^T for dV) is packed into its panels once per call
// (winograd::pack_filter), not once per group, and the forward's input transform writes V straight in
// the kernel's B layout (v_offset): the same products in the same order, so the same bits.
// The weight gradient is summed in `slots` fixed partials as in conv2d_backward, so the result
// depends on the slot count (the width), not on the active thread count.
#include <algorithm>
#include <cstddef>
#include <cstring>

#include "ctnn/core/threads.hpp"
#include "ctnn/kernels/conv.hpp"
#include "ctnn/kernels/winograd_transform.hpp"

namespace ctnn::kernels {

template <ConvGeometry G>
inline constexpr bool winograd_applies = G.k == 3 && G.stride == 1 && G.ho > 0 && G.wo > 0;

// Compile-time sizes of F(M x M, 3 x 3) on geometry G; all region sizes are multiples of kLanes
// floats, so every region of the 64-byte aligned scratch starts aligned.
template <ConvGeometry G, std::size_t M>
struct WinogradShape {
  static constexpr std::size_t L = winograd::kLanes;
  static constexpr std::size_t m = M, a = M + 2, aa = a * a;
  static constexpr std::size_t th = (G.ho + m - 1) / m, tw = (G.wo + m - 1) / m, tiles = th * tw;
  static constexpr std::size_t samples = std::clamp<std::size_t>(256 / tiles, 1, 64);
  static constexpr std::size_t round(std::size_t x) { return (x + L - 1) / L * L; }
  static constexpr std::size_t round64(std::size_t x) { return (x + 63) / 64 * 64; }
  static constexpr std::size_t cols = round64(samples * tiles);  // T
  // A batch's groups: `size` samples each (the last may hold fewer), `count` of them.
  struct Groups {
    std::size_t size, count;
  };
  // How a batch of n is cut for `width` slots (threads). By default groups of `samples`; but a
  // group's GEMMs are as wide as its size rounded up to 64 columns however few samples it holds,
  // and the slots take the groups in rounds, so when n / samples is not a multiple of the width
  // (FER2013's 6x6 planes at batch 64: one group of 64, one slot idle), or the last group is
  // mostly empty, smaller groups cost fewer column-rounds. The smaller size is taken only when
  // it saves at least a tenth of them (rounds x columns), so batches that divide well keep their
  // groups (and their results bit for bit).
  static constexpr Groups groups(std::size_t n, std::size_t width) {
    const std::size_t w = std::max<std::size_t>(width, 1);
    const auto count = [n](std::size_t g) { return (n + g - 1) / g; };
    const auto rounds = [&](std::size_t g) { return (count(g) + w - 1) / w; };
    const std::size_t base = rounds(samples) * cols;
    std::size_t best = samples, best_cost = base;
    for (std::size_t r = 1; r <= rounds(samples); ++r) {
      const std::size_t g = std::min(samples, std::max<std::size_t>(1, (n + w * r - 1) / (w * r)));
      const std::size_t cost = rounds(g) * round64(g * tiles);
      if (cost < best_cost) best = g, best_cost = cost;
    }
    const std::size_t g = 10 * best_cost <= 9 * base ? best : samples;
    return {g, count(g)};
  }
  // The GEMMs' N for groups of `size` samples: the group's tiles rounded up to 64, the columns
  // past them zero. Every group of a batch, the last too, runs GEMMs of that size: whichever
  // thread's slot takes it, its GEMM plan has met that size and allocates nothing. The cost: a
  // partial last group computes a full one.
  static constexpr std::size_t gemm_cols(std::size_t size) { return round64(size * tiles); }
  // Zero-padded input planes: the input at offset (pad, pad), zeros around, so every tile's
  // [a, a] window is in the plane; plane `samples` is all zeros, for the lanes past the group.
  static constexpr std::size_t hp = th * m + 2, wp = tw * m + 2, plane = hp * wp;
  static constexpr std::size_t oh = th * m, ow = tw * m, oplane = oh * ow;  // output tiles' cover
  static constexpr std::size_t in_planes = round((samples + 1) * plane);
  static constexpr std::size_t dy_planes = round((samples + 1) * oplane);
  static constexpr std::size_t out_planes = round(samples * plane);
  static constexpr std::size_t v_size = aa * G.cin * cols, mt_size = aa * G.cout * cols;
  static constexpr std::size_t scratch = in_planes + dy_planes + out_planes + v_size + mt_size;
  static constexpr std::size_t filter = aa * G.cout * G.cin;  // U
  // U's matrices packed once per call for ctnn's packed kernel (winograd::pack_filter), the forward's
  // U[xi] [Cout, Cin] or the input gradient's U[xi]^T [Cin, Cout], one every packed_u floats after U.
  static constexpr std::size_t mr = 6;  // packed::kMR
  static constexpr std::size_t packed_u =
      round(std::max((G.cout + mr - 1) / mr * mr * G.cin, (G.cin + mr - 1) / mr * mr * G.cout));
  static constexpr std::size_t filter_buffer = filter + aa * packed_u;  // what u must hold
  static constexpr std::size_t partial = filter + G.cout;     // one slot's dU and dbias
  static constexpr Eigen::Index Co = G.cout, Ci = G.cin, ld = cols;  // the GEMMs' sizes
};

namespace winograd {

// Where lane tile t of a group of `count` samples starts in a stack of planes of width `width`,
// `plane` apart, tiles m apart; tiles past the group read plane S::samples.
template <class S>
inline std::size_t tile_base(std::size_t t, std::size_t count, std::size_t plane, std::size_t width) {
  const std::size_t s = t / S::tiles, r = t % S::tiles;
  return (s < count ? s : S::samples) * plane + (r / S::tw) * S::m * width + (r % S::tw) * S::m;
}

// d [K][K][kLanes] = the K x K windows of lane tiles t0 .. t0 + kLanes - 1 (tile_base's arguments).
template <class S, std::size_t K, class T>
void gather(const T* planes, std::size_t t0, std::size_t count, std::size_t plane, std::size_t width, T* d) {
  for (std::size_t l = 0; l < S::L; ++l) {
    const T* p = planes + tile_base<S>(t0 + l, count, plane, width);
    for (std::size_t i = 0; i < K; ++i)
      for (std::size_t j = 0; j < K; ++j) d[(i * K + j) * S::L + l] = p[i * width + j];
  }
}

// Where element (c, t) of each V[xi] lies in its matrix: row-major [Cin][cols]; or, `packed`, where ctnn's
// packed kernel reads its op(B) of N = ncols columns (packed::PackedGemm::packed_b_offset), so the
// forward's GEMMs need not copy V into panels. A run of kLanes columns from t (a multiple of kLanes) is
// contiguous either way.
template <class S>
inline std::size_t v_offset(bool packed, std::size_t c, std::size_t t, std::size_t ncols) {
#if defined(__AVX512F__)
  using packed::Index;
  if (packed)
    return static_cast<std::size_t>(packed::PackedGemm::packed_b_offset(static_cast<Index>(c), static_cast<Index>(t),
                                                                        S::Ci, static_cast<Index>(ncols)));
#endif
  (void)packed, (void)ncols;
  return c * S::cols + t;
}

// src: `count` samples of [C, H, W] planes (sample stride `stride`), channel c  ->
// tiles [aa][C][ncols] of region v (v_offset's layout): V = BT d BT^T of each [a, a] window.
template <ConvGeometry G, std::size_t M, class T>
void input_tiles(const T* src, std::size_t count, std::size_t ncols, std::size_t c, std::size_t channels,
                 std::size_t h, std::size_t w, std::size_t pad, T* planes, T* v, bool packed) {
  using S = WinogradShape<G, M>;
  constexpr std::size_t L = S::L, a = S::a;
  for (std::size_t s = 0; s < count; ++s) {
    const T* xc = src + (s * channels + c) * h * w;
    for (std::size_t y = 0; y < h; ++y)
      std::copy_n(xc + y * w, w, planes + s * S::plane + (y + pad) * S::wp + pad);
  }
  alignas(64) T d[a * a * L], u[a * a * L];  // the ncols - count * tiles columns past the group's tiles are zeros
  for (std::size_t t0 = 0; t0 < ncols; t0 += L) {
    gather<S, a>(planes, t0, count, S::plane, S::wp, d);
    Transforms<M>::input(d, u);
    T* dst = v + v_offset<S>(packed, c, t0, ncols);
    for (std::size_t xi = 0; xi < S::aa; ++xi) std::copy_n(u + xi * L, L, dst + xi * channels * S::cols);
  }
}

// U [aa][Cout, Cin] (at u)  ->  packed::PackedGemm::pack_a_all of each U[xi] (Trans: of U[xi]^T),
// at u + S::filter, when `plan` runs the GEMMs U[xi] * V (U[xi]^T * dMt) of N columns on ctnn's packed
// kernel; they then run on these (GemmPlan::run_packed_a) instead of packing U once per group. Returns
// whether it packed (else the GEMMs pack as usual). Parallel over xi.
template <class S, bool Trans, class T>
bool pack_filter(T* u, const GemmPlan<T>& plan, Eigen::Index N) {
  const Eigen::Index M = Trans ? S::Ci : S::Co, K = Trans ? S::Co : S::Ci;
#if defined(__AVX512F__)
  if constexpr (packed_gemm_available<T>) {
    if (!plan.takes_packed_fp32(M, N, K)) return false;
    static_assert(S::mr == packed::kMR);
#pragma omp parallel for schedule(static)
    for (std::size_t xi = 0; xi < S::aa; ++xi)
      packed::PackedGemm::pack_a_all<Trans>(u + xi * S::filter / S::aa, S::Ci, M, K, u + S::filter + xi * S::packed_u);
    return true;
  }
#endif
  (void)u, (void)plan, (void)M, (void)K, (void)N;
  return false;
}

// C [M, N] = op(U[xi]) * B [K, N] (ldb = ldc = S::ld) by `plan`: on U[xi] packed by pack_filter when
// `packed` (and then, in the forward, B = V[xi] laid out by v_offset), else U[xi] itself (at u + xi * M * K).
template <class S, bool Trans, class T>
void filter_gemm(GemmPlan<T>& plan, bool packed, const T* u, std::size_t xi, Eigen::Index N, const T* B, T* C) {
  const Eigen::Index M = Trans ? S::Ci : S::Co, K = Trans ? S::Co : S::Ci;
#if defined(__AVX512F__)
  if constexpr (packed_gemm_available<T>) {
    if (packed) {
      const T* up = u + S::filter + xi * S::packed_u;
      if constexpr (Trans)
        plan.template run_packed_a<false>(M, N, K, up, B, S::ld, C, S::ld, false);
      else
        plan.run_packed_ab(M, N, K, up, B, C, S::ld, false);
      return;
    }
  }
#endif
  (void)packed;
  plan.template run<Trans, false>(M, N, K, u + xi * S::filter / S::aa, S::Ci, B, S::ld, C, S::ld, false);
}

// Thread `tid`'s part of the scratch, cut into its regions; the padding of the input and dy
// planes and their zero planes are zeroed here (their interiors are overwritten per channel).
template <ConvGeometry G, std::size_t M, class T>
struct Regions {
  using S = WinogradShape<G, M>;
  T *in, *dy, *out, *v, *mt;
  Regions(T* scratch, int tid)
      : in(scratch + static_cast<std::size_t>(tid) * S::scratch),
        dy(in + S::in_planes),
        out(dy + S::dy_planes),
        v(out + S::out_planes),
        mt(v + S::v_size) {
    std::fill(in, in + S::in_planes + S::dy_planes, T(0));
  }
  // V of samples [first, first + count) of x [N, Cin, H, W], every channel, ncols columns (packed:
  // in the packed kernel's layout, v_offset).
  void input(const T* x, std::size_t first, std::size_t count, std::size_t ncols, bool packed = false) {
    for (std::size_t c = 0; c < G.cin; ++c)
      input_tiles<G, M>(x + first * G.in_size(), count, ncols, c, G.cin, G.h, G.w, G.pad, in, v, packed);
  }
};

}  // namespace winograd

// w: [Cout, Cin, 3, 3]  ->  u: [a*a][Cout, Cin]; parallel over Cout.
template <ConvGeometry G, std::size_t M, class T>
void winograd_filter(const T* w, T* u) {
  using S = WinogradShape<G, M>;
  constexpr std::size_t L = S::L, a = S::a;
#pragma omp parallel for schedule(static)
  for (std::size_t co = 0; co < G.cout; ++co) {
    alignas(64) T g[9 * L], t[a * a * L];
    for (std::size_t ci0 = 0; ci0 < G.cin; ci0 += L) {
      const std::size_t nl = std::min(L, G.cin - ci0);
      for (std::size_t l = 0; l < L; ++l)
        for (std::size_t k = 0; k < 9; ++k) g[k * L + l] = l < nl ? w[(co * G.cin + ci0 + l) * 9 + k] : T(0);
      winograd::Transforms<M>::filter(g, t);
      for (std::size_t xi = 0; xi < S::aa; ++xi) std::copy_n(t + xi * L, nl, u + (xi * G.cout + co) * G.cin + ci0);
    }
  }
}

// x: [N, Cin, H, W], w: [Cout, Cin, 3, 3], bias: [Cout]  ->  y: [N, Cout, Ho, Wo], then the epilogue
// (kernels/conv.hpp; with Relu) for inference.
// u: WinogradShape::filter_buffer; scratch: num_threads() * WinogradShape::scratch; plans: one per thread.
template <ConvGeometry G, std::size_t M, bool Relu = false, class T>
void winograd_forward(const T* x, const T* w, const T* bias, T* y, std::size_t n, T* u, T* scratch,
                      ConvThreadPlans<T>* plans, const ConvEpilogue<T>& epi = {}) {
  static_assert(winograd_applies<G>);
  using S = WinogradShape<G, M>;
  constexpr std::size_t L = S::L, a = S::a, m = S::m;
  winograd_filter<G, M>(w, u);
  const auto groups = S::groups(n, static_cast<std::size_t>(thread_width()));
  const std::size_t ncols = S::gemm_cols(groups.size);
  const auto N = static_cast<Eigen::Index>(ncols);
  const bool packed = winograd::pack_filter<S, false>(u, plans[0].forward, N);
#pragma omp parallel
  {
    const int tid = thread_id();
    winograd::Regions<G, M, T> r(scratch, tid);
#pragma omp for schedule(static)
    for (std::size_t grp = 0; grp < groups.count; ++grp) {
      const std::size_t first = grp * groups.size, count = std::min(groups.size, n - first);
      r.input(x, first, count, ncols, packed);
      for (std::size_t xi = 0; xi < S::aa; ++xi)
        winograd::filter_gemm<S, false>(plans[tid].forward, packed, u, xi, N, r.v + xi * G.cin * S::cols,
                                        r.mt + xi * G.cout * S::cols);
      alignas(64) T mt[a * a * L], yt[m * m * L];
      for (std::size_t co = 0; co < G.cout; ++co) {
        for (std::size_t t0 = 0; t0 < ncols; t0 += L) {
          for (std::size_t xi = 0; xi < S::aa; ++xi) std::copy_n(r.mt + (xi * G.cout + co) * S::cols + t0, L, mt + xi * L);
          winograd::Transforms<M>::output(mt, yt);
          for (std::size_t l = 0; l < L && t0 + l < count * S::tiles; ++l) {
            T* p = r.out + winograd::tile_base<S>(t0 + l, count, S::oplane, S::ow);
            for (std::size_t i = 0; i < m; ++i)
              for (std::size_t j = 0; j < m; ++j) p[i * S::ow + j] = yt[(i * m + j) * L + l];
          }
        }
        for (std::size_t s = 0; s < count; ++s) {
          T* dst = y + (first + s) * G.out_size() + co * G.out_plane();
          const T* src = r.out + s * S::oplane;
          for (std::size_t oy = 0; oy < G.ho; ++oy)
            for (std::size_t ox = 0; ox < G.wo; ++ox) dst[oy * G.wo + ox] = src[oy * S::ow + ox] + bias[co];
          epi.template apply<Relu>(dst, G.out_plane(), co);
        }
      }
    }
  }
}

}  // namespace ctnn::kernels
