// train_cifar10's airbench96 preset, compiled on its own (examples/cifar_run.hpp).
#include "cifar_run.hpp"

template int cifar::run_model<presets::Airbench96>(const cifar::Options&, const presets::Recipe&);
