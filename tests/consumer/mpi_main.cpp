// A program that uses ctnn's data-parallel headers from outside the project, linking only
// ctnn::mpi (see tests/consumer.cmake): MPI must come with that target. Built when the consumer's
// CMake finds MPI. Started by hand (not by mpirun) it initialises MPI only if a launcher did.
#include <ctnn/ctnn.hpp>
#include <ctnn/mpi/all.hpp>

#include <cstdio>

int main(int argc, char** argv) {
  using Net = ctnn::Sequential<ctnn::Input<1, 8, 8>, ctnn::Conv<1, 4, 3>, ctnn::BatchNorm, ctnn::ReLU,
                               ctnn::Linear<3>>;
  if (!ctnn::mpi::launched_by_mpiexec()) {
    std::printf("ctnn::mpi consumer: not under mpirun; %zu gradient buckets planned\n",
                ctnn::mpi::plan_buckets(Net::param_offsets, 1 << 20, sizeof(float)).size());
    return 0;
  }
  return ctnn::mpi::run(argc, argv, [](ctnn::mpi::Communicator& comm) {
    Net net(1);
    ctnn::mpi::DdpStrategy<Net> ddp(comm, net);
    std::printf("ctnn::mpi consumer: process %d of %d\n", ddp.rank(), ddp.size());
    return 0;
  });
}
