// Compile-time probe (issue 16): a 20-layer ResNet-style network (He et al. 2016's CIFAR ResNet-20:
// a 3x3 conv, three stages of three basic blocks, the second and third stage opening with a
// stride-2 block and a 1x1 projection, global pooling, Linear) as one flat Sequential, trained for
// one step on random data so that every layer's forward, backward and optimizer code is
// instantiated. Not part of the default build:
//   touch bench/compile_time/resnet20.cpp && /usr/bin/time -v cmake --build build --target compile_resnet20
#include <cstdio>

#include <ctnn/ctnn.hpp>

using namespace ctnn;

template <std::size_t C>
using Block = Residual<Conv<C, C, 3, 1, 1, 1, false>, BatchNorm, ReLU, Conv<C, C, 3, 1, 1, 1, false>, BatchNorm>;
template <std::size_t In, std::size_t Out>
using DownBlock = Residual<Shortcut<Conv<In, Out, 1, 2, 0, 1, false>, BatchNorm>, Conv<In, Out, 3, 2, 1, 1, false>,
                           BatchNorm, ReLU, Conv<Out, Out, 3, 1, 1, 1, false>, BatchNorm>;

using ResNet20 = Sequential<Input<3, 32, 32>, Conv<3, 16, 3, 1, 1, 1, false>, BatchNorm, ReLU,  //
                            Block<16>, ReLU, Block<16>, ReLU, Block<16>, ReLU,                  // stage 1
                            DownBlock<16, 32>, ReLU, Block<32>, ReLU, Block<32>, ReLU,          // stage 2
                            DownBlock<32, 64>, ReLU, Block<64>, ReLU, Block<64>, ReLU,          // stage 3
                            GlobalAvgPool, Linear<10>>;

int main() {
  ResNet20 net(1);
  net.train();
  SGD opt{net.parameters(), {.lr = 0.1, .momentum = 0.9}};
  Tensor<ResNet20::in_shape> x(8);
  Rng rng(2);
  for (auto& v : x.span()) v = static_cast<float>(rng.normal());
  std::vector<std::int32_t> labels(8, 3);
  CrossEntropyLoss<ResNet20::out_shape> loss;
  const double l = loss(net.forward(x), labels);
  net.backward(loss.grad());
  opt.step();
  std::printf("ResNet-20: %zu parameters, first loss %.4f\n", static_cast<std::size_t>(ResNet20::param_count), l);
  return 0;
}
