// A process that throws mid-training ends every process: run under `mpirun -np 2`, process 1
// throws at its second step while process 0 goes on into the gradient allreduce, where it
// would wait forever. mpi::run (ctnn/mpi/communicator.hpp) prints process 1's message and
// aborts the job with a non-zero exit; tests/mpi/abort_test.sh checks the message and the time.
#include <cstdio>
#include <stdexcept>
#include <vector>

#include "ctnn/ctnn.hpp"
#include "ctnn/mpi/all.hpp"

using Net = ctnn::Sequential<ctnn::Input<3, 8, 8>, ctnn::Conv<3, 4, 3>, ctnn::BatchNorm, ctnn::ReLU, ctnn::Linear<10>>;

int main(int argc, char** argv) {
  return ctnn::mpi::run(argc, argv, [](ctnn::mpi::Communicator& comm) {
    Net net{1};
    ctnn::mpi::DataParallel dp(comm, net, {.sync_batchnorm = true});
    dp.broadcast_from_root();
    ctnn::Tensor<Net::in_shape, float> images(4);
    for (std::size_t i = 0; i < images.size(); ++i) images[i] = static_cast<float>(i % 13) * 0.1f;
    const std::vector<std::int32_t> labels{1, 2, 3, 4};
    ctnn::CrossEntropyLoss<Net::out_shape> loss;
    for (int step = 0; step < 1000000; ++step) {
      if (comm.rank() == 1 && step == 2) throw std::runtime_error("synthetic failure at step 3 (bad data)");
      loss(net.forward(images), labels);
      dp.begin_step(4, 8);
      net.backward(loss.grad());
      dp.finish_step();
    }
    std::puts("error: process 0 finished: the other process's failure did not end it");
    return 0;
  });
}
