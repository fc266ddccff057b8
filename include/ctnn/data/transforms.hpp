#pragma once
// torchvision-style sample transforms: uint8 CHW image -> float CHW tensor.
//
//   namespace data = ctnn::data;
//   // torchvision: Compose([Pad(4), Resize(32), ToTensor(), Normalize((.5,.5,.5), (.5,.5,.5))])
//   auto tf = data::compose<data::Cifar10Shape>(data::Pad<4>{}, data::Resize<32>{},
//                                               data::ToTensor{}, data::kHalfNormalize);
//   // training augmentation: Compose([RandomCrop(32, padding=4), RandomHorizontalFlip(), ...])
//   auto aug = data::compose<data::Cifar10Shape>(data::RandomCrop<32, 32, 4>{},
//                                                data::RandomHorizontalFlip{},
//                                                data::ToTensor{}, data::kCifar10Normalize);
//   // CIFAR-10 speed-run augmentation (airbench / ResNet-9 style): reflect-padded crop, flip,
//   // then Cutout on the normalised floats
//   auto fast = data::compose<data::Cifar10Shape>(data::RandomCrop<32, 32, 4, data::PadMode::reflect>{},
//                                                 data::RandomHorizontalFlip{}, data::ToTensor{},
//                                                 data::kCifar10Normalize, data::Cutout{8});
//   tf(image_bytes, output_floats, rng);   // one sample
//
// A pipeline is zero or more image ops (uint8 -> uint8, each mapping a compile-time input
// shape to a compile-time output shape), then ToTensor, then zero or more Normalize, then zero
// or more tensor ops (float -> float in place, on the normalised output: Cutout). ToTensor
// and the Normalize steps are fused into one 256-entry lookup table per channel, computed with
// the same float32 operations as torchvision (x / 255, then (x - mean) / std), so the output
// is bit-identical to torchvision's given the same uint8 image.
//
// Image ops and their torchvision counterparts (PIL images; results are exact):
//   Pad<P>{fill}            transforms.Pad(P, fill)              constant padding
//   Resize<S>               transforms.Resize(S)                 smaller edge -> S, PIL bilinear
//   Resize<H, W>            transforms.Resize((H, W))            PIL bilinear (antialiased)
//   CenterCrop<H, W = H>    transforms.CenterCrop((H, W))        (crop only, no padding)
//   RandomCrop<H, W, P>     transforms.RandomCrop((H, W), padding=P)
//   RandomCrop<H, W, P, PadMode::reflect>  ... padding=P, padding_mode='reflect')
//   RandomHorizontalFlip{p} transforms.RandomHorizontalFlip(p)
//   AlternatingFlip{}       (airbench) one coin per image for the run, the flip alternating by
//                           epoch; needs tf(src, dst, rng, SampleInfo{epoch, image_seed}), as
//                           DataLoader calls it
// Tensor ops (after Normalize):
//   Cutout{size, fill = 0}  one size x size square set to fill (0 = the mean after Normalize; no
//                           torchvision counterpart, DeVries & Taylor's reference code)
//   RandomErasing{p, scale, ratio, value}  torchvision's RandomErasing (data/random_erasing.hpp)
// The random ops draw from the ctnn::Rng passed in (not torch's generator), in pipeline order:
// same seed, same crops, flips and cutouts, but not the same ones as a PyTorch run.
//
// A pipeline is a const, stateless function object: it may be called from several threads at
// once (each with its own Rng). Intermediate images live on the stack; nothing is allocated.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <tuple>
#include <type_traits>
#include <utility>

#include "ctnn/core/random.hpp"
#include "ctnn/data/random_erasing.hpp"
#include "ctnn/core/shape.hpp"

