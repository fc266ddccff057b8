// train_cifar10's resnet9 preset, compiled on its own (examples/cifar_run.hpp).
#include "cifar_run.hpp"

template int cifar::run_model<presets::ResNet9>(const cifar::Options&, const presets::Recipe&);
