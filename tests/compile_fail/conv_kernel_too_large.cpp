// expect-error: Conv_at_layer<1>::has_kernel<7>::larger_than_its_padded_input<4, 4>
// A 7x7 unpadded kernel cannot slide over a 4x4 input.
#include <ctnn/ctnn.hpp>

using Net = ctnn::Sequential<ctnn::Input<3, 4, 4>, ctnn::Conv<3, 8, 7, 1, 0>>;

int main() {
  Net net(1);
  return static_cast<int>(Net::param_count % 2);
}