namespace ctnn::data {

// ---- normalisation constants ------------------------------------------------------------

// The per-channel mean and standard deviation of the CIFAR-10 training images (the values
// used in most CIFAR-10 PyTorch code).
inline constexpr std::array<float, 3> kCifar10Mean{0.4914f, 0.4822f, 0.4465f};
inline constexpr std::array<float, 3> kCifar10Std{0.2470f, 0.2435f, 0.2616f};
// Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)): maps [0, 1] to [-1, 1] (the coursework's choice).
inline constexpr std::array<float, 3> kHalfMean{0.5f, 0.5f, 0.5f};
inline constexpr std::array<float, 3> kHalfStd{0.5f, 0.5f, 0.5f};

// ---- float stage --------------------------------------------------------------------------

// transforms.ToTensor(): uint8 -> float32 in [0, 1] (x / 255).
struct ToTensor {};

// transforms.Normalize(mean, std): (x - mean[c]) / std[c], in float32.
template <std::size_t C>
struct Normalize {
  std::array<float, C> mean;
  std::array<float, C> std;
};
template <std::size_t C>
Normalize(std::array<float, C>, std::array<float, C>) -> Normalize<C>;
template <std::size_t C>
Normalize(const float (&)[C], const float (&)[C]) -> Normalize<C>;

inline constexpr Normalize<3> kCifar10Normalize{kCifar10Mean, kCifar10Std};
inline constexpr Normalize<3> kHalfNormalize{kHalfMean, kHalfStd};

// ---- image ops ------------------------------------------------------------------------------
// Each has `template <class In> using output_shape`, `static constexpr bool random`, and
// `template <class In> void apply(const uint8_t* src, uint8_t* dst, Rng&) const` (CHW in, CHW out).
// The geometric ones (Pad, CenterCrop, RandomCrop, the flips) take any element type, so the
// float pipeline of data/tensor_transforms.hpp uses them too (same draws, same windows).

// transforms.Pad(P, fill): P pixels of `fill` on every side.
template <std::size_t P>
struct Pad {
  std::uint8_t fill = 0;
  static constexpr bool random = false;
  template <class In>
  using output_shape = Shape<In::channels, In::height + 2 * P, In::width + 2 * P>;

  template <class In, class T>
  void apply(const T* src, T* dst, Rng&) const noexcept {
    constexpr std::size_t H = In::height, W = In::width, OW = W + 2 * P;
    std::fill_n(dst, output_shape<In>::size, static_cast<T>(fill));
    for (std::size_t c = 0; c < In::channels; ++c)
      for (std::size_t y = 0; y < H; ++y)
        std::copy_n(src + (c * H + y) * W, W, dst + (c * (H + 2 * P) + y + P) * OW + P);
  }
};

namespace detail {

// Pillow's separable resampling (libImaging/Resample.c) for 8-bit images with its bilinear
// filter: a triangle whose support grows with the downscale factor (antialiasing), weights
// normalised per output pixel then turned into 22-bit fixed point; each pass rounds to uint8.
// The tables are computed at compile time with the same double arithmetic as Pillow.
inline constexpr int kPilPrecisionBits = 32 - 8 - 2;

template <std::size_t InSize, std::size_t OutSize>
struct PilBilinearTable {
  static constexpr double scale = static_cast<double>(InSize) / static_cast<double>(OutSize);
  static constexpr double filterscale = scale < 1.0 ? 1.0 : scale;
  static constexpr double support = 1.0 * filterscale;  // bilinear support is 1
  static constexpr int ceil_support =
      static_cast<int>(support) + (static_cast<double>(static_cast<int>(support)) < support ? 1 : 0);
  static constexpr int ksize = ceil_support * 2 + 1;

  std::array<int, OutSize> first{};  // first input index used by output i
  std::array<int, OutSize> count{};  // number of input indices used
  std::array<std::int32_t, OutSize * ksize> weight{};

  static constexpr PilBilinearTable make() {
    PilBilinearTable t{};
    for (std::size_t xx = 0; xx < OutSize; ++xx) {
      const double center = (static_cast<double>(xx) + 0.5) * scale;
      const double ss = 1.0 / filterscale;
      int xmin = static_cast<int>(center - support + 0.5);
      if (xmin < 0) xmin = 0;
      int xmax = static_cast<int>(center + support + 0.5);
      if (xmax > static_cast<int>(InSize)) xmax = static_cast<int>(InSize);
      xmax -= xmin;
      double k[ksize]{};
      double ww = 0.0;
      for (int x = 0; x < xmax; ++x) {
        double arg = (x + xmin - center + 0.5) * ss;
        if (arg < 0.0) arg = -arg;
        const double w = arg < 1.0 ? 1.0 - arg : 0.0;
        k[x] = w;
        ww += w;
      }
      for (int x = 0; x < xmax; ++x)
        if (ww != 0.0) k[x] /= ww;
      for (int x = 0; x < ksize; ++x) {
        const double scaled = k[x] * static_cast<double>(1 << kPilPrecisionBits);
        t.weight[xx * ksize + x] = static_cast<std::int32_t>(k[x] < 0 ? -0.5 + scaled : 0.5 + scaled);
      }
      t.first[xx] = xmin;
      t.count[xx] = xmax;
    }
    return t;
  }
};

template <std::size_t InSize, std::size_t OutSize>
inline constexpr PilBilinearTable<InSize, OutSize> pil_bilinear_table =
    PilBilinearTable<InSize, OutSize>::make();

inline std::uint8_t pil_clip8(std::int32_t acc) noexcept {
  const std::int32_t v = acc >> kPilPrecisionBits;
  return static_cast<std::uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
}

}  // namespace detail

// transforms.Resize: PIL bilinear (antialiased when shrinking), rounded to uint8 after each
// pass, exactly as Pillow does for PIL images. Resize<S> (W omitted) is Resize(S): the smaller
// edge becomes S and the other keeps the aspect ratio (floored, like torchvision); Resize<H, W>
// is Resize((H, W)).
template <std::size_t H, std::size_t W = 0>
struct Resize {
  static constexpr bool random = false;

