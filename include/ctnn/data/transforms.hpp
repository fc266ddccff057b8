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
//   tf(image_bytes, output_floats, rng);   // one sample
//
// A pipeline is zero or more image ops (uint8 -> uint8, each mapping a compile-time input
// shape to a compile-time output shape), then ToTensor, then zero or more Normalize. ToTensor
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
//   RandomHorizontalFlip{p} transforms.RandomHorizontalFlip(p)
// The random ops draw from the ctnn::Rng passed in (not torch's generator): same seed, same
// crops and flips, but not the same ones as a PyTorch run.
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

// transforms.Pad(P, fill): P pixels of `fill` on every side.
template <std::size_t P>
struct Pad {
  std::uint8_t fill = 0;
  static constexpr bool random = false;
  template <class In>
  using output_shape = Shape<In::channels, In::height + 2 * P, In::width + 2 * P>;

  template <class In>
  void apply(const std::uint8_t* src, std::uint8_t* dst, Rng&) const noexcept {
    constexpr std::size_t H = In::height, W = In::width, OW = W + 2 * P;
    std::memset(dst, fill, output_shape<In>::size);
    for (std::size_t c = 0; c < In::channels; ++c)
      for (std::size_t y = 0; y < H; ++y)
        std::memcpy(dst + (c * (H + 2 * P) + y + P) * OW + P, src + (c * H + y) * W, W);
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

  template <class In>
  void apply(const std::uint8_t* src, std::uint8_t* dst, Rng&) const noexcept {
    static_assert(H <= In::height && W <= In::width,
                  "ctnn::data::CenterCrop: crop larger than the image (torchvision would pad)");
    constexpr std::size_t top = offset(In::height - H), left = offset(In::width - W);
    for (std::size_t c = 0; c < In::channels; ++c)
      for (std::size_t y = 0; y < H; ++y)
        std::memcpy(dst + (c * H + y) * W, src + (c * In::height + top + y) * In::width + left, W);
  }

 private:
  static constexpr std::size_t offset(std::size_t d) {  // Python round(d / 2)
    const std::size_t half = d / 2;
    return (d % 2 == 0 || half % 2 == 0) ? half : half + 1;
  }
};

// transforms.RandomCrop((H, W), padding=P, fill=fill): pad by P on every side, then take an
// H x W window at a uniformly random offset (top drawn first, then left).
template <std::size_t H, std::size_t W = H, std::size_t P = 0>
struct RandomCrop {
  std::uint8_t fill = 0;
  static constexpr bool random = true;
  template <class In>
  using output_shape = Shape<In::channels, H, W>;

  template <class In>
  void apply(const std::uint8_t* src, std::uint8_t* dst, Rng& rng) const noexcept {
    constexpr std::size_t IH = In::height, IW = In::width, PH = IH + 2 * P, PW = IW + 2 * P;
    static_assert(H <= PH && W <= PW, "ctnn::data::RandomCrop: crop larger than the padded image");
    const auto top = static_cast<std::ptrdiff_t>(rng.below(PH - H + 1)) - static_cast<std::ptrdiff_t>(P);
    const auto left = static_cast<std::ptrdiff_t>(rng.below(PW - W + 1)) - static_cast<std::ptrdiff_t>(P);
    // Columns [x0, x1) of the window fall inside the image; the rest is fill.
    const std::ptrdiff_t x0 = std::clamp<std::ptrdiff_t>(-left, 0, W);
    const std::ptrdiff_t x1 = std::clamp<std::ptrdiff_t>(static_cast<std::ptrdiff_t>(IW) - left, x0, W);
    for (std::size_t c = 0; c < In::channels; ++c) {
      for (std::size_t y = 0; y < H; ++y) {
        std::uint8_t* out = dst + (c * H + y) * W;
        const std::ptrdiff_t sy = top + static_cast<std::ptrdiff_t>(y);
        if (sy < 0 || sy >= static_cast<std::ptrdiff_t>(IH)) {
          std::memset(out, fill, W);
          continue;
        }
        const std::uint8_t* in = src + (c * IH + static_cast<std::size_t>(sy)) * IW;
        if (x0 > 0) std::memset(out, fill, static_cast<std::size_t>(x0));
        if (x1 > x0) std::memcpy(out + x0, in + (left + x0), static_cast<std::size_t>(x1 - x0));
        if (x1 < static_cast<std::ptrdiff_t>(W)) std::memset(out + x1, fill, W - static_cast<std::size_t>(x1));
      }
    }
  }
};

// transforms.RandomHorizontalFlip(p): mirror left-right with probability p (one draw per image).
struct RandomHorizontalFlip {
  double p = 0.5;
  static constexpr bool random = true;
  template <class In>
  using output_shape = In;

