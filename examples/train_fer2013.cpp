// train_fer2013: trains a VGG-style CNN on FER2013 (48x48 grayscale faces, 7 expressions) on
// the CPU and reports per-epoch loss and accuracy, then per-class accuracy and the confusion
// matrix on the test split.
//
//   train_fer2013 --data data/fer2013-binary --model fast --epochs 10
//   train_fer2013 --csv fer2013.csv --model strong --test-split private
//
// The command line over the library trainer (ctnn::train::Trainer), with the same recipe options
// as train_cifar10 (examples/trainer_options.hpp). The data is the folder scripts/get-fer2013.sh
// makes (--data, also spelled --data-dir), or --csv, which reads fer2013.csv directly. Images are
// normalised with the mean and standard deviation of the training images used. Options left unset
// take the model preset's recipe (examples/fer_models.hpp); the presets' schedule (cosine from --lr
// towards 0) is stepped once per epoch (--schedule-unit epoch). --checkpoint/--resume as in
// train_cifar10; --save FILE writes the final model as safetensors, --save-onnx FILE as ONNX (also
// with --evaluate: the evaluated model).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <ctnn/ctnn.hpp>
#include <ctnn/data/dataloader.hpp>
#include <ctnn/data/fer2013.hpp>
#include <ctnn/data/geometric.hpp>
#include <ctnn/data/transforms.hpp>
#include <ctnn/train/confusion.hpp>
#include <ctnn/train/trainer.hpp>

#include "fer_models.hpp"
#include "trainer_options.hpp"

namespace data = ctnn::data;
namespace fs = std::filesystem;
using ctnn::train::ConfusionMatrix;

struct Options : trainer::RunOptions {
  std::string data_dir = "data/fer2013-binary";
  std::string csv;
  std::string model = "fast";
  trainer::RecipeFlags flags;
  std::string test_split = "both";
  std::string evaluate;  // a saved model to evaluate instead of training
};

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

std::string exact(double v) {  // the exact text of a number (%a), for the run's identity
  char buf[64];
  std::snprintf(buf, sizeof buf, "%a", v);
  return buf;
}

ctnn::train::RunIdentity identity(const Options& o, const fer_presets::Recipe& r) {
  return {{"model", o.model}, {"batch-size", std::to_string(r.batch_size)}, {"lr", exact(r.lr)},
          {"optimizer", r.optimizer}, {"momentum", exact(r.momentum)}, {"weight-decay", exact(r.weight_decay)},
          {"augment", r.augment}, {"schedule", r.schedule}, {"schedule-unit", r.schedule_per_epoch ? "epoch" : "step"},
          {"label-smoothing", exact(r.label_smoothing)}, {"nesterov", r.nesterov ? "on" : "off"},
          {"seed", std::to_string(o.seed)},
          {"train-limit", o.train_limit == data::kAllRecords ? "all" : std::to_string(o.train_limit)}};
}

