#pragma once
// DataParallel: N processes train one network as one process would on their union of the data
// (PyTorch's DistributedDataParallel over MPI). Each process runs forward and backward on its
// slice of every global batch (DataLoader with LoaderOptions::shard, data/shard.hpp); the
// gradients are summed in buckets (mpi/buckets.hpp), in reverse layer order, each bucket's
// MPI_Iallreduce started from the network's gradient hook as soon as the backward has passed
// it, so communication overlaps the rest of the backward.
//
//   ctnn::mpi::DataParallel dp(comm, net, {.sync_batchnorm = true});
//   dp.broadcast_from_root();                          // at start, and after a resume
//   for (auto& batch : loader.epoch(e)) {              // loader sharded: batch.size() = B / N
//     loss(net.forward(batch.images), batch.labels);   // mean over this process's images
//     dp.begin_step(batch.size(), batch.global_size);
//     net.backward(loss.grad());                       // starts the buckets' reductions
//     dp.finish_step();                                // gradients: the one-process gradients
//     opt.step();
//     opt.zero_grad();
//   }
//
// Gradients are scaled by this process's share of the global batch (local / global) before
// they are summed, so the result is the gradient of the mean loss over the global batch, also
// for a last batch whose slices differ in size. The optimizer then runs on every process with
// identical gradients, keeping the parameters identical (no parameter broadcast per step).
//
// With sync_batchnorm, BatchNorm statistics are those of the global batch (mpi/sync_batchnorm.hpp);
// without, each process normalises its own slice (DDP's default), and after each step the
// running statistics become rank 0's (DataParallelOptions::broadcast_buffers, as DDP does).
// One backward per step, between begin_step() and finish_step() (no gradient accumulation:
// the first backward's buckets are already being summed). Decisions that depend on one
// process's figures (a non-finite loss) must be taken alike everywhere: check the gradients
// after finish_step(), which are the same on every process, or use Communicator::any().
//
// The object must outlive the network's backward calls and stays where it is (the hook holds
// its address); its destructor removes the hook and the BatchNorm sync from the network.
#include <chrono>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "ctnn/layers/chain.hpp"
#include "ctnn/mpi/buckets.hpp"
#include "ctnn/mpi/communicator.hpp"
#include "ctnn/mpi/sync_batchnorm.hpp"

namespace ctnn::mpi {

struct DataParallelOptions {
  // About this many bytes of gradients per allreduce (bench/mpi_allreduce.cpp; 0: one per layer).
  std::size_t bucket_bytes = std::size_t{1} << 20;
  // Start each bucket's allreduce during backward; false: one blocking allreduce of every
  // gradient in finish_step() (the same sums, bit for bit, with 2 processes).
  bool overlap = true;
  bool sync_batchnorm = false;  // SyncBatchNorm: the global batch's BatchNorm statistics
  // Without sync_batchnorm: after each step every process's buffers (running statistics)
  // become rank 0's, as DDP's broadcast_buffers does before each forward, so all processes
  // evaluate, save and resume with the same statistics.
  bool broadcast_buffers = true;
};

template <class Net>
class DataParallel {
  using T = typename Net::scalar;

 public:
  DataParallel(const Communicator& comm, Net& net, DataParallelOptions options = {})
      : comm_(&comm), net_(&net), options_(options), sync_(comm),
        buckets_(plan_buckets(Net::param_offsets, options.bucket_bytes, sizeof(T))),
        requests_(buckets_.size(), MPI_REQUEST_NULL) {
    if (options_.overlap) net_->set_gradient_hook(GradientHook{&DataParallel::on_gradients_ready, this});
    if (options_.sync_batchnorm) net_->set_batchnorm_sync(&sync_);
  }
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;
  ~DataParallel() {
    net_->set_gradient_hook({});
    net_->set_batchnorm_sync(nullptr);
    if (started_ > 0) MPI_Waitall(static_cast<int>(started_), requests_.data(), MPI_STATUSES_IGNORE);
  }

