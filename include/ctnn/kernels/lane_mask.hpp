#pragma once
// The AVX-512 mask of the first n of a vector's 16 float/int32 lanes (all of them for n >= 16, none
// for n <= 0): the masked loads and stores at the end of a row, in the GEMM packing and
// micro-kernels and in the pooling kernels.
#if defined(__AVX512F__)
#include <immintrin.h>

#include <cstddef>

namespace ctnn::kernels {

inline __mmask16 first_lanes(std::ptrdiff_t n) {
  return n >= 16 ? static_cast<__mmask16>(0xFFFF) : n <= 0 ? 0 : static_cast<__mmask16>((1u << n) - 1u);
}

}  // namespace ctnn::kernels
#endif