// Every test-time augmentation level up to --tta, each on the whole test split and on its
// PublicTest and PrivateTest parts (FER2013's usual validation and test sets: choose on
// PublicTest, report PrivateTest); per-class results and the confusion matrix for --tta's level.
template <class Net, class Loader>
void report_test(Net& net, Loader& test_loader, const TestData& test, int tta_level, const std::string& split) {
  struct Split {
    ConfusionMatrix all, pub, priv;
    void add(std::size_t truth, std::size_t predicted, bool public_part) {
      all.add(truth, predicted);
      (public_part ? pub : priv).add(truth, predicted);
    }
  };
  const auto empty_split = [&] {
    const auto& names = test.set.class_names;
    return Split{ConfusionMatrix(names), ConfusionMatrix(names), ConfusionMatrix(names)};
  };
  // Levels 0 .. tta_level. Level 2's pass also gives levels 0 and 1 bit for bit (its first views
  // are the image and its mirror: plain_logits, mirror_pair_logits), so it runs once; level 3
  // (ten views, weighted 1/10 a view) runs each level on its own.
  std::vector<Split> levels;
  for (int level = 0; level <= tta_level; ++level) levels.push_back(empty_split());
  constexpr std::size_t k = Net::out_shape::size;
  for (int level = tta_level == 2 ? 2 : 0; level <= tta_level; ++level) {
    ctnn::train::TestTimeAugmentation<Net> tta(ctnn::train::tta_options(level));
    tta.keep_plain(level == 2);
    tta.keep_mirror_pair(level == 2);
    ctnn::train::for_each_prediction(
        net, test_loader, [&](const auto& images) { return tta.logits(net, images); },
        [&](std::size_t truth, std::size_t predicted, std::size_t index, std::size_t row) {
          const bool public_part = index < test.public_count;
          levels[static_cast<std::size_t>(level)].add(truth, predicted, public_part);
          if (level != 2) return;
          levels[0].add(truth, ctnn::train::predicted_class(tta.plain_logits().sample(row), k), public_part);
          levels[1].add(truth, ctnn::train::predicted_class(tta.mirror_pair_logits().sample(row), k), public_part);
        });
  }
  const auto parts = [](const Split& r) {
    char buf[96] = "";
    if (r.pub.total() > 0 && r.priv.total() > 0)
      std::snprintf(buf, sizeof buf, " (PublicTest %.2f%%, PrivateTest %.2f%%)", 100 * r.pub.accuracy(), 100 * r.priv.accuracy());
    return std::string(buf);
  };
  for (int level = 0; level < tta_level; ++level) {
    const auto& r = levels[static_cast<std::size_t>(level)];
    std::printf("%stest accuracy, test-time augmentation %d (%s): %.2f%%%s\n", level == 0 ? "\n" : "", level,
                ctnn::train::tta_level_name(level), 100 * r.all.accuracy(), parts(r).c_str());
  }
  const auto& [all, pub, priv] = levels.back();
  std::printf("\nfinal test accuracy, test-time augmentation %d (%s): %.2f%% (%zu images; mean per-class accuracy %.2f%%)\n",
              tta_level, ctnn::train::tta_level_name(tta_level), 100 * all.accuracy(), all.total(),
              100 * all.mean_class_accuracy());
  std::printf("per-class accuracy on the test split (%s, %zu images):\n", split.c_str(), all.total());
  const bool both_parts = pub.total() > 0 && priv.total() > 0;
  for (std::size_t c = 0; c < all.num_classes(); ++c) {
    std::printf("  %-9s %6.2f%%  (%zu images)", all.class_names()[c].c_str(), 100 * all.recall(c), all.support(c));
    if (both_parts)
      std::printf("   PublicTest %6.2f%% (%zu), PrivateTest %6.2f%% (%zu)", 100 * pub.recall(c), pub.support(c),
                  100 * priv.recall(c), priv.support(c));
    std::printf("\n");
  }
  if (both_parts)
    std::printf("PublicTest %.2f%% (%zu images), PrivateTest %.2f%% (%zu images)\n", 100 * pub.accuracy(), pub.total(),
                100 * priv.accuracy(), priv.total());
  std::printf("\nconfusion matrix (rows: true class, columns: predicted)\n%s", all.table().c_str());
}

data::Fer2013Split split_of(const std::string& s) {
  if (s == "public") return data::Fer2013Split::public_test;
  if (s == "private") return data::Fer2013Split::private_test;
  return data::Fer2013Split::test;
}

// --evaluate: the model file's weights and the normalisation it records.
template <class Net>
void load_evaluated(const Options& o, Net& net, data::Normalize<1>& normalize) {
  const auto file = ctnn::io::File::read(o.evaluate);
  // The architecture the file names, before its tensors are checked against --model's.
  if (const auto m = file.metadata().find("ctnn.model"); m != file.metadata().end() && m->second != "fer2013-" + o.model)
    throw std::runtime_error("'" + o.evaluate + "' holds a " + m->second + " model; pass --model " +
                             (m->second.rfind("fer2013-", 0) == 0 ? m->second.substr(8) : std::string("fast|strong")));
  const auto loaded = ctnn::io::load(net, file);
  const auto number = [&](const char* key, float fallback) {
    const auto it = loaded.metadata.find(key);
    return it == loaded.metadata.end() ? fallback : fer_presets::metadata_number(o.evaluate, key, it->second, true);
  };
  normalize = {{number("ctnn.normalize.mean", normalize.mean[0])}, {number("ctnn.normalize.std", normalize.std[0])}};
  std::printf("evaluating %s (no training; %s names)\n", o.evaluate.c_str(), ctnn::io::naming_name(loaded.naming));
}

