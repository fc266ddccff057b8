// expect-error: the first element must be ctnn::Input<C, H, W>
// Sequential needs the sample shape first; every later size is inferred from it.
#include <ctnn/ctnn.hpp>

using Net = ctnn::Sequential<ctnn::Conv<3, 16, 5>, ctnn::ReLU>;

int main() {
  Net net(1);
  return 0;
}