 private:
  template <class In>
  static constexpr std::size_t out_h() {
    if constexpr (W != 0) return H;
    else if constexpr (In::width <= In::height) return H * In::height / In::width;
    else return H;
  }
  template <class In>
  static constexpr std::size_t out_w() {
    if constexpr (W != 0) return W;
    else if constexpr (In::width <= In::height) return H;
    else return H * In::width / In::height;
  }

 public:
  template <class In>
  using output_shape = Shape<In::channels, out_h<In>(), out_w<In>()>;

  template <class In>
  void apply(const std::uint8_t* src, std::uint8_t* dst, Rng&) const noexcept {
    constexpr std::size_t C = In::channels, IH = In::height, IW = In::width;
    constexpr std::size_t OH = out_h<In>(), OW = out_w<In>();
    static_assert(OH > 0 && OW > 0, "ctnn::data::Resize: output size must be positive");
    if constexpr (OH == IH && OW == IW) {
      std::memcpy(dst, src, In::size);  // Pillow copies when nothing changes
    } else if constexpr (OW == IW) {
      vertical<C, IH, IW, OH>(src, dst);
    } else if constexpr (OH == IH) {
      horizontal<C, IH, IW, OW>(src, dst);
    } else {
      alignas(64) std::uint8_t tmp[C * IH * OW];  // horizontal pass first, as in Pillow
      horizontal<C, IH, IW, OW>(src, tmp);
      vertical<C, IH, OW, OH>(tmp, dst);
    }
  }

 private:
  template <std::size_t C, std::size_t Rows, std::size_t IW, std::size_t OW>
  static void horizontal(const std::uint8_t* src, std::uint8_t* dst) noexcept {
    constexpr auto& t = detail::pil_bilinear_table<IW, OW>;
    constexpr int K = detail::PilBilinearTable<IW, OW>::ksize;
    for (std::size_t r = 0; r < C * Rows; ++r) {
      const std::uint8_t* in = src + r * IW;
      std::uint8_t* out = dst + r * OW;
      for (std::size_t x = 0; x < OW; ++x) {
        const std::int32_t* k = t.weight.data() + x * K;
        const std::uint8_t* p = in + t.first[x];
        std::int32_t acc = 1 << (detail::kPilPrecisionBits - 1);
        for (int i = 0; i < t.count[x]; ++i) acc += static_cast<std::int32_t>(p[i]) * k[i];
        out[x] = detail::pil_clip8(acc);
      }
    }
  }
  template <std::size_t C, std::size_t IH, std::size_t Cols, std::size_t OH>
  static void vertical(const std::uint8_t* src, std::uint8_t* dst) noexcept {
    constexpr auto& t = detail::pil_bilinear_table<IH, OH>;
    constexpr int K = detail::PilBilinearTable<IH, OH>::ksize;
    for (std::size_t c = 0; c < C; ++c) {
      const std::uint8_t* plane = src + c * IH * Cols;
      for (std::size_t y = 0; y < OH; ++y) {
        const std::int32_t* k = t.weight.data() + y * K;
        std::int32_t acc[Cols];
        for (std::size_t x = 0; x < Cols; ++x) acc[x] = 1 << (detail::kPilPrecisionBits - 1);
        for (int i = 0; i < t.count[y]; ++i) {
          const std::uint8_t* row = plane + (t.first[y] + i) * Cols;
          for (std::size_t x = 0; x < Cols; ++x) acc[x] += static_cast<std::int32_t>(row[x]) * k[i];
        }
        std::uint8_t* out = dst + (c * OH + y) * Cols;
        for (std::size_t x = 0; x < Cols; ++x) out[x] = detail::pil_clip8(acc[x]);
      }
    }
  }
};

// transforms.CenterCrop((H, W)) for images at least H x W (offsets rounded like torchvision:
// round((in - out) / 2), half to even).
template <std::size_t H, std::size_t W = H>
struct CenterCrop {
  static constexpr bool random = false;
  template <class In>
  using output_shape = Shape<In::channels, H, W>;

