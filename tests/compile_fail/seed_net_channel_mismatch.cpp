// expect-error: Conv_at_layer<5>::expects_input_channels<16>::but_receives<32>.*static assertion failed: ctnn: a Conv layer's input channel count does not match
// The seed network with its second conv expecting 16 channels while the first produces 32.
#include <ctnn/ctnn.hpp>

using Net = ctnn::Sequential<ctnn::Input<3, 32, 32>, ctnn::Conv<3, 32, 5>, ctnn::BatchNorm, ctnn::ReLU,
                             ctnn::MaxPool<2>, ctnn::Conv<16, 32, 5>, ctnn::BatchNorm, ctnn::ReLU, ctnn::MaxPool<2>,
                             ctnn::Linear<10>>;

int main() {
  Net net(1);
  return static_cast<int>(Net::param_count % 2);
}