  template <class In>
  void apply(const std::uint8_t* src, std::uint8_t* dst, Rng& rng) const noexcept {
    if (!(rng.uniform() < p)) {
      std::memcpy(dst, src, In::size);
      return;
    }
    for (std::size_t r = 0; r < In::channels * In::height; ++r) {
      const std::uint8_t* in = src + r * In::width;
      std::uint8_t* out = dst + r * In::width;
      for (std::size_t x = 0; x < In::width; ++x) out[x] = in[In::width - 1 - x];
    }
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

template <class... Ops>
constexpr std::size_t to_tensor_position() {
  constexpr bool is_tt[] = {std::is_same_v<Ops, ToTensor>..., false};
  for (std::size_t i = 0; i < sizeof...(Ops); ++i)
    if (is_tt[i]) return i;
  return sizeof...(Ops);
}

}  // namespace detail

// The pipeline built by compose<In>(ops...). In: the shape of the input images.
template <SampleShape In, class... Ops>
class Compose {
  static constexpr std::size_t kPos = detail::to_tensor_position<Ops...>();
  static_assert(kPos < sizeof...(Ops),
                "ctnn::data::compose: the pipeline needs a ToTensor (image ops, then ToTensor, "
                "then Normalize)");
  using OpsTuple = std::tuple<Ops...>;
  template <std::size_t... I>
  static constexpr bool after_are_normalize(std::index_sequence<I...>) {
    return (detail::is_normalize<std::tuple_element_t<kPos + 1 + I, OpsTuple>>::value && ...);
  }
  static_assert(after_are_normalize(std::make_index_sequence<sizeof...(Ops) - kPos - 1>{}),
                "ctnn::data::compose: only Normalize may follow ToTensor");

  template <class Seq>
  struct ImageOut;
  template <std::size_t... I>
  struct ImageOut<std::index_sequence<I...>> {
    using type = typename detail::ImageChain<In, std::tuple_element_t<I, OpsTuple>...>::output_shape;
    static constexpr bool random = (std::tuple_element_t<I, OpsTuple>::random || ... || false);
  };
  using Head = ImageOut<std::make_index_sequence<kPos>>;

 public:
  using input_shape = In;
  using output_shape = typename Head::type;  // also the shape of the image ops' result
  static constexpr std::size_t channels = output_shape::channels;
  // True if the output depends on the Rng (RandomCrop, RandomHorizontalFlip, ...).
  static constexpr bool random = Head::random;

  explicit Compose(Ops... ops) : ops_(std::move(ops)...) {
    for (std::size_t c = 0; c < channels; ++c)
      for (int v = 0; v < 256; ++v) lut_[c][v] = static_cast<float>(v) / 255.0f;
    fuse_normalize(std::make_index_sequence<sizeof...(Ops) - kPos - 1>{});
  }

  // src: In::size bytes (CHW); dst: output_shape::size floats (CHW).
  void operator()(const std::uint8_t* src, float* dst, Rng& rng) const noexcept {
    run_image<0, In>(src, rng, [&](const std::uint8_t* img) { to_float(img, dst); });
  }
  void operator()(std::span<const std::uint8_t, In::size> src, std::span<float, output_shape::size> dst,
                  Rng& rng) const noexcept {
    (*this)(src.data(), dst.data(), rng);
  }
  // The image ops alone (before ToTensor): dst gets output_shape::size bytes.
  void apply_image(const std::uint8_t* src, std::uint8_t* dst, Rng& rng) const noexcept {
    run_image<0, In>(src, rng, [&](const std::uint8_t* img) {
      if (img != dst) std::memcpy(dst, img, output_shape::size);
    });
  }
  // ToTensor + Normalize of one channel value: what an output float is for input byte v.
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
  void run_image(const std::uint8_t* src, Rng& rng, Finish&& finish) const noexcept {
    if constexpr (I == kPos) {
      finish(src);
    } else {
      using Op = std::tuple_element_t<I, OpsTuple>;
      using Out = typename Op::template output_shape<S>;
      alignas(64) std::uint8_t buf[Out::size];
      std::get<I>(ops_).template apply<S>(src, buf, rng);
      run_image<I + 1, Out>(buf, rng, finish);
    }
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
