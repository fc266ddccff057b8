// expect-error: Conv_at_layer<2>::expects_input_channels<8>::but_receives<16>
// A channel mismatch inside a residual block names the block's position in the network.
#include <ctnn/ctnn.hpp>

using Net = ctnn::Sequential<ctnn::Input<3, 8, 8>, ctnn::Conv<3, 16, 3>,
                             ctnn::Residual<ctnn::Conv<8, 16, 3>, ctnn::BatchNorm>>;
int main() {
  Net net(1);
  return static_cast<int>(Net::param_count % 2);
}
