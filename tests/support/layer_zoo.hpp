#pragma once
// A network with every layer kind ctnn has, in each variant the ONNX exporter treats
// differently: strided, padded, grouped and bias-free convolutions, BatchNorm2d and BatchNorm1d,
// affine = false and a frozen weight, both residual forms, every activation and pooling, Flatten,
// Linear on a spatial and on a flat input, Dropout, Scale, and a Conv after a Linear (a [N, F]
// value reshaped back to [N, F, 1, 1]). tests/unit/test_onnx.cpp checks its ONNX graph's
// operators; tests/onnx/onnx_layer_zoo.cpp runs it in ONNX consumers.
#include <ctnn/ctnn.hpp>

namespace ctnn::testing {

using LayerZoo =
    Sequential<Input<3, 24, 24>, Conv<3, 8, 3, 2, 1>, BatchNorm, LeakyReLU<0.1>, DepthwiseConv<8, 3, 1, 1, false>,
               BatchNormWith<BatchNormOptions{.affine = false}>, GELU, AvgPool<2>,
               Residual<Conv<8, 8, 3>, BatchNorm, ReLU, Conv<8, 8, 3>>,
               Residual<Shortcut<Conv<8, 16, 1, 2, 0, 1, false>, BatchNormWith<BatchNormOptions{.learn_weight = false}>>,
                        Conv<8, 16, 3, 2, 1>, ReLU>,
               MaxPool<2, 1>, GlobalMaxPool, Flatten, Linear<12>, BatchNorm, Dropout<0.5>, ReLU, Linear<6, false>,
               Scale<0.5>, Conv<6, 5, 1, 1, 0>, GELU, GlobalAvgPool, Linear<4>>;

}  // namespace ctnn::testing
