// train_cifar10: trains a CNN on CIFAR-10 on the CPU and reports per-epoch loss and accuracy.
//
//   train_cifar10 --data data/cifar-10-batches-bin --model seed --epochs 5
//
// Each epoch prints one line (train loss/accuracy, test loss/accuracy, seconds, images/s);
// a live progress line is drawn when stdout is a terminal. --metrics FILE keeps the same
// figures as CSV, rewritten atomically after every epoch.
//
// Persistence (docs/persistence.md):
//   --save FILE        the final model as safetensors (--torch-names: torch.nn.Sequential names)
//   --save-onnx FILE   the final model as ONNX (docs/onnx.md)
//   --checkpoint DIR   DIR/checkpoint.safetensors after every epoch (written to a temporary file,
//                      then renamed: a crash leaves the previous checkpoint whole); with it, Ctrl-C
//                      (SIGINT) finishes the current step, writes a checkpoint and exits (status 130)
//   --resume DIR       continues from DIR's checkpoint (mid-epoch too) and keeps checkpointing
//                      there unless --checkpoint says otherwise; with the same options and thread
//                      count the final weights equal those of an uninterrupted run, bit for bit
#include <CLI/CLI.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <ctnn/ctnn.hpp>
#include <ctnn/data/cifar10.hpp>
#include <ctnn/data/dataloader.hpp>
#include <ctnn/data/transforms.hpp>
#include <ctnn/io/checkpoint.hpp>
#include <ctnn/io/safetensors.hpp>
#include <ctnn/optim/ema.hpp>
#include <ctnn/optim/param_groups.hpp>
#include <ctnn/optim/schedule.hpp>
#include <ctnn/train/init.hpp>
#include <ctnn/train/loop.hpp>
#include <ctnn/train/tta.hpp>
#include <ctnn/train/metrics.hpp>
#include <ctnn/train/progress.hpp>
#include <ctnn/train/sweep.hpp>

#include "models.hpp"
#include "trainer_options.hpp"
#include "trainer_state.hpp"

using trainer::exact;
using trainer::metrics_rows_from_string;
using trainer::metrics_rows_to_string;
using trainer::plot;
using trainer::TrainerOptimizer;

namespace data = ctnn::data;
namespace fs = std::filesystem;

// The run options (--seed, --threads, limits, --metrics, --no-prefetch, --save, --save-onnx) are trainer::RunOptions.
struct Options : trainer::RunOptions {
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
  std::string schedule;
  double label_smoothing = -1;
  int tta = -1;
  std::string nesterov;             // on | off; empty: the preset's
  std::string lookahead;            // on | off
  std::string decay_norm_and_bias;  // on | off
  bool torch_names = false;
  std::string checkpoint_dir;
  std::string resume_dir;
  long long interrupt_after = 0;  // test hook: raise SIGINT after this many training steps
  std::string plot_dir;
  std::string sweep;
  std::string sweep_dir;
};

// Set by the SIGINT handler; the training loop stops after the step in progress.
volatile std::sig_atomic_t g_interrupted = 0;
extern "C" void on_sigint(int) { g_interrupted = 1; }

void install_sigint_handler() {
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART | SA_RESETHAND;  // a second Ctrl-C stops the program at once
  sigaction(SIGINT, &sa, nullptr);
}

std::string exact_short(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}


// The options that decide the training trajectory: a resumed run must use the same ones.
std::map<std::string, std::string> trajectory_options(const Options& o) {
  const std::string limit = o.train_limit == data::kAllRecords ? "all" : std::to_string(o.train_limit);
  return {{"model", o.model},
          {"batch-size", std::to_string(o.batch_size)},
          {"lr", exact(o.lr)},
          {"optimizer", o.optimizer},
          {"momentum", exact(o.momentum)},
          {"weight-decay", exact(o.weight_decay)},
          {"augment", o.augment},
          {"normalize", o.normalize},
          {"schedule", o.schedule},
          {"label-smoothing", exact(o.label_smoothing)},
          {"nesterov", o.nesterov},
          {"decay-norm-and-bias", o.decay_norm_and_bias},
          {"seed", std::to_string(o.seed)},
          {"train-limit", limit}};
}

// Running figures of the epoch in progress (kept in a mid-epoch checkpoint).
using ctnn::train::EpochTally;



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
  if (o.schedule.empty()) o.schedule = r.schedule;
  if (o.label_smoothing < 0) o.label_smoothing = r.label_smoothing;
  if (o.tta < 0) o.tta = r.tta;
  const auto on_off = [](bool b) { return std::string(b ? "on" : "off"); };
  if (o.nesterov.empty()) o.nesterov = on_off(r.nesterov);
  if (o.lookahead.empty()) o.lookahead = on_off(r.lookahead);
  if (o.decay_norm_and_bias.empty()) o.decay_norm_and_bias = on_off(r.decay_norm_and_bias);
}

