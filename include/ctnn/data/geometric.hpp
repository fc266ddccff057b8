#pragma once
// Geometric image ops beyond torchvision's crop and flip: a small random rotation and scaling
// about the image centre, for faces (FER2013), whose pose and framing vary a little.
//
//   auto aug = data::compose<data::Fer2013Shape>(
//       data::RandomRotateScale{.degrees = 10, .scale_min = 0.9, .scale_max = 1.1},
//       data::RandomCrop<48, 48, 4>{}, data::RandomHorizontalFlip{}, data::ToTensor{}, normalize);
//
// These are image ops of ctnn/data/transforms.hpp's pipeline (uint8 CHW in, uint8 CHW out, same
// shape). They are not bit-identical to torchvision's RandomAffine (which samples with nearest
// neighbour by default and draws from torch's generator); they sample bilinearly, which keeps a
// small rotation from making jagged edges on 48x48 images.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "ctnn/core/random.hpp"
#include "ctnn/core/shape.hpp"

namespace ctnn::data {

// Rotates every channel of a C x H x W image by `radians` (positive: counter-clockwise as
// displayed, rows growing downwards) and scales it by `scale` (> 1 enlarges), both about the
// centre ((W-1)/2, (H-1)/2). Each output pixel samples the input bilinearly at the inverse-mapped
// point; input pixels outside the image count as `fill`. Rounded to nearest. An angle of 0 and
// a scale of 1 give the input unchanged.
template <class In>
void rotate_scale(const std::uint8_t* src, std::uint8_t* dst, double radians, double scale,
                  std::uint8_t fill) noexcept {
  constexpr std::size_t C = In::channels, H = In::height, W = In::width;
  constexpr double cx = (static_cast<double>(W) - 1) / 2, cy = (static_cast<double>(H) - 1) / 2;
  // No turn and no zoom, or nothing sensible to do (a scale <= 0, infinities, NaN): a copy.
  if ((radians == 0 && scale == 1) || !(scale > 0) || !std::isfinite(radians) || !std::isfinite(scale)) {
    std::memcpy(dst, src, In::size);
    return;
  }
  // Inverse map (output -> input): rotate by -angle, divide by the scale.
  const double c = std::cos(radians) / scale, s = std::sin(radians) / scale;
  const auto at = [&](const std::uint8_t* plane, long y, long x) -> double {
    if (y < 0 || x < 0 || y >= static_cast<long>(H) || x >= static_cast<long>(W)) return fill;
    return plane[static_cast<std::size_t>(y) * W + static_cast<std::size_t>(x)];
  };
  for (std::size_t y = 0; y < H; ++y) {
    const double dy = static_cast<double>(y) - cy;
    for (std::size_t x = 0; x < W; ++x) {
      const double dx = static_cast<double>(x) - cx;
      // Clamped just outside the image (all fill there), so the integer casts below stay defined.
      const double sx = std::clamp(cx + c * dx - s * dy, -2.0, static_cast<double>(W) + 1);
      const double sy = std::clamp(cy + s * dx + c * dy, -2.0, static_cast<double>(H) + 1);
      const double fx0 = std::floor(sx), fy0 = std::floor(sy);
      const double ax = sx - fx0, ay = sy - fy0;
      const long x0 = static_cast<long>(fx0), y0 = static_cast<long>(fy0);
      for (std::size_t ch = 0; ch < C; ++ch) {
        const std::uint8_t* plane = src + ch * H * W;
        const double top = at(plane, y0, x0) * (1 - ax) + at(plane, y0, x0 + 1) * ax;
        const double bottom = at(plane, y0 + 1, x0) * (1 - ax) + at(plane, y0 + 1, x0 + 1) * ax;
        const double v = top * (1 - ay) + bottom * ay;
        dst[(ch * H + y) * W + x] = static_cast<std::uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : std::lround(v)));
      }
    }
  }
}

// A rotation by an angle drawn uniformly from [-degrees, degrees], then a scale drawn uniformly
// from [scale_min, scale_max] (in that order from the Rng), about the centre; corners uncovered
// by the turned or shrunk image get `fill`.
struct RandomRotateScale {
  double degrees = 10;
  double scale_min = 0.9;
  double scale_max = 1.1;
  std::uint8_t fill = 0;
  static constexpr bool random = true;
  template <class In>
  using output_shape = In;

  template <class In>
  void apply(const std::uint8_t* src, std::uint8_t* dst, Rng& rng) const noexcept {
    constexpr double kPi = 3.14159265358979323846;
    const double angle = rng.uniform(-degrees, degrees) * kPi / 180;
    const double scale = rng.uniform(scale_min, scale_max);
    rotate_scale<In>(src, dst, angle, scale, fill);
  }
};

}  // namespace ctnn::data
