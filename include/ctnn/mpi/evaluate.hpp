#pragma once
// Sharded evaluation: each process evaluates its slice of every batch (a DataLoader with
// LoaderOptions::shard), and the loss sums, correct counts and sample counts are summed over
// the processes, so every process gets the one-process figures of the whole set (the seconds
// are the slowest process's).
#include <cstdint>
#include <span>

#include "ctnn/mpi/communicator.hpp"
#include "ctnn/train/loop.hpp"
#include "ctnn/train/strategy.hpp"

namespace ctnn::mpi {

// Combines every process's result of a pass over its shard (train::combine).
inline train::PassResult combine(const Communicator& comm, const train::PassResult& mine) {
  return train::combine(comm, mine);
}

template <class Net, class Loader>
train::PassResult evaluate(const Communicator& comm, Net& net, Loader& sharded_loader, std::uint64_t epoch = 0) {
  return combine(comm, train::evaluate(net, sharded_loader, epoch));
}

}  // namespace ctnn::mpi
