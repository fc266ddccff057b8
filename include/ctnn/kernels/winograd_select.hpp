#pragma once
// Which algorithm a Groups = 1 convolution runs (ConvLayer, layers/conv.hpp):
//   im2col       im2col + GEMM (kernels/conv.hpp), every shape
//   winograd_f2  Winograd F(2x2, 3x3) (kernels/winograd.hpp), 3x3 stride-1 convolutions
//   winograd_f4  Winograd F(4x4, 3x3), likewise: 4x fewer multiplications than im2col, less
//                accurate than F(2x2, 3x3) (docs/winograd.md)
//   automatic    the process-wide choice if one is set, else the fixed rule below
//   benchmark    like torch.backends.cudnn.benchmark: the first time a shape runs at a batch size
//                (training, or inference without gradients, separately), the layer times im2col,
//                F(2x2, 3x3) and F(4x4, 3x3) on its own input and keeps the fastest for that shape,
//                batch and mode for the rest of the process (ConvLayer, layers/conv.hpp). Faster where
//                the fixed rule is wrong for the machine; the choice, and so the rounding, can differ
//                from run to run, as with cudnn.benchmark. 3x3 stride-1 convolutions only; other
//                shapes follow the fixed rule.
// Precision: im2col runs its GEMMs in the network's precision; Winograd always in fp32 (its
// transforms widen the values that bf16 would then round; docs/winograd.md), so in a bf16 network a
// Winograd layer is an fp32 layer, chosen where that is faster than im2col in bf16 (winograd_gemm_precision),
// unless its gradient GEMMs are set to bf16 (set_winograd_gradient_precision, conv_gradient_precision).
// A layer's own choice (ConvLayer::set_algorithm) comes first; then the process-wide one,
// set_conv_algorithm() or, read once at the first use, the environment variable CTNN_CONV
// (im2col, winograd_f2, winograd_f4, benchmark, automatic), so one binary times a network both ways. A
// Winograd choice on a shape it does not apply to (not 3x3, stride > 1) runs im2col. The
// algorithm a layer shape runs is printed to stderr once per shape and algorithm, unless
// set_conv_notes(false) turned that off (mpi::DdpStrategy does on every process but 0).
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "ctnn/core/precision.hpp"
#include "ctnn/kernels/winograd.hpp"

