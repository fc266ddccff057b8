#pragma once
// The trainer's model presets. Each is a network type plus the training recipe that is its
// default on the command line.
#include <cstddef>
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

// airbench94 (Keller Jordan, 2024): a 2x2 whitening conv computed from the data (frozen), then
// three conv groups Conv-MaxPool-BN-GELU-Conv-BN-GELU of widths 64, 256, 256 with bias-free
// convs and BatchNorms whose weight is frozen at 1 (momentum 0.6 in airbench's convention, i.e.
// PyTorch momentum 0.4, eps 1e-12), global max pooling, a bias-free Linear and logits x 1/9.
// About 0.24 GFLOP per image forward.
inline constexpr ctnn::BatchNormOptions kAirbenchNorm{.momentum = 0.4, .eps = 1e-12, .learn_weight = false};
using AirbenchNorm = ctnn::BatchNormWith<kAirbenchNorm>;
template <std::size_t In, std::size_t Out>
using BareConv = ctnn::Conv<In, Out, 3, 1, 1, 1, false>;
using Airbench =
    ctnn::Sequential<ctnn::Input<3, 32, 32>,                                                                 //
                     ctnn::Conv<3, 24, 2, 1, 0>, ctnn::GELU,                                                 // whitening
                     BareConv<24, 64>, ctnn::MaxPool<2>, AirbenchNorm, ctnn::GELU,                           // group 1
                     BareConv<64, 64>, AirbenchNorm, ctnn::GELU,                                             //
                     BareConv<64, 256>, ctnn::MaxPool<2>, AirbenchNorm, ctnn::GELU,                          // group 2
                     BareConv<256, 256>, AirbenchNorm, ctnn::GELU,                                           //
                     BareConv<256, 256>, ctnn::MaxPool<2>, AirbenchNorm, ctnn::GELU,                         // group 3
                     BareConv<256, 256>, AirbenchNorm, ctnn::GELU,                                           //
                     ctnn::GlobalMaxPool, ctnn::Linear<10, false>, ctnn::Scale<1.0 / 9>>;

// ResNet-9 as in David Page's DAWNBench entry: prep conv 64, then 128 (+pool, + a residual
// block of two conv-BN-ReLU), 256 (+pool), 512 (+pool, + a residual block), global max pool,
// Linear and logits x 0.125. About 0.58 GFLOP per image forward.
using ResNet9 = ctnn::Sequential<
    ctnn::Input<3, 32, 32>,                                                                                    //
    ctnn::Conv<3, 64, 3, 1, 1, 1, false>, ctnn::BatchNorm, ctnn::ReLU,                                         // prep
    ctnn::Conv<64, 128, 3, 1, 1, 1, false>, ctnn::BatchNorm, ctnn::ReLU, ctnn::MaxPool<2>,                     // layer 1
    ctnn::Residual<ctnn::Conv<128, 128, 3, 1, 1, 1, false>, ctnn::BatchNorm, ctnn::ReLU,                       //
                   ctnn::Conv<128, 128, 3, 1, 1, 1, false>, ctnn::BatchNorm, ctnn::ReLU>,                      //
    ctnn::Conv<128, 256, 3, 1, 1, 1, false>, ctnn::BatchNorm, ctnn::ReLU, ctnn::MaxPool<2>,                    // layer 2
    ctnn::Conv<256, 512, 3, 1, 1, 1, false>, ctnn::BatchNorm, ctnn::ReLU, ctnn::MaxPool<2>,                    // layer 3
    ctnn::Residual<ctnn::Conv<512, 512, 3, 1, 1, 1, false>, ctnn::BatchNorm, ctnn::ReLU,                       //
                   ctnn::Conv<512, 512, 3, 1, 1, 1, false>, ctnn::BatchNorm, ctnn::ReLU>,                      //
    ctnn::GlobalMaxPool, ctnn::Linear<10, false>, ctnn::Scale<0.125>>;

// A preset's training recipe: the defaults of every option the user leaves unset.
// lr and weight decay are for the mean loss over the batch (PyTorch's default reduction).
struct Recipe {
  int epochs;
  std::size_t batch_size;
  double lr;
  std::string optimizer;
  double momentum;
  double weight_decay;
  std::string augment;
  std::string normalize;
  std::string schedule = "none";
  double label_smoothing = 0.0;
  int tta = 0;                       // test-time augmentation level of the final evaluation
  bool nesterov = false;
  bool lookahead = false;            // airbench's Lookahead every 5 steps
  bool decay_norm_and_bias = true;   // false: BatchNorm and bias tensors get no weight decay
  double norm_bias_lr_scale = 1.0;   // lr multiplier of BatchNorm biases (wd divided by it)
  bool whiten = false;               // layer 0 is a whitening conv computed from the data, frozen
  int whiten_bias_epochs = 0;        // ... whose bias trains for this many epochs only
  bool dirac = false;                // 3x3 convs start with dirac_ on their first Cin filters
  bool drop_last = false;            // drop the last, smaller training batch of each epoch
};

// The coursework's tuned run: Adam, lr 1e-3, batch 32, 5 epochs.
inline const Recipe seed_recipe{5, 32, 1e-3, "adam", 0.9, 0.0, "none", "cifar"};

// airbench94's hyper-parameters, converted to a mean loss: airbench sums the loss over the batch
// and uses lr = 11.5 / kilostep_scale and weight decay = 0.0153 * 1024 / kilostep_scale with
// kilostep_scale = 1024 * (1 + 1 / (1 - momentum)); with the mean loss the same steps are
// lr x 1024 and (wd / lr) / 1024 (SGD is linear in the gradient's scale).
inline Recipe airbench_recipe() {
  const double batch = 1024, momentum = 0.85;
  const double kilostep_scale = 1024 * (1 + 1 / (1 - momentum));
  const double lr_sum = 11.5 / kilostep_scale, wd_sum = 0.0153 * batch / kilostep_scale;
  Recipe r{10, 1024, lr_sum * batch, "sgd", momentum, (wd_sum / lr_sum) / batch, "flip-translate", "cifar"};
  r.schedule = "triangle:0.2,0.23,0.07";
  r.label_smoothing = 0.2;
  r.tta = 2;
  r.nesterov = true;
  r.lookahead = true;
  r.norm_bias_lr_scale = 64;
  r.whiten = true;
  r.whiten_bias_epochs = 3;
  r.dirac = true;
  r.drop_last = true;
  return r;
}

// Page's ResNet-9 recipe: 24 epochs, batch 512, Nesterov SGD 0.9, lr 0 -> 0.4 (epoch 5) -> 0,
// weight decay 5e-4, label smoothing 0.2, reflect-crop + flip + Cutout 8.
inline Recipe resnet9_recipe() {
  Recipe r{24, 512, 0.4, "sgd", 0.9, 5e-4, "crop-flip-cutout", "cifar"};
  r.schedule = "piecewise:0:0,0.2083:1,1:0";
  r.label_smoothing = 0.2;
  r.tta = 1;
  r.nesterov = true;
  r.drop_last = true;
  return r;
}

}  // namespace presets
