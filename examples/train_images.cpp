// train_images: trains a CNN on a folder of your own images, root/<class>/<image>.png|.jpg
// (torchvision's ImageFolder layout), on the CPU.
//
//   train_images --data photos --val-split 0.1 --model small --input 64 --epochs 20 --save photos.safetensors
//   train_images --data train_dir --val val_dir --input 32 --augment crop-flip --plot runs/a
//   predict --model photos.safetensors holiday.jpg          # prints the folder's class names
//
// The folder is read once into memory (ctnn/io/image_folder.hpp: classes sorted by name, every
// image decoded in parallel, made RGB and brought to --input x --input by --fit), split into
// training and validation images (--val DIR, or --val-split F: a seeded split stratified by
// class), and normalised with the per-channel mean and standard deviation of the training
// images. Every epoch reports the training and validation loss and accuracy; the end, the
// per-class accuracy and the confusion matrix on the validation images. Input sizes are
// compile-time shapes: 32, 64 or 128 (examples/image_models.hpp: the first pooling adapts).
// Up to 10 classes train a 10-output head, up to 100 a 100-output head (spare outputs pinned so
// that results are exactly those of a head of the folder's size).
// --checkpoint DIR writes DIR/checkpoint.safetensors after every epoch (atomically); --resume DIR
// continues from it (same options; epoch boundaries only).
#include <CLI/CLI.hpp>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <ctnn/ctnn.hpp>
#include <ctnn/data/dataloader.hpp>
#include <ctnn/data/split.hpp>
#include <ctnn/data/transforms.hpp>
#include <ctnn/io/checkpoint.hpp>
#include <ctnn/io/image_folder.hpp>
#include <ctnn/io/safetensors.hpp>
#include <ctnn/optim/schedule.hpp>
#include <ctnn/train/confusion.hpp>
#include <ctnn/train/loop.hpp>
#include <ctnn/train/metrics.hpp>
#include <ctnn/train/progress.hpp>

#include "image_models.hpp"
#include "trainer_options.hpp"
#include "trainer_state.hpp"

namespace data = ctnn::data;
namespace fs = std::filesystem;

using trainer::exact;

namespace {

struct Options : trainer::RunOptions {
  std::string data_dir, val_dir;
  double val_split = 0;
  std::string model = "small";
  int input = 32;
  std::string fit = "crop";
  bool skip_bad = false;
  int epochs = 10;
  std::size_t batch_size = 64;
  double lr = 1e-3;
  std::string optimizer = "adamw";
  double momentum = 0.9;
  double weight_decay = 1e-2;
  std::string schedule = "cosine";
  std::string augment = "crop-flip";
  double label_smoothing = 0;
  std::string checkpoint_dir, resume_dir, plot_dir;
};


// The options that decide the trajectory: a resumed run must use the same ones. --epochs may
// grow (a schedule that depends on the run's length then changes from the resumed epoch on).
std::vector<std::pair<std::string, std::string>> recipe(const Options& o) {
  return {{"model", o.model},         {"input", std::to_string(o.input)},     {"fit", o.fit},
          {"seed", std::to_string(o.seed)}, {"batch-size", std::to_string(o.batch_size)}, {"lr", exact(o.lr)},
          {"optimizer", o.optimizer}, {"momentum", exact(o.momentum)},         {"weight-decay", exact(o.weight_decay)},
          {"schedule", o.schedule},   {"augment", o.augment},                 {"data", o.data_dir},
          {"label-smoothing", exact(o.label_smoothing)}, {"val-split", exact(o.val_split)}};
}


template <class S>
struct ErasedTransform {
  using input_shape = S;
  using output_shape = S;
  std::function<void(const std::uint8_t*, float*, ctnn::Rng&)> apply;
  void operator()(const std::uint8_t* src, float* dst, ctnn::Rng& rng) const { apply(src, dst, rng); }
};

// Per-channel mean and standard deviation of the training pixels, in ToTensor's [0, 1] scale.
template <class S>
data::Normalize<3> training_normalize(const data::ImageSet<S>& set) {
  data::Normalize<3> n{};
  for (std::size_t c = 0; c < 3; ++c) {
    double sum = 0, sq = 0, count = 0;
    for (std::size_t i = 0; i < set.size(); ++i) {
      const std::uint8_t* p = set.image(i).data() + c * S::plane;
      for (std::size_t k = 0; k < S::plane; ++k) {
        sum += p[k];
        sq += static_cast<double>(p[k]) * p[k];
      }
      count += S::plane;
    }
    const double mean = sum / std::max(count, 1.0) / 255.0;
    n.mean[c] = static_cast<float>(mean);
    n.std[c] = static_cast<float>(std::sqrt(std::max(sq / std::max(count, 1.0) / 65025.0 - mean * mean, 1e-12)));
  }
  return n;
}

std::string joined(const float* v, std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(v[i]));
    s += (i ? "," : "") + std::string(buf);
  }
  return s;
}