template <class Net>
int run_model(const Options& o, fer_presets::Recipe r) {
  const bool nesterov_set = o.flags.nesterov.has_value();
  r = trainer::apply_flags(r, o.flags);
  if (!nesterov_set) r.nesterov = r.momentum > 0;  // sgd: Nesterov unless momentum is 0
  if (o.csv.empty() && !fs::is_directory(o.data_dir)) {
    std::fprintf(stderr,
                 "error: FER2013 not found: '%s' is not a folder.\n"
                 "Get it with\n"
                 "  scripts/get-fer2013.sh --from fer2013-binary.tar.xz   # this project's binary form\n"
                 "  scripts/get-fer2013.sh --csv fer2013.csv              # or Kaggle's CSV (needs a Kaggle login to download)\n"
                 "then pass --data data/fer2013-binary (the default), or read the CSV directly with --csv FILE.\n",
                 o.data_dir.c_str());
    return 2;
  }
  trainer::apply_threads(o);
  trainer::apply_conv_algorithm(o);
  const auto t_load = std::chrono::steady_clock::now();
  const auto load = [&](data::Fer2013Split s, std::size_t limit, data::RecordCount count = data::RecordCount::official) {
    return o.csv.empty() ? data::load_fer2013(o.data_dir, s, limit, count) : data::load_fer2013_csv(o.csv, s, limit, count);
  };
  const auto train_set = load(data::Fer2013Split::train, o.train_limit);
  TestData test;
  test.set = load(split_of(o.test_split), o.test_limit);
  if (o.test_split == "both")  // only the boundary: the test split itself was checked above
    test.public_count = load(data::Fer2013Split::public_test, data::kAllRecords, data::RecordCount::any).size();
  else if (o.test_split == "public")
    test.public_count = test.set.size();
  const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count();
  auto normalize = training_normalize(train_set);

  Net net(o.seed);
  net.set_precision(trainer::resolve_precision(o, false));
  if (!o.evaluate.empty()) load_evaluated(o, net, normalize);
  const long long steps = static_cast<long long>((train_set.size() + r.batch_size - 1) / r.batch_size);
  auto topts = trainer::trainer_options(o, o.flags, r, steps);
  topts.identity = identity(o, r);
  topts.print_epochs = false;
  char momentum[64] = "";
  if (r.optimizer == "sgd")
    std::snprintf(momentum, sizeof momentum, ", momentum %g%s", r.momentum, r.nesterov ? " (Nesterov)" : "");
  std::printf("ctnn train_fer2013: model %s, %d epochs, batch %zu, %s lr %g (schedule %s per %s: %s)%s, weight decay %g\n",
              o.model.c_str(), r.epochs, r.batch_size, r.optimizer.c_str(), r.lr, r.schedule.c_str(),
              r.schedule_per_epoch ? "epoch" : "step", topts.schedule->describe().c_str(), momentum, r.weight_decay);
  std::printf("augment %s, label smoothing %g, test-time augmentation %d, normalize mean %.4f std %.4f (training images), seed %llu, %d threads\n",
              r.augment.c_str(), r.label_smoothing, r.tta, normalize.mean[0], normalize.std[0],
              static_cast<unsigned long long>(o.seed), ctnn::thread_width());
  std::printf("%zu train / %zu test images (%s) from %s, loaded in %.2f s\n", train_set.size(), test.set.size(),
              o.test_split.c_str(), o.csv.empty() ? o.data_dir.c_str() : o.csv.c_str(), load_s);
  trainer::print_precision(net.precision());
  std::printf("%s", Net::summary().c_str());

  // Faces: shifts of up to 4 pixels and mirroring keep the expression; crop-flip-rotate adds
  // a turn of up to 10 degrees and a zoom of +-10 % (pose and framing vary in FER2013).
  using data::Fer2013Shape, data::ToTensor;
  const auto transform = [&]<class Tf>(Tf tf) -> std::function<void(const std::uint8_t*, float*, ctnn::Rng&)> {
    return [tf](const std::uint8_t* s, float* d, ctnn::Rng& rng) { tf(s, d, rng); };
  };
  struct Transform {
    using input_shape = Fer2013Shape;
    using output_shape [[maybe_unused]] = Fer2013Shape;  // the transform contract names both shapes
    std::function<void(const std::uint8_t*, float*, ctnn::Rng&)> apply;
    void operator()(const std::uint8_t* s, float* d, ctnn::Rng& rng) const { apply(s, d, rng); }
  };
  Transform train_tf{transform(data::compose<Fer2013Shape>(ToTensor{}, normalize))};
  if (r.augment == "crop-flip")
    train_tf.apply = transform(data::compose<Fer2013Shape>(data::RandomCrop<48, 48, 4>{}, data::RandomHorizontalFlip{},
                                                           ToTensor{}, normalize));
  if (r.augment == "crop-flip-erase")  // torchvision's RandomErasing defaults, after Normalize (0 = the mean)
    train_tf.apply = transform(data::compose<Fer2013Shape>(data::RandomCrop<48, 48, 4>{}, data::RandomHorizontalFlip{},
                                                           ToTensor{}, normalize, data::RandomErasing{}));
  if (r.augment == "crop-flip-rotate")
    train_tf.apply = transform(data::compose<Fer2013Shape>(
        data::RandomRotateScale{.degrees = 10, .scale_min = 0.9, .scale_max = 1.1}, data::RandomCrop<48, 48, 4>{},
        data::RandomHorizontalFlip{}, ToTensor{}, normalize));
  data::DataLoader train_loader(train_set, std::move(train_tf),
                                {.batch_size = r.batch_size, .shuffle = true, .seed = o.seed, .prefetch = o.prefetch});
  // Evaluation keeps every layer's output, about 1 MB per image for fast: batches of 200.
  data::DataLoader test_loader(test.set, data::compose<Fer2013Shape>(ToTensor{}, normalize),
                               {.batch_size = 200, .shuffle = false, .prefetch = o.prefetch});

  ctnn::train::TrainerCallbacks<float> cb;
  cb.on_epoch_end = [](const ctnn::train::EpochEnd& e) {
    std::printf("%5d %9.2e %10.4f %8.2f%% %s %8.0f %7.1f %8.1f\n", e.metrics.epoch, e.lr, e.train.loss,
                100 * e.train.accuracy, ctnn::train::test_columns(e.test).c_str(), e.train.images_per_second(),
                e.metrics.seconds, e.elapsed);
    std::fflush(stdout);
  };
  const auto start = std::chrono::steady_clock::now();
  const auto train = [&](auto& optimizer) -> int {
    ctnn::train::Trainer<Net> trainer(net, optimizer, topts, cb);
    if (o.evaluate.empty()) {
      std::printf("%5s %9s %10s %9s %10s %9s %8s %7s %8s\n", "epoch", "lr", "train_loss", "train_acc", "test_loss",
                  "test_acc", "img/s", "seconds", "elapsed");
      std::fflush(stdout);
      if (trainer.fit(train_loader, test_loader).interrupted()) return 130;
    }
    report_test(net, test_loader, test, r.tta, o.test_split);
    std::printf("total %.1f s for %d epochs\n",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
                o.evaluate.empty() ? r.epochs : 0);
    if (!o.save.empty()) {
      // Nine significant digits give back the same float, so predict normalises exactly as here.
      const auto nine = [](float v) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(v));
        return std::string(buf);
      };
      std::string classes;
      for (const auto& n : train_set.class_names) classes += (classes.empty() ? "" : ",") + n;
      ctnn::io::SaveOptions so;
      so.metadata = {{"ctnn.model", "fer2013-" + o.model}, {"ctnn.input", "1x48x48"}, {"ctnn.classes", classes},
                     {"ctnn.normalize.mean", nine(normalize.mean[0])}, {"ctnn.normalize.std", nine(normalize.std[0])},
                     {"ctnn.epochs", std::to_string(r.epochs)}};
      trainer.save_model(o.save, so);
      std::printf("model saved to %s\n", o.save.c_str());
    }
    trainer::save_onnx(o, net, normalize, train_set.class_names, "fer2013-" + o.model);
    return 0;
  };
  if (r.optimizer == "adam") {
    ctnn::Adam opt{net.parameters(), {.lr = r.lr, .weight_decay = r.weight_decay}};
    return train(opt);
  }
  if (r.optimizer == "adamw") {
    ctnn::AdamW opt{net.parameters(), {.lr = r.lr, .weight_decay = r.weight_decay}};
    return train(opt);
  }
  ctnn::SGD opt{net.parameters(), {.lr = r.lr, .momentum = r.momentum, .weight_decay = r.weight_decay, .nesterov = r.nesterov}};
  return train(opt);
}

