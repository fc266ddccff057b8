#pragma once
// The image views of test-time augmentation (ctnn/train/tta.hpp): horizontal mirror, shift
// with 'reflect' fill, and the weighted sum of the views' logits. Planes are NCHW's N * C.
#include <algorithm>
#include <cstddef>
#include <cstring>

namespace ctnn::kernels {

// x: [P, H, W] -> y: [P, H, W] (P = N * C planes), y[p, i, j] = x[p, i, W - 1 - j]. x != y.
template <class T>
void flip_horizontal(const T* x, T* y, std::size_t planes, std::size_t h, std::size_t w) {
#pragma omp parallel for schedule(static)
  for (std::size_t r = 0; r < planes * h; ++r) {
    const T* in = x + r * w;
    T* out = y + r * w;
    for (std::size_t j = 0; j < w; ++j) out[j] = in[w - 1 - j];
  }
}

namespace detail {
// 'reflect' padding's source index: mirrored about the edge, the edge not repeated. -n < i < 2n - 1.
inline std::size_t reflect_index(std::ptrdiff_t i, std::size_t n) noexcept {
  const auto last = static_cast<std::ptrdiff_t>(n) - 1;
  if (i < 0) i = -i;
  if (i > last) i = 2 * last - i;
  return static_cast<std::size_t>(i);
}
}  // namespace detail

// x: [P, H, W] -> y: [P, H, W], y[p, i, j] = x[p, reflect(i - dy), reflect(j - dx)]: the content
// moves by (dy, dx) and the uncovered border is filled by 'reflect' padding. |dy| < H, |dx| < W;
// x != y.
template <class T>
void translate_reflect(const T* x, T* y, std::size_t planes, std::size_t h, std::size_t w, std::ptrdiff_t dy,
                       std::ptrdiff_t dx) {
  const auto sw = static_cast<std::ptrdiff_t>(w);
  // Output columns [lo, hi) read inside the row, a contiguous copy; the others reflect.
  const auto lo = static_cast<std::size_t>(std::clamp<std::ptrdiff_t>(dx, 0, sw));
  const auto hi = static_cast<std::size_t>(std::clamp<std::ptrdiff_t>(sw + dx, 0, sw));
#pragma omp parallel for schedule(static)
  for (std::size_t r = 0; r < planes * h; ++r) {
    const std::size_t p = r / h, i = r % h;
    const T* in = x + (p * h + detail::reflect_index(static_cast<std::ptrdiff_t>(i) - dy, h)) * w;
    T* out = y + r * w;
    for (std::size_t j = 0; j < lo; ++j) out[j] = in[detail::reflect_index(static_cast<std::ptrdiff_t>(j) - dx, w)];
    if (hi > lo) std::memcpy(out + lo, in + (static_cast<std::ptrdiff_t>(lo) - dx), (hi - lo) * sizeof(T));
    for (std::size_t j = std::max(hi, lo); j < w; ++j)
      out[j] = in[detail::reflect_index(static_cast<std::ptrdiff_t>(j) - dx, w)];
  }
}

// y = a * x (first view) and y += a * x (the others), size elements.
template <class T>
void scale_into(const T* x, T a, T* y, std::size_t size) {
  for (std::size_t i = 0; i < size; ++i) y[i] = a * x[i];
}
template <class T>
void add_scaled(const T* x, T a, T* y, std::size_t size) {
  for (std::size_t i = 0; i < size; ++i) y[i] += a * x[i];
}

}  // namespace ctnn::kernels
