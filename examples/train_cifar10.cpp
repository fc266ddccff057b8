// train_cifar10: trains a CNN on CIFAR-10 on the CPU and reports per-epoch loss and accuracy.
//
//   train_cifar10 --data data/cifar-10-batches-bin --model seed --epochs 5
//
// Each epoch prints one line (train loss/accuracy, test loss/accuracy, seconds, images/s);
// a live progress line is drawn when stdout is a terminal. --metrics FILE keeps the same
// figures as CSV, rewritten atomically after every epoch.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>

#include <ctnn/ctnn.hpp>
#include <ctnn/data/cifar10.hpp>
#include <ctnn/data/dataloader.hpp>
#include <ctnn/data/transforms.hpp>
#include <ctnn/train/loop.hpp>
#include <ctnn/train/metrics.hpp>
#include <ctnn/train/progress.hpp>

#include "models.hpp"

namespace data = ctnn::data;
namespace fs = std::filesystem;

struct Options {
  std::string data_dir = "data/cifar-10-batches-bin";
  std::string model = "seed";
  int epochs = 0;
  std::size_t batch_size = 0;
  double lr = 0;
  std::string optimizer;
  double momentum = -1;
  double weight_decay = -1;
  std::string augment;
  std::string normalize;
  std::uint64_t seed = 1;
  int threads = 0;
  std::size_t train_limit = data::kAllRecords;
  std::size_t test_limit = data::kAllRecords;
  std::string metrics;
  bool prefetch = true;
};

// Fills every option the user left unset from the preset's recipe.
void apply_recipe(Options& o, const presets::Recipe& r) {
  if (o.epochs == 0) o.epochs = r.epochs;
  if (o.batch_size == 0) o.batch_size = r.batch_size;
  if (o.lr == 0) o.lr = r.lr;
  if (o.optimizer.empty()) o.optimizer = r.optimizer;
  if (o.momentum < 0) o.momentum = r.momentum;
  if (o.weight_decay < 0) o.weight_decay = r.weight_decay;
  if (o.augment.empty()) o.augment = r.augment;
  if (o.normalize.empty()) o.normalize = r.normalize;
}

template <class Net, class Optimizer, class TrainTransform>
int run(const Options& o, Net& net, Optimizer& optimizer, TrainTransform train_tf, const data::Cifar10& train_set,
        const data::Cifar10& test_set) {
  const auto& normalize = o.normalize == "half" ? data::kHalfNormalize : data::kCifar10Normalize;
  data::DataLoader train_loader(train_set, std::move(train_tf),
                                {.batch_size = o.batch_size, .shuffle = true, .seed = o.seed, .prefetch = o.prefetch});
  data::DataLoader test_loader(test_set, data::compose<data::Cifar10Shape>(data::ToTensor{}, normalize),
                               {.batch_size = 500, .shuffle = false, .prefetch = o.prefetch});
  std::optional<ctnn::train::MetricsFile> metrics;
  if (!o.metrics.empty()) metrics.emplace(o.metrics);

  std::printf("%5s %10s %9s %10s %9s %8s %8s\n", "epoch", "train_loss", "train_acc", "test_loss", "test_acc", "seconds",
              "img/s");
  std::fflush(stdout);
  ctnn::train::ProgressLine progress;
  double total_seconds = 0;
  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    auto on_batch = [&](std::size_t done, std::size_t total, const ctnn::train::PassResult& r) {
      progress.update(done, total, r.loss, r.images_per_second(), r.seconds);
    };
    const auto tr = ctnn::train::train_epoch(net, optimizer, train_loader, static_cast<std::uint64_t>(epoch - 1), {},
                                             progress.enabled() ? ctnn::train::BatchCallback(on_batch) : nullptr);
    progress.clear();
    const auto te = ctnn::train::evaluate(net, test_loader);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    total_seconds += seconds;
    std::printf("%5d %10.4f %8.2f%% %10.4f %8.2f%% %8.1f %8.0f\n", epoch, tr.loss, 100 * tr.accuracy, te.loss,
                100 * te.accuracy, seconds, tr.images_per_second());
    std::fflush(stdout);
    if (metrics)
      metrics->append({epoch, tr.loss, tr.accuracy, te.loss, te.accuracy, seconds, tr.images_per_second()});
  }
  std::printf("total %.1f s for %d epochs\n", total_seconds, o.epochs);
  return 0;
}