namespace ctnn {

enum class ConvAlgorithm { automatic, im2col, winograd_f2, winograd_f4, benchmark };

inline constexpr const char* conv_algorithm_name(ConvAlgorithm a) {
  switch (a) {
    case ConvAlgorithm::im2col: return "im2col";
    case ConvAlgorithm::winograd_f2: return "winograd_f2";
    case ConvAlgorithm::winograd_f4: return "winograd_f4";
    case ConvAlgorithm::benchmark: return "benchmark";
    default: return "automatic";
  }
}

inline std::optional<ConvAlgorithm> parse_conv_algorithm(std::string_view s) {
  for (ConvAlgorithm a : {ConvAlgorithm::automatic, ConvAlgorithm::im2col, ConvAlgorithm::winograd_f2,
                          ConvAlgorithm::winograd_f4, ConvAlgorithm::benchmark})
    if (s == conv_algorithm_name(a)) return a;
  return std::nullopt;
}

namespace detail {
inline std::atomic<ConvAlgorithm>& process_conv_algorithm() {
  static std::atomic<ConvAlgorithm> a = [] {
    const char* v = std::getenv("CTNN_CONV");
    if (!v) return ConvAlgorithm::automatic;
    if (auto a = parse_conv_algorithm(v)) return *a;
    std::fprintf(stderr,
                 "ctnn: CTNN_CONV=%s is not one of automatic, im2col, winograd_f2, winograd_f4, benchmark; using automatic\n",
                 v);
    return ConvAlgorithm::automatic;
  }();
  return a;
}
inline std::atomic<Precision>& process_winograd_gradients() {
  static std::atomic<Precision> p = [] {
    const char* v = std::getenv("CTNN_WINOGRAD_GRADIENTS");
    if (!v) return Precision::fp32;
    if (auto p = parse_precision(v)) return *p;
    std::fprintf(stderr, "ctnn: CTNN_WINOGRAD_GRADIENTS=%s is not one of fp32, bf16; using fp32\n", v);
    return Precision::fp32;
  }();
  return p;
}
inline std::atomic<bool>& process_conv_notes() {
  static std::atomic<bool> on{true};
  return on;
}
}  // namespace detail

// The process-wide choice for every layer left at ConvAlgorithm::automatic.
inline void set_conv_algorithm(ConvAlgorithm a) { detail::process_conv_algorithm().store(a); }
inline ConvAlgorithm conv_algorithm() { return detail::process_conv_algorithm().load(); }
// The precision of the Winograd layers' gradient GEMMs (weight and input gradient) in a bf16 network:
// fp32 (the default, as their forward) or bf16 (kernels::conv_gradient_precision); an fp32 network
// ignores it. Read once from the environment variable CTNN_WINOGRAD_GRADIENTS (fp32, bf16) unless set.
// bf16 makes those passes faster (the bf16 kernel at twice the fp32 rate) and less exact: the
// transforms widen the values that bf16 then rounds, so F(4x4, 3x3)'s gradients in bf16 are about 8x
// further from exact than im2col's in bf16 (docs/winograd.md, bench/winograd_error.cpp); whether a
// recipe trains as well so is a measured property of that recipe, not a general one.
inline void set_winograd_gradient_precision(Precision p) { detail::process_winograd_gradients().store(p); }
inline Precision winograd_gradient_precision() { return detail::process_winograd_gradients().load(); }
// Whether the "ctnn: Conv ...: <algorithm>" notes are printed to stderr (default on).
inline void set_conv_notes(bool on) { detail::process_conv_notes().store(on); }

namespace kernels {

// The fixed rule for `automatic`, measured (docs/winograd.md: the kernels called directly, and
// bench_layers conv_algo/*, each im2col against F2 and F4 interleaved in one run, batch 128, 2 threads,
// on a loaded machine): F(4x4, 3x3) for a 3x3 stride-1 conv in fp32 whose output planes are at least
// 4x4 and whose channel counts have a harmonic mean 2 Cin Cout / (Cin + Cout) of at least 80; im2col
// otherwise. Why the harmonic mean: per transformed value the transforms cost O(Cin + Cout) and the GEMMs
// O(Cin Cout), so the GEMM's share of the time (which Winograd cuts 4x) grows with it. Measured: it paid
// on every ResNet-9 conv after the first (64->128 up to 512->512: 1.2-3.2x), and on airbench's 64->256
// and 256->256 on 7x7 (1.15-1.9x); it did not pay reliably on that loaded machine on airbench's 24->64 and
// 64->64 (0.5-1.4x in different runs; but see AVX-512 below) nor on 3x3 planes (most of each 4x4 tile is
// padding: 0.57-1.0x). The rule is the same in a bf16 network, where the comparison is F(4x4, 3x3)
// with fp32 GEMMs against im2col with bf16 GEMMs: on a Zen 4 (bf16 dot at twice the fp32 FMA rate)
// airbench's 64->256 and 256->256 @7 ran 1.2-1.8x faster as F4 than as bf16 im2col, its 24->64 and 64->64
// about level (1.0-1.2x), its 3x3-plane conv 1.3-1.5x faster as bf16 im2col (docs/winograd.md).
// A batch of n smaller than one F(4x4) sample group also runs
// im2col: Winograd computes whole groups (kernels/winograd.hpp), so at batch 1 it would do up to
// 64 samples' work (the latency case).
//
// With AVX-512 the channel-mean threshold is 32, not 80: on two quiet AVX-512 machines (an Intel Xeon,
// model 207, and a Zen 4) F(4x4, 3x3) beat im2col on airbench's 24->64 (mean 35) and 64->64 (mean 64)
// in fp32 too (Zen 4, forward + backward at batch 128: 40 against 70 ms and 22 against 40 ms), and
// the fp32 airbench94 step with F4 on those ran 1.15x faster (bench_train, docs/winograd.md); without
// AVX-512 (8-lane transforms) that was not measured, so 80 stays.
#ifdef __AVX512F__
inline constexpr std::size_t winograd_min_channel_mean = 32;
#else
inline constexpr std::size_t winograd_min_channel_mean = 80;
#endif
template <ConvGeometry G>
constexpr ConvAlgorithm winograd_rule([[maybe_unused]] Precision precision,
                                      std::size_t n = static_cast<std::size_t>(-1)) {
  if (!winograd_applies<G>) return ConvAlgorithm::im2col;
  const bool wide = 2 * G.cin * G.cout >= winograd_min_channel_mean * (G.cin + G.cout);
  const bool full_group = n >= WinogradShape<G, 4>::samples;
  return wide && full_group && G.ho >= 4 && G.wo >= 4 ? ConvAlgorithm::winograd_f4 : ConvAlgorithm::im2col;
}

// The benchmark's choices for shape G, one per (batch, gradients on, precision), for the whole process:
// every layer of that shape shares them (a layer times the candidates only when none is stored).
template <ConvGeometry G>
class BenchmarkedAlgorithms {
 public:
  static std::optional<ConvAlgorithm> find(std::size_t n, bool grad, Precision precision = Precision::fp32) {
    std::lock_guard<std::mutex> lock(mutex());
    for (const Entry& e : entries())
      if (e.n == n && e.grad == grad && e.precision == precision) return e.chosen;
    return std::nullopt;
  }
  static void store(std::size_t n, bool grad, ConvAlgorithm chosen, Precision precision = Precision::fp32) {
    std::lock_guard<std::mutex> lock(mutex());
    if (entries().capacity() == 0) entries().reserve(64);  // later batch sizes store without allocating
    entries().push_back({n, grad, precision, chosen});
  }
  static void clear() {
    std::lock_guard<std::mutex> lock(mutex());
    entries().clear();
  }

