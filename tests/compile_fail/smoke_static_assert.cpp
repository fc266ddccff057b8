// expect-error: static assertion failed: ctnn smoke: this must not compile
// Smoke test of the compile-fail machinery (tests/compile_fail.cmake): this file must fail to
// compile, with exactly this message. It includes ctnn so that the include path is exercised.
#include <ctnn/core/shape.hpp>

static_assert(ctnn::Shape<1, 2, 3>::size == 6, "ctnn headers are reachable");
static_assert(sizeof(int) == 1, "ctnn smoke: this must not compile");

int main() { return 0; }
