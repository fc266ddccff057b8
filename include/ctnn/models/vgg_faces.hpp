#pragma once
// A model zoo entry: a VGG-style network for 48x48 grayscale faces (FER2013), the network of
// train_fer2013's presets (fast = VggFaces<32>, strong = VggFaces<64>).
#include <cstddef>

#include "ctnn/layers/batchnorm.hpp"
#include "ctnn/layers/conv.hpp"
#include "ctnn/layers/dropout.hpp"
#include "ctnn/layers/linear.hpp"
#include "ctnn/layers/pool.hpp"
#include "ctnn/layers/relu.hpp"
#include "ctnn/layers/sequential.hpp"

namespace ctnn::models {

// The VGG-style network of both presets, at base width W: W-2W-4W channels. The first block
// has a single convolution: with one input channel a second W-channel convolution at 48x48
// would cost more than any other layer and add little. Blocks 2 and 3 are VGG's Conv-BN-ReLU x2
// (widening in the second), block 4 a last 4W-channel convolution at 6x6.
template <std::size_t W>
using VggFaces = Sequential<Input<1, 48, 48>,                                                                //
                            Conv<1, W, 3>, BatchNorm, ReLU, MaxPool<2>,                                      // 24x24
                            Conv<W, W, 3>, BatchNorm, ReLU, Conv<W, 2 * W, 3>, BatchNorm, ReLU,              //
                            MaxPool<2>,                                                                      // 12x12
                            Conv<2 * W, 2 * W, 3>, BatchNorm, ReLU, Conv<2 * W, 4 * W, 3>, BatchNorm, ReLU,  //
                            MaxPool<2>,                                                                      // 6x6
                            Conv<4 * W, 4 * W, 3>, BatchNorm, ReLU, MaxPool<2>,                              // 3x3
                            Dropout<0.3>, Linear<7>>;

}  // namespace ctnn::models
