#pragma once
// Data-parallel training over MPI (ctnn::mpi, CMake target ctnn::mpi; docs/mpi.md). Not part of
// ctnn/ctnn.hpp: it needs <mpi.h>.
#include "ctnn/data/shard.hpp"
#include "ctnn/mpi/buckets.hpp"
#include "ctnn/mpi/communicator.hpp"
#include "ctnn/mpi/data_parallel.hpp"
#include "ctnn/mpi/ddp_strategy.hpp"
#include "ctnn/mpi/evaluate.hpp"
#include "ctnn/mpi/sync_batchnorm.hpp"
