#pragma once
// What train_cifar10 and train_fer2013 share on the command line: the run options that do not
// depend on the data set or the model (seed, threads, data limits, metrics file, prefetching,
// the saved models), added in one place so that both trainers spell and check them alike.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <ctnn/core/thread_governor.hpp>
#include <ctnn/core/precision.hpp>
#include <ctnn/kernels/winograd_select.hpp>
#include <ctnn/data/image_set.hpp>
#include <ctnn/io/onnx.hpp>
#include <ctnn/optim/schedule.hpp>
#include <ctnn/train/loop.hpp>
#include <ctnn/train/trainer_options.hpp>
#include <ctnn/train/tta.hpp>

namespace trainer {

struct RunOptions {
  std::uint64_t seed = 1;
  int threads = 0;  // 0: OMP_NUM_THREADS or all cores
  std::size_t train_limit = ctnn::data::kAllRecords;
  std::size_t test_limit = ctnn::data::kAllRecords;
  std::string metrics;  // per-epoch CSV
  bool prefetch = true;
  std::string save;     // the final model, safetensors
  std::string save_onnx;  // the final model, ONNX
  std::string on_nan = "stop";  // stop | skip: what a non-finite training loss does
  std::string adapt_threads = "on";  // on | off: the ThreadGovernor (core/thread_governor.hpp)
  std::string precision = "auto";  // fp32 | bf16 | auto (resolve_precision)
  std::string conv;  // the process-wide ConvAlgorithm (apply_conv_algorithm); empty: CTNN_CONV or automatic
  std::string winograd_gradients;  // fp32 | bf16 (apply_conv_algorithm); empty: CTNN_WINOGRAD_GRADIENTS, else the preset's
};

// --conv: every conv layer's algorithm (ctnn::set_conv_algorithm, kernels/winograd_select.hpp);
// --winograd-gradients: the precision of the Winograd layers' gradient GEMMs in a bf16 network
// (ctnn::set_winograd_gradient_precision); unset, CTNN_WINOGRAD_GRADIENTS if that is set, else the
// preset's `preset_gradients` (fp32 | bf16; empty: fp32, the library's default).
inline void apply_conv_algorithm(const RunOptions& o, const std::string& preset_gradients = "") {
  if (!o.conv.empty()) ctnn::set_conv_algorithm(*ctnn::parse_conv_algorithm(o.conv));
  const std::string& g =
      !o.winograd_gradients.empty() || std::getenv("CTNN_WINOGRAD_GRADIENTS") ? o.winograd_gradients : preset_gradients;
  if (!g.empty()) ctnn::set_winograd_gradient_precision(*ctnn::parse_precision(g));
}

// --threads and --adapt-threads: the width, and whether fewer threads run while other processes
// keep cores busy (each change is noted on stderr; results do not depend on it).
inline void apply_threads(const RunOptions& o) {
  if (o.threads > 0) ctnn::set_num_threads(o.threads);
  ctnn::ThreadGovernor& g = ctnn::thread_governor();
  g.set_enabled(o.adapt_threads == "on");
  g.on_change([](const ctnn::ThreadChange& c) {
    std::fprintf(stderr, "%snote: now %d of %d threads (other processes used %.1f of the %d cores in the last half second)\n",
                 ::isatty(STDOUT_FILENO) ? "\n" : "", c.to, ctnn::thread_width(), c.foreign, c.cores);
  });
}

// --precision: fp32 or bf16 as given; `auto` is bf16 for the speed-run presets (airbench*, resnet9)
// where bf16 pays (ctnn::bf16_preferred: the AVX512_BF16 kernel built, an AMD CPU), fp32 otherwise.
inline ctnn::Precision resolve_precision(const RunOptions& o, bool speed_preset) {
  if (o.precision == "auto") return speed_preset && ctnn::bf16_preferred() ? ctnn::Precision::bf16 : ctnn::Precision::fp32;
  return *ctnn::parse_precision(o.precision);
}

// The line a trainer prints at start.
inline void print_precision(ctnn::Precision p) {
  if (p == ctnn::Precision::bf16)
    std::printf("precision bf16: conv and linear GEMMs on bf16 inputs with fp32 accumulation (%s); fp32 master weights, "
                "BatchNorm and loss; Winograd convs in fp32%s\n",
                ctnn::bf16_native ? "AVX512_BF16 kernel" : "portable path: built without AVX512_BF16, slower",
                ctnn::winograd_gradient_precision() == ctnn::Precision::bf16
                    ? " forward, bf16 gradients (--winograd-gradients bf16)"
                    : "");
  else
    std::printf("precision fp32\n");
}

inline ctnn::train::OnNonFinite on_non_finite(const RunOptions& o) {
  return o.on_nan == "skip" ? ctnn::train::OnNonFinite::skip : ctnn::train::OnNonFinite::stop;
}

// CLI11's PositiveNumber prints the whole double range on failure; this says it plainly.
inline const CLI::Validator positive = CLI::Validator(
    [](std::string& value) -> std::string {
      try {
        if (std::stod(value) > 0) return {};
      } catch (...) {
      }
      return "must be a number greater than 0, got '" + value + "'";
    },
    "> 0");

// Adds --seed, --threads, --precision, --conv, --winograd-gradients, --train-limit, --test-limit, --metrics, --no-prefetch, --on-nan,
// --adapt-threads, --save and --save-onnx;
// returns --save, which a trainer may make exclusive with its own options.
inline CLI::Option* add_run_options(CLI::App& app, RunOptions& o) {
  app.add_option("--seed", o.seed, "Seed for initialisation, shuffling and augmentation")->capture_default_str();
  app.add_option("--threads", o.threads, "Threads (default: OMP_NUM_THREADS or all cores)")->check(CLI::Range(1, 1024));
  app.add_option("--precision", o.precision,
                 "GEMM precision of the conv and linear layers: fp32 | bf16 (bf16 inputs, fp32 accumulation) | auto "
                 "(bf16 for airbench and resnet9 where the CPU's AVX512_BF16 pays, fp32 otherwise)")
      ->check(CLI::IsMember({"fp32", "bf16", "auto"}))
      ->capture_default_str();
  app.add_option("--conv", o.conv,
                 "Convolution algorithm: automatic (a fixed rule: Winograd F(4x4, 3x3) for wide 3x3 convs) | benchmark "
                 "(like cudnn.benchmark: time im2col and both Winograd variants once per conv shape and batch size at "
                 "the first step, keep the fastest) | im2col | winograd_f2 | winograd_f4 (default: CTNN_CONV, else "
                 "automatic)")
      ->check(CLI::IsMember({"automatic", "benchmark", "im2col", "winograd_f2", "winograd_f4"}));
  app.add_option("--winograd-gradients", o.winograd_gradients,
                 "In a bf16 network, the precision of the Winograd convs' weight- and input-gradient GEMMs: fp32 (as "
                 "their forward) | bf16 (faster, less exact: docs/winograd.md) (default: CTNN_WINOGRAD_GRADIENTS, "
                 "else the preset's: bf16 for airbench_muon, fp32 otherwise)")
      ->check(CLI::IsMember({"fp32", "bf16"}));
  app.add_option("--train-limit", o.train_limit, "Use only the first N training images")->check(positive);
  app.add_option("--test-limit", o.test_limit, "Use only the first N test images")->check(positive);
  app.add_option("--metrics", o.metrics, "Write per-epoch metrics to this CSV file (rewritten after each epoch)");
  app.add_flag("!--no-prefetch", o.prefetch, "Prepare batches in the training thread instead of a background thread");
  app.add_option("--save-onnx", o.save_onnx,
                 "Write the final model to this ONNX file (input: pixels / 255, NCHW; it applies the normalisation)")
      ->type_name("FILE");
  app.add_option("--on-nan", o.on_nan,
                 "A NaN or infinite training loss: stop (exit 3 naming the epoch, the step and the last finite loss; "
                 "no checkpoint or model is written after it) | skip (leave that batch out with a warning; stops "
                 "all the same once the weights are no longer finite)")
      ->check(CLI::IsMember({"stop", "skip"}))
      ->capture_default_str();
  app.add_option("--adapt-threads", o.adapt_threads,
                 "on: run fewer threads while other processes keep cores busy, as many as they leave free (the "
                 "results stay bit-identical; only the speed changes) | off: always --threads")
      ->check(CLI::IsMember({"on", "off"}))
      ->capture_default_str();
  return app.add_option("--save", o.save, "Write the final model to this safetensors file")->type_name("FILE");
}

// --save-onnx: the model as ONNX, with the input normalisation it was trained with and its
// class names (docs/onnx.md).
template <class Net, class Normalize>
void save_onnx(const RunOptions& o, Net& net, const Normalize& normalize, const std::vector<std::string>& classes,
               const std::string& model) {
  if (o.save_onnx.empty()) return;
  ctnn::io::save_onnx(net, o.save_onnx, ctnn::io::onnx_options(normalize, classes, model));
  std::printf("ONNX model written to %s\n", o.save_onnx.c_str());
}

// The recipe options both trainers take, spelled and meaning the same in both: unset
// (std::nullopt) takes the model preset's value (Recipe, examples/models.hpp, fer_models.hpp).
struct RecipeFlags {
  std::optional<int> epochs;
  std::optional<std::size_t> batch_size;
  std::optional<double> lr, momentum, weight_decay, label_smoothing;
  std::optional<std::string> optimizer, augment, schedule, schedule_unit, nesterov;
  std::optional<int> tta;
  std::string checkpoint_dir, resume_dir;
  int eval_every = 1;  // TrainerOptions::eval_every; not in the run's identity (the training does not depend on it)
  long long interrupt_after = 0;  // test hook: raise SIGINT after this many training batches
};

// The preset's recipe with every option the user set put in.
template <class Recipe>
Recipe apply_flags(Recipe r, const RecipeFlags& f) {
  if (f.epochs) r.epochs = *f.epochs;
  if (f.batch_size) r.batch_size = *f.batch_size;
  if (f.lr) r.lr = *f.lr;
  if (f.optimizer) r.optimizer = *f.optimizer;
  if (f.momentum) r.momentum = *f.momentum;
  if (f.weight_decay) r.weight_decay = *f.weight_decay;
  if (f.augment) r.augment = *f.augment;
  if (f.schedule) r.schedule = *f.schedule;
  if (f.schedule_unit) r.schedule_per_epoch = *f.schedule_unit == "epoch";
  if (f.label_smoothing) r.label_smoothing = *f.label_smoothing;
  if (f.tta) r.tta = *f.tta;
  if (f.nesterov) r.nesterov = *f.nesterov == "on";
  return r;
}

// Adds the recipe options; `defaults` holds each one's preset defaults for its help, by option
// name without dashes ("epochs": "seed: 5").
inline void add_recipe_options(CLI::App& app, RecipeFlags& f, const std::vector<std::string>& augments,
                               const std::map<std::string, std::string>& defaults,
                               const std::vector<std::string>& optimizers = {"sgd", "adam", "adamw"}) {
  const auto help = [&](const std::string& name, const std::string& text) {
    const auto it = defaults.find(name);
    return it == defaults.end() ? text : text + " (" + it->second + ")";
  };
  app.add_option("--epochs", f.epochs, help("epochs", "Epochs to train"))->check(CLI::Range(1, 100000));
  app.add_option("--batch-size", f.batch_size, help("batch-size", "Mini-batch size"))->check(CLI::Range(1, 65536));
  app.add_option("--lr", f.lr, help("lr", "Learning rate (the schedule's peak)"))->check(positive);
  std::string names;
  for (const auto& n : optimizers) names += (names.empty() ? "" : " | ") + n;
  app.add_option("--optimizer", f.optimizer, help("optimizer", names))->check(CLI::IsMember(optimizers));
  app.add_option("--momentum", f.momentum, help("momentum", "SGD momentum"))->check(CLI::Range(0.0, 1.0));
  app.add_option("--nesterov", f.nesterov, help("nesterov", "Nesterov momentum for sgd: on | off"))
      ->check(CLI::IsMember({"on", "off"}));
  app.add_option("--weight-decay", f.weight_decay,
                 help("weight-decay", "Weight decay: L2 for sgd/adam, decoupled for adamw"))
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--augment", f.augment, help("augment", "Training transform"))->check(CLI::IsMember(augments));
  app.add_option("--schedule", f.schedule,
                 help("schedule", std::string("Learning-rate schedule: ") + ctnn::schedule_grammar +
                                      "; its lengths count --schedule-unit"));
  app.add_option("--schedule-unit", f.schedule_unit,
                 help("schedule-unit", "step: the schedule is applied before every optimizer step | epoch: once "
                                       "before every epoch (torch's scheduler.step() per epoch)"))
      ->check(CLI::IsMember({"step", "epoch"}));
  app.add_option("--label-smoothing", f.label_smoothing, help("label-smoothing", "Label smoothing of the cross-entropy"))
      ->check(CLI::Range(0.0, 0.999));
  app.add_option("--tta", f.tta,
                 help("tta", "Test-time augmentation of the final evaluation: 0 none, 1 mirror, 2 mirror + 1-pixel "
                             "diagonal shifts, 3 ten views (mirror x centre + four 2-pixel diagonal shifts)"))
      ->check(CLI::Range(0, ctnn::train::kMaxTtaLevel));
  app.add_option("--eval-every", f.eval_every,
                 "Evaluate on the test set after every N-th epoch and after the last (0: after the last only); default 1")
      ->type_name("N")
      ->check(CLI::Range(0, 100000));
  app.add_option("--checkpoint", f.checkpoint_dir,
                 "Write DIR/checkpoint.safetensors after every epoch (and on Ctrl-C, after the current step)")
      ->type_name("DIR");
  app.add_option("--resume", f.resume_dir, "Continue the run checkpointed in DIR (same options; keeps checkpointing there)")
      ->type_name("DIR");
  app.add_option("--interrupt-after", f.interrupt_after, "Testing: raise SIGINT after N training steps")
      ->group("")
      ->check(CLI::Range(1LL, 1LL << 60));
}

// The trainer options every program sets the same way from the recipe and run options.
template <class Recipe>
ctnn::train::TrainerOptions trainer_options(const RunOptions& o, const RecipeFlags& f, const Recipe& r,
                                            long long steps_per_epoch) {
  ctnn::train::TrainerOptions t;
  t.epochs = r.epochs;
  const bool per_epoch = r.schedule_per_epoch;
  t.schedule_unit = per_epoch ? ctnn::train::ScheduleUnit::epoch : ctnn::train::ScheduleUnit::step;
  t.schedule = ctnn::parse_schedule(r.schedule, {.total_steps = per_epoch ? r.epochs : steps_per_epoch * r.epochs,
                                                 .steps_per_epoch = per_epoch ? 1 : steps_per_epoch});
  t.step = {.loss = {.label_smoothing = r.label_smoothing}, .on_non_finite = on_non_finite(o)};
  t.eval_every = f.eval_every;
  if (!f.checkpoint_dir.empty()) t.checkpoint_dir = f.checkpoint_dir;
  if (!f.resume_dir.empty()) t.resume_dir = f.resume_dir;
  if (f.interrupt_after > 0) t.interrupt_after_batches = f.interrupt_after;
  if (!o.metrics.empty()) t.metrics_csv = o.metrics;
  return t;
}

}  // namespace trainer
