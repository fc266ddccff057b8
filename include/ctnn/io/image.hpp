#pragma once
// Run-time image resizing for images whose size is known only when they are read (predict):
// the same Pillow bilinear filter (antialiased when shrinking, 8-bit fixed point, rounded to
// uint8 after each pass) as ctnn::data::Resize<H, W>, which does it for compile-time sizes and
// matches torchvision's transforms.Resize((H, W)) on PIL images exactly.
//
//   std::vector<std::uint8_t> out(3 * 32 * 32);
//   ctnn::io::resize_bilinear(rgb_chw, 3, height, width, out.data(), 32, 32);
//
// Standard library only.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace ctnn::io {

namespace detail {

inline constexpr int kPilBits = 32 - 8 - 2;  // Pillow's PRECISION_BITS

// Pillow's precompute_coeffs (libImaging/Resample.c) for the bilinear filter.
struct PilCoefficients {
  int ksize = 0;
  std::vector<int> first, count;
  std::vector<std::int32_t> weight;  // out_size * ksize, fixed point

  PilCoefficients(std::size_t in_size, std::size_t out_size) : first(out_size), count(out_size) {
    const double scale = static_cast<double>(in_size) / static_cast<double>(out_size);
    const double filterscale = scale < 1.0 ? 1.0 : scale;
    const double support = 1.0 * filterscale;
    const int ceil_support = static_cast<int>(support) + (static_cast<double>(static_cast<int>(support)) < support ? 1 : 0);
    ksize = ceil_support * 2 + 1;
    weight.assign(out_size * static_cast<std::size_t>(ksize), 0);
    std::vector<double> k(static_cast<std::size_t>(ksize));
    for (std::size_t xx = 0; xx < out_size; ++xx) {
      const double center = (static_cast<double>(xx) + 0.5) * scale;
      const double ss = 1.0 / filterscale;
      int xmin = static_cast<int>(center - support + 0.5);
      if (xmin < 0) xmin = 0;
      int xmax = static_cast<int>(center + support + 0.5);
      if (xmax > static_cast<int>(in_size)) xmax = static_cast<int>(in_size);
      xmax -= xmin;
      std::fill(k.begin(), k.end(), 0.0);
      double ww = 0.0;
      for (int x = 0; x < xmax; ++x) {
        double arg = (x + xmin - center + 0.5) * ss;
        if (arg < 0.0) arg = -arg;
        const double w = arg < 1.0 ? 1.0 - arg : 0.0;
        k[static_cast<std::size_t>(x)] = w;
        ww += w;
      }
      for (int x = 0; x < xmax; ++x)
        if (ww != 0.0) k[static_cast<std::size_t>(x)] /= ww;
      for (int x = 0; x < ksize; ++x) {
        const double kx = k[static_cast<std::size_t>(x)];
        const double scaled = kx * static_cast<double>(1 << kPilBits);
        weight[xx * static_cast<std::size_t>(ksize) + static_cast<std::size_t>(x)] =
            static_cast<std::int32_t>(kx < 0 ? -0.5 + scaled : 0.5 + scaled);
      }
      first[xx] = xmin;
      count[xx] = xmax;
    }
  }
};

inline std::uint8_t clip8(std::int32_t acc) noexcept {
  const std::int32_t v = acc >> kPilBits;
  return static_cast<std::uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
}

}  // namespace detail

// src: C planes of H x W bytes (CHW); dst: C planes of OH x OW bytes.
inline void resize_bilinear(const std::uint8_t* src, std::size_t C, std::size_t H, std::size_t W, std::uint8_t* dst,
                            std::size_t OH, std::size_t OW) {
  if (C == 0 || H == 0 || W == 0 || OH == 0 || OW == 0) throw std::invalid_argument("resize_bilinear: empty image");
  if (OH == H && OW == W) {  // Pillow copies when nothing changes
    std::memcpy(dst, src, C * H * W);
    return;
  }
  // Horizontal pass first (when needed), as Pillow does.
  std::vector<std::uint8_t> tmp;
  const std::uint8_t* mid = src;
  if (OW != W) {
    const detail::PilCoefficients t(W, OW);
    tmp.resize(C * H * OW);
    for (std::size_t r = 0; r < C * H; ++r) {
      const std::uint8_t* in = src + r * W;
      std::uint8_t* out = (OH == H ? dst : tmp.data()) + r * OW;
      for (std::size_t x = 0; x < OW; ++x) {
        const std::int32_t* k = t.weight.data() + x * static_cast<std::size_t>(t.ksize);
        const std::uint8_t* p = in + t.first[x];
        std::int32_t acc = 1 << (detail::kPilBits - 1);
        for (int i = 0; i < t.count[x]; ++i) acc += static_cast<std::int32_t>(p[i]) * k[i];
        out[x] = detail::clip8(acc);
      }
    }
    if (OH == H) return;
    mid = tmp.data();
  }
  const detail::PilCoefficients t(H, OH);
  std::vector<std::int32_t> acc(OW);
  for (std::size_t c = 0; c < C; ++c) {
    const std::uint8_t* plane = mid + c * H * OW;
    for (std::size_t y = 0; y < OH; ++y) {
      const std::int32_t* k = t.weight.data() + y * static_cast<std::size_t>(t.ksize);
      std::fill(acc.begin(), acc.end(), 1 << (detail::kPilBits - 1));
      for (int i = 0; i < t.count[y]; ++i) {
        const std::uint8_t* row = plane + static_cast<std::size_t>(t.first[y] + i) * OW;
        for (std::size_t x = 0; x < OW; ++x) acc[x] += static_cast<std::int32_t>(row[x]) * k[i];
      }
      std::uint8_t* out = dst + (c * OH + y) * OW;
      for (std::size_t x = 0; x < OW; ++x) out[x] = detail::clip8(acc[x]);
    }
  }
}

// Interleaved HWC (as image files decode) -> planar CHW.
inline std::vector<std::uint8_t> hwc_to_chw(const std::uint8_t* hwc, std::size_t C, std::size_t H, std::size_t W) {
  std::vector<std::uint8_t> out(C * H * W);
  for (std::size_t y = 0; y < H; ++y)
    for (std::size_t x = 0; x < W; ++x)
      for (std::size_t c = 0; c < C; ++c) out[(c * H + y) * W + x] = hwc[(y * W + x) * C + c];
  return out;
}

}  // namespace ctnn::io
