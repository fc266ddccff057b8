// train_fer2013: trains a VGG-style CNN on FER2013 (48x48 grayscale faces, 7 expressions) on
// the CPU and reports per-epoch loss and accuracy, then per-class accuracy and the confusion
// matrix on the test split.
//
//   train_fer2013 --data-dir data/fer2013-binary --model fast --epochs 10
//   train_fer2013 --csv fer2013.csv --model strong --test-split private
//
// The data is the folder scripts/get-fer2013.sh makes (from fer2013-binary.tar.xz, or from
// Kaggle's fer2013.csv), or --csv, which reads fer2013.csv directly. Images are normalised with
// the mean and standard deviation of the training images used. Options left unset take the
// model preset's recipe (examples/fer_models.hpp); the learning rate follows a per-epoch cosine
// from --lr to 0 unless --schedule none. --metrics FILE keeps the per-epoch figures as CSV,
// rewritten atomically after every epoch; --save FILE writes the final model as safetensors.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <ctnn/ctnn.hpp>
#include <ctnn/data/dataloader.hpp>
#include <ctnn/data/fer2013.hpp>
#include <ctnn/data/geometric.hpp>
#include <ctnn/data/transforms.hpp>
#include <ctnn/io/safetensors.hpp>
#include <ctnn/train/confusion.hpp>
#include <ctnn/train/tta.hpp>
#include <ctnn/train/loop.hpp>
#include <ctnn/train/metrics.hpp>
#include <ctnn/train/progress.hpp>

#include "fer_models.hpp"

namespace data = ctnn::data;
namespace fs = std::filesystem;

struct Options {
  std::string data_dir = "data/fer2013-binary";
  std::string csv;
  std::string model = "fast";
  int epochs = 0;
  std::size_t batch_size = 0;
  double lr = 0;
  std::string optimizer;
  double momentum = -1;
  double weight_decay = -1;
  std::string schedule;
  std::string augment;
  double label_smoothing = -1;
  int tta = -1;
  std::string test_split = "both";
  std::uint64_t seed = 1;
  int threads = 0;
  std::size_t train_limit = data::kAllRecords;
  std::size_t test_limit = data::kAllRecords;
  std::string metrics;
  bool prefetch = true;
  std::string save;
};

void apply_recipe(Options& o, const fer_presets::Recipe& r) {
  if (o.epochs == 0) o.epochs = r.epochs;
  if (o.batch_size == 0) o.batch_size = r.batch_size;
  if (o.lr == 0) o.lr = r.lr;
  if (o.optimizer.empty()) o.optimizer = r.optimizer;
  if (o.momentum < 0) o.momentum = r.momentum;
  if (o.weight_decay < 0) o.weight_decay = r.weight_decay;
  if (o.schedule.empty()) o.schedule = r.schedule;
  if (o.augment.empty()) o.augment = r.augment;
  if (o.label_smoothing < 0) o.label_smoothing = r.label_smoothing;
  if (o.tta < 0) o.tta = r.tta;
}

// Epoch e (0-based) of `epochs` trains with this learning rate: cosine annealing from `lr` at
// the first epoch towards 0 (it never reaches 0: the last epoch still learns), or constant.
double epoch_lr(const Options& o, int e) {
  if (o.schedule != "cosine") return o.lr;
  constexpr double kPi = 3.14159265358979323846;
  return o.lr * 0.5 * (1 + std::cos(kPi * static_cast<double>(e) / static_cast<double>(o.epochs)));
}

// Mean and standard deviation of all training pixels, in ToTensor's [0, 1] scale.
data::Normalize<1> training_normalize(const data::Fer2013& train) {
  double sum = 0, sum_sq = 0;
  for (std::uint8_t v : train.pixels) {
    sum += v;
    sum_sq += static_cast<double>(v) * v;
  }
  const double n = static_cast<double>(std::max<std::size_t>(train.pixels.size(), 1));
  const double mean = sum / n / 255.0;
  const double var = std::max(sum_sq / n / (255.0 * 255.0) - mean * mean, 1e-12);
  return {{static_cast<float>(mean)}, {static_cast<float>(std::sqrt(var))}};
}

struct TestData {
  data::Fer2013 set;
  std::size_t public_count = 0;  // with --test-split both: the first public_count images are PublicTest
};

// The learning rate of every parameter group (set_lr), or of the optimizer's options where
// there are no groups.
template <class Opt>
void set_lr(Opt& opt, double lr) {
  if constexpr (requires { opt.set_lr(lr); }) opt.set_lr(lr);
  else opt.options().lr = lr;
}

