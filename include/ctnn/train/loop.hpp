#pragma once
// One epoch of training and one pass of evaluation over a DataLoader: the loop every trainer
// writes, once. The loss, accuracy and throughput it returns are what the trainer prints and
// the metrics file records.
#include <chrono>
#include <cstddef>
#include <functional>

#include "ctnn/layers/layer.hpp"
#include "ctnn/loss/cross_entropy.hpp"

namespace ctnn::train {

struct PassResult {
  double loss = 0;       // mean over the samples of the pass
  double accuracy = 0;   // fraction in [0, 1]
  std::size_t samples = 0;
  double seconds = 0;
  double images_per_second() const { return seconds > 0 ? static_cast<double>(samples) / seconds : 0; }
};

// Called after every training batch with (batches done, batches in the epoch, running result).
using BatchCallback = std::function<void(std::size_t, std::size_t, const PassResult&)>;

// Train mode; one optimizer step per batch. Mean loss and accuracy are over the batches as
// trained (like the running figures a PyTorch loop prints), weighted by batch size.
template <class Net, class Optimizer, class Loader>
PassResult train_epoch(Net& net, Optimizer& optimizer, Loader& loader, std::uint64_t epoch,
                       const CrossEntropyOptions& loss_options = {}, const BatchCallback& on_batch = {}) {
  CrossEntropyLoss<typename Net::out_shape, typename Net::scalar> loss(loss_options);
  PassResult r;
  double loss_sum = 0;
  std::size_t correct = 0, done = 0;
  const auto start = std::chrono::steady_clock::now();
  net.train();
  for (auto& batch : loader.epoch(epoch)) {
    loss(net.forward(batch.images), batch.labels);
    net.backward(loss.grad());
    optimizer.step();
    optimizer.zero_grad();
    loss_sum += loss.value() * static_cast<double>(batch.size());
    correct += loss.correct();
    r.samples += batch.size();
    ++done;
    if (on_batch) {
      r.loss = loss_sum / static_cast<double>(r.samples);
      r.accuracy = static_cast<double>(correct) / static_cast<double>(r.samples);
      r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      on_batch(done, loader.size(), r);
    }
  }
  r.loss = r.samples ? loss_sum / static_cast<double>(r.samples) : 0;
  r.accuracy = r.samples ? static_cast<double>(correct) / static_cast<double>(r.samples) : 0;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

// Mean loss and accuracy of logits(images) over one pass of the loader, in eval mode
// (BatchNorm uses running statistics, Dropout is off); no gradients are computed. Leaves the
// network in eval mode. evaluate() and evaluate_tta() differ only in `logits`.
template <class Net, class Loader, class Logits>
PassResult evaluate_logits(Net& net, Loader& loader, Logits&& logits, std::uint64_t epoch = 0) {
  CrossEntropyLoss<typename Net::out_shape, typename Net::scalar> loss;
  PassResult r;
  double loss_sum = 0;
  std::size_t correct = 0;
  const auto start = std::chrono::steady_clock::now();
  net.eval();
  for (auto& batch : loader.epoch(epoch)) {
    loss(logits(batch.images), batch.labels);
    loss_sum += loss.value() * static_cast<double>(batch.size());
    correct += loss.correct();
    r.samples += batch.size();
  }
  r.loss = r.samples ? loss_sum / static_cast<double>(r.samples) : 0;
  r.accuracy = r.samples ? static_cast<double>(correct) / static_cast<double>(r.samples) : 0;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

template <class Net, class Loader>
PassResult evaluate(Net& net, Loader& loader, std::uint64_t epoch = 0) {
  return evaluate_logits(net, loader, [&](const auto& images) { return net.forward(images); }, epoch);
}

}  // namespace ctnn::train
