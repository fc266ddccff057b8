#pragma once
// The umbrella header: shapes, tensors, every layer and the layer contract, Sequential and
// Residual, thread counts and the ThreadGovernor, the loss, optimizers, schedules, weight averaging; from ctnn/train/, the training
// loop (train_epoch, evaluate), test-time augmentation and the confusion matrix; from
// ctnn/data/, the FER2013 reader (which brings ImageSet). Included separately: the other data
// headers (ctnn/data/cifar10.hpp, dataloader.hpp, transforms.hpp, ...), the serialization
// headers ctnn/io/*.hpp (CMake target ctnn::io), the model zoo ctnn/models/*.hpp, the
// library trainer ctnn/train/trainer.hpp (checkpoints, resume, metrics; it needs ctnn::io),
// data-parallel training ctnn/mpi/all.hpp (CMake target ctnn::mpi, when MPI is found), and the
// gradient checker ctnn/testing/gradcheck.hpp.
#include "ctnn/core/aligned_buffer.hpp"
#include "ctnn/core/parameter.hpp"
#include "ctnn/core/random.hpp"
#include "ctnn/core/shape.hpp"
#include "ctnn/core/tensor.hpp"
#include "ctnn/core/thread_governor.hpp"
#include "ctnn/core/threads.hpp"
#include "ctnn/layers/activation.hpp"
#include "ctnn/layers/batchnorm.hpp"
#include "ctnn/layers/contract.hpp"
#include "ctnn/layers/conv.hpp"
#include "ctnn/layers/dropout.hpp"
#include "ctnn/layers/flatten.hpp"
#include "ctnn/layers/global_pool.hpp"
#include "ctnn/layers/linear.hpp"
#include "ctnn/layers/no_grad.hpp"
#include "ctnn/layers/pool.hpp"
#include "ctnn/layers/relu.hpp"
#include "ctnn/layers/residual.hpp"
#include "ctnn/layers/sequential.hpp"
#include "ctnn/loss/cross_entropy.hpp"
#include "ctnn/optim/adam.hpp"
#include "ctnn/optim/ema.hpp"
#include "ctnn/optim/muon.hpp"
#include "ctnn/optim/param_groups.hpp"
#include "ctnn/optim/schedule.hpp"
#include "ctnn/optim/sgd.hpp"
#include "ctnn/train/tta.hpp"
#include "ctnn/data/fer2013.hpp"
#include "ctnn/train/confusion.hpp"