template <class Net>
int run_model(Options o, const presets::Recipe& recipe) {
  apply_recipe(o, recipe);
  const fs::path dir(o.data_dir);
  if (!fs::is_directory(dir)) {
    std::fprintf(stderr,
                 "error: CIFAR-10 not found: '%s' is not a folder.\n"
                 "Get it with\n"
                 "  scripts/get-cifar10.sh                      # downloads and checks the official archive\n"
                 "  scripts/get-cifar10.sh --from ARCHIVE       # or unpacks a local cifar-10-binary.tar.gz/.tar.xz\n"
                 "then pass --data data/cifar-10-batches-bin (the default).\n",
                 o.data_dir.c_str());
    return 2;
  }
  if (o.threads > 0) ctnn::set_num_threads(o.threads);

  const auto t_load = std::chrono::steady_clock::now();
  const auto train_set = data::load_cifar10(dir, data::Split::train, o.train_limit);
  const auto test_set = data::load_cifar10(dir, data::Split::test, o.test_limit);
  const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count();

  Net net(o.seed);
  std::printf("ctnn train_cifar10: model %s, %d epochs, batch %zu, %s lr %g, momentum %g, weight decay %g\n",
              o.model.c_str(), o.epochs, o.batch_size, o.optimizer.c_str(), o.lr, o.momentum, o.weight_decay);
  std::printf("augment %s, normalize %s, seed %llu, %d threads; %zu train / %zu test images loaded in %.2f s\n",
              o.augment.c_str(), o.normalize.c_str(), static_cast<unsigned long long>(o.seed), ctnn::num_threads(),
              train_set.size(), test_set.size(), load_s);
  std::printf("%s", Net::summary().c_str());

  auto with_optimizer = [&](auto train_tf) -> int {
    if (o.optimizer == "sgd") {
      ctnn::SGD opt{net.parameters(), {.lr = o.lr, .momentum = o.momentum, .weight_decay = o.weight_decay,
                                       .nesterov = false}};
      return run(o, net, opt, std::move(train_tf), train_set, test_set);
    }
    if (o.optimizer == "adamw") {
      ctnn::AdamW opt{net.parameters(), {.lr = o.lr, .weight_decay = o.weight_decay}};
      return run(o, net, opt, std::move(train_tf), train_set, test_set);
    }
    ctnn::Adam opt{net.parameters(), {.lr = o.lr, .weight_decay = o.weight_decay}};
    return run(o, net, opt, std::move(train_tf), train_set, test_set);
  };
  const auto& normalize = o.normalize == "half" ? data::kHalfNormalize : data::kCifar10Normalize;
  if (o.augment == "pad-resize")  // the coursework's Pad(4) + Resize(32)
    return with_optimizer(
        data::compose<data::Cifar10Shape>(data::Pad<4>{}, data::Resize<32>{}, data::ToTensor{}, normalize));
  if (o.augment == "crop-flip")
    return with_optimizer(data::compose<data::Cifar10Shape>(data::RandomCrop<32, 32, 4>{}, data::RandomHorizontalFlip{},
                                                            data::ToTensor{}, normalize));
  return with_optimizer(data::compose<data::Cifar10Shape>(data::ToTensor{}, normalize));
}

// CLI11's PositiveNumber prints the whole double range on failure; this says it plainly.
const CLI::Validator positive = CLI::Validator(
    [](std::string& value) -> std::string {
      try {
        if (std::stod(value) > 0) return {};
      } catch (...) {
      }
      return "must be a number greater than 0, got '" + value + "'";
    },
    "> 0");

int main(int argc, char** argv) {
  CLI::App app{"Train a CNN on CIFAR-10 on the CPU with ctnn. Options left unset take the model preset's recipe."};
  Options o;
  app.add_option("--data", o.data_dir, "Folder holding data_batch_1..5.bin, test_batch.bin, batches.meta.txt")
      ->capture_default_str();
  app.add_option("--model", o.model, "Model preset: seed (the coursework CNN)")
      ->check(CLI::IsMember({"seed"}))
      ->capture_default_str();
  app.add_option("--epochs", o.epochs, "Epochs to train (seed: 5)")->check(CLI::Range(1, 100000));
  app.add_option("--batch-size", o.batch_size, "Mini-batch size (seed: 32)")->check(CLI::Range(1, 65536));
  app.add_option("--lr", o.lr, "Learning rate (seed: 1e-3)")->check(positive);
  app.add_option("--optimizer", o.optimizer, "sgd | adam | adamw (seed: adam)")
      ->check(CLI::IsMember({"sgd", "adam", "adamw"}));
  app.add_option("--momentum", o.momentum, "SGD momentum (seed: 0.9)")->check(CLI::Range(0.0, 1.0));
  app.add_option("--weight-decay", o.weight_decay, "Weight decay: L2 for sgd/adam, decoupled for adamw (seed: 0)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--augment", o.augment,
                 "Training transform: none | pad-resize (coursework: Pad(4)+Resize(32)) | crop-flip (seed: none)")
      ->check(CLI::IsMember({"none", "pad-resize", "crop-flip"}));
  app.add_option("--normalize", o.normalize, "cifar (CIFAR-10 mean/std) | half (0.5/0.5, the coursework's) (seed: cifar)")
      ->check(CLI::IsMember({"cifar", "half"}));
  app.add_option("--seed", o.seed, "Seed for initialisation, shuffling and augmentation")->capture_default_str();
  app.add_option("--threads", o.threads, "Threads (default: OMP_NUM_THREADS or all cores)")->check(CLI::Range(1, 1024));
  app.add_option("--train-limit", o.train_limit, "Use only the first N training images")->check(positive);
  app.add_option("--test-limit", o.test_limit, "Use only the first N test images")->check(positive);
  app.add_option("--metrics", o.metrics, "Write per-epoch metrics to this CSV file (rewritten after each epoch)");
  app.add_flag("!--no-prefetch", o.prefetch, "Prepare batches in the training thread instead of a background thread");
  CLI11_PARSE(app, argc, argv);

  try {
    return run_model<presets::Seed>(o, presets::seed_recipe);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
