#pragma once
// Grouped (and depthwise) 2-D convolution as direct loops: each output channel sees only its
// group's Cin/G input channels, so the im2col GEMM would be G small, thin products; for the
// depthwise case (G = Cin) a direct loop is also what does the least work.
// PyTorch Conv2d(groups=G) semantics: weight [Cout, Cin/G, K, K], zero padding, floor output size.
#include <algorithm>
#include <cstddef>

#include "ctnn/kernels/conv.hpp"

namespace ctnn::kernels {

// x: [N, Cin, H, W], weight: [Cout, Cin/G, K, K], bias: [Cout]  ->  y: [N, Cout, Ho, Wo]
template <class T>
void grouped_conv2d_forward(const T* x, const T* weight, const T* bias, T* y, std::size_t n, const ConvGeometry& g,
                            std::size_t groups) {
  const std::size_t cg = g.cin / groups, og = g.cout / groups, kk = g.k * g.k;
#pragma omp parallel for schedule(static)
  for (std::size_t no = 0; no < n * g.cout; ++no) {
    const std::size_t s = no / g.cout, o = no % g.cout;
    const T* xs = x + s * g.in_size() + (o / og) * cg * g.h * g.w;
    const T* wo = weight + o * cg * kk;
    T* yo = y + s * g.out_size() + o * g.out_plane();
    std::fill(yo, yo + g.out_plane(), bias[o]);
    for (std::size_t c = 0; c < cg; ++c)
      for (std::size_t ky = 0; ky < g.k; ++ky)
        for (std::size_t kx = 0; kx < g.k; ++kx) {
          const T wv = wo[(c * g.k + ky) * g.k + kx];
          for (std::size_t oy = 0; oy < g.ho; ++oy) {
            const std::ptrdiff_t iy = static_cast<std::ptrdiff_t>(oy * g.stride + ky) - static_cast<std::ptrdiff_t>(g.pad);
            if (iy < 0 || iy >= static_cast<std::ptrdiff_t>(g.h)) continue;
            const T* row = xs + (c * g.h + static_cast<std::size_t>(iy)) * g.w;
            T* out = yo + oy * g.wo;
            for (std::size_t ox = 0; ox < g.wo; ++ox) {
              const std::ptrdiff_t ix = static_cast<std::ptrdiff_t>(ox * g.stride + kx) - static_cast<std::ptrdiff_t>(g.pad);
              if (ix >= 0 && ix < static_cast<std::ptrdiff_t>(g.w)) out[ox] += wv * row[ix];
            }
          }
        }
  }
}

// dweight, dbias accumulate (+=); dx (if not null) is overwritten.
// Parallel over output channels for the parameter gradients (each owns its weights, so no
// reduction is needed) and over samples for dx.
template <class T>
void grouped_conv2d_backward(const T* x, const T* weight, const T* dy, T* dx, T* dweight, T* dbias, std::size_t n,
                             const ConvGeometry& g, std::size_t groups) {
  const std::size_t cg = g.cin / groups, og = g.cout / groups, kk = g.k * g.k;
  const auto in_range = [](std::ptrdiff_t v, std::size_t size) { return v >= 0 && v < static_cast<std::ptrdiff_t>(size); };
#pragma omp parallel for schedule(static)
  for (std::size_t o = 0; o < g.cout; ++o) {
    T* dwo = dweight + o * cg * kk;
    T db = 0;
    for (std::size_t s = 0; s < n; ++s) {
      const T* dyo = dy + s * g.out_size() + o * g.out_plane();
      const T* xs = x + s * g.in_size() + (o / og) * cg * g.h * g.w;
      for (std::size_t i = 0; i < g.out_plane(); ++i) db += dyo[i];
      for (std::size_t c = 0; c < cg; ++c)
        for (std::size_t ky = 0; ky < g.k; ++ky)
          for (std::size_t kx = 0; kx < g.k; ++kx) {
            T acc = 0;
            for (std::size_t oy = 0; oy < g.ho; ++oy) {
              const std::ptrdiff_t iy = static_cast<std::ptrdiff_t>(oy * g.stride + ky) - static_cast<std::ptrdiff_t>(g.pad);
              if (!in_range(iy, g.h)) continue;
              const T* row = xs + (c * g.h + static_cast<std::size_t>(iy)) * g.w;
              for (std::size_t ox = 0; ox < g.wo; ++ox) {
                const std::ptrdiff_t ix = static_cast<std::ptrdiff_t>(ox * g.stride + kx) - static_cast<std::ptrdiff_t>(g.pad);
                if (in_range(ix, g.w)) acc += dyo[oy * g.wo + ox] * row[ix];
              }
            }
            dwo[(c * g.k + ky) * g.k + kx] += acc;
          }
    }
    dbias[o] += db;
  }
  if (!dx) return;
#pragma omp parallel for schedule(static)
  for (std::size_t s = 0; s < n; ++s) {
    T* dxs = dx + s * g.in_size();
    std::fill(dxs, dxs + g.in_size(), T(0));
    for (std::size_t o = 0; o < g.cout; ++o) {
      const T* dyo = dy + s * g.out_size() + o * g.out_plane();
      const T* wo = weight + o * cg * kk;
      T* dxg = dxs + (o / og) * cg * g.h * g.w;
      for (std::size_t c = 0; c < cg; ++c)
        for (std::size_t ky = 0; ky < g.k; ++ky)
          for (std::size_t kx = 0; kx < g.k; ++kx) {
            const T wv = wo[(c * g.k + ky) * g.k + kx];
            for (std::size_t oy = 0; oy < g.ho; ++oy) {
              const std::ptrdiff_t iy = static_cast<std::ptrdiff_t>(oy * g.stride + ky) - static_cast<std::ptrdiff_t>(g.pad);
              if (!in_range(iy, g.h)) continue;
              T* row = dxg + (c * g.h + static_cast<std::size_t>(iy)) * g.w;
              for (std::size_t ox = 0; ox < g.wo; ++ox) {
                const std::ptrdiff_t ix = static_cast<std::ptrdiff_t>(ox * g.stride + kx) - static_cast<std::ptrdiff_t>(g.pad);
                if (in_range(ix, g.w)) row[ix] += wv * dyo[oy * g.wo + ox];
              }
            }
          }
    }
  }
}

}  // namespace ctnn::kernels