 private:
  struct Entry {
    std::size_t n;
    bool grad;
    Precision precision;
    ConvAlgorithm chosen;
  };
  static std::mutex& mutex() {
    static std::mutex m;
    return m;
  }
  static std::vector<Entry>& entries() {
    static std::vector<Entry> e;
    return e;
  }
};

// The precision of a conv's GEMMs under algorithm a in a network of precision `network`: the network's
// for im2col, fp32 for Winograd.
constexpr Precision winograd_gemm_precision(ConvAlgorithm a, Precision network) {
  return a == ConvAlgorithm::im2col ? network : Precision::fp32;
}

// The precision of a conv's gradient GEMMs (weight and input gradient) under algorithm a in a network
// of precision `network`, where `winograd_gradients` is the process-wide choice for Winograd layers
// (set_winograd_gradient_precision): the network's for im2col; for Winograd, bf16 only in a bf16 network
// whose Winograd gradients are set to bf16, else fp32. The forward stays winograd_gemm_precision's.
constexpr Precision conv_gradient_precision(ConvAlgorithm a, Precision network, Precision winograd_gradients) {
  if (a == ConvAlgorithm::im2col) return network;
  return network == Precision::bf16 && winograd_gradients == Precision::bf16 ? Precision::bf16 : Precision::fp32;
}

// What the note on a layer's algorithm adds about its GEMMs' precision where it is not the network's.
inline const char* winograd_precision_note(ConvAlgorithm a, Precision network) {
  if (winograd_gemm_precision(a, network) == network) return "";
  return conv_gradient_precision(a, network, winograd_gradient_precision()) == network
             ? " (fp32 forward GEMMs, bf16 gradient GEMMs in a bf16 network)"
             : " (fp32 GEMMs in a bf16 network)";
}

// What a layer of shape G with its own choice `layer` runs on a batch of n: im2col, winograd_f2 or
// winograd_f4; or benchmark, when the layer is to look its choice up (or time it) itself: on a Winograd
// shape, in either precision (in bf16 it times im2col in bf16 against Winograd in fp32); elsewhere
// benchmark means the fixed rule.
template <ConvGeometry G>
ConvAlgorithm resolve_conv_algorithm(ConvAlgorithm layer, Precision precision, std::size_t n) {
  ConvAlgorithm a = layer != ConvAlgorithm::automatic ? layer : conv_algorithm();
  if (a == ConvAlgorithm::benchmark) {
    if (winograd_applies<G>) return a;
    a = ConvAlgorithm::automatic;
  }
  if (a == ConvAlgorithm::automatic) a = winograd_rule<G>(precision, n);
  if (!winograd_applies<G>) a = ConvAlgorithm::im2col;
  static std::atomic<unsigned> printed{0};  // per shape, a bit per algorithm
  const unsigned bit = 1u << static_cast<unsigned>(a);
  if (!(printed.fetch_or(bit) & bit) && ctnn::detail::process_conv_notes().load())
    std::fprintf(stderr, "ctnn: Conv %zu->%zu %zux%zu stride %zu pad %zu on %zux%zu: %s%s\n", G.cin, G.cout, G.k, G.k,
                 G.stride, G.pad, G.h, G.w, conv_algorithm_name(a),
                 winograd_precision_note(a, precision));
  return a;
}

}  // namespace kernels
}  // namespace ctnn