int main(int argc, char** argv) {
  CLI::App app{"Train a VGG-style CNN on FER2013 (48x48 grayscale faces, 7 expressions) on the CPU with ctnn. "
               "Options left unset take the model preset's recipe."};
  Options o;
  app.add_option("--data,--data-dir", o.data_dir, "Folder holding fer2013-train.bin, fer2013-test.bin, fer2013-labels.txt, "
                                                  "fer2013-index.csv (scripts/get-fer2013.sh makes it)")
      ->capture_default_str();
  app.add_option("--csv", o.csv, "Read Kaggle's fer2013.csv instead of --data")->type_name("FILE");
  app.add_option("--model", o.model, "fast (32-64-128, 6 convs) | strong (64-128-256, 6 convs)")
      ->check(CLI::IsMember({"fast", "strong"}))
      ->capture_default_str();
  trainer::add_recipe_options(
      app, o.flags, {"none", "crop-flip", "crop-flip-rotate", "crop-flip-erase"},
      {{"epochs", "fast: 25, strong: 60"}, {"batch-size", "64"}, {"lr", "1e-3"},
       {"optimizer", "fast: adam, strong: adamw"}, {"momentum", "0.9"}, {"nesterov", "sgd: on unless --momentum 0"},
       {"weight-decay", "fast: 0, strong: 1e-2"}, {"schedule", "cosine: from --lr towards 0 over the run"},
       {"schedule-unit", "both presets: epoch"},
       {"augment", "none | crop-flip (4-pixel shifts + mirror) | crop-flip-rotate (also +-10 degrees, +-10 % zoom) | crop-flip-erase (crop-flip, then torchvision's RandomErasing: p 0.5, 2-33 % of the face); "
                   "both presets: crop-flip"},
       {"label-smoothing", "fast: 0.1"}, {"tta", "2"}});
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
