#pragma once
// A model zoo entry: ResNet-9 as in David Page's DAWNBench CIFAR-10 entry ("How to train your
// ResNet", 2018): 94 % in 24 epochs with its recipe (the resnet9 preset of
// examples/train_cifar10.cpp).
#include <cstddef>

#include "ctnn/layers/batchnorm.hpp"
#include "ctnn/layers/conv.hpp"
#include "ctnn/layers/global_pool.hpp"
#include "ctnn/layers/linear.hpp"
#include "ctnn/layers/pool.hpp"
#include "ctnn/layers/relu.hpp"
#include "ctnn/layers/activation.hpp"
#include "ctnn/layers/residual.hpp"
#include "ctnn/layers/sequential.hpp"

namespace ctnn::models {

// ResNet-9 as in David Page's DAWNBench entry: prep conv 64, then 128 (+pool, + a residual
// block of two conv-BN-ReLU), 256 (+pool), 512 (+pool, + a residual block), global max pool,
// Linear and logits x 0.125. About 0.58 GFLOP per image forward.
template <std::size_t In, std::size_t Out>
using Conv3x3 = Conv<In, Out, 3, 1, 1, 1, false>;  // "same" padding, no bias (a BatchNorm follows)

using ResNet9 = Sequential<Input<3, 32, 32>,                                                                   //
                           Conv3x3<3, 64>, BatchNorm, ReLU,                                                    // prep
                           Conv3x3<64, 128>, BatchNorm, ReLU, MaxPool<2>,                                      // layer 1
                           Residual<Conv3x3<128, 128>, BatchNorm, ReLU, Conv3x3<128, 128>, BatchNorm, ReLU>,   //
                           Conv3x3<128, 256>, BatchNorm, ReLU, MaxPool<2>,                                     // layer 2
                           Conv3x3<256, 512>, BatchNorm, ReLU, MaxPool<2>,                                     // layer 3
                           Residual<Conv3x3<512, 512>, BatchNorm, ReLU, Conv3x3<512, 512>, BatchNorm, ReLU>,   //
                           GlobalMaxPool, Linear<10, false>, Scale<0.125>>;

}  // namespace ctnn::models