template <class Net, class Optimizer, class TrainTransform>
int run(const Options& o, Net& net, Optimizer& optimizer, TrainTransform train_tf, const data::Fer2013& train_set,
        const TestData& test, const data::Normalize<1>& normalize) {
  data::DataLoader train_loader(train_set, std::move(train_tf),
                                {.batch_size = o.batch_size, .shuffle = true, .seed = o.seed, .prefetch = o.prefetch});
  // Evaluation keeps every layer's output, about 1 MB per image for fast: batches of 200.
  data::DataLoader test_loader(test.set, data::compose<data::Fer2013Shape>(data::ToTensor{}, normalize),
                               {.batch_size = 200, .shuffle = false, .prefetch = o.prefetch});
  std::optional<ctnn::train::MetricsFile> metrics;
  if (!o.metrics.empty()) metrics.emplace(o.metrics);

  std::printf("%5s %9s %10s %9s %10s %9s %8s %7s %8s\n", "epoch", "lr", "train_loss", "train_acc", "test_loss",
              "test_acc", "img/s", "seconds", "elapsed");
  std::fflush(stdout);
  ctnn::train::ProgressLine progress;
  const auto start = std::chrono::steady_clock::now();
  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    const double lr = epoch_lr(o, epoch - 1);
    set_lr(optimizer, lr);
    const auto t0 = std::chrono::steady_clock::now();
    const auto tr = ctnn::train::train_epoch(
        net, optimizer, train_loader, static_cast<std::uint64_t>(epoch - 1), {.label_smoothing = o.label_smoothing},
        [&](std::size_t done, std::size_t total, const ctnn::train::PassResult& r) {
          progress.update(done, total, r.loss, r.images_per_second(), r.seconds);
        });
    progress.clear();
    const auto te = ctnn::train::evaluate(net, test_loader);
    const auto now = std::chrono::steady_clock::now();
    const double seconds = std::chrono::duration<double>(now - t0).count();
    const double elapsed = std::chrono::duration<double>(now - start).count();
    std::printf("%5d %9.2e %10.4f %8.2f%% %10.4f %8.2f%% %8.0f %7.1f %8.1f\n", epoch, lr, tr.loss, 100 * tr.accuracy,
                te.loss, 100 * te.accuracy, tr.images_per_second(), seconds, elapsed);
    std::fflush(stdout);
    if (metrics) metrics->append({epoch, tr.loss, tr.accuracy, te.loss, te.accuracy, seconds, tr.images_per_second()});
  }

  // Per-class results. One pass: the whole test split, and its PublicTest and PrivateTest parts,
  // on the logits averaged with the mirror images' with --tta 1.
  ctnn::train::ConfusionMatrix all(test.set.class_names), pub(test.set.class_names), priv(test.set.class_names);
  ctnn::train::TestTimeAugmentation<Net> tta({.flip = o.tta >= 1});
  net.eval();
  for (auto& batch : test_loader.epoch(0)) {
    const auto y = tta.logits(net, batch.images);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const float* z = y.sample(i);
      const auto pred = static_cast<std::size_t>(std::max_element(z, z + Net::out_shape::size) - z);
      const auto truth = static_cast<std::size_t>(batch.labels[i]);
      all.add(truth, pred);
      (batch.indices[i] < test.public_count ? pub : priv).add(truth, pred);
    }
  }
  std::printf("\nfinal test accuracy%s: %.2f%% (%zu images; mean per-class accuracy %.2f%%)\n",
              o.tta >= 1 ? " with test-time augmentation (mirror)" : "", 100 * all.accuracy(), all.total(),
              100 * all.mean_class_accuracy());
  std::printf("per-class accuracy on the test split (%s, %zu images):\n", o.test_split.c_str(), all.total());
  for (std::size_t c = 0; c < all.num_classes(); ++c)
    std::printf("  %-9s %6.2f%%  (%zu images)\n", all.class_names()[c].c_str(), 100 * all.recall(c), all.support(c));
  if (o.test_split == "both" && pub.total() > 0 && priv.total() > 0)
    std::printf("PublicTest %.2f%% (%zu images), PrivateTest %.2f%% (%zu images)\n", 100 * pub.accuracy(),
                pub.total(), 100 * priv.accuracy(), priv.total());
  std::printf("\nconfusion matrix (rows: true class, columns: predicted)\n%s", all.table().c_str());
  std::printf("total %.1f s for %d epochs\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), o.epochs);

  if (!o.save.empty()) {
    ctnn::io::SaveOptions so;
    so.batches_tracked = optimizer.steps();
    std::string classes;
    for (const auto& n : train_set.class_names) classes += (classes.empty() ? "" : ",") + n;
    so.metadata = {{"ctnn.model", "fer2013-" + o.model},
                   {"ctnn.input", "1x48x48"},
                   {"ctnn.classes", classes},
                   {"ctnn.normalize.mean", std::to_string(normalize.mean[0])},
                   {"ctnn.normalize.std", std::to_string(normalize.std[0])},
                   {"ctnn.epochs", std::to_string(o.epochs)}};
    ctnn::io::save(net, o.save, so);
    std::printf("model saved to %s\n", o.save.c_str());
  }
  return 0;
}

