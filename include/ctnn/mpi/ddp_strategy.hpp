#pragma once
// ctnn::mpi::DdpStrategy: ctnn::train::Trainer trained data-parallel over MPI (the trainer's
// train::Strategy, train/strategy.hpp, implemented with DataParallel and a Communicator), as a
// Lightning Trainer(strategy="ddp"). Any program that trains with the Trainer scales out by
// sharding its loaders and passing the strategy:
//
//   return ctnn::mpi::run(argc, argv, [&](ctnn::mpi::Communicator& comm) {
//     const ctnn::data::Shard shard = ctnn::mpi::shard_of(comm);
//     ctnn::data::DataLoader train_loader(train_set, tf, {.batch_size = 128, .shuffle = true, .shard = shard});
//     ctnn::data::DataLoader test_loader(test_set, tt, {.batch_size = 500, .shard = shard});
//     ctnn::mpi::DdpStrategy ddp(comm, net, {.sync_batchnorm = true});
//     options.strategy = &ddp;                         // before the Trainer is made
//     ctnn::train::Trainer(net, opt, options).fit(train_loader, test_loader);
//     return 0;
//   });
//
// The constructor broadcasts rank 0's parameters and buffers (the trainer does it again after a
// resume), and on every process but 0 it turns off the convolutions' algorithm notes on stderr
// (set_conv_notes(false), kernels/winograd_select.hpp), which process 0 prints. The object must
// outlive the training and stay where it is (DataParallel's hook holds its address).
#include <cstddef>
#include <span>
#include <string>

#include "ctnn/data/shard.hpp"
#include "ctnn/kernels/winograd_select.hpp"
#include "ctnn/mpi/communicator.hpp"
#include "ctnn/mpi/data_parallel.hpp"
#include "ctnn/train/strategy.hpp"

namespace ctnn::mpi {

// This process's shard of every batch: its rank among the communicator's processes.
inline data::Shard shard_of(const Communicator& comm) {
  return {static_cast<std::size_t>(comm.rank()), static_cast<std::size_t>(comm.size())};
}

template <class Net>
class DdpStrategy final : public train::Strategy {
 public:
  DdpStrategy(const Communicator& comm, Net& net, DataParallelOptions options = {})
      : comm_(comm), dp_(comm, net, options) {
    if (comm.rank() != 0) set_conv_notes(false);  // process 0 prints, as the trainer does
    dp_.broadcast_from_root();
  }

  int rank() const override { return comm_.rank(); }
  int size() const override { return comm_.size(); }
  void begin_step(std::size_t local, std::size_t global) override { dp_.begin_step(local, global); }
  void finish_step() override { dp_.finish_step(); }
  void allreduce_sum(std::span<double> values) const override { comm_.allreduce_sum(values); }
  void allreduce_max(std::span<double> values) const override { comm_.allreduce_max(values); }
  bool any(bool mine) const override { return comm_.any(mine); }
  void broadcast_from_root() override { dp_.broadcast_from_root(); }

  double wait_seconds() const override { return dp_.wait_seconds(); }
  DataParallel<Net>& data_parallel() noexcept { return dp_; }

 private:
  const Communicator& comm_;
  DataParallel<Net> dp_;
};

}  // namespace ctnn::mpi
