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
// model preset's recipe (examples/fer_models.hpp); the learning rate follows --schedule (the
// presets: cosine from --lr towards 0), stepped once per epoch. --metrics FILE keeps the per-epoch figures as CSV,
// rewritten atomically after every epoch; --save FILE writes the final model as safetensors,
// --save-onnx FILE as ONNX (also with --evaluate: the evaluated model).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
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
#include <ctnn/optim/schedule.hpp>
#include <ctnn/train/tta.hpp>
#include <ctnn/train/loop.hpp>
#include <ctnn/train/metrics.hpp>
#include <ctnn/train/progress.hpp>

#include "fer_models.hpp"
#include "trainer_options.hpp"

namespace data = ctnn::data;
namespace fs = std::filesystem;

// The run options (--seed, --threads, limits, --metrics, --no-prefetch, --save, --save-onnx) are trainer::RunOptions.
struct Options : trainer::RunOptions {
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
  std::string evaluate;  // a saved model to evaluate instead of training
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

template <class Net, class Optimizer, class TrainTransform>
int run(const Options& o, Net& net, Optimizer& optimizer, const ctnn::Schedule& schedule, TrainTransform train_tf,
        const data::Fer2013& train_set, const TestData& test, const data::Normalize<1>& normalize) {
  data::DataLoader train_loader(train_set, std::move(train_tf),
                                {.batch_size = o.batch_size, .shuffle = true, .seed = o.seed, .prefetch = o.prefetch});
  // Evaluation keeps every layer's output, about 1 MB per image for fast: batches of 200.
  data::DataLoader test_loader(test.set, data::compose<data::Fer2013Shape>(data::ToTensor{}, normalize),
                               {.batch_size = 200, .shuffle = false, .prefetch = o.prefetch});
  std::optional<ctnn::train::MetricsFile> metrics;
  if (!o.metrics.empty()) metrics.emplace(o.metrics);

  const int epochs = o.evaluate.empty() ? o.epochs : 0;
  if (epochs > 0)
    std::printf("%5s %9s %10s %9s %10s %9s %8s %7s %8s\n", "epoch", "lr", "train_loss", "train_acc", "test_loss",
                "test_acc", "img/s", "seconds", "elapsed");
  std::fflush(stdout);
  ctnn::train::ProgressLine progress;
  const auto start = std::chrono::steady_clock::now();
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    // Stepped once per epoch, before it, as torch's scheduler.step() at the end of each epoch.
    schedule.apply(optimizer, epoch - 1);
    const double lr = optimizer.param_groups()[0].lr;
    const auto t0 = std::chrono::steady_clock::now();
    const auto tr = ctnn::train::train_epoch(
        net, optimizer, train_loader, static_cast<std::uint64_t>(epoch - 1),
        {.loss = {.label_smoothing = o.label_smoothing}, .on_non_finite = trainer::on_non_finite(o)},
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

  // Every test-time augmentation level up to --tta, each on the whole test split and on its
  // PublicTest and PrivateTest parts (FER2013's usual validation and test sets: choose on
  // PublicTest, report PrivateTest); per-class results for --tta's level.
  static constexpr const char* kTtaName[] = {"none", "mirror", "mirror + 1-pixel shifts",
                                             "ten views: mirror x centre + four 2-pixel diagonal shifts"};
  const auto tta_options = [](int level) {
    return ctnn::train::TtaOptions{.flip = level >= 1, .translate = level == 2, .corners = level == 3 ? 2 : 0};
  };
  struct Split {
    ctnn::train::ConfusionMatrix all, pub, priv;
  };
  const auto evaluate_level = [&](int level) {
    Split r{ctnn::train::ConfusionMatrix(test.set.class_names), ctnn::train::ConfusionMatrix(test.set.class_names),
            ctnn::train::ConfusionMatrix(test.set.class_names)};
    ctnn::train::TestTimeAugmentation<Net> tta(tta_options(level));
    ctnn::train::for_each_prediction(
        net, test_loader, [&](const auto& images) { return tta.logits(net, images); },
        [&](std::size_t truth, std::size_t predicted, std::size_t index) {
          r.all.add(truth, predicted);
          (index < test.public_count ? r.pub : r.priv).add(truth, predicted);
        });
    return r;
  };
  const auto parts = [&](const Split& r) {
    std::string s;
    char buf[96];
    if (r.pub.total() > 0 && r.priv.total() > 0) {
      std::snprintf(buf, sizeof buf, " (PublicTest %.2f%%, PrivateTest %.2f%%)", 100 * r.pub.accuracy(),
                    100 * r.priv.accuracy());
      s = buf;
    }
    return s;
  };
  for (int level = 0; level < o.tta; ++level) {
    const auto r = evaluate_level(level);
    std::printf("%stest accuracy, test-time augmentation %d (%s): %.2f%%%s\n", level == 0 ? "\n" : "", level,
                kTtaName[level], 100 * r.all.accuracy(), parts(r).c_str());
  }
  const auto final_split = evaluate_level(o.tta);
  const auto& all = final_split.all;
  const auto& pub = final_split.pub;
  const auto& priv = final_split.priv;
  std::printf("\nfinal test accuracy, test-time augmentation %d (%s): %.2f%% (%zu images; mean per-class accuracy %.2f%%)\n",
              o.tta, kTtaName[o.tta], 100 * all.accuracy(), all.total(),
              100 * all.mean_class_accuracy());
  std::printf("per-class accuracy on the test split (%s, %zu images):\n", o.test_split.c_str(), all.total());
  const bool both_parts = pub.total() > 0 && priv.total() > 0;
  for (std::size_t c = 0; c < all.num_classes(); ++c) {
    std::printf("  %-9s %6.2f%%  (%zu images)", all.class_names()[c].c_str(), 100 * all.recall(c), all.support(c));
    if (both_parts)
      std::printf("   PublicTest %6.2f%% (%zu), PrivateTest %6.2f%% (%zu)", 100 * pub.recall(c), pub.support(c),
                  100 * priv.recall(c), priv.support(c));
    std::printf("\n");
  }
  if (both_parts)
    std::printf("PublicTest %.2f%% (%zu images), PrivateTest %.2f%% (%zu images)\n", 100 * pub.accuracy(),
                pub.total(), 100 * priv.accuracy(), priv.total());
  std::printf("\nconfusion matrix (rows: true class, columns: predicted)\n%s", all.table().c_str());
  std::printf("total %.1f s for %d epochs\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), epochs);

  if (!o.save.empty()) {
    // Nine significant digits give back the same float, so predict normalises exactly as here.
    const auto exact = [](float v) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(v));
      return std::string(buf);
    };
    ctnn::io::SaveOptions so;
    so.batches_tracked = optimizer.steps();
    std::string classes;
    for (const auto& n : train_set.class_names) classes += (classes.empty() ? "" : ",") + n;
    so.metadata = {{"ctnn.model", "fer2013-" + o.model},
                   {"ctnn.input", "1x48x48"},
                   {"ctnn.classes", classes},
                   {"ctnn.normalize.mean", exact(normalize.mean[0])},
                   {"ctnn.normalize.std", exact(normalize.std[0])},
                   {"ctnn.epochs", std::to_string(o.epochs)}};
    ctnn::io::save(net, o.save, so);
    std::printf("model saved to %s\n", o.save.c_str());
  }
  trainer::save_onnx(o, net, normalize, train_set.class_names, "fer2013-" + o.model);
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
  // The schedule counts epochs, not optimizer steps: it is stepped once per epoch, so the run
  // length and the step counts in --schedule are epochs.
  const ctnn::Schedule schedule = ctnn::parse_schedule(o.schedule, {.total_steps = o.epochs, .steps_per_epoch = 1});
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
  trainer::apply_threads(o);

  const auto t_load = std::chrono::steady_clock::now();
  const auto load = [&](data::Fer2013Split s, std::size_t limit) {
    return o.csv.empty() ? data::load_fer2013(o.data_dir, s, limit) : data::load_fer2013_csv(o.csv, s, limit);
  };
  const auto train_set = load(data::Fer2013Split::train, o.train_limit);
  TestData test;
  test.set = load(split_of(o.test_split), o.test_limit);
  if (o.test_split == "both")
    // Only the boundary: the test split itself was checked above (its counts unless a subset).
    test.public_count =
        o.csv.empty()
            ? data::load_fer2013(o.data_dir, data::Fer2013Split::public_test, data::kAllRecords, data::RecordCount::any).size()
            : data::load_fer2013_csv(o.csv, data::Fer2013Split::public_test, data::kAllRecords, data::RecordCount::any).size();
  else if (o.test_split == "public")
    test.public_count = test.set.size();
  const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count();
  auto normalize = training_normalize(train_set);

  Net net(o.seed);
  net.set_precision(trainer::resolve_precision(o, false));
  if (!o.evaluate.empty()) {
    const auto file = ctnn::io::File::read(o.evaluate);
    // The architecture the file names, before its tensors are checked against --model's.
    if (const auto m = file.metadata().find("ctnn.model"); m != file.metadata().end() && m->second != "fer2013-" + o.model)
      throw std::runtime_error("'" + o.evaluate + "' holds a " + m->second + " model; pass --model " +
                               (m->second.rfind("fer2013-", 0) == 0 ? m->second.substr(8) : std::string("fast|strong")));
    const auto loaded = ctnn::io::load(net, file);
    const auto& meta = loaded.metadata;
    // Normalise as the model was trained: the statistics its file records, else this training set's.
    const auto number = [&](const char* key, float fallback) {
      const auto it = meta.find(key);
      return it == meta.end() ? fallback : fer_presets::metadata_number(o.evaluate, key, it->second, true);
    };
    normalize = {{number("ctnn.normalize.mean", normalize.mean[0])}, {number("ctnn.normalize.std", normalize.std[0])}};
    std::printf("evaluating %s (no training; %s names)\n", o.evaluate.c_str(), ctnn::io::naming_name(loaded.naming));
  }
  char momentum[64] = "";
  if (o.optimizer == "sgd")
    std::snprintf(momentum, sizeof momentum, ", momentum %g%s", o.momentum, o.momentum > 0 ? " (Nesterov)" : "");
  std::printf("ctnn train_fer2013: model %s, %d epochs, batch %zu, %s lr %g (schedule %s per epoch: %s)%s, weight decay %g\n",
              o.model.c_str(), o.epochs, o.batch_size, o.optimizer.c_str(), o.lr, o.schedule.c_str(),
              schedule.describe().c_str(), momentum,
              o.weight_decay);
  std::printf("augment %s, label smoothing %g, test-time augmentation %d, normalize mean %.4f std %.4f (training images), seed %llu, %d threads\n",
              o.augment.c_str(), o.label_smoothing, o.tta, normalize.mean[0], normalize.std[0], static_cast<unsigned long long>(o.seed),
              ctnn::thread_width());
  std::printf("%zu train / %zu test images (%s) from %s, loaded in %.2f s\n", train_set.size(), test.set.size(),
              o.test_split.c_str(), o.csv.empty() ? o.data_dir.c_str() : o.csv.c_str(), load_s);
  trainer::print_precision(net.precision());
  std::printf("%s", Net::summary().c_str());

  auto with_optimizer = [&](auto train_tf) -> int {
    if (o.optimizer == "adam") {
      ctnn::Adam opt{net.parameters(), {.lr = o.lr, .weight_decay = o.weight_decay}};
      return run(o, net, opt, schedule, std::move(train_tf), train_set, test, normalize);
    }
    if (o.optimizer == "adamw") {
      ctnn::AdamW opt{net.parameters(), {.lr = o.lr, .weight_decay = o.weight_decay}};
      return run(o, net, opt, schedule, std::move(train_tf), train_set, test, normalize);
    }
    ctnn::SGD opt{net.parameters(), {.lr = o.lr, .momentum = o.momentum, .weight_decay = o.weight_decay,
                                     .nesterov = o.momentum > 0}};
    return run(o, net, opt, schedule, std::move(train_tf), train_set, test, normalize);
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

using trainer::positive;

int main(int argc, char** argv) {
  CLI::App app{"Train a VGG-style CNN on FER2013 (48x48 grayscale faces, 7 expressions) on the CPU with ctnn. "
               "Options left unset take the model preset's recipe."};
  Options o;
  app.add_option("--data-dir", o.data_dir, "Folder holding fer2013-train.bin, fer2013-test.bin, fer2013-labels.txt, "
                                           "fer2013-index.csv (scripts/get-fer2013.sh makes it)")
      ->capture_default_str();
  app.add_option("--csv", o.csv, "Read Kaggle's fer2013.csv instead of --data-dir")->type_name("FILE");
  app.add_option("--model", o.model, "fast (32-64-128, 6 convs) | strong (64-128-256, 6 convs)")
      ->check(CLI::IsMember({"fast", "strong"}))
      ->capture_default_str();
  app.add_option("--epochs", o.epochs, "Epochs to train (fast: 25, strong: 60)")->check(CLI::Range(1, 100000));
  app.add_option("--batch-size", o.batch_size, "Mini-batch size (64)")->check(CLI::Range(1, 65536));
  app.add_option("--lr", o.lr, "Learning rate, the first epoch's with --schedule cosine (1e-3)")->check(positive);
  app.add_option("--optimizer", o.optimizer, "sgd (Nesterov momentum) | adam | adamw (fast: adam, strong: adamw)")
      ->check(CLI::IsMember({"sgd", "adam", "adamw"}));
  app.add_option("--momentum", o.momentum, "SGD momentum (0.9; 0 turns Nesterov off)")->check(CLI::Range(0.0, 1.0));
  app.add_option("--weight-decay", o.weight_decay, "Weight decay: L2 for sgd/adam, decoupled for adamw (fast: 0, strong: 1e-2)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--schedule", o.schedule,
                 std::string("Learning-rate schedule, stepped once per epoch (its lengths count epochs): ") +
                     ctnn::schedule_grammar + " (cosine: from --lr towards 0 over the run)");
  app.add_option("--augment", o.augment,
                 "Training transform: none | crop-flip (4-pixel shifts + mirror) | crop-flip-rotate (also +-10 "
                 "degrees, +-10 % zoom) (both presets: crop-flip)")
      ->check(CLI::IsMember({"none", "crop-flip", "crop-flip-rotate"}));
  app.add_option("--label-smoothing", o.label_smoothing, "Label smoothing of the cross-entropy (fast: 0.1)")
      ->check(CLI::Range(0.0, 0.999));
  app.add_option("--tta", o.tta, "Final per-class evaluation with test-time augmentation: 0 none, 1 mirror, 2 mirror + 1-pixel diagonal shifts, "
                 "3 ten views (mirror x centre + four 2-pixel diagonal shifts, the ten-crop analogue) (2)")
      ->check(CLI::Range(0, 3));
  app.add_option("--test-split", o.test_split, "Test on public (PublicTest), private (PrivateTest) or both")
      ->check(CLI::IsMember({"public", "private", "both"}))
      ->capture_default_str();
  CLI::Option* save = trainer::add_run_options(app, o);
  app.add_option("--evaluate", o.evaluate,
                 "Evaluate this saved model (from --save; with its --model) on the test split instead of training: "
                 "accuracy at each --tta level, per-class accuracy, confusion matrix")
      ->type_name("FILE")
      ->excludes(save);
  CLI11_PARSE(app, argc, argv);

  try {
    std::signal(SIGXFSZ, SIG_IGN);  // a file-size limit makes a write fail (an error), not kill the program
    if (o.model == "strong") return run_model<fer_presets::Strong>(o, fer_presets::strong_recipe);
    return run_model<fer_presets::Fast>(o, fer_presets::fast_recipe);
  } catch (const ctnn::train::DivergedError& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    if (!o.save.empty()) std::fprintf(stderr, "no model saved to %s\n", o.save.c_str());
    return 3;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
