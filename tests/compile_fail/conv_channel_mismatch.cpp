// expect-error: Conv_at_layer<2>::expects_input_channels<8>::but_receives<16>
// The example: Conv<3,16,5> followed by Conv<8,32,3> names layer 2 and both counts.
#include <ctnn/ctnn.hpp>

using Net = ctnn::Sequential<ctnn::Input<3, 32, 32>, ctnn::Conv<3, 16, 5>, ctnn::Conv<8, 32, 3>>;

int main() {
  Net net(1);
  return static_cast<int>(Net::param_count % 2);
}