  template <class In, class T>
  void apply(const T* src, T* dst, Rng&) const noexcept {
    static_assert(H <= In::height && W <= In::width,
                  "ctnn::data::CenterCrop: crop larger than the image (torchvision would pad)");
    constexpr std::size_t top = offset(In::height - H), left = offset(In::width - W);
    for (std::size_t c = 0; c < In::channels; ++c)
      for (std::size_t y = 0; y < H; ++y)
        std::copy_n(src + (c * In::height + top + y) * In::width + left, W, dst + (c * H + y) * W);
  }

 private:
  static constexpr std::size_t offset(std::size_t d) {  // Python round(d / 2)
    const std::size_t half = d / 2;
    return (d % 2 == 0 || half % 2 == 0) ? half : half + 1;
  }
};

// How RandomCrop fills the border it pads (torchvision's padding_mode).
enum class PadMode {
  constant,  // padding_mode='constant': the value `fill` (0 unless set); RandomCrop's default
  reflect,   // padding_mode='reflect': mirrored about the edge pixel, which is not repeated
             // (numpy/PyTorch 'reflect': row -1 is row 1, row H is row H - 2); needs P < H, W
};

// transforms.RandomCrop((H, W), padding=P, fill=fill, padding_mode=Mode): pad by P on every
// side, then take an H x W window at a uniformly random offset (top drawn first, then left).
// Both modes make the same two draws, so one seed gives the same offsets in either mode.
// RandomCrop<32, 32, 2, PadMode::reflect> is the +-2 pixel "translate" of the airbench recipes.
template <std::size_t H, std::size_t W = H, std::size_t P = 0, PadMode Mode = PadMode::constant>
struct RandomCrop {
  std::uint8_t fill = 0;  // PadMode::constant only
  static constexpr bool random = true;
  template <class In>
  using output_shape = Shape<In::channels, H, W>;

  template <class In, class T>
  void apply(const T* src, T* dst, Rng& rng) const noexcept {
    static_assert(H <= In::height + 2 * P && W <= In::width + 2 * P,
                  "ctnn::data::RandomCrop: crop larger than the padded image");
    const std::size_t top = rng.below(In::height + 2 * P - H + 1);
    const std::size_t left = rng.below(In::width + 2 * P - W + 1);
    crop_at<In>(src, dst, top, left);
  }

  // The window whose top-left corner is (top, left) in the padded image: apply() without the
  // draws. top <= In::height + 2P - H, left <= In::width + 2P - W.
  template <class In, class T>
  void crop_at(const T* src, T* dst, std::size_t top, std::size_t left) const noexcept {
    static_assert(H <= In::height + 2 * P && W <= In::width + 2 * P,
                  "ctnn::data::RandomCrop: crop larger than the padded image");
    static_assert(Mode != PadMode::reflect || (P < In::height && P < In::width),
                  "ctnn::data::RandomCrop: reflect padding needs P smaller than the image's height "
                  "and width (as in torchvision)");
    const auto t = static_cast<std::ptrdiff_t>(top) - static_cast<std::ptrdiff_t>(P);
    const auto l = static_cast<std::ptrdiff_t>(left) - static_cast<std::ptrdiff_t>(P);
    if constexpr (Mode == PadMode::reflect) crop_reflect<In>(src, dst, t, l);
    else crop_constant<In>(src, dst, t, l);
  }

