// Smallest useful program built against ctnn from outside the project (see tests/consumer.cmake).
// Returns non-zero if anything about a Tensor is off.
#if __has_include(<ctnn/ctnn.hpp>)
#include <ctnn/ctnn.hpp>
#endif
#include <ctnn/core/shape.hpp>
#include <ctnn/core/tensor.hpp>

#include <cstdint>
#include <cstdio>

namespace {
int failures = 0;
void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "ctnn consumer: FAILED: %s\n", what);
    ++failures;
  }
}
}  // namespace

int main() {
  using S = ctnn::Shape<3, 4, 5>;
  static_assert(S::size == 60 && S::plane == 20, "Shape<3,4,5> sizes");
  static_assert(ctnn::SampleShape<S>, "Shape<3,4,5> models SampleShape");

  ctnn::Tensor<S> t(2);
  check(t.batch() == 2, "batch() == 2");
  check(t.size() == 120, "size() == 120");
  check(t.span().size() == 120, "span().size() == 120");
  check(t.data() != nullptr, "data() != nullptr");
  check(reinterpret_cast<std::uintptr_t>(t.data()) % 64 == 0, "data() is 64-byte aligned");
  check(t.sample(1) - t.data() == 60, "sample(1) starts 60 floats in");

  bool zero = true;
  for (float v : t.span()) zero = zero && v == 0.0f;
  check(zero, "new tensor is zero-filled");

  t(1, 2, 3, 4) = 7.0f;  // NCHW: ((1*3 + 2)*4 + 3)*5 + 4 = 119, the last element
  check(t[119] == 7.0f, "operator()(n,c,h,w) is NCHW row-major");

  if (failures) return 1;
  std::printf("ctnn consumer: OK (Tensor<Shape<3,4,5>> x %zu, %zu floats)\n", t.batch(), t.size());
  return 0;
}
