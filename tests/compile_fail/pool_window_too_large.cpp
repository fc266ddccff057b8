// expect-error: Pool_at_layer<3>::has_window<4>::larger_than_its_input<2, 2>
// After two 2x2 poolings a 8x8 image is 2x2: a 4x4 window no longer fits.
#include <ctnn/ctnn.hpp>

using Net = ctnn::Sequential<ctnn::Input<1, 8, 8>, ctnn::MaxPool<2>, ctnn::AvgPool<2>, ctnn::MaxPool<4>>;

int main() {
  Net net(1);
  return static_cast<int>(Net::param_count % 2);
}