 private:
  // (top, left): the window's corner in image coordinates, negative inside the left/top border.
  template <class In, class T>
  void crop_constant(const T* src, T* dst, std::ptrdiff_t top, std::ptrdiff_t left) const noexcept {
    constexpr std::size_t IH = In::height, IW = In::width;
    // Columns [x0, x1) of the window fall inside the image; the rest is fill.
    const std::ptrdiff_t x0 = std::clamp<std::ptrdiff_t>(-left, 0, W);
    const std::ptrdiff_t x1 = std::clamp<std::ptrdiff_t>(static_cast<std::ptrdiff_t>(IW) - left, x0, W);
    for (std::size_t c = 0; c < In::channels; ++c) {
      for (std::size_t y = 0; y < H; ++y) {
        T* out = dst + (c * H + y) * W;
        const T value = static_cast<T>(fill);
        const std::ptrdiff_t sy = top + static_cast<std::ptrdiff_t>(y);
        if (sy < 0 || sy >= static_cast<std::ptrdiff_t>(IH)) {
          std::fill_n(out, W, value);
          continue;
        }
        const T* in = src + (c * IH + static_cast<std::size_t>(sy)) * IW;
        if (x0 > 0) std::fill_n(out, static_cast<std::size_t>(x0), value);
        if (x1 > x0) std::copy_n(in + (left + x0), static_cast<std::size_t>(x1 - x0), out + x0);
        if (x1 < static_cast<std::ptrdiff_t>(W)) std::fill_n(out + x1, W - static_cast<std::size_t>(x1), value);
      }
    }
  }

  // One reflection suffices because P < size.
  static constexpr std::size_t reflect(std::ptrdiff_t i, std::size_t n) noexcept {
    if (i < 0) return static_cast<std::size_t>(-i);
    if (i >= static_cast<std::ptrdiff_t>(n)) return 2 * (n - 1) - static_cast<std::size_t>(i);
    return static_cast<std::size_t>(i);
  }

  template <class In, class T>
  static void crop_reflect(const T* src, T* dst, std::ptrdiff_t top, std::ptrdiff_t left) noexcept {
    constexpr std::size_t IH = In::height, IW = In::width;
    std::size_t col[W];  // the source column of each output column, shared by every row
    for (std::size_t x = 0; x < W; ++x) col[x] = reflect(left + static_cast<std::ptrdiff_t>(x), IW);
    for (std::size_t c = 0; c < In::channels; ++c)
      for (std::size_t y = 0; y < H; ++y) {
        const T* in = src + (c * IH + reflect(top + static_cast<std::ptrdiff_t>(y), IH)) * IW;
        T* out = dst + (c * H + y) * W;
        for (std::size_t x = 0; x < W; ++x) out[x] = in[col[x]];
      }
  }
};

namespace detail {
template <class In, class T>
void mirror_rows(const T* src, T* dst) noexcept {
  for (std::size_t r = 0; r < In::channels * In::height; ++r) {
    const T* in = src + r * In::width;
    T* out = dst + r * In::width;
    for (std::size_t x = 0; x < In::width; ++x) out[x] = in[In::width - 1 - x];
  }
}
}  // namespace detail

// transforms.RandomHorizontalFlip(p): mirror left-right with probability p (one draw per image).
struct RandomHorizontalFlip {
  double p = 0.5;
  static constexpr bool random = true;
  template <class In>
  using output_shape = In;

  template <class In, class T>
  void apply(const T* src, T* dst, Rng& rng) const noexcept {
    if (rng.uniform() < p) detail::mirror_rows<In>(src, dst);
    else std::copy_n(src, In::size, dst);
  }
};

// What the DataLoader tells a transform about a sample besides its Rng, for augmentations
// scheduled across epochs rather than drawn afresh each epoch (AlternatingFlip).
struct SampleInfo {
  std::uint64_t epoch = 0;
  // Depends on the loader's seed and the image's index only: the same in every epoch
  // (DataLoader::image_seed). Already hashed: any of its bits is a fair coin.
  std::uint64_t image_seed = 0;
};

// airbench's alternating flip: each image gets one coin for the whole run (the top bit of
// SampleInfo::image_seed) and is mirrored on even epochs iff it is set, on odd epochs iff it is
// not. So every image is seen both ways in any two consecutive epochs, where independent flips
// show a quarter of them the same way twice. Draws nothing from the Rng.
// It needs the epoch: the pipeline must be called with a SampleInfo, as DataLoader does
// (calling a pipeline holding one without it is a compile error).
struct AlternatingFlip {
  static constexpr bool random = true;
  static constexpr bool uses_sample_info = true;
  template <class In>
  using output_shape = In;

