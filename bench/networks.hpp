#pragma once
// The networks the benchmarks measure (and bench/compare_pytorch.py builds in PyTorch): the
// coursework network; ResNet-9's convolution stack without its two residual additions (kept
// for comparison with earlier figures); and the two speed-run networks of the model zoo,
// airbench94, airbench96 and ResNet-9 with its residual blocks; and train_fer2013's strong network.
#include <ctnn/ctnn.hpp>
#include <ctnn/models/airbench.hpp>
#include <ctnn/models/airbench96.hpp>
#include <ctnn/models/resnet9.hpp>
#include <ctnn/models/vgg_faces.hpp>

namespace ctnn::bench {

using SeedNet = Sequential<Input<3, 32, 32>, Conv<3, 16, 5>, BatchNorm, ReLU, MaxPool<2>, Conv<16, 32, 5>, BatchNorm,
                           ReLU, MaxPool<2>, Linear<10>>;
using ResNet9Plain =
    Sequential<Input<3, 32, 32>,                                       //
               Conv<3, 64, 3>, BatchNorm, ReLU,                        // prep
               Conv<64, 128, 3>, BatchNorm, ReLU, MaxPool<2>,          // layer1
               Conv<128, 128, 3>, BatchNorm, ReLU,                     //   res1 (skip omitted)
               Conv<128, 128, 3>, BatchNorm, ReLU,                     //
               Conv<128, 256, 3>, BatchNorm, ReLU, MaxPool<2>,         // layer2
               Conv<256, 512, 3>, BatchNorm, ReLU, MaxPool<2>,         // layer3
               Conv<512, 512, 3>, BatchNorm, ReLU,                     //   res3 (skip omitted)
               Conv<512, 512, 3>, BatchNorm, ReLU,                     //
               MaxPool<4>, Linear<10>>;
using Airbench94 = models::Airbench94;
using Airbench96 = models::Airbench96;
using ResNet9 = models::ResNet9;
using FerStrong = models::VggFaces<64>;  // train_fer2013 --model strong
static_assert(SeedNet::param_count == 34'634);
static_assert(ResNet9Plain::param_count == 6'575'370);

}  // namespace ctnn::bench