// Compile time: run() below is the whole training loop, checkpointing included. Instantiated
// for every (network, optimizer, augmentation) triple it made this file take 81 s to build;
// it sees the optimizer through its common base (TrainerOptimizer, trainer_state.hpp) and the
// augmentation pipeline through a function, so it is compiled once per network. Neither costs
// anything measurable: one indirect call per step and per image.

struct CifarTransform {
  using input_shape = data::Cifar10Shape;
  using output_shape = data::Cifar10Shape;
  std::function<void(const std::uint8_t*, float*, ctnn::Rng&, const data::SampleInfo&)> apply;
  void operator()(const std::uint8_t* src, float* dst, ctnn::Rng& rng, const data::SampleInfo& info) const {
    apply(src, dst, rng, info);
  }
};

template <class Pipeline>
CifarTransform erase(Pipeline p) {
  return {[p](const std::uint8_t* src, float* dst, ctnn::Rng& rng, const data::SampleInfo& info) {
    if constexpr (requires { p(src, dst, rng, info); }) p(src, dst, rng, info);
    else p(src, dst, rng);
  }};
}

// What a recipe adds around the optimizer step: the parameter group whose lr is held at 0
// after some epochs (airbench's whitening bias), if any.
struct StepRules {
  std::optional<std::size_t> frozen_later_group;
  int frozen_after_epochs = 0;
  bool drop_last = false;  // the recipe's batch statistics and schedule assume full batches
};

