#pragma once
// The trainer's model presets. Each is a network type plus the training recipe that is its
// default on the command line.
#include <string>

#include <ctnn/ctnn.hpp>

namespace presets {

// The coursework network, exactly: Conv(3,16,5,pad 2)-BN-ReLU-MaxPool2,
// Conv(16,32,5,pad 2)-BN-ReLU-MaxPool2, Linear(2048,10).
using Seed = ctnn::Sequential<ctnn::Input<3, 32, 32>,                                    //
                              ctnn::Conv<3, 16, 5>, ctnn::BatchNorm, ctnn::ReLU, ctnn::MaxPool<2>,   //
                              ctnn::Conv<16, 32, 5>, ctnn::BatchNorm, ctnn::ReLU, ctnn::MaxPool<2>,  //
                              ctnn::Linear<10>>;

// The coursework's second study varied depth: the same Conv(5x5, pad 2)-BN-ReLU-MaxPool2 block
// repeated 2, 3 or 4 times, doubling the channels (16, 32, 64, 128), then Linear(..., 10).
using Seed3 = ctnn::Sequential<ctnn::Input<3, 32, 32>,                                     //
                               ctnn::Conv<3, 16, 5>, ctnn::BatchNorm, ctnn::ReLU, ctnn::MaxPool<2>,   //
                               ctnn::Conv<16, 32, 5>, ctnn::BatchNorm, ctnn::ReLU, ctnn::MaxPool<2>,  //
                               ctnn::Conv<32, 64, 5>, ctnn::BatchNorm, ctnn::ReLU, ctnn::MaxPool<2>,  //
                               ctnn::Linear<10>>;
using Seed4 = ctnn::Sequential<ctnn::Input<3, 32, 32>,                                      //
                               ctnn::Conv<3, 16, 5>, ctnn::BatchNorm, ctnn::ReLU, ctnn::MaxPool<2>,    //
                               ctnn::Conv<16, 32, 5>, ctnn::BatchNorm, ctnn::ReLU, ctnn::MaxPool<2>,   //
                               ctnn::Conv<32, 64, 5>, ctnn::BatchNorm, ctnn::ReLU, ctnn::MaxPool<2>,   //
                               ctnn::Conv<64, 128, 5>, ctnn::BatchNorm, ctnn::ReLU, ctnn::MaxPool<2>,  //
                               ctnn::Linear<10>>;

struct Recipe {
  int epochs;
  std::size_t batch_size;
  double lr;
  std::string optimizer;
  double momentum;
  double weight_decay;
  std::string augment;
  std::string normalize;
};

// The coursework's tuned run: Adam, lr 1e-3, batch 32, 5 epochs.
inline const Recipe seed_recipe{5, 32, 1e-3, "adam", 0.9, 0.0, "none", "cifar"};

}  // namespace presets