template <class Net, class S>
int run(const Options& o, const data::ImageSet<S>& train_set, const data::ImageSet<S>& val_set) {
  constexpr std::size_t kHead = Net::out_shape::size;
  const std::size_t classes = train_set.num_classes();
  const std::string name = image_presets::model_name(o.model, S::height, kHead);
  const auto normalize = training_normalize(train_set);
  Net net(o.seed);
  image_presets::pin_spare_outputs(net, classes);
  net.set_precision(trainer::resolve_precision(o, false));
  trainer::print_precision(net.precision());

  auto params = net.parameters();
  std::optional<ctnn::SGD<float>> sgd;
  std::optional<ctnn::Adam<float>> adam;
  std::optional<ctnn::AdamW<float>> adamw;
  std::optional<trainer::TrainerOptimizer> opt;
  if (o.optimizer == "sgd") {
    sgd.emplace(params, ctnn::SGDOptions{.lr = o.lr, .momentum = o.momentum, .weight_decay = o.weight_decay,
                                         .nesterov = o.momentum > 0});
    opt.emplace(trainer::TrainerOptimizer{*sgd, [&] { sgd->step(); }});
  } else if (o.optimizer == "adam") {
    adam.emplace(params, ctnn::AdamOptions{.lr = o.lr, .weight_decay = o.weight_decay});
    opt.emplace(trainer::TrainerOptimizer{*adam, [&] { adam->step(); }});
  } else {
    adamw.emplace(params, ctnn::AdamWOptions{.lr = o.lr, .weight_decay = o.weight_decay});
    opt.emplace(trainer::TrainerOptimizer{*adamw, [&] { adamw->step(); }});
  }

  ErasedTransform<S> train_tf;
  if (o.augment == "crop-flip")
    train_tf.apply = [tf = data::compose<S>(data::RandomCrop<S::height, S::width, S::height / 8>{},
                                            data::RandomHorizontalFlip{}, data::ToTensor{}, normalize)](
                         const std::uint8_t* s, float* d, ctnn::Rng& r) { tf(s, d, r); };
  else if (o.augment == "flip")
    train_tf.apply = [tf = data::compose<S>(data::RandomHorizontalFlip{}, data::ToTensor{}, normalize)](
                         const std::uint8_t* s, float* d, ctnn::Rng& r) { tf(s, d, r); };
  else
    train_tf.apply = [tf = data::compose<S>(data::ToTensor{}, normalize)](const std::uint8_t* s, float* d,
                                                                           ctnn::Rng& r) { tf(s, d, r); };
  data::DataLoader train_loader(train_set, std::move(train_tf),
                                {.batch_size = o.batch_size, .shuffle = true, .seed = o.seed, .prefetch = o.prefetch});
  data::DataLoader val_loader(val_set, data::compose<S>(data::ToTensor{}, normalize),
                              {.batch_size = 200, .prefetch = o.prefetch});
  const long long steps_per_epoch = static_cast<long long>(train_loader.size());
  const ctnn::Schedule schedule = ctnn::parse_schedule(
      o.schedule, {.total_steps = steps_per_epoch * o.epochs, .steps_per_epoch = steps_per_epoch});

  const std::string checkpoint_dir = !o.checkpoint_dir.empty() ? o.checkpoint_dir : o.resume_dir;
  const fs::path checkpoint_file = checkpoint_dir.empty() ? fs::path() : fs::path(checkpoint_dir) / "checkpoint.safetensors";
  std::vector<ctnn::train::EpochMetrics> history;
  int first_epoch = 1;
  if (!o.resume_dir.empty()) {
    const fs::path from = fs::path(o.resume_dir) / "checkpoint.safetensors";
    const auto file = ctnn::io::File::read(from);
    for (const auto& [key, value] : recipe(o)) {
      const auto it = file.metadata().find("train." + key);
      if (it == file.metadata().end() || it->second != value)
        throw std::runtime_error("--resume: " + from.string() + " was trained with --" + key + " " +
                                 (it == file.metadata().end() ? std::string("(not recorded)") : it->second) +
                                 ", this run has " + value);
    }
    const auto st = ctnn::io::load_checkpoint(file, net, *opt);
    first_epoch = static_cast<int>(st.epoch) + 1;
    if (const auto it = file.metadata().find("train.metrics"); it != file.metadata().end()) history = trainer::metrics_rows_from_string(it->second);
    std::printf("resumed from %s after epoch %lld\n", from.string().c_str(), static_cast<long long>(st.epoch));
  }
  std::optional<ctnn::train::MetricsFile> metrics;
  if (!o.metrics.empty()) {
    metrics.emplace(o.metrics);
    for (const auto& m : history) metrics->append(m);
  }
  if (!checkpoint_file.empty()) fs::create_directories(checkpoint_file.parent_path());

  std::printf("model %s\n%s", name.c_str(), Net::summary().c_str());
  std::printf("%5s %9s %10s %9s %9s %8s %8s %8s\n", "epoch", "lr", "train_loss", "train_acc", "val_loss", "val_acc",
              "img/s", "seconds");
  ctnn::train::ProgressLine progress;
  ctnn::train::EpochTally tally;
  for (int epoch = first_epoch; epoch <= o.epochs; ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    ctnn::train::train_epoch_resumable(
        net, *opt, train_loader, static_cast<std::uint64_t>(epoch - 1), tally,
        {.loss = {.label_smoothing = o.label_smoothing}, .on_non_finite = trainer::on_non_finite(o)},
        {.before_step = [&] { schedule.apply(*opt, opt->steps()); },
         .after_step = [&] { image_presets::pin_spare_outputs(net, classes); },
         .after_batch =
             [&](const ctnn::train::EpochTally& t) {
               if (t.samples > 0)
                 progress.update(t.batches, train_loader.size(), t.loss_sum / static_cast<double>(t.samples),
                                 static_cast<double>(t.samples) / t.seconds, t.seconds);
               return true;
             },
         .warn = {}});
    progress.clear();
    const auto tr = tally.result();
    const auto va = ctnn::train::evaluate(net, val_loader);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("%5d %9.2e %10.4f %8.2f%% %9.4f %7.2f%% %8.0f %8.1f\n", epoch, opt->param_groups()[0].lr, tr.loss,
                100 * tr.accuracy, va.loss, 100 * va.accuracy, tr.images_per_second(), seconds);
    std::fflush(stdout);
    history.push_back({epoch, tr.loss, tr.accuracy, va.loss, va.accuracy, seconds, tr.images_per_second()});
    if (metrics) metrics->append(history.back());
    tally.start_epoch();
    if (!checkpoint_file.empty()) {
      ctnn::io::CheckpointState st;
      st.epoch = epoch;
      st.rng = net.rng().state();
      for (const auto& [key, value] : recipe(o)) st.metadata["train." + key] = value;
      st.metadata["train.metrics"] = trainer::metrics_rows_to_string(history);
      ctnn::io::save_checkpoint(checkpoint_file, net, *opt, st);
    }
  }

  ctnn::train::ConfusionMatrix cm(val_set.class_names);
  ctnn::train::for_each_prediction(
      net, val_loader, [&](const auto& images) -> decltype(auto) { return net.forward(images); },
      [&](std::size_t truth, std::size_t predicted, std::size_t) { cm.add(truth, std::min(predicted, classes - 1)); });
  std::printf("\nvalidation accuracy %.2f%% (%zu images; mean per-class accuracy %.2f%%)\nper-class accuracy:\n",
              100 * cm.accuracy(), cm.total(), 100 * cm.mean_class_accuracy());
  for (std::size_t c = 0; c < classes; ++c)
    std::printf("  %-16s %6.2f%%  (%zu images)\n", cm.class_names()[c].c_str(), 100 * cm.recall(c), cm.support(c));
  std::printf("\nconfusion matrix (rows: true class, columns: predicted)\n%s", cm.table().c_str());

  if (!o.save.empty()) {
    ctnn::io::SaveOptions so;
    so.batches_tracked = opt->steps();
    std::string names;
    for (const auto& n : train_set.class_names) names += (names.empty() ? "" : ",") + n;
    so.metadata = {{"ctnn.model", name},
                   {"ctnn.input", "3x" + std::to_string(S::height) + "x" + std::to_string(S::width)},
                   {"ctnn.classes", names},
                   {"ctnn.fit", o.fit},
                   {"ctnn.normalize.mean", joined(normalize.mean.data(), 3)},
                   {"ctnn.normalize.std", joined(normalize.std.data(), 3)},
                   {"ctnn.epochs", std::to_string(o.epochs)}};
    ctnn::io::save(net, o.save, so);
    std::printf("model saved to %s\n", o.save.c_str());
  }
  trainer::save_onnx(o, net, normalize, image_presets::head_names(train_set.class_names, kHead), name);
  if (!o.plot_dir.empty()) trainer::plot(o.plot_dir, {{o.metrics, name}});
  return 0;
}

