#pragma once
// Sharded evaluation: each process evaluates its slice of every batch (a DataLoader with
// LoaderOptions::shard), and the loss sums, correct counts and sample counts are summed over
// the processes, so every process gets the one-process figures of the whole set (the seconds
// are the slowest process's).
#include <cmath>
#include <cstdint>
#include <span>

#include "ctnn/mpi/communicator.hpp"
#include "ctnn/train/loop.hpp"

namespace ctnn::mpi {

// Combines every process's result of a pass over its shard.
inline train::PassResult combine(const Communicator& comm, const train::PassResult& mine) {
  const double n = static_cast<double>(mine.samples);
  double sums[3] = {mine.loss * n, std::round(mine.accuracy * n), n};
  comm.allreduce_sum(std::span<double>(sums));
  double seconds[1] = {mine.seconds};
  comm.allreduce_max(std::span<double>(seconds));
  train::PassResult r;
  r.samples = static_cast<std::size_t>(sums[2]);
  r.loss = r.samples ? sums[0] / sums[2] : 0;
  r.accuracy = r.samples ? sums[1] / sums[2] : 0;
  r.seconds = seconds[0];
  return r;
}

template <class Net, class Loader>
train::PassResult evaluate(const Communicator& comm, Net& net, Loader& sharded_loader, std::uint64_t epoch = 0) {
  return combine(comm, train::evaluate(net, sharded_loader, epoch));
}

}  // namespace ctnn::mpi
