#pragma once
// ctnn::train::Strategy: what ctnn::train::Trainer asks of data-parallel training, without MPI
// (as a Lightning Trainer's `strategy`). The trainer runs on one process when
// TrainerOptions::strategy is null; ctnn::mpi::DdpStrategy (ctnn/mpi/ddp_strategy.hpp) is the
// implementation over MPI, and a program may write its own (another transport, a test double).
//
// The contract, per training step of every process (each on its slice of the global batch):
//   forward; begin_step(local, global); backward; finish_step()  -> the gradients are the
//   global batch's, identical on every process; then the agreement any(bad) and the optimizer.
// Every call is collective: each process makes the same calls in the same order. The trainer
// keeps that true: what one process alone sees (a non-finite loss, a Ctrl-C, the end of a
// shorter shard) goes through any() before it changes what the processes do.
//
// Rank 0 (is_root()) alone prints, writes metrics, checkpoints and models; every process reads
// a checkpoint on resume (the folder must be visible to all, as with DDP), then
// broadcast_from_root() makes them identical.
#include <cmath>
#include <cstddef>
#include <span>

#include "ctnn/train/loop.hpp"

namespace ctnn::train {

class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  bool is_root() const { return rank() == 0; }

  // Before the backward: this process's loss is the mean over `local` images of a global batch
  // of `global` (the gradients are weighted by local / global before they are summed).
  virtual void begin_step(std::size_t local, std::size_t global) = 0;
  // After the backward: the gradients are the mean loss's over the global batch, everywhere.
  virtual void finish_step() = 0;
  // Collectives over the processes, on the thread that runs the loop.
  // (The names and constness of mpi::Communicator's, so that combine() takes either.)
  virtual void allreduce_sum(std::span<double> values) const = 0;
  virtual void allreduce_max(std::span<double> values) const = 0;
  virtual bool any(bool mine) const = 0;
  // Every parameter and buffer becomes rank 0's (at the start, and after a resume).
  virtual void broadcast_from_root() = 0;
  // Seconds this process waited in finish_step() so far: the communication the overlap with the
  // backward did not hide (the trainer prints its share of the training time).
  virtual double wait_seconds() const { return 0; }
};

// The whole pass's figures from every process's figures over its shard: loss sums, correct
// counts and sample counts summed, the seconds the slowest process's.
// `c`: a Strategy or an mpi::Communicator.
template <class Collectives>
PassResult combine(const Collectives& c, const PassResult& mine) {
  const double n = static_cast<double>(mine.samples);
  double sums[3] = {mine.loss * n, std::round(mine.accuracy * n), n};
  c.allreduce_sum(std::span<double>(sums));
  double seconds[1] = {mine.seconds};
  c.allreduce_max(std::span<double>(seconds));
  PassResult r;
  r.samples = static_cast<std::size_t>(sums[2]);
  r.loss = r.samples ? sums[0] / sums[2] : 0;
  r.accuracy = r.samples ? sums[1] / sums[2] : 0;
  r.seconds = seconds[0];
  return r;
}

}  // namespace ctnn::train