template <std::size_t In, std::size_t Head>
int with_head(const Options& o, const auto& train_set, const auto& val_set) {
  if (o.model == "medium") return run<image_presets::Medium<In, Head>>(o, train_set, val_set);
  return run<image_presets::Small<In, Head>>(o, train_set, val_set);
}

template <std::size_t In>
int with_input(Options o) {
  using S = ctnn::Shape<3, In, In>;
  const ctnn::io::ImageFolderOptions fo{
      .fit = o.fit == "stretch" ? ctnn::io::Fit::resize : ctnn::io::Fit::resize_crop,
      .on_bad_image = o.skip_bad ? ctnn::io::OnBadImage::skip : ctnn::io::OnBadImage::error,
      .threads = o.threads};
  auto folder = ctnn::io::load_image_folder<S>(o.data_dir, fo);
  std::printf("%s\n", folder.report.summary(folder.set.num_classes()).c_str());
  for (const auto& c : folder.set.class_names)
    if (c.find(',') != std::string::npos)
      throw std::runtime_error("class folder '" + c + "' has a comma in its name, which the model file's class list "
                               "(\"ctnn.classes\", comma-separated) cannot hold: rename it");
  data::ImageSet<S> train_set, val_set;
  if (!o.val_dir.empty()) {
    auto fo_val = fo;
    fo_val.expect_classes = folder.set.class_names;
    auto val = ctnn::io::load_image_folder<S>(o.val_dir, fo_val);
    std::printf("validation: %s\n", val.report.summary(val.set.num_classes()).c_str());
    train_set = std::move(folder.set);
    val_set = std::move(val.set);
  } else {
    if (o.val_split == 0) o.val_split = 0.1;
    auto parts = data::train_val_split(folder.set, o.val_split, o.seed);
    std::printf("split %.3g of each class off for validation (seed %llu)\n", o.val_split,
                static_cast<unsigned long long>(o.seed));
    train_set = std::move(parts.train);
    val_set = std::move(parts.val);
  }
  std::printf("%zu training / %zu validation images, %zu classes, input 3x%zux%zu (%s)\n", train_set.size(),
              val_set.size(), train_set.num_classes(), In, In, o.fit.c_str());
  const std::size_t classes = train_set.num_classes();
  if (classes < 2) throw std::runtime_error("'" + o.data_dir + "' has one class folder: a classifier needs two or more");
  if (classes > 100) throw std::runtime_error("'" + o.data_dir + "' has " + std::to_string(classes) + " classes; train_images handles up to 100");
  const std::size_t head = classes <= 10 ? 10 : 100;
  if (o.label_smoothing > 0 && classes != head)
    throw std::runtime_error("--label-smoothing needs exactly " + std::to_string(head) + " classes (the head's outputs; "
                             "the folder has " + std::to_string(classes) + "): smoothing would spread over the spare outputs");
  if (head == 10) return with_head<In, 10>(o, train_set, val_set);
  return with_head<In, 100>(o, train_set, val_set);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Train a CNN on a folder of your own images (root/<class>/<image>.png|.jpg) on the CPU with ctnn."};
  Options o;
  app.add_option("--data", o.data_dir, "Image folder: one sub-folder per class (PNG, JPEG; searched recursively)")
      ->required()
      ->type_name("DIR");
  auto* val = app.add_option("--val", o.val_dir, "Validation image folder with the same class folders")->type_name("DIR");
  app.add_option("--val-split", o.val_split,
                 "Fraction of each class held out for validation, seeded by --seed (default 0.1 without --val)")
      ->check(CLI::Range(0.001, 0.999))
      ->excludes(val);
  app.add_option("--model", o.model, "small (32-64-128-256 channels) | medium (64-128-256-512)")
      ->check(CLI::IsMember({"small", "medium"}))
      ->capture_default_str();
  app.add_option("--input", o.input, "Network input size: 32 | 64 | 128 (square, RGB)")
      ->check(CLI::IsMember({32, 64, 128}))
      ->capture_default_str();
  app.add_option("--fit", o.fit,
                 "How images reach the input size: crop (Resize(S) then CenterCrop(S): aspect kept) | stretch "
                 "(Resize((S, S)))")
      ->check(CLI::IsMember({"crop", "stretch"}))
      ->capture_default_str();
  app.add_flag("--skip-bad-images", o.skip_bad, "Leave unreadable or corrupt images out (listed) instead of stopping");
  app.add_option("--epochs", o.epochs, "Epochs")->check(CLI::Range(1, 100000))->capture_default_str();
  app.add_option("--batch-size", o.batch_size, "Mini-batch size")->check(CLI::Range(1, 65536))->capture_default_str();
  app.add_option("--lr", o.lr, "Learning rate (the peak of --schedule)")->check(trainer::positive)->capture_default_str();
  app.add_option("--optimizer", o.optimizer, "sgd (Nesterov) | adam | adamw")
      ->check(CLI::IsMember({"sgd", "adam", "adamw"}))
      ->capture_default_str();
  app.add_option("--momentum", o.momentum, "SGD momentum")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  app.add_option("--weight-decay", o.weight_decay, "Weight decay")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  app.add_option("--schedule", o.schedule,
                 std::string("Learning-rate schedule, stepped every batch: ") + ctnn::schedule_grammar)
      ->capture_default_str();
  app.add_option("--augment", o.augment, "none | flip | crop-flip (random crop with input/8 padding + mirror)")
      ->check(CLI::IsMember({"none", "flip", "crop-flip"}))
      ->capture_default_str();
  app.add_option("--label-smoothing", o.label_smoothing, "Label smoothing (folders of exactly 10 or 100 classes)")
      ->check(CLI::Range(0.0, 0.999));
  app.add_option("--checkpoint", o.checkpoint_dir, "Write DIR/checkpoint.safetensors after every epoch")->type_name("DIR");
  app.add_option("--resume", o.resume_dir, "Continue the run checkpointed in DIR (same options)")->type_name("DIR");
  app.add_option("--plot", o.plot_dir, "Draw loss and accuracy curves into DIR at the end (metrics go to DIR/metrics.csv "
                                       "unless --metrics)")
      ->type_name("DIR");
  trainer::add_run_options(app, o);
  CLI11_PARSE(app, argc, argv);
  try {
    std::signal(SIGXFSZ, SIG_IGN);
    trainer::apply_threads(o);
    trainer::apply_conv_algorithm(o);
    if (o.train_limit != data::kAllRecords || o.test_limit != data::kAllRecords)
      throw std::runtime_error("--train-limit and --test-limit are not used by train_images: point --data at a "
                               "smaller folder, or use --val-split");
    if (!o.plot_dir.empty() && o.metrics.empty()) o.metrics = (fs::path(o.plot_dir) / "metrics.csv").string();
    if (o.input == 64) return with_input<64>(o);
    if (o.input == 128) return with_input<128>(o);
    return with_input<32>(o);
  } catch (const ctnn::train::DivergedError& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 3;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
