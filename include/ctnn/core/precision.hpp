#pragma once
// Compute precision of the GEMMs in convolutions and linear layers (kernels/gemm.hpp):
//   fp32  every GEMM in fp32 (the default)
//   bf16  GEMM inputs rounded to bfloat16 (round to nearest even), products accumulated in fp32,
//         outputs fp32. Weights, gradients, optimizer state, BatchNorm and the loss stay fp32: the
//         fp32 weights are the master copy, rounded to bf16 as the GEMM packs them (so the "bf16
//         copy" is refreshed on every use, after every optimizer step, with no extra pass).
// With AVX512_BF16 (`vdpbf16ps`, __AVX512BF16__) bf16 runs ctnn's packed bf16 kernel
// (kernels/gemm_bf16.hpp); elsewhere a portable path rounds the inputs the same way and runs the
// fp32 GEMM on them: the same numbers up to fp32 summation order, slower.
// Set it per network: net.set_precision(ctnn::Precision::bf16) (BasicSequential), which reaches
// every layer through Context::precision.
#include <optional>
#include <string_view>

namespace ctnn {

enum class Precision { fp32, bf16 };

// True when bf16 runs on the native AVX512_BF16 kernel (built with it, e.g. -march=native on Zen 4/5
// or Sapphire Rapids); false means the portable, slower bf16 path.
inline constexpr bool bf16_native =
#if defined(__AVX512BF16__) && defined(__AVX512BW__) && defined(__AVX512F__)
    true;
#else
    false;
#endif

// Whether bf16 is expected to be faster than fp32 here: the native kernel is built, and the CPU is an
// AMD one (Zen 4 / Zen 5: `vdpbf16ps` gives twice the FLOPs of the fp32 FMA; bench_peak measured
// 212 vs 101 GFLOP/s on 1 thread of a Zen 5). On the Intel Xeon (family 6, model 207) this project
// was also run on, bench_peak measured the opposite, bf16 dot at about half the fp32 FMA rate
// (55 vs 112 GFLOP/s, 1 thread), so there the speed-run presets' default stays fp32.
inline bool bf16_preferred() {
  if constexpr (!bf16_native) {
    return false;
  } else {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    return __builtin_cpu_is("amd");
#else
    return false;
#endif
  }
}

inline constexpr const char* precision_name(Precision p) { return p == Precision::bf16 ? "bf16" : "fp32"; }

inline std::optional<Precision> parse_precision(std::string_view s) {
  if (s == "fp32") return Precision::fp32;
  if (s == "bf16") return Precision::bf16;
  return std::nullopt;
}

}  // namespace ctnn