data::Fer2013Split split_of(const std::string& s) {
  if (s == "public") return data::Fer2013Split::public_test;
  if (s == "private") return data::Fer2013Split::private_test;
  return data::Fer2013Split::test;
}

template <class Net>
int run_model(Options o, const fer_presets::Recipe& recipe) {
  apply_recipe(o, recipe);
  if (o.csv.empty() && !fs::is_directory(o.data_dir)) {
    std::fprintf(stderr,
                 "error: FER2013 not found: '%s' is not a folder.\n"
                 "Get it with\n"
                 "  scripts/get-fer2013.sh --from fer2013-binary.tar.xz   # this project's binary form\n"
                 "  scripts/get-fer2013.sh --csv fer2013.csv              # or Kaggle's CSV (needs a Kaggle login to download)\n"
                 "then pass --data-dir data/fer2013-binary (the default), or read the CSV directly with --csv FILE.\n",
                 o.data_dir.c_str());
    return 2;
  }
  if (o.threads > 0) ctnn::set_num_threads(o.threads);

  const auto t_load = std::chrono::steady_clock::now();
  const auto load = [&](data::Fer2013Split s, std::size_t limit) {
    return o.csv.empty() ? data::load_fer2013(o.data_dir, s, limit) : data::load_fer2013_csv(o.csv, s, limit);
  };
  const auto train_set = load(data::Fer2013Split::train, o.train_limit);
  TestData test;
  test.set = load(split_of(o.test_split), o.test_limit);
  if (o.test_split == "both")
    test.public_count = o.csv.empty() ? data::load_fer2013(o.data_dir, data::Fer2013Split::public_test).size()
                                      : data::load_fer2013_csv(o.csv, data::Fer2013Split::public_test).size();
  else if (o.test_split == "public")
    test.public_count = test.set.size();
  const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count();
  const auto normalize = training_normalize(train_set);

  Net net(o.seed);
  char momentum[64] = "";
  if (o.optimizer == "sgd")
    std::snprintf(momentum, sizeof momentum, ", momentum %g%s", o.momentum, o.momentum > 0 ? " (Nesterov)" : "");
  std::printf("ctnn train_fer2013: model %s, %d epochs, batch %zu, %s lr %g (%s schedule)%s, weight decay %g\n",
              o.model.c_str(), o.epochs, o.batch_size, o.optimizer.c_str(), o.lr, o.schedule.c_str(), momentum,
              o.weight_decay);
  std::printf("augment %s, label smoothing %g, test-time augmentation %d, normalize mean %.4f std %.4f (training images), seed %llu, %d threads\n",
              o.augment.c_str(), o.label_smoothing, o.tta, normalize.mean[0], normalize.std[0], static_cast<unsigned long long>(o.seed),
              ctnn::num_threads());
  std::printf("%zu train / %zu test images (%s) from %s, loaded in %.2f s\n", train_set.size(), test.set.size(),
              o.test_split.c_str(), o.csv.empty() ? o.data_dir.c_str() : o.csv.c_str(), load_s);
  std::printf("%s", Net::summary().c_str());

  auto with_optimizer = [&](auto train_tf) -> int {
    if (o.optimizer == "adam") {
      ctnn::Adam opt{net.parameters(), {.lr = o.lr, .weight_decay = o.weight_decay}};
      return run(o, net, opt, std::move(train_tf), train_set, test, normalize);
    }
    if (o.optimizer == "adamw") {
      ctnn::AdamW opt{net.parameters(), {.lr = o.lr, .weight_decay = o.weight_decay}};
      return run(o, net, opt, std::move(train_tf), train_set, test, normalize);
    }
    ctnn::SGD opt{net.parameters(), {.lr = o.lr, .momentum = o.momentum, .weight_decay = o.weight_decay,
                                     .nesterov = o.momentum > 0}};
    return run(o, net, opt, std::move(train_tf), train_set, test, normalize);
  };
  // Faces: shifts of up to 4 pixels and mirroring keep the expression; crop-flip-rotate adds
  // a turn of up to 10 degrees and a zoom of +-10 % (pose and framing vary in FER2013).
  if (o.augment == "crop-flip")
    return with_optimizer(data::compose<data::Fer2013Shape>(data::RandomCrop<48, 48, 4>{}, data::RandomHorizontalFlip{},
                                                            data::ToTensor{}, normalize));
  if (o.augment == "crop-flip-rotate")
    return with_optimizer(data::compose<data::Fer2013Shape>(
        data::RandomRotateScale{.degrees = 10, .scale_min = 0.9, .scale_max = 1.1}, data::RandomCrop<48, 48, 4>{},
        data::RandomHorizontalFlip{}, data::ToTensor{}, normalize));
  return with_optimizer(data::compose<data::Fer2013Shape>(data::ToTensor{}, normalize));
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
  CLI::App app{"Train a VGG-style CNN on FER2013 (48x48 grayscale faces, 7 expressions) on the CPU with ctnn. "
               "Options left unset take the model preset's recipe."};
  Options o;
  app.add_option("--data-dir", o.data_dir, "Folder holding fer2013-train.bin, fer2013-test.bin, fer2013-labels.txt, "
                                           "fer2013-index.csv (scripts/get-fer2013.sh makes it)")
      ->capture_default_str();
  app.add_option("--csv", o.csv, "Read Kaggle's fer2013.csv instead of --data-dir")->type_name("FILE");
  app.add_option("--model", o.model, "fast (32-64-128, 6 convs) | strong (64-128-256-512, 7 convs + hidden layer)")
      ->check(CLI::IsMember({"fast", "strong"}))
      ->capture_default_str();
  app.add_option("--epochs", o.epochs, "Epochs to train (fast: 25, strong: 30)")->check(CLI::Range(1, 100000));
  app.add_option("--batch-size", o.batch_size, "Mini-batch size (64)")->check(CLI::Range(1, 65536));
  app.add_option("--lr", o.lr, "Learning rate, the first epoch's with --schedule cosine (1e-3)")->check(positive);
  app.add_option("--optimizer", o.optimizer, "sgd (Nesterov momentum) | adam | adamw (fast: adam, strong: adamw)")
      ->check(CLI::IsMember({"sgd", "adam", "adamw"}));
  app.add_option("--momentum", o.momentum, "SGD momentum (0.9; 0 turns Nesterov off)")->check(CLI::Range(0.0, 1.0));
  app.add_option("--weight-decay", o.weight_decay, "Weight decay: L2 for sgd/adam, decoupled for adamw (fast: 0, strong: 1e-2)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--schedule", o.schedule, "cosine (per-epoch cosine from --lr towards 0) | none (cosine)")
      ->check(CLI::IsMember({"cosine", "none"}));
  app.add_option("--augment", o.augment,
                 "Training transform: none | crop-flip (4-pixel shifts + mirror) | crop-flip-rotate (also +-10 "
                 "degrees, +-10 % zoom) (fast: crop-flip, strong: crop-flip-rotate)")
      ->check(CLI::IsMember({"none", "crop-flip", "crop-flip-rotate"}));
  app.add_option("--label-smoothing", o.label_smoothing, "Label smoothing of the cross-entropy (fast: 0.1)")
      ->check(CLI::Range(0.0, 0.999));
  app.add_option("--tta", o.tta, "Final per-class evaluation with test-time augmentation: 0 none, 1 mirror (1)")
      ->check(CLI::Range(0, 1));
  app.add_option("--test-split", o.test_split, "Test on public (PublicTest), private (PrivateTest) or both")
      ->check(CLI::IsMember({"public", "private", "both"}))
      ->capture_default_str();
  app.add_option("--seed", o.seed, "Seed for initialisation, shuffling and augmentation")->capture_default_str();
  app.add_option("--threads", o.threads, "Threads (default: OMP_NUM_THREADS or all cores)")->check(CLI::Range(1, 1024));
  app.add_option("--train-limit", o.train_limit, "Use only the first N training images")->check(positive);
  app.add_option("--test-limit", o.test_limit, "Use only the first N test images")->check(positive);
  app.add_option("--metrics", o.metrics, "Write per-epoch metrics to this CSV file (rewritten after each epoch)");
  app.add_flag("!--no-prefetch", o.prefetch, "Prepare batches in the training thread instead of a background thread");
  app.add_option("--save", o.save, "Write the final model to this safetensors file")->type_name("FILE");
  CLI11_PARSE(app, argc, argv);

  try {
    if (o.model == "strong") return run_model<fer_presets::Strong>(o, fer_presets::strong_recipe);
    return run_model<fer_presets::Fast>(o, fer_presets::fast_recipe);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