  static constexpr bool flips(const SampleInfo& info) noexcept {
    return ((info.image_seed >> 63) ^ (info.epoch & 1)) != 0;
  }
  template <class In, class T>
  void apply(const T* src, T* dst, Rng&, const SampleInfo& info) const noexcept {
    if (flips(info)) detail::mirror_rows<In>(src, dst);
    else std::copy_n(src, In::size, dst);
  }
};

// ---- tensor ops ------------------------------------------------------------------------------
// Ops on the float output, after ToTensor and Normalize: `static constexpr bool tensor_op = true`,
// `static constexpr bool random`, and `template <class S> void apply(float* x, Rng&) const`
// (CHW floats of shape S, changed in place). They draw from the same Rng, after the image ops.

// Cutout (DeVries & Taylor 2017, "Improved Regularization of Convolutional Neural Networks with
// Cutout"): one size x size square, its centre uniform over the image (row drawn first, then
// column), clipped at the borders, set to `fill` in every channel.
// It runs after Normalize, as in the paper's code and the airbench recipes, so the default
// fill 0 is the dataset mean, not black. The square covers rows [cy - size/2, cy - size/2 + size)
// and the same for columns: for even sizes exactly the paper's clip(cy - size/2), clip(cy + size/2);
// for odd sizes the paper's code cuts size - 1, this cuts size. size 0 cuts nothing (but still
// makes its two draws, so the rest of a pipeline's randomness does not depend on the size).
// inside = true is airbench96's variant: the square lies wholly inside the image, its top-left
// corner uniform over [0, H - size] x [0, W - size] (row first), so every cut is size x size
// (a size larger than the image cuts all of it).
struct Cutout {
  std::size_t size = 0;
  float fill = 0.0f;
  bool inside = false;
  static constexpr bool tensor_op = true;
  static constexpr bool random = true;

  template <class S>
  void apply(float* x, Rng& rng) const noexcept {
    if (inside) {
      const std::size_t y0 = rng.below(S::height >= size ? S::height - size + 1 : 1);
      const std::size_t x0 = rng.below(S::width >= size ? S::width - size + 1 : 1);
      cut_at<S>(x, y0 + size / 2, x0 + size / 2);  // the square [y0, y0 + size) x [x0, x0 + size)
      return;
    }
    const std::size_t cy = rng.below(S::height);
    const std::size_t cx = rng.below(S::width);
    cut_at<S>(x, cy, cx);
  }

  // The square centred at (cy, cx): apply() without the draws.
  template <class S>
  void cut_at(float* x, std::size_t cy, std::size_t cx) const noexcept {
    const auto [y0, y1] = span(cy, S::height);
    const auto [x0, x1] = span(cx, S::width);
    for (std::size_t c = 0; c < S::channels; ++c)
      for (std::size_t y = y0; y < y1; ++y) std::fill(x + (c * S::height + y) * S::width + x0,
                                                      x + (c * S::height + y) * S::width + x1, fill);
  }

