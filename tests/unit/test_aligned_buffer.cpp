// AlignedBuffer: 64-byte alignment, zeroed growth that keeps the contents, and 2 MiB alignment
// (whole huge pages, MADV_HUGEPAGE on Linux) from 2 MiB on, including across moves and copies.
#include <doctest/doctest.h>

#include <cstdint>
#include <utility>

#include <ctnn/core/aligned_buffer.hpp>

using ctnn::AlignedBuffer;

namespace {
bool aligned(const void* p, std::size_t a) { return reinterpret_cast<std::uintptr_t>(p) % a == 0; }
}  // namespace

TEST_CASE("AlignedBuffer: small buffers are 64-byte aligned, large ones 2 MiB aligned in whole huge pages") {
  AlignedBuffer<float> b(10);
  CHECK(aligned(b.data(), 64));
  CHECK(b.capacity() < ctnn::kHugePage / sizeof(float));
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<float>(i + 1);

  const std::size_t big = ctnn::kHugePage / sizeof(float) + 3;  // just over 2 MiB
  b.resize(big);
  CHECK(aligned(b.data(), ctnn::kHugePage));
  CHECK(b.capacity() * sizeof(float) == 2 * ctnn::kHugePage);  // rounded up to whole pages
  for (std::size_t i = 0; i < 10; ++i) CHECK(b[i] == static_cast<float>(i + 1));  // kept
  bool zero = true;
  for (std::size_t i = 10; i < big; ++i) zero = zero && b[i] == 0.0f;
  CHECK(zero);  // new elements are zero

  AlignedBuffer<float> copy(b);  // a copy of a large buffer is large too
  CHECK(aligned(copy.data(), ctnn::kHugePage));
  CHECK(copy[9] == 10.0f);
  AlignedBuffer<float> moved(std::move(copy));  // released with the alignment it was made with
  CHECK(aligned(moved.data(), ctnn::kHugePage));
  AlignedBuffer<float> small(4);
  small = std::move(moved);
  CHECK(small.size() == big);
  small = AlignedBuffer<float>(3);  // a large buffer released, a small one taken over
  CHECK(aligned(small.data(), 64));
  CHECK(small.size() == 3);
}
