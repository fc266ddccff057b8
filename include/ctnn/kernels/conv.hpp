#pragma once
// 2-D convolution as im2col + GEMM, parallel over the batch.
// PyTorch Conv2d semantics: zero padding, floor output size, weight [Cout, Cin, K, K].
#include <algorithm>
#include <cstddef>
#include <cstring>

#include "ctnn/core/threads.hpp"
#include "ctnn/kernels/eigen.hpp"
#include "ctnn/kernels/gemm.hpp"
#include "ctnn/kernels/pool.hpp"

namespace ctnn::kernels {

struct ConvGeometry {
  std::size_t cin, cout, k, stride, pad, h, w, ho, wo;
  constexpr std::size_t in_size() const { return cin * h * w; }
  constexpr std::size_t out_size() const { return cout * ho * wo; }
  constexpr std::size_t patch() const { return cin * k * k; }     // rows of col
  constexpr std::size_t out_plane() const { return ho * wo; }     // columns of col
  constexpr std::size_t col_size() const { return patch() * out_plane(); }
  constexpr std::size_t weight_size() const { return cout * patch(); }
  // A 1x1, stride-1, unpadded conv reads its input directly as the col matrix.
  constexpr bool is_pointwise() const { return k == 1 && stride == 1 && pad == 0; }
};

// x: [Cin, H, W] one sample  ->  col: [Cin*K*K, Ho*Wo]
template <class T>
void im2col(const T* x, const ConvGeometry& g, T* col) {
  const std::size_t plane = g.out_plane();
  for (std::size_t c = 0; c < g.cin; ++c) {
    const T* xc = x + c * g.h * g.w;
    for (std::size_t ky = 0; ky < g.k; ++ky) {
      for (std::size_t kx = 0; kx < g.k; ++kx) {
        T* row = col + ((c * g.k + ky) * g.k + kx) * plane;
        for (std::size_t oy = 0; oy < g.ho; ++oy) {
          const long iy = static_cast<long>(oy * g.stride + ky) - static_cast<long>(g.pad);
          T* out = row + oy * g.wo;
          if (iy < 0 || iy >= static_cast<long>(g.h)) {
            std::fill(out, out + g.wo, T(0));
            continue;
          }
          const T* xrow = xc + static_cast<std::size_t>(iy) * g.w;
          const long x0 = static_cast<long>(kx) - static_cast<long>(g.pad);
          if (g.stride == 1) {
            // Contiguous run: zero the padded edges, copy the middle.
            const long lo = std::max<long>(0, -x0);
            const long hi = std::min<long>(static_cast<long>(g.wo), static_cast<long>(g.w) - x0);
            for (long ox = 0; ox < lo; ++ox) out[ox] = T(0);
            if (hi > lo) std::memcpy(out + lo, xrow + (x0 + lo), sizeof(T) * static_cast<std::size_t>(hi - lo));
            for (long ox = std::max(hi, lo); ox < static_cast<long>(g.wo); ++ox) out[ox] = T(0);
          } else {
            for (std::size_t ox = 0; ox < g.wo; ++ox) {
              const long ix = static_cast<long>(ox * g.stride) + x0;
              out[ox] = (ix < 0 || ix >= static_cast<long>(g.w)) ? T(0) : xrow[ix];
            }
          }
        }
      }
    }
  }
}

// col: [Cin*K*K, Ho*Wo]  ->  dx: [Cin, H, W], overwritten (the adjoint of im2col).
template <class T>
void col2im(const T* col, const ConvGeometry& g, T* dx) {
  std::fill(dx, dx + g.in_size(), T(0));
  const std::size_t plane = g.out_plane();
  for (std::size_t c = 0; c < g.cin; ++c) {
    T* dxc = dx + c * g.h * g.w;
    for (std::size_t ky = 0; ky < g.k; ++ky) {
      for (std::size_t kx = 0; kx < g.k; ++kx) {
        const T* row = col + ((c * g.k + ky) * g.k + kx) * plane;
        for (std::size_t oy = 0; oy < g.ho; ++oy) {
          const long iy = static_cast<long>(oy * g.stride + ky) - static_cast<long>(g.pad);
          if (iy < 0 || iy >= static_cast<long>(g.h)) continue;
          T* dxrow = dxc + static_cast<std::size_t>(iy) * g.w;
          const T* in = row + oy * g.wo;
          const long x0 = static_cast<long>(kx) - static_cast<long>(g.pad);
          if (g.stride == 1) {
            const long lo = std::max<long>(0, -x0);
            const long hi = std::min<long>(static_cast<long>(g.wo), static_cast<long>(g.w) - x0);
            for (long ox = lo; ox < hi; ++ox) dxrow[ox + x0] += in[ox];
          } else {
            for (std::size_t ox = 0; ox < g.wo; ++ox) {
              const long ix = static_cast<long>(ox * g.stride) + x0;
              if (ix >= 0 && ix < static_cast<long>(g.w)) dxrow[ix] += in[ox];
            }
          }
        }
      }
    }
  }
}

// The same two transforms with the geometry fixed at compile time, as every Conv layer has it:
// each channel is first copied into a zero-padded plane on the stack, so every row of col is a
// straight copy (or, for col2im, add) of Wo values with constant trip counts that the compiler
// vectorises, and no bounds are tested per element. Planes too large for the stack fall back to
// the run-time versions above.
template <ConvGeometry G>
inline constexpr bool padded_plane_fits = (G.h + 2 * G.pad) * (G.w + 2 * G.pad) <= 16384;

// `ld` is the distance between rows of col: Ho*Wo for one sample, more when several samples'
// columns sit side by side (see samples_per_gemm).
template <ConvGeometry G, class T>
void im2col(const T* x, T* col, std::size_t ld = G.ho * G.wo) {
  if constexpr (!padded_plane_fits<G>) {
    im2col(x, G, col);
  } else {
    constexpr std::size_t Hp = G.h + 2 * G.pad, Wp = G.w + 2 * G.pad;
    const std::size_t plane = ld;
    alignas(64) T padded[Hp * Wp];
    std::fill(padded, padded + Hp * Wp, T(0));
    for (std::size_t c = 0; c < G.cin; ++c) {
      const T* xc = x + c * G.h * G.w;
      for (std::size_t y = 0; y < G.h; ++y)
        std::copy(xc + y * G.w, xc + (y + 1) * G.w, padded + (y + G.pad) * Wp + G.pad);
      for (std::size_t ky = 0; ky < G.k; ++ky)
        for (std::size_t kx = 0; kx < G.k; ++kx) {
          T* row = col + ((c * G.k + ky) * G.k + kx) * plane;
          for (std::size_t oy = 0; oy < G.ho; ++oy) {
            const T* src = padded + (oy * G.stride + ky) * Wp + kx;
            T* dst = row + oy * G.wo;
            for (std::size_t ox = 0; ox < G.wo; ++ox) dst[ox] = src[ox * G.stride];
          }
        }
    }
  }
}

template <ConvGeometry G, class T>
void col2im(const T* col, T* dx, std::size_t ld = G.ho * G.wo) {
  if constexpr (!padded_plane_fits<G>) {
    col2im(col, G, dx);
  } else {
    constexpr std::size_t Hp = G.h + 2 * G.pad, Wp = G.w + 2 * G.pad;
    const std::size_t plane = ld;
    alignas(64) T padded[Hp * Wp];
    for (std::size_t c = 0; c < G.cin; ++c) {
      std::fill(padded, padded + Hp * Wp, T(0));
      for (std::size_t ky = 0; ky < G.k; ++ky)
        for (std::size_t kx = 0; kx < G.k; ++kx) {
          const T* row = col + ((c * G.k + ky) * G.k + kx) * plane;
          for (std::size_t oy = 0; oy < G.ho; ++oy) {
            T* dst = padded + (oy * G.stride + ky) * Wp + kx;
            const T* src = row + oy * G.wo;
            for (std::size_t ox = 0; ox < G.wo; ++ox) dst[ox * G.stride] += src[ox];
          }
        }
      T* dxc = dx + c * G.h * G.w;
      for (std::size_t y = 0; y < G.h; ++y)
        std::copy(padded + (y + G.pad) * Wp + G.pad, padded + (y + G.pad) * Wp + G.pad + G.w, dxc + y * G.w);
    }
  }
}

// One thread's GEMM plans: blocking workspaces kept across calls so steady-state steps allocate nothing.
template <class T>
struct ConvThreadPlans {
  GemmPlan<T> forward, weight_grad, input_grad;
};

// Small output planes (8x8, 4x4) make a per-sample GEMM too narrow to run fast (N = Ho*Wo), so
// such layers put several samples' columns side by side: col [P, S*Ho*Wo], one GEMM for S
// samples, and the outputs are copied back to NCHW through a staging block. S = 256 / (Ho*Wo),
// at most 32, so that N is close to 256 and fills the packed kernels' 64-wide panels (a 3x3
// plane: S = 28, N = 252; with the earlier cap of 16, N = 144 used 75 % of the lanes, so
// use_packed_gemm sent it to Eigen, in bf16 too).
// (samples_per_plane: the rule on the output plane's size alone, for benchmarks that time these GEMMs.)
inline constexpr std::size_t samples_per_plane(std::size_t out_plane) {
  return out_plane >= 128 ? 1 : std::min<std::size_t>(32, 256 / out_plane);
}
template <ConvGeometry G>
inline constexpr std::size_t samples_per_gemm = padded_plane_fits<G> ? samples_per_plane(G.ho * G.wo) : 1;

// Scratch each thread needs: S samples' col, plus the [Cout, S*Ho*Wo] staging block (used when S > 1,
// and by the inference forward that pools in its epilogue).
template <ConvGeometry G>
inline constexpr std::size_t conv_scratch_per_thread = samples_per_gemm<G> * (G.col_size() + G.out_size());

// What the inference forward applies to each output after the bias, in the pass that writes it: the
// per-channel affine v = scale[c] * v + shift[c] of a BatchNorm in eval mode (none when scale is null),
// then max(0, v) with Relu. apply() runs it over `len` values of channel c.
template <class T>
struct ConvEpilogue {
  const T* scale = nullptr;
  const T* shift = nullptr;
  template <bool Relu>
  void apply(T* v, std::size_t len, std::size_t c) const {
    if (scale) {
      const T a = scale[c], s = shift[c];
      for (std::size_t i = 0; i < len; ++i) {
        const T t = a * v[i] + s;
        v[i] = Relu ? std::max(t, T(0)) : t;
      }
    } else if constexpr (Relu) {
      for (std::size_t i = 0; i < len; ++i) v[i] = std::max(v[i], T(0));
    }
  }
};

// The output of one sample: [Cout, Ho, Wo], or [Cout, Ho/2, Wo/2] when a 2x2 max pool is fused.
template <ConvGeometry G, bool Pool>
inline constexpr std::size_t conv_out_sample = Pool ? G.cout * (G.ho / 2) * (G.wo / 2) : G.out_size();

namespace detail {
// The col matrix of sample group `grp` (S samples side by side when S > 1): [P, count * Ho*Wo], built
// in ws (a pointwise conv with S = 1 reads x itself).
template <ConvGeometry g, class T>
const T* group_cols(const T* x, std::size_t grp, std::size_t n, T* ws) {
  constexpr std::size_t S = samples_per_gemm<g>;
  const std::size_t first = grp * S, count = std::min(S, n - first);
  if constexpr (S == 1 && g.is_pointwise()) return x + first * g.in_size();
  const std::size_t ld = count * g.out_plane();
  for (std::size_t j = 0; j < count; ++j) im2col<g>(x + (first + j) * g.in_size(), ws + j * g.out_plane(), ld);
  return ws;
}

// Rows [r0, r1) of c (leading dimension ld, `cols` wide) set to their channel's bias: the GEMM then
// adds W * col to it (accumulate), which spares the zeroing pass and the bias pass after it.
template <class T>
void fill_bias_rows(T* c, std::size_t ld, std::size_t cols, const T* bias, std::size_t r0, std::size_t r1) {
  for (std::size_t co = r0; co < r1; ++co) std::fill_n(c + (co - r0) * ld, cols, bias[co]);
}

// Output channels [r0, r1) of sample group `grp` from its col matrix: y = W[r0:r1] * col + bias, then the
// epilogue (with Relu), through the staging block ws + S * col_size() when S > 1 or Pool. Pool: the
// 2x2, stride-2 max pool of that (kernels/pool.hpp) is what is written, [Cout, Ho/2, Wo/2] a sample.
template <ConvGeometry g, bool Relu, bool Pool, class T>
void group_rows(const T* col, const T* weight, const T* bias, T* y, std::size_t grp, std::size_t n, std::size_t r0,
                std::size_t r1, T* ws, GemmPlan<T>& plan, const ConvEpilogue<T>& epi) {
  constexpr std::size_t S = samples_per_gemm<g>;
  constexpr std::size_t out_sample = conv_out_sample<g, Pool>, out_plane = out_sample / g.cout;
  const std::size_t first = grp * S, count = std::min(S, n - first);
  const auto P = static_cast<Eigen::Index>(g.patch());
  const auto rows = static_cast<Eigen::Index>(r1 - r0);
  const T* w = weight + r0 * g.patch();
  if constexpr (S == 1 && !Pool) {
    const auto HW = static_cast<Eigen::Index>(g.out_plane());
    T* yr = y + first * g.out_size() + r0 * g.out_plane();
    fill_bias_rows(yr, g.out_plane(), g.out_plane(), bias, r0, r1);
    plan.template run<false, false>(rows, HW, P, w, P, col, HW, yr, HW, true);
    for (std::size_t co = r0; co < r1; ++co) epi.template apply<Relu>(yr + (co - r0) * g.out_plane(), g.out_plane(), co);
  } else {
    const std::size_t ld = count * g.out_plane();
    const auto L = static_cast<Eigen::Index>(ld);
    T* stage = ws + S * g.col_size();
    fill_bias_rows(stage + r0 * ld, ld, ld, bias, r0, r1);
    plan.template run<false, false>(rows, L, P, w, P, col, L, stage + r0 * ld, L, true);
    for (std::size_t co = r0; co < r1; ++co) {
      T* row = stage + co * ld;
      if constexpr (Pool) {
        epi.template apply<false>(row, ld, co);  // the pool applies the ReLU, which commutes with it
        for (std::size_t j = 0; j < count; ++j)
          maxpool2x2_plane<Relu>(row + j * g.out_plane(), g.ho, g.wo, y + (first + j) * out_sample + co * out_plane);
      } else {
        epi.template apply<Relu>(row, ld, co);
        for (std::size_t j = 0; j < count; ++j)
          std::copy_n(row + j * g.out_plane(), g.out_plane(), y + (first + j) * out_sample + co * out_plane);
      }
    }
  }
}
}  // namespace detail

// x: [N, Cin, H, W], weight: [Cout, Cin*K*K], bias: [Cout]  ->  y: [N, Cout, Ho, Wo]; for inference, the
// epilogue applied (max(0, y) with Relu), and with Pool its 2x2 stride-2 max pool [N, Cout, Ho/2, Wo/2]
// scratch: num_threads() * conv_scratch_per_thread<g>; plans: one ConvThreadPlans per thread.
// Parallel over the sample groups; with fewer groups than thread_width() (a small batch: the latency
// of one image), each group's GEMM is cut instead into thread_width() fixed ranges of output channels
// on one shared col matrix. Either way each output is the same dot product, blocked over depth the same
// way (the GEMMs' depth blocking depends on K only), so the bits do not depend on the path or the team.
template <ConvGeometry g, bool Relu = false, bool Pool = false, class T>
void conv2d_forward(const T* x, const T* weight, const T* bias, T* y, std::size_t n, T* scratch,
                    ConvThreadPlans<T>* plans, const ConvEpilogue<T>& epi = {}) {
  constexpr std::size_t S = samples_per_gemm<g>;
  const std::size_t groups = (n + S - 1) / S;
  const auto width = static_cast<std::size_t>(thread_width());
  // Splitting pays from about 4 M multiply-adds per GEMM (measured at batch 1, 2 threads, quiet:
  // airbench 7.08 -> 4.63 ms, ResNet-9 20.8 -> 12.6 ms; the seed network's 1.2 M and 3.3 M convs went
  // 0.31 -> 0.39 ms, so they keep one thread).
  constexpr bool worth_splitting = g.weight_size() * g.out_plane() * S >= (std::size_t{1} << 22);
  if (!worth_splitting || groups >= width || g.cout < 2 * width) {
#pragma omp parallel for schedule(static)
    for (std::size_t grp = 0; grp < groups; ++grp) {
      const int tid = thread_id();
      T* ws = scratch + static_cast<std::size_t>(tid) * conv_scratch_per_thread<g>;
      detail::group_rows<g, Relu, Pool>(detail::group_cols<g>(x, grp, n, ws), weight, bias, y, grp, n, 0, g.cout, ws,
                                        plans[tid].forward, epi);
    }
    return;
  }
  for (std::size_t grp = 0; grp < groups; ++grp) {
    const T* col = detail::group_cols<g>(x, grp, n, scratch);
#pragma omp parallel for schedule(static)
    for (std::size_t part = 0; part < width; ++part)
      detail::group_rows<g, Relu, Pool>(col, weight, bias, y, grp, n, part * g.cout / width, (part + 1) * g.cout / width, scratch,
                                        plans[thread_id()].forward, epi);
  }
}

// Gradients: dweight, dbias accumulate (+=) like PyTorch's .grad; dx (if not null) is overwritten.
// scratch as for forward (one per thread of the team); dw_ws: `slots` * (weight_size() + cout)
// partial sums. The sample groups are cut into `slots` fixed consecutive ranges, each summed in
// order into its own partial, and the partials are added in slot order: the result depends on
// `slots` (the layer passes thread_width()) and not on how many threads share the slots or
// which thread takes which, so a ThreadGovernor may change the team between steps.
template <ConvGeometry g, class T>
void conv2d_backward(const T* x, const T* weight, const T* dy, T* dx, T* dweight, T* dbias, std::size_t n,
                     T* scratch, T* dw_ws, ConvThreadPlans<T>* plans, std::size_t slots) {
  constexpr std::size_t S = samples_per_gemm<g>;
  const auto P = static_cast<Eigen::Index>(g.patch());
  const auto HW = static_cast<Eigen::Index>(g.out_plane());
  const auto Co = static_cast<Eigen::Index>(g.cout);
  const std::size_t partial = g.weight_size() + g.cout;
  const std::size_t groups = (n + S - 1) / S;
#pragma omp parallel for schedule(static)
  for (std::size_t slot = 0; slot < slots; ++slot) {
    const int tid = thread_id();
    T* ws = scratch + static_cast<std::size_t>(tid) * conv_scratch_per_thread<g>;
    T* dwt = dw_ws + slot * partial;
    Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, 1>> dbt(dwt + g.weight_size(), Co);
    std::fill(dwt, dwt + partial, T(0));
    ConvThreadPlans<T>& plan = plans[tid];
    for (std::size_t grp = slot * groups / slots; grp < (slot + 1) * groups / slots; ++grp) {
      const std::size_t first = grp * S, count = std::min(S, n - first);
      if constexpr (S == 1) {
        const T* dyi = dy + first * g.out_size();
        const T* col = x + first * g.in_size();
        if constexpr (!g.is_pointwise()) {
          im2col<g>(x + first * g.in_size(), ws);
          col = ws;
        }
        // dW[Co, P] += dY[Co, HW] * col[P, HW]^T
        plan.weight_grad.template run<false, true>(Co, P, HW, dyi, HW, col, HW, dwt, P, true);
        dbt += ConstMatMap<T>(dyi, Co, HW).rowwise().sum();
        if (dx) {
          // dcol[P, HW] = W[Co, P]^T * dY[Co, HW], scattered back by col2im
          T* dcol = g.is_pointwise() ? dx + first * g.in_size() : ws;
          plan.input_grad.template run<true, false>(P, HW, Co, weight, P, dyi, HW, dcol, HW, false);
          if constexpr (!g.is_pointwise()) col2im<g>(ws, dx + first * g.in_size());
        }
      } else {
        const std::size_t ld = count * g.out_plane();
        const auto L = static_cast<Eigen::Index>(ld);
        T* col = ws;
        T* stage = ws + S * g.col_size();
        for (std::size_t j = 0; j < count; ++j) {
          im2col<g>(x + (first + j) * g.in_size(), col + j * g.out_plane(), ld);
          for (std::size_t co = 0; co < g.cout; ++co)
            std::copy_n(dy + (first + j) * g.out_size() + co * g.out_plane(), g.out_plane(),
                        stage + co * ld + j * g.out_plane());
        }
        plan.weight_grad.template run<false, true>(Co, P, L, stage, L, col, L, dwt, P, true);
        dbt += ConstMatMap<T>(stage, Co, L).rowwise().sum();
        if (dx) {
          plan.input_grad.template run<true, false>(P, L, Co, weight, P, stage, L, col, L, false);
          for (std::size_t j = 0; j < count; ++j) col2im<g>(col + j * g.out_plane(), dx + (first + j) * g.in_size(), ld);
        }
      }
    }
  }
  // Reduce the partials in slot order.
  ArrMap<T> dwb(dweight, static_cast<Eigen::Index>(g.weight_size()));
  ArrMap<T> dbb(dbias, Co);
  for (std::size_t s = 0; s < slots; ++s) {
    const T* part = dw_ws + s * partial;
    dwb += ConstArrMap<T>(part, static_cast<Eigen::Index>(g.weight_size()));
    dbb += ConstArrMap<T>(part + g.weight_size(), Co);
  }
}

}  // namespace ctnn::kernels