  // Every parameter and buffer (BatchNorm running statistics) becomes rank 0's: at the start of
  // training and after a resume, so that the processes start identical.
  void broadcast_from_root() {
    comm_->broadcast(std::span<T>(net_->parameter_data(), Net::param_count));
    comm_->broadcast(std::span<T>(net_->buffer_data(), Net::buffer_count));
  }

  // Before the backward of each step: this process's loss is the mean over `local` images of a
  // global batch of `global` images.
  void begin_step(std::size_t local, std::size_t global) {
    if (local == 0 || local > global)
      throw std::invalid_argument("ctnn::mpi::DataParallel::begin_step: this process's slice holds " +
                                  std::to_string(local) + " images of a global batch of " + std::to_string(global) +
                                  " (expected 1 .. global; a batch smaller than the process count cannot be shared)");
    if (started_ != 0) throw std::logic_error("ctnn::mpi::DataParallel: begin_step() again before finish_step()");
    scale_ = static_cast<T>(static_cast<double>(local) / static_cast<double>(global));
    sync_.set_gradient_scale(static_cast<double>(local) / static_cast<double>(global));
    ready_from_ = Net::param_count;
    in_step_ = true;
  }

  // After the backward: completes the reductions (or, without overlap, makes the one
  // allreduce). The gradients are then the global batch's, identical on every process.
  void finish_step() {
    if (!in_step_) throw std::logic_error("ctnn::mpi::DataParallel::finish_step() without begin_step()");
    const auto start = std::chrono::steady_clock::now();
    if (options_.overlap) {
      ready_from_ = 0;  // a bucket the hook did not start (no backward through it) is final too
      start_ready_buckets();
      Communicator::wait_all(std::span<MPI_Request>(requests_.data(), started_));
    } else {
      scale(0, Net::param_count);
      comm_->allreduce_sum(std::span<T>(net_->gradient_data(), Net::param_count));
    }
    if (options_.broadcast_buffers && !options_.sync_batchnorm && Net::buffer_count > 0)
      comm_->broadcast(std::span<T>(net_->buffer_data(), Net::buffer_count));
    wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    started_ = 0;
    in_step_ = false;
  }

  const std::vector<Bucket>& buckets() const noexcept { return buckets_; }
  // Seconds spent in finish_step() so far: the communication the overlap did not hide.
  double wait_seconds() const noexcept { return wait_seconds_; }
  const Communicator& communicator() const noexcept { return *comm_; }

 private:
  static void on_gradients_ready(void* self, std::size_t begin, std::size_t) {
    auto& dp = *static_cast<DataParallel*>(self);
    if (!dp.in_step_) return;  // a backward outside begin_step/finish_step: left alone
    if (begin < dp.ready_from_) dp.ready_from_ = begin;
    dp.start_ready_buckets();
    Communicator::test_all(std::span<MPI_Request>(dp.requests_.data(), dp.started_));  // drives their progress
  }

  void start_ready_buckets() {
    while (started_ < buckets_.size() && buckets_[started_].begin >= ready_from_) {
      const Bucket& b = buckets_[started_];
      scale(b.begin, b.end);
      requests_[started_] = comm_->iallreduce_sum(std::span<T>(net_->gradient_data() + b.begin, b.end - b.begin));
      ++started_;
    }
  }

  void scale(std::size_t begin, std::size_t end) {
    T* g = net_->gradient_data();
    for (std::size_t i = begin; i < end; ++i) g[i] *= scale_;
  }

  const Communicator* comm_;
  Net* net_;
  DataParallelOptions options_;
  SyncBatchNorm sync_;
  std::vector<Bucket> buckets_;
  std::vector<MPI_Request> requests_;
  std::size_t started_ = 0;  // buckets whose allreduce has started this step
  std::size_t ready_from_ = 0;  // gradients [ready_from_, end) are final
  T scale_ = 1;
  bool in_step_ = false;
  double wait_seconds_ = 0;
};

}  // namespace ctnn::mpi
