// Gradient bucket size for data-parallel training (ctnn/mpi/data_parallel.hpp): for each
// bucket size, whole training steps of a network on this process's slice of a global batch,
// with the buckets' allreduces overlapped with the backward, against the same steps with one
// blocking allreduce after the backward and against steps with no communication at all.
// Configurations are interleaved round by round, so a busy machine slows them alike; on a
// shared machine only the ratios mean anything.
//
//   mpirun -np 2 build/bench/bench_mpi_allreduce [seed|airbench] [global batch] [rounds] [threads]
//   mpirun -np 2 --mca btl tcp,self build/bench/bench_mpi_allreduce airbench   # over loopback TCP
//
// Prints, on rank 0, per configuration: the median step time (slowest process), the median
// time spent waiting in finish_step() (the communication the overlap did not hide), and the
// number of buckets; then the blocking allreduce of the whole gradient alone.
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "networks.hpp"
#include "ctnn/mpi/all.hpp"

namespace {

struct Config {
  std::string name;
  bool communicate;
  ctnn::mpi::DataParallelOptions options;
  std::vector<double> step, wait;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

template <class Net>
int run(const ctnn::mpi::Communicator& comm, const char* net_name, std::size_t global, int rounds) {
  const std::size_t ranks = static_cast<std::size_t>(comm.size());
  ctnn::data::check_global_batch(global, {static_cast<std::size_t>(comm.rank()), ranks});
  const std::size_t local = global / ranks;
  auto net = std::make_unique<Net>(1);
  ctnn::Tensor<typename Net::in_shape, float> images(local);
  ctnn::Rng rng(7 + static_cast<std::uint64_t>(comm.rank()));
  for (std::size_t i = 0; i < images.size(); ++i) images[i] = static_cast<float>(rng.normal());
  std::vector<std::int32_t> labels(local);
  for (auto& l : labels) l = static_cast<std::int32_t>(rng.below(10));
  ctnn::CrossEntropyLoss<typename Net::out_shape> loss;

  std::vector<Config> configs;
  configs.push_back({"no communication", false, {}, {}, {}});
  configs.push_back({"one allreduce after backward", true, {.overlap = false}, {}, {}});
  for (std::size_t kb : {0ul, 64ul, 256ul, 1024ul, 4096ul, 25600ul}) {
    const std::string label = kb == 0 ? "buckets of one layer" : "buckets of " + std::to_string(kb) + " KiB";
    configs.push_back({label, true, {.bucket_bytes = kb * 1024, .overlap = true}, {}, {}});
  }
  std::vector<double> allreduce_only;
  for (int round = -1; round < rounds; ++round) {  // round -1: warm-up
    for (auto& c : configs) {
      std::unique_ptr<ctnn::mpi::DataParallel<Net>> dp;
      if (c.communicate) dp = std::make_unique<ctnn::mpi::DataParallel<Net>>(comm, *net, c.options);
      comm.barrier();
      const double t0 = MPI_Wtime();
      loss(net->forward(images), labels);
      if (dp) dp->begin_step(local, global);
      net->backward(loss.grad());
      if (dp) dp->finish_step();
      double times[2] = {MPI_Wtime() - t0, dp ? dp->wait_seconds() : 0.0};
      comm.allreduce_max(std::span<double>(times));
      net->zero_grad();
      if (round >= 0) {
        c.step.push_back(times[0]);
        c.wait.push_back(times[1]);
      }
    }
    comm.barrier();
    const double t0 = MPI_Wtime();
    comm.allreduce_sum(std::span<float>(net->gradient_data(), Net::param_count));
    double t[1] = {MPI_Wtime() - t0};
    comm.allreduce_max(std::span<double>(t));
    if (round >= 0) allreduce_only.push_back(t[0]);
  }
  if (comm.is_root()) {
    std::printf("%s: %zu parameters (%.2f MB of fp32 gradients), global batch %zu over %zu processes, %d threads each, "
                "%d rounds (medians; slowest process)\n",
                net_name, Net::param_count, Net::param_count * 4 / 1e6, global, ranks, omp_get_max_threads(), rounds);
    std::printf("  %-30s %8s %12s %12s %14s\n", "configuration", "buckets", "step ms", "wait ms", "vs no comm");
    const double base = median(configs[0].step);
    for (const auto& c : configs) {
      const std::size_t nb = c.communicate && c.options.overlap ? ctnn::mpi::plan_buckets(Net::param_offsets,
                                                                  c.options.bucket_bytes, sizeof(float)).size()
                                                               : (c.communicate ? 1 : 0);
      std::printf("  %-30s %8zu %12.2f %12.2f %13.3fx\n", c.name.c_str(), nb, 1e3 * median(c.step), 1e3 * median(c.wait),
                  median(c.step) / base);
    }
    std::printf("  blocking allreduce of the whole gradient alone: %.2f ms\n", 1e3 * median(allreduce_only));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return ctnn::mpi::run(argc, argv, [&](ctnn::mpi::Communicator& comm) {
    const std::string net = argc > 1 ? argv[1] : "seed";
    const std::size_t global = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 64;
    const int rounds = argc > 3 ? std::atoi(argv[3]) : 10;
    if (argc > 4) omp_set_num_threads(std::atoi(argv[4]));
    if (net == "seed") return run<ctnn::bench::SeedNet>(comm, "seed", global, rounds);
    if (net == "airbench") return run<ctnn::bench::Airbench94>(comm, "airbench94", global, rounds);
    if (net == "resnet9") return run<ctnn::bench::ResNet9>(comm, "resnet9", global, rounds);
    throw std::invalid_argument("bench_mpi_allreduce: unknown network '" + net + "' (seed, airbench or resnet9)");
  });
}