template <class Net>
int run(const Options& o, Net& net, TrainerOptimizer& optimizer, CifarTransform train_tf, const data::Cifar10& train_set,
        const data::Cifar10& test_set, const StepRules& rules = {}) {
  const auto& normalize = o.normalize == "half" ? data::kHalfNormalize : data::kCifar10Normalize;
  data::DataLoader train_loader(train_set, std::move(train_tf),
                                {.batch_size = o.batch_size, .shuffle = true, .drop_last = rules.drop_last,
                                 .seed = o.seed, .prefetch = o.prefetch});
  data::DataLoader test_loader(test_set, data::compose<data::Cifar10Shape>(data::ToTensor{}, normalize),
                               {.batch_size = 500, .shuffle = false, .prefetch = o.prefetch});

  if (train_loader.size() == 0)
    throw std::runtime_error("no full training batch: " + std::to_string(train_set.size()) +
                             " training images and --batch-size " + std::to_string(o.batch_size) +
                             ", and this preset's recipe drops the last partial batch; use a smaller --batch-size");
  const long long steps_per_epoch = static_cast<long long>(train_loader.size());
  const long long total_steps = steps_per_epoch * o.epochs;
  const ctnn::Schedule schedule =
      ctnn::parse_schedule(o.schedule, {.total_steps = total_steps, .steps_per_epoch = steps_per_epoch});
  std::optional<ctnn::Lookahead<float>> lookahead;
  if (o.lookahead == "on") {
    if (!o.checkpoint_dir.empty() || !o.resume_dir.empty())
      throw std::runtime_error("--checkpoint/--resume do not support --lookahead on yet (the slow weights are not "
                               "saved); use --lookahead off or run without checkpoints");
    lookahead.emplace(net.parameters(), 5, net.buffers());
  }
  int current_epoch = 1;
  const auto before_step = [&](auto& opt) {
    schedule.apply(opt, opt.steps());
    if (rules.frozen_later_group && current_epoch > rules.frozen_after_epochs)
      opt.param_groups()[*rules.frozen_later_group].lr = 0;
  };
  const auto after_step = [&](auto& opt) {
    if (lookahead) lookahead->step(opt.steps(), ctnn::Lookahead<float>::airbench_decay(opt.steps(), total_steps));
  };

  // --resume DIR keeps checkpointing into DIR unless --checkpoint names another folder.
  const std::string checkpoint_dir = !o.checkpoint_dir.empty() ? o.checkpoint_dir : o.resume_dir;
  const fs::path checkpoint_file = checkpoint_dir.empty() ? fs::path() : fs::path(checkpoint_dir) / "checkpoint.safetensors";
  const auto recipe = trajectory_options(o);

  // Resume: restore the network, the optimizer, the random state, the position and the history.
  int first_epoch = 1;
  EpochTally tally;
  std::vector<ctnn::train::EpochMetrics> history;
  double total_seconds = 0;
  if (!o.resume_dir.empty()) {
    const fs::path from = fs::path(o.resume_dir) / "checkpoint.safetensors";
    if (!fs::exists(from))
      throw std::runtime_error("--resume " + o.resume_dir + ": no checkpoint there (expected " + from.string() + ")");
    const auto file = ctnn::io::File::read(from);
    std::vector<std::pair<std::string, std::string>> checks(recipe.begin(), recipe.end());
    std::stable_partition(checks.begin(), checks.end(), [](const auto& kv) { return kv.first == "model"; });
    for (const auto& [key, value] : checks) {  // --model first: another preset is the likeliest mix-up
      const auto it = file.metadata().find("train." + key);
      if (it == file.metadata().end())
        throw std::runtime_error("--resume: " + from.string() + " does not record --" + key + " (not a train_cifar10 checkpoint?)");
      if (it->second != value)
        throw std::runtime_error("--resume: the checkpoint was trained with --" + key + " " + it->second +
                                 ", this run has --" + key + " " + value +
                                 "; pass the same options (or leave them unset) to continue it");
    }
    const auto st = ctnn::io::load_checkpoint(file, net, optimizer);
    const auto meta = [&](const std::string& k) {
      const auto it = st.metadata.find(k);
      return it == st.metadata.end() ? std::string() : it->second;
    };
    if (meta("train.threads") != std::to_string(ctnn::thread_width()))
      std::fprintf(stderr,
                   "warning: the checkpoint was written with %s threads, this run uses %d: the result will not be "
                   "bit-identical to an uninterrupted run\n",
                   meta("train.threads").c_str(), ctnn::thread_width());
    history = metrics_rows_from_string(meta("train.metrics"));
    total_seconds = std::strtod(meta("train.total_seconds").c_str(), nullptr);
    first_epoch = static_cast<int>(st.epoch) + 1;
    tally.batches = static_cast<std::size_t>(st.batch);
    if (st.batch > 0) {
      tally.loss_sum = std::strtod(meta("train.epoch_loss_sum").c_str(), nullptr);
      tally.correct = std::strtoull(meta("train.epoch_correct").c_str(), nullptr, 10);
      tally.samples = std::strtoull(meta("train.epoch_samples").c_str(), nullptr, 10);
      tally.seconds = std::strtod(meta("train.epoch_seconds").c_str(), nullptr);
      tally.skipped = std::strtoull(meta("train.epoch_skipped").c_str(), nullptr, 10);
    }
    std::printf("resumed from %s: %lld epochs done", from.string().c_str(), static_cast<long long>(st.epoch));
    if (st.batch > 0) std::printf(", %lld batches of epoch %lld", static_cast<long long>(st.batch), static_cast<long long>(st.epoch + 1));
    std::printf(", %lld optimizer steps\n", static_cast<long long>(st.optimizer_steps));
  }

  std::optional<ctnn::train::MetricsFile> metrics;
  if (!o.metrics.empty()) {
    metrics.emplace(o.metrics);
    for (const auto& m : history) metrics->append(m);
  }
  if (!checkpoint_file.empty()) {
    fs::create_directories(checkpoint_file.parent_path());
    install_sigint_handler();
  }

  auto write_checkpoint = [&](int epochs_done, const EpochTally& t) {
    ctnn::io::CheckpointState st;
    st.epoch = epochs_done;
    st.batch = static_cast<std::int64_t>(t.batches);
    st.rng = net.rng().state();
    for (const auto& [key, value] : recipe) st.metadata["train." + key] = value;
    st.metadata["train.epochs"] = std::to_string(o.epochs);
    st.metadata["train.threads"] = std::to_string(ctnn::thread_width());
    st.metadata["train.metrics"] = metrics_rows_to_string(history);
    st.metadata["train.total_seconds"] = exact(total_seconds);
    st.metadata["train.epoch_loss_sum"] = exact(t.loss_sum);
    st.metadata["train.epoch_correct"] = std::to_string(t.correct);
    st.metadata["train.epoch_samples"] = std::to_string(t.samples);
    st.metadata["train.epoch_seconds"] = exact(t.seconds);
    st.metadata["train.epoch_skipped"] = std::to_string(t.skipped);
    ctnn::io::save_checkpoint(checkpoint_file, net, optimizer, st);
  };

  std::printf("%5s %10s %9s %10s %9s %8s %8s\n", "epoch", "train_loss", "train_acc", "test_loss", "test_acc", "seconds",
              "img/s");
  std::fflush(stdout);
  ctnn::train::ProgressLine progress;
  long long interrupt_countdown = o.interrupt_after;
  double train_seconds = 0;
  for (int epoch = first_epoch; epoch <= o.epochs; ++epoch) {
    current_epoch = epoch;
    const double seconds_before = tally.seconds;
    const auto t0 = std::chrono::steady_clock::now();
    bool finished = false;
    try {
      finished = ctnn::train::train_epoch_resumable(
          net, optimizer, train_loader, static_cast<std::uint64_t>(epoch - 1), tally,
          {.loss = {.label_smoothing = o.label_smoothing}, .on_non_finite = trainer::on_non_finite(o)},
          {.before_step = [&] { before_step(optimizer); },
           .after_step = [&] { after_step(optimizer); },
           .after_batch =
               [&](const EpochTally& t) {
                 if (progress.enabled() && t.samples > 0)
                   progress.update(t.batches, train_loader.size(), t.loss_sum / static_cast<double>(t.samples),
                                   static_cast<double>(t.samples) / t.seconds, t.seconds);
                 if (interrupt_countdown > 0 && --interrupt_countdown == 0) std::raise(SIGINT);
                 return !g_interrupted;
               },
           .warn = [&](const std::string& note) {
             progress.clear();
             std::fprintf(stderr, "%s\n", note.c_str());
           }});
    } catch (const ctnn::train::DivergedError& e) {
      progress.clear();
      std::fprintf(stderr, "error: %s\n", e.what());
      if (!checkpoint_file.empty())
        std::fprintf(stderr, "%s was not written after the divergence%s\n", checkpoint_file.string().c_str(),
                     fs::exists(checkpoint_file) ? " (it holds the last checkpoint written before the divergence)" : "");
      if (!o.save.empty()) std::fprintf(stderr, "no model saved to %s\n", o.save.c_str());
      return 3;
    }
    progress.clear();
    if (!finished) {
      write_checkpoint(epoch - 1, tally);
      std::printf("interrupted: checkpoint written to %s after %zu of %zu batches of epoch %d; continue with --resume %s\n",
                  checkpoint_file.string().c_str(), tally.batches, train_loader.size(), epoch,
                  checkpoint_dir.c_str());
      std::fflush(stdout);
      return 130;
    }
    train_seconds += tally.seconds;
    if (lookahead && epoch == o.epochs) lookahead->finish();  // the network ends on the slow weights
    const auto te = ctnn::train::evaluate(net, test_loader);
    const double seconds =
        seconds_before + std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    total_seconds += seconds;
    const double train_loss = tally.samples ? tally.loss_sum / static_cast<double>(tally.samples) : 0;
    const double train_acc = tally.samples ? static_cast<double>(tally.correct) / static_cast<double>(tally.samples) : 0;
    const double img_s = tally.seconds > 0 ? static_cast<double>(tally.samples) / tally.seconds : 0;
    std::printf("%5d %10.4f %8.2f%% %10.4f %8.2f%% %8.1f %8.0f\n", epoch, train_loss, 100 * train_acc, te.loss,
                100 * te.accuracy, seconds, img_s);
    std::fflush(stdout);
    history.push_back({epoch, train_loss, train_acc, te.loss, te.accuracy, seconds, img_s});
    if (metrics) metrics->append(history.back());
    tally.start_epoch();
    if (!checkpoint_file.empty()) write_checkpoint(epoch, tally);
    if (g_interrupted) {  // SIGINT during the evaluation: the epoch's checkpoint is written
      std::printf("interrupted: checkpoint written to %s after epoch %d; continue with --resume %s\n",
                  checkpoint_file.string().c_str(), epoch, checkpoint_dir.c_str());
      return 130;
    }
  }
  std::printf("total %.1f s for %d epochs (%.1f s of it training, the rest per-epoch evaluation)\n", total_seconds,
              o.epochs, train_seconds);
  if (o.tta > 0 && first_epoch <= o.epochs) {
    const auto t = ctnn::train::evaluate_tta(net, test_loader, {.flip = true, .translate = o.tta >= 2});
    std::printf("final test accuracy with test-time augmentation (level %d: %s): %.2f%% (loss %.4f, %.1f s)\n",
                o.tta, o.tta >= 2 ? "mirror and +-1 pixel shifts" : "mirror", 100 * t.accuracy, t.loss, t.seconds);
    if (!o.metrics.empty()) {
      char line[256];
      std::snprintf(line, sizeof line, "tta_level,test_loss,test_accuracy,train_seconds,total_seconds\n%d,%.6f,%.6f,%.3f,%.3f\n",
                    o.tta, t.loss, t.accuracy, train_seconds, total_seconds + t.seconds);
      const fs::path final_file = fs::path(o.metrics).replace_extension(".final.csv");
      ctnn::train::write_file_atomically(final_file, line);
      std::printf("final figures written to %s\n", final_file.string().c_str());
    }
  }
  if (!o.save.empty()) {
    ctnn::io::SaveOptions so;
    so.naming = o.torch_names ? ctnn::io::Naming::torch : ctnn::io::Naming::ctnn;
    so.batches_tracked = optimizer.steps();
    so.metadata = {{"ctnn.model", o.model},
                   {"ctnn.normalize", o.normalize},
                   {"ctnn.input", "3x32x32"},
                   {"ctnn.classes", [&] {
                      std::string c;
                      for (const auto& n : train_set.class_names) c += (c.empty() ? "" : ",") + n;
                      return c;
                    }()},
                   {"ctnn.epochs", std::to_string(o.epochs)}};
    ctnn::io::save(net, o.save, so);
    std::printf("model saved to %s (%s names)\n", o.save.c_str(), o.torch_names ? "torch" : "ctnn");
  }
  trainer::save_onnx(o, net, normalize, train_set.class_names, o.model);
  return 0;
}

