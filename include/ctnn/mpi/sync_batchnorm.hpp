#pragma once
// SyncBatchNorm over MPI: the BatchNormSync (layers/batchnorm.hpp) that makes N processes, each
// with a slice of the batch, compute the whole batch's BatchNorm statistics and gradients
// (torch.nn.SyncBatchNorm). Install it with net.set_batchnorm_sync(&sync), or let DataParallel
// do it (DataParallelOptions::sync_batchnorm).
//
// Forward: every process's per-channel (count, mean, biased variance) are gathered and combined
// in rank order (Chan, Golub and LeVeque's pairwise update), so every process gets the same
// figures, as exact as the one-process pass. Backward: the two per-channel sums are summed.
#include <cstddef>
#include <span>
#include <vector>

#include "ctnn/layers/batchnorm.hpp"
#include "ctnn/mpi/communicator.hpp"

namespace ctnn::mpi {

class SyncBatchNorm final : public BatchNormSync {
 public:
  explicit SyncBatchNorm(const Communicator& comm) : comm_(&comm) {}

  // The factor this process's parameter gradients are multiplied by before they are summed
  // (DataParallel::begin_step sets it: this process's share of the global batch).
  void set_gradient_scale(double scale) { scale_ = scale; }
  double gradient_scale() const { return scale_; }

  double combine_moments(double count, double* mean, double* var, std::size_t channels) override {
    const std::size_t width = 1 + 2 * channels, ranks = static_cast<std::size_t>(comm_->size());
    reserve(width * (ranks + 1));
    double* mine = work_.data();
    double* all = work_.data() + width;
    mine[0] = count;
    for (std::size_t c = 0; c < channels; ++c) {
      mine[1 + c] = mean[c];
      mine[1 + channels + c] = var[c] * count;  // the sum of squared deviations (M2)
    }
    comm_->allgather(std::span<const double>(mine, width), std::span<double>(all, width * ranks));
    double total = 0;
    for (std::size_t r = 0; r < ranks; ++r) total += all[r * width];
    for (std::size_t c = 0; c < channels; ++c) {
      double n = 0, m = 0, m2 = 0;
      for (std::size_t r = 0; r < ranks; ++r) {
        const double* p = all + r * width;
        const double nb = p[0], mb = p[1 + c], m2b = p[1 + channels + c];
        if (nb == 0) continue;
        const double delta = mb - m, sum = n + nb;
        m += delta * (nb / sum);
        m2 += m2b + delta * delta * (n * nb / sum);
        n = sum;
      }
      mean[c] = m;
      var[c] = n > 0 ? m2 / n : 0;
    }
    return total;
  }

  // Each process's sums weighted by its gradient scale, summed, then back in this one's scale:
  // exact also when the processes' slices differ in size (the last batch of an epoch).
  void combine_gradient_sums(double* sums, std::size_t n) override {
    for (std::size_t i = 0; i < n; ++i) sums[i] *= scale_;
    comm_->allreduce_sum(std::span<double>(sums, n));
    for (std::size_t i = 0; i < n; ++i) sums[i] /= scale_;
  }

 private:
  void reserve(std::size_t n) {
    if (work_.size() < n) work_.resize(n);  // grows on the first steps only
  }
  const Communicator* comm_;
  double scale_ = 1;
  std::vector<double> work_;
};

}  // namespace ctnn::mpi
