// expect-error: ctnn::Dropout<P>: P must be in \[0, 1\)
#include <ctnn/ctnn.hpp>

using Net = ctnn::Sequential<ctnn::Input<4, 1, 1>, ctnn::Dropout<1.0>>;

int main() {
  Net net(1);
  return 0;
}