 private:
  // [first, last) of the square along one axis of length n, clipped to [0, n).
  std::pair<std::size_t, std::size_t> span(std::size_t centre, std::size_t n) const noexcept {
    const std::size_t half = size / 2;
    const std::size_t first = centre > half ? centre - half : 0;
    const std::size_t last = std::min(n, centre + (size - half));
    return {first, last};
  }
};

// ---- composition ----------------------------------------------------------------------------

namespace detail {

template <class T>
struct is_normalize : std::false_type {};
template <std::size_t C>
struct is_normalize<Normalize<C>> : std::true_type {};

template <class In, class... Ops>
struct ImageChain {
  using output_shape = In;
};
template <class In, class Op, class... Rest>
struct ImageChain<In, Op, Rest...> {
  using output_shape = typename ImageChain<typename Op::template output_shape<In>, Rest...>::output_shape;
};

template <class T>
concept tensor_op = requires { requires T::tensor_op; };
template <class T>
concept uses_sample_info = requires { requires T::uses_sample_info; };

// Where each op may stand: image ops, then ToTensor, then Normalize steps, then tensor ops.
enum class Stage { image, to_tensor, normalize, tensor };
template <class Op>
constexpr Stage stage_of() {
  if constexpr (std::is_same_v<Op, ToTensor>) return Stage::to_tensor;
  else if constexpr (is_normalize<Op>::value) return Stage::normalize;
  else if constexpr (tensor_op<Op>) return Stage::tensor;
  else return Stage::image;
}

// The position of the first op of stage `s` or later (sizeof...(Ops) if none).
template <class... Ops>
constexpr std::size_t first_position(Stage s) {
  constexpr Stage stages[] = {stage_of<Ops>()..., Stage::image};
  for (std::size_t i = 0; i < sizeof...(Ops); ++i)
    if (stages[i] >= s) return i;
  return sizeof...(Ops);
}
// Exactly one ToTensor, and the stages never go backwards (no image op after ToTensor, no
// Normalize after Cutout).
template <class... Ops>
constexpr bool has_one_to_tensor() {
  return ((stage_of<Ops>() == Stage::to_tensor) + ... + 0) == 1;
}
template <class... Ops>
constexpr bool stages_in_order() {
  constexpr Stage stages[] = {stage_of<Ops>()..., Stage::tensor};
  for (std::size_t i = 0; i < sizeof...(Ops); ++i)
    if (stages[i + 1] < stages[i]) return false;
  return true;
}

}  // namespace detail

// The pipeline built by compose<In>(ops...). In: the shape of the input images.
template <SampleShape In, class... Ops>
class Compose {
  static_assert(detail::has_one_to_tensor<Ops...>(),
                "ctnn::data::compose: the pipeline needs exactly one ToTensor (image ops, then ToTensor, "
                "then Normalize, then tensor ops such as Cutout)");
  static_assert(detail::stages_in_order<Ops...>(),
                "ctnn::data::compose: ops out of order; the pipeline is image ops (uint8: crops, flips, "
                "Pad, Resize), then ToTensor, then Normalize steps, then tensor ops (Cutout). Normalize "
                "is fused into ToTensor's lookup table, so it cannot follow a tensor op");
  // Positions: [0, kPos) image ops, kPos ToTensor, (kPos, kTensorPos) Normalize, then tensor ops.
  // After a failed check nothing past the image stage is instantiated, so the assert is the error.
  static constexpr bool kValid = detail::has_one_to_tensor<Ops...>() && detail::stages_in_order<Ops...>();
  static constexpr std::size_t kPos = kValid ? detail::first_position<Ops...>(detail::Stage::to_tensor) : 0;
  static constexpr std::size_t kTensorPos = detail::first_position<Ops...>(detail::Stage::tensor);
  static constexpr std::size_t kNormalizeCount = kValid ? kTensorPos - kPos - 1 : 0;
  using OpsTuple = std::tuple<Ops...>;

  template <class Seq>
  struct ImageOut;
  template <std::size_t... I>
  struct ImageOut<std::index_sequence<I...>> {
    using type = typename detail::ImageChain<In, std::tuple_element_t<I, OpsTuple>...>::output_shape;
    static constexpr bool random = (std::tuple_element_t<I, OpsTuple>::random || ... || false);
  };
  using Head = ImageOut<std::make_index_sequence<kPos>>;
  using TensorOps = std::make_index_sequence<kValid ? sizeof...(Ops) - kTensorPos : 0>;
  template <std::size_t... I>
  static constexpr bool tensor_ops_random(std::index_sequence<I...>) {
    return (std::tuple_element_t<kTensorPos + I, OpsTuple>::random || ... || false);
  }

 public:
  using input_shape = In;
  using output_shape = typename Head::type;  // also the shape of the image ops' result
  static constexpr std::size_t channels = output_shape::channels;
  // True if the output depends on the Rng (RandomCrop, RandomHorizontalFlip, Cutout, ...).
  static constexpr bool random = Head::random || tensor_ops_random(TensorOps{});
  // True if an op needs the SampleInfo overloads (AlternatingFlip).
  static constexpr bool uses_sample_info = (detail::uses_sample_info<Ops> || ... || false);

  explicit Compose(Ops... ops) : ops_(std::move(ops)...) {
    for (std::size_t c = 0; c < channels; ++c)
      for (int v = 0; v < 256; ++v) lut_[c][v] = static_cast<float>(v) / 255.0f;
    fuse_normalize(std::make_index_sequence<kNormalizeCount>{});
  }