// The training pipeline named by --augment (not a template: built once, whatever the network).
CifarTransform train_transform(const std::string& augment, const data::Normalize<3>& normalize) {
  using data::Cifar10Shape, data::compose, data::PadMode, data::ToTensor;
  if (augment == "pad-resize")  // the coursework's Pad(4) + Resize(32)
    return erase(compose<Cifar10Shape>(data::Pad<4>{}, data::Resize<32>{}, ToTensor{}, normalize));
  if (augment == "crop-flip")
    return erase(compose<Cifar10Shape>(data::RandomCrop<32, 32, 4>{}, data::RandomHorizontalFlip{}, ToTensor{}, normalize));
  if (augment == "crop-flip-cutout")  // ResNet-9 (Page): reflect-padded crop, flip, Cutout 8x8
    return erase(compose<Cifar10Shape>(data::RandomCrop<32, 32, 4, PadMode::reflect>{}, data::RandomHorizontalFlip{},
                                       ToTensor{}, normalize, data::Cutout{8}));
  if (augment == "flip-translate")  // airbench: alternating flip, reflect-padded 2-pixel translation
    return erase(compose<Cifar10Shape>(data::AlternatingFlip{}, data::RandomCrop<32, 32, 2, PadMode::reflect>{},
                                       ToTensor{}, normalize));
  return erase(compose<Cifar10Shape>(ToTensor{}, normalize));
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
  trainer::apply_threads(o);

  const auto t_load = std::chrono::steady_clock::now();
  const auto train_set = data::load_cifar10(dir, data::Split::train, o.train_limit);
  const auto test_set = data::load_cifar10(dir, data::Split::test, o.test_limit);
  const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count();

  Net net(o.seed);
  net.set_precision(trainer::resolve_precision(o, o.model == "airbench" || o.model == "resnet9"));
  std::printf("ctnn train_cifar10: model %s, %d epochs, batch %zu, %s lr %g (schedule %s), momentum %g%s, weight decay %g%s\n",
              o.model.c_str(), o.epochs, o.batch_size, o.optimizer.c_str(), o.lr, o.schedule.c_str(), o.momentum,
              o.optimizer == "sgd" && o.nesterov == "on" ? " (Nesterov)" : "", o.weight_decay,
              o.decay_norm_and_bias == "on" ? "" : " (not on BatchNorm and bias tensors)");
  std::printf("augment %s, normalize %s, label smoothing %g, test-time augmentation level %d, lookahead %s, seed %llu, "
              "%d threads; %zu train / %zu test images loaded in %.2f s\n",
              o.augment.c_str(), o.normalize.c_str(), o.label_smoothing, o.tta, o.lookahead.c_str(),
              static_cast<unsigned long long>(o.seed), ctnn::thread_width(), train_set.size(), test_set.size(), load_s);
  if (recipe.whiten || recipe.dirac || recipe.norm_bias_lr_scale != 1)
    std::printf("preset recipe: %s%s%s\n",
                recipe.whiten ? ("layer 0 = patch-whitening conv from the first " +
                                 std::to_string(std::min<std::size_t>(5000, train_set.size())) +
                                 " training images (frozen; bias trains for " +
                                 std::to_string(recipe.whiten_bias_epochs) + " epochs); ").c_str() : "",
                recipe.dirac ? "3x3 convs start with dirac_ on their first Cin filters; " : "",
                recipe.norm_bias_lr_scale != 1 ? ("BatchNorm biases at lr x " + exact_short(recipe.norm_bias_lr_scale) +
                                                  ", weight decay / " + exact_short(recipe.norm_bias_lr_scale)).c_str() : "");
  trainer::print_precision(net.precision());
  std::printf("%s", Net::summary().c_str());

  const auto& normalize = o.normalize == "half" ? data::kHalfNormalize : data::kCifar10Normalize;
  if (o.resume_dir.empty()) {
    if (recipe.dirac)
      for (auto& p : net.parameters())
        if (p.dims.size() == 4 && p.dims[2] == 3 && p.dims[3] == 3) ctnn::init::dirac_init(p);
    if (recipe.whiten) {
      // The same view of the images as the network's input: ToTensor + Normalize.
      const std::size_t n = std::min<std::size_t>(5000, train_set.size());
      const auto to_tensor = data::compose<data::Cifar10Shape>(data::ToTensor{}, normalize);
      std::vector<float> images(n * data::Cifar10Shape::size);
      ctnn::Rng unused(0);
      for (std::size_t i = 0; i < n; ++i)
        to_tensor(train_set.image(i).data(), images.data() + i * data::Cifar10Shape::size, unused);
      auto params = net.parameters();
      ctnn::init::whitening_init(params.front(), images.data(), n, 3, 32, 32);
    }
  }

  auto with_optimizer = [&](CifarTransform train_tf) -> int {
    StepRules rules;
    rules.drop_last = recipe.drop_last;
    if (o.optimizer == "sgd") {
      // Parameter groups: weight decay on BatchNorm and bias tensors or not, the BatchNorm biases'
      // lr multiplier, and a whitening layer's weight left out (frozen), its bias in a group of
      // its own that the recipe stops after some epochs.
      auto params = net.parameters();
      std::optional<ctnn::ParamRef<float>> whiten_bias;
      if (recipe.whiten) {
        params.erase(params.begin());  // 0.weight
        whiten_bias = params.front();  // 0.bias
        params.erase(params.begin());
      }
      const bool decay_all = o.decay_norm_and_bias == "on";
      auto groups = ctnn::decay_groups(params, {.lr = o.lr,
                                                .weight_decay = o.weight_decay,
                                                .decay_biases = decay_all,
                                                .decay_norm_weights = decay_all,
                                                .decay_norm_biases = decay_all,
                                                .norm_bias_lr_scale = recipe.norm_bias_lr_scale});
      if (whiten_bias) {
        groups.push_back({{*whiten_bias}, o.lr, decay_all ? o.weight_decay : 0.0, "whiten_bias"});
        rules.frozen_later_group = groups.size() - 1;
        rules.frozen_after_epochs = recipe.whiten_bias_epochs;
      }
      ctnn::SGD opt{std::move(groups), {.lr = o.lr, .momentum = o.momentum, .weight_decay = o.weight_decay,
                                        .nesterov = o.nesterov == "on"}};
      TrainerOptimizer any{opt, [&] { opt.step(); }};
      return run(o, net, any, std::move(train_tf), train_set, test_set, rules);
    }
    if (recipe.whiten) throw std::runtime_error("--model " + o.model + " trains with --optimizer sgd only (its whitening layer is frozen through SGD parameter groups)");
    if (o.optimizer == "adamw") {
      ctnn::AdamW opt{net.parameters(), {.lr = o.lr, .weight_decay = o.weight_decay}};
      TrainerOptimizer any{opt, [&] { opt.step(); }};
      return run(o, net, any, std::move(train_tf), train_set, test_set, rules);
    }
    ctnn::Adam opt{net.parameters(), {.lr = o.lr, .weight_decay = o.weight_decay}};
    TrainerOptimizer any{opt, [&] { opt.step(); }};
    return run(o, net, any, std::move(train_tf), train_set, test_set, rules);
  };
  return with_optimizer(train_transform(o.augment, normalize));
}

