// train_cifar10's seed4 preset, compiled on its own (examples/cifar_run.hpp).
#include "cifar_run.hpp"

template int cifar::run_model<presets::Seed4>(const cifar::Options&, const presets::Recipe&);