  // src: In::size bytes (CHW); dst: output_shape::size floats (CHW). `info` matters only to
  // ops that use it (AlternatingFlip); DataLoader always passes it.
  void operator()(const std::uint8_t* src, float* dst, Rng& rng, const SampleInfo& info) const noexcept {
    run_image<0, In>(src, rng, info, [&](const std::uint8_t* img) { to_float(img, dst); });
    run_tensor(dst, rng, TensorOps{});
  }
  void operator()(const std::uint8_t* src, float* dst, Rng& rng) const noexcept {
    static_assert(!uses_sample_info,
                  "ctnn::data::Compose: this pipeline has an op that depends on the epoch (AlternatingFlip): "
                  "pass a SampleInfo{epoch, image_seed} as the last argument (DataLoader does)");
    (*this)(src, dst, rng, SampleInfo{});
  }
  void operator()(std::span<const std::uint8_t, In::size> src, std::span<float, output_shape::size> dst,
                  Rng& rng) const noexcept {
    (*this)(src.data(), dst.data(), rng);
  }
  // The image ops alone (before ToTensor): dst gets output_shape::size bytes.
  void apply_image(const std::uint8_t* src, std::uint8_t* dst, Rng& rng, const SampleInfo& info) const noexcept {
    run_image<0, In>(src, rng, info, [&](const std::uint8_t* img) {
      if (img != dst) std::memcpy(dst, img, output_shape::size);
    });
  }
  void apply_image(const std::uint8_t* src, std::uint8_t* dst, Rng& rng) const noexcept {
    static_assert(!uses_sample_info,
                  "ctnn::data::Compose: this pipeline has an op that depends on the epoch (AlternatingFlip): "
                  "pass a SampleInfo{epoch, image_seed} as the last argument (DataLoader does)");
    apply_image(src, dst, rng, SampleInfo{});
  }
  // ToTensor + Normalize of one channel value: what an output float is for input byte v where
  // no tensor op wrote.
  float lookup(std::size_t channel, std::uint8_t v) const noexcept { return lut_[channel][v]; }

 private:
  template <std::size_t... I>
  void fuse_normalize(std::index_sequence<I...>) {
    (apply_normalize(std::get<kPos + 1 + I>(ops_)), ...);
  }
  template <std::size_t C>
  void apply_normalize(const Normalize<C>& n) {
    static_assert(C == channels, "ctnn::data::Normalize: mean/std must have one entry per image channel");
    for (std::size_t c = 0; c < C; ++c)
      for (auto& x : lut_[c]) x = (x - n.mean[c]) / n.std[c];  // float32, like tensor.sub_().div_()
  }

  template <std::size_t I, class S, class Finish>
  void run_image(const std::uint8_t* src, Rng& rng, const SampleInfo& info, Finish&& finish) const noexcept {
    if constexpr (I == kPos) {
      finish(src);
    } else {
      using Op = std::tuple_element_t<I, OpsTuple>;
      using Out = typename Op::template output_shape<S>;
      alignas(64) std::uint8_t buf[Out::size];
      if constexpr (detail::uses_sample_info<Op>) std::get<I>(ops_).template apply<S>(src, buf, rng, info);
      else std::get<I>(ops_).template apply<S>(src, buf, rng);
      run_image<I + 1, Out>(buf, rng, info, finish);
    }
  }

  template <std::size_t... I>
  void run_tensor([[maybe_unused]] float* x, [[maybe_unused]] Rng& rng, std::index_sequence<I...>) const noexcept {
    (std::get<kTensorPos + I>(ops_).template apply<output_shape>(x, rng), ...);
  }

  void to_float(const std::uint8_t* img, float* dst) const noexcept {
    constexpr std::size_t plane = output_shape::plane;
    for (std::size_t c = 0; c < channels; ++c) {
      const float* lut = lut_[c].data();
      const std::uint8_t* in = img + c * plane;
      float* out = dst + c * plane;
      for (std::size_t i = 0; i < plane; ++i) out[i] = lut[in[i]];
    }
  }

  OpsTuple ops_;
  std::array<std::array<float, 256>, channels> lut_{};
};

// Builds a pipeline for input images of shape In, in torchvision order:
//   compose<Shape<3, 32, 32>>(Pad<4>{}, Resize<32>{}, ToTensor{}, kCifar10Normalize)
template <SampleShape In, class... Ops>
Compose<In, std::decay_t<Ops>...> compose(Ops&&... ops) {
  return Compose<In, std::decay_t<Ops>...>(std::forward<Ops>(ops)...);
}

}  // namespace ctnn::data
