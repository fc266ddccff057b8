#pragma once
// A model zoo entry: the network of airbench96 (Keller Jordan, cifar10-airbench, airbench96.py,
// the 2024-06 revision: 96.01 % mean over 400 runs in 31 epochs). The recipe (whitening and dirac
// init, Nesterov SGD with warm-up and a linear decay to 0, Lookahead, label smoothing, flip,
// 4-pixel translation and Cutout 12, test-time augmentation) is the airbench96 preset of
// examples/train_cifar10.cpp.
#include <cstddef>

#include "ctnn/layers/activation.hpp"
#include "ctnn/layers/batchnorm.hpp"
#include "ctnn/layers/conv.hpp"
#include "ctnn/layers/global_pool.hpp"
#include "ctnn/layers/linear.hpp"
#include "ctnn/layers/pool.hpp"
#include "ctnn/layers/residual.hpp"
#include "ctnn/layers/sequential.hpp"
#include "ctnn/models/airbench.hpp"

namespace ctnn::models {

// airbench96's BatchNorm: weight frozen at 1, eps 1e-12, PyTorch's default momentum (the 2024-06
// revision dropped airbench94's custom momentum).
inline constexpr BatchNormOptions kAirbench96Norm{.momentum = 0.1, .eps = 1e-12, .learn_weight = false};
using Airbench96Norm = BatchNormWith<kAirbench96Norm>;

// The body of airbench96's residual pair: Conv-BN-GELU-Conv-BN, added to the group's first
// activation; GELU follows the sum.
template <std::size_t C>
using Airbench96Pair = Residual<BareConv<C, C>, Airbench96Norm, GELU, BareConv<C, C>, Airbench96Norm>;

// A 2x2 whitening conv computed from the data (frozen), then three conv groups
// Conv-MaxPool-BN-GELU-[Conv-BN-GELU-Conv-BN]+-GELU of widths 128, 512, 512 (10 convs in all,
// bias-free, dirac-initialised by the recipe), global max pooling (airbench's MaxPool2d(3) on the
// 3x3 plane), a bias-free Linear and logits x 1/9. About 1.23 GFLOP per image forward, 5.1 times
// airbench94's.
using Airbench96 = Sequential<Input<3, 32, 32>,                                                         //
                              Conv<3, 24, 2, 1, 0>, GELU,                                               // whitening
                              BareConv<24, 128>, MaxPool<2>, Airbench96Norm, GELU, Airbench96Pair<128>, GELU,   // 1
                              BareConv<128, 512>, MaxPool<2>, Airbench96Norm, GELU, Airbench96Pair<512>, GELU,  // 2
                              BareConv<512, 512>, MaxPool<2>, Airbench96Norm, GELU, Airbench96Pair<512>, GELU,  // 3
                              GlobalMaxPool, Linear<10, false>, Scale<1.0 / 9>>;

}  // namespace ctnn::models