// The model presets by name, each with its recipe as the defaults.
int run_preset(const Options& o) {
  if (o.model == "airbench") return run_model<presets::Airbench>(o, presets::airbench_recipe());
  if (o.model == "resnet9") return run_model<presets::ResNet9>(o, presets::resnet9_recipe());
  if (o.model == "seed3") return run_model<presets::Seed3>(o, presets::seed_recipe);
  if (o.model == "seed4") return run_model<presets::Seed4>(o, presets::seed_recipe);
  return run_model<presets::Seed>(o, presets::seed_recipe);
}


std::vector<ctnn::train::EpochMetrics> read_metrics_csv(const fs::path& path) {
  std::ifstream in(path);
  std::string header, rest, line;
  if (!in || !std::getline(in, header) || header != ctnn::train::MetricsFile::header) return {};
  while (std::getline(in, line)) rest += line + "\n";
  return metrics_rows_from_string(rest);
}

// --sweep KEY=V1,V2,...: one run per value, everything else equal, each with its own metrics
// file and checkpoint in the sweep folder. A setting whose metrics already hold every epoch is
// not re-run; one interrupted part-way resumes from its checkpoint.
int run_sweep(const Options& base) {
  using namespace ctnn::train;
  const std::map<std::string, SweepValueCheck> keys{
      {"lr", check_positive_number},
      {"batch-size", check_positive_integer},
      {"weight-decay", check_non_negative_number},
      {"optimizer", check_one_of({"sgd", "adam", "adamw"})},
      {"model", check_one_of({"seed", "seed3", "seed4", "airbench", "resnet9"})},
  };
  const SweepSpec spec = parse_sweep(base.sweep, keys);
  const fs::path dir = base.sweep_dir.empty() ? fs::path("results") / ("sweep-" + spec.key) : fs::path(base.sweep_dir);
  fs::create_directories(dir);
  const int epochs = base.epochs ? base.epochs : presets::seed_recipe.epochs;
  std::vector<std::pair<fs::path, std::string>> runs;
  for (const auto& value : spec.values) {
    Options o = base;
    o.sweep.clear();
    o.plot_dir.clear();
    o.save.clear();
    o.save_onnx.clear();
    if (spec.key == "lr") o.lr = std::stod(value);
    if (spec.key == "batch-size") o.batch_size = std::stoul(value);
    if (spec.key == "weight-decay") o.weight_decay = std::stod(value);
    if (spec.key == "optimizer") o.optimizer = value;
    if (spec.key == "model") o.model = value;
    const std::string label = spec.key + "=" + value;
    const std::string stem = spec.key + "_" + value;  // no '=' in file names: FILE=LABEL is the plot syntax
    o.metrics = (dir / (stem + ".csv")).string();
    o.checkpoint_dir = (dir / (stem + ".checkpoint")).string();
    runs.emplace_back(o.metrics, label);
    if (static_cast<int>(read_metrics_csv(o.metrics).size()) >= epochs) {
      std::printf("== %s: already finished (%s), not re-run\n", label.c_str(), o.metrics.c_str());
      continue;
    }
    if (fs::exists(fs::path(o.checkpoint_dir) / "checkpoint.safetensors")) o.resume_dir = o.checkpoint_dir;
    std::printf("== %s%s\n", label.c_str(), o.resume_dir.empty() ? "" : " (resuming)");
    std::fflush(stdout);
    if (const int status = run_preset(o); status != 0) return status;
  }
  // Summary: setting, best and final test accuracy, epoch of best, wall time.
  std::string csv = "setting,best_test_acc,final_test_acc,best_epoch,final_train_loss,final_test_loss,seconds\n";
  std::string md = "| " + spec.key + " | best test acc | final test acc | epoch of best | final train loss | final test loss | wall time (s) |\n"
                   "|---|---|---|---|---|---|---|\n";
  for (const auto& [file, label] : runs) {
    const auto rows = read_metrics_csv(file);
    if (rows.empty()) continue;
    const auto best = std::max_element(rows.begin(), rows.end(),
                                       [](const auto& a, const auto& b) { return a.test_accuracy < b.test_accuracy; });
    double seconds = 0;
    for (const auto& r : rows) seconds += r.seconds;
    const std::string value = label.substr(spec.key.size() + 1);
    char line[512];
    std::snprintf(line, sizeof line, "%s,%.4f,%.4f,%d,%.4f,%.4f,%.1f\n", value.c_str(), best->test_accuracy,
                  rows.back().test_accuracy, best->epoch, rows.back().train_loss, rows.back().test_loss, seconds);
    csv += line;
    std::snprintf(line, sizeof line, "| %s | %.2f %% | %.2f %% | %d | %.4f | %.4f | %.0f |\n", value.c_str(),
                  100 * best->test_accuracy, 100 * rows.back().test_accuracy, best->epoch, rows.back().train_loss,
                  rows.back().test_loss, seconds);
    md += line;
  }
  write_file_atomically(dir / "summary.csv", csv);
  write_file_atomically(dir / "summary.md", md);
  std::printf("\n%s\nsummary: %s, %s\n", md.c_str(), (dir / "summary.csv").string().c_str(),
              (dir / "summary.md").string().c_str());
  plot(base.plot_dir.empty() ? dir : fs::path(base.plot_dir), runs);
  return 0;
}

