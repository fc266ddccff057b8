#pragma once
// A model zoo entry: the network of airbench94, the fastest published CIFAR-10 recipe to 94 %
// (Keller Jordan, "94% on CIFAR-10 in 3.29 seconds on a single GPU", 2024). The recipe itself
// (whitening init, dirac init, Nesterov SGD with a triangular schedule, Lookahead, label
// smoothing, test-time augmentation) is the airbench preset of examples/train_cifar10.cpp.
#include <cstddef>

#include "ctnn/layers/activation.hpp"
#include "ctnn/layers/batchnorm.hpp"
#include "ctnn/layers/conv.hpp"
#include "ctnn/layers/global_pool.hpp"
#include "ctnn/layers/linear.hpp"
#include "ctnn/layers/pool.hpp"
#include "ctnn/layers/sequential.hpp"

namespace ctnn::models {

// airbench94 (Keller Jordan, 2024): a 2x2 whitening conv computed from the data (frozen), then
// three conv groups Conv-MaxPool-BN-GELU-Conv-BN-GELU of widths 64, 256, 256 with bias-free
// convs and BatchNorms whose weight is frozen at 1 (momentum 0.6 in airbench's convention, i.e.
// PyTorch momentum 0.4, eps 1e-12), global max pooling, a bias-free Linear and logits x 1/9.
// About 0.24 GFLOP per image forward.
inline constexpr BatchNormOptions kAirbenchNorm{.momentum = 0.4, .eps = 1e-12, .learn_weight = false};
using AirbenchNorm = BatchNormWith<kAirbenchNorm>;
template <std::size_t In, std::size_t Out>
using BareConv = Conv<In, Out, 3, 1, 1, 1, false>;  // 3x3, "same" padding, no bias

using Airbench94 = Sequential<Input<3, 32, 32>,                                    //
                              Conv<3, 24, 2, 1, 0>, GELU,                          // whitening (2x2)
                              BareConv<24, 64>, MaxPool<2>, AirbenchNorm, GELU,    // group 1
                              BareConv<64, 64>, AirbenchNorm, GELU,                //
                              BareConv<64, 256>, MaxPool<2>, AirbenchNorm, GELU,   // group 2
                              BareConv<256, 256>, AirbenchNorm, GELU,              //
                              BareConv<256, 256>, MaxPool<2>, AirbenchNorm, GELU,  // group 3
                              BareConv<256, 256>, AirbenchNorm, GELU,              //
                              GlobalMaxPool, Linear<10, false>, Scale<1.0 / 9>>;

}  // namespace ctnn::models
