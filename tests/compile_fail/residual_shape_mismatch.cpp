// expect-error: Residual_at_layer<2>::adds_a_shortcut_of_shape<16, 8, 8>::to_a_body_output_of_shape<32, 4, 4>
// A residual body that halves the map and doubles the channels cannot be added to its input
// without a projection; the error names the block's position and both shapes.
#include <ctnn/ctnn.hpp>

using Net = ctnn::Sequential<ctnn::Input<3, 8, 8>, ctnn::Conv<3, 16, 3>,
                             ctnn::Residual<ctnn::Conv<16, 32, 3, 2>, ctnn::BatchNorm, ctnn::ReLU>>;
int main() {
  Net net(1);
  return static_cast<int>(Net::param_count % 2);
}