using trainer::positive;

int main(int argc, char** argv) {
  CLI::App app{"Train a CNN on CIFAR-10 on the CPU with ctnn. Options left unset take the model preset's recipe."};
  Options o;
  app.add_option("--data", o.data_dir, "Folder holding data_batch_1..5.bin, test_batch.bin, batches.meta.txt")
      ->capture_default_str();
  app.add_option("--model", o.model,
                 "Model preset: seed (the coursework CNN: 2 conv blocks), seed3, seed4 (3 and 4 blocks), airbench "
                 "(airbench94: whitening conv + 3 conv groups, 94 % in 10 epochs), resnet9 (Page's ResNet-9 with "
                 "residual blocks)")
      ->check(CLI::IsMember({"seed", "seed3", "seed4", "airbench", "resnet9"}))
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
                 "Training transform: none | pad-resize (coursework: Pad(4)+Resize(32)) | crop-flip (zero-padded "
                 "crop 4 + flip) | crop-flip-cutout (reflect-padded crop 4, flip, Cutout 8; resnet9) | flip-translate "
                 "(alternating flip, reflect-padded translation by up to 2; airbench) (seed: none)")
      ->check(CLI::IsMember({"none", "pad-resize", "crop-flip", "crop-flip-cutout", "flip-translate"}));
  app.add_option("--schedule", o.schedule,
                 std::string("Learning-rate schedule, applied every step: ") + ctnn::schedule_grammar +
                     " (seed: none; airbench: triangle:0.2,0.23,0.07)");
  app.add_option("--label-smoothing", o.label_smoothing, "Label smoothing of the cross-entropy (seed: 0, airbench: 0.2)")
      ->check(CLI::Range(0.0, 0.999));
  app.add_option("--tta", o.tta,
                 "Test-time augmentation of the final evaluation: 0 none, 1 mirror, 2 mirror and +-1 pixel shifts "
                 "(seed: 0, airbench: 2)")
      ->check(CLI::Range(0, 2));
  app.add_option("--nesterov", o.nesterov, "Nesterov momentum for sgd: on | off (seed: off, airbench: on)")
      ->check(CLI::IsMember({"on", "off"}));
  app.add_option("--lookahead", o.lookahead, "airbench's Lookahead of the weights every 5 steps: on | off (airbench: on)")
      ->check(CLI::IsMember({"on", "off"}));
  app.add_option("--decay-norm-and-bias", o.decay_norm_and_bias,
                 "Weight decay on BatchNorm and bias tensors too (sgd): on | off (seed: on)")
      ->check(CLI::IsMember({"on", "off"}));
  app.add_option("--normalize", o.normalize, "cifar (CIFAR-10 mean/std) | half (0.5/0.5, the coursework's) (seed: cifar)")
      ->check(CLI::IsMember({"cifar", "half"}));
  trainer::add_run_options(app, o);
  app.add_flag("--torch-names", o.torch_names,
               "With --save: name tensors as the equivalent torch.nn.Sequential would (nn.Flatten before the Linear)");
  app.add_option("--checkpoint", o.checkpoint_dir,
                 "Write DIR/checkpoint.safetensors after every epoch (and on Ctrl-C, after the current step)")
      ->type_name("DIR");
  app.add_option("--resume", o.resume_dir,
                 "Continue the run checkpointed in DIR (same options; keeps checkpointing there)")
      ->type_name("DIR");
  app.add_option("--interrupt-after", o.interrupt_after, "Testing: raise SIGINT after N training steps")
      ->group("")
      ->check(CLI::Range(1LL, 1LL << 60));
  app.add_option("--plot", o.plot_dir,
                 "Draw loss and accuracy curves (PNG and SVG, with gnuplot) into DIR at the end; metrics go to "
                 "DIR/metrics.csv unless --metrics is given")
      ->type_name("DIR");
  app.add_option("--sweep", o.sweep,
                 "Run one training per value, all else equal: lr=, batch-size=, weight-decay=, optimizer= or model= "
                 "followed by comma-separated values (e.g. lr=0.1,0.01,0.001); finished settings are not re-run")
      ->type_name("KEY=V1,V2,...");
  app.add_option("--sweep-dir", o.sweep_dir, "Folder for a sweep's metrics, checkpoints, summary and figures "
                                             "(default: results/sweep-KEY)")
      ->type_name("DIR");
  CLI11_PARSE(app, argc, argv);

  try {
    std::signal(SIGXFSZ, SIG_IGN);  // a file-size limit makes a write fail (an error), not kill the program
    if (!o.sweep.empty()) return run_sweep(o);
    if (!o.plot_dir.empty() && o.metrics.empty()) {
      fs::create_directories(o.plot_dir);
      o.metrics = (fs::path(o.plot_dir) / "metrics.csv").string();
    }
    const int status = run_preset(o);
    if (status == 0 && !o.plot_dir.empty()) plot(o.plot_dir, {{o.metrics, o.model}});
    return status;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
