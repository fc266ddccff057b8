#pragma once
// What train_cifar10 and train_fer2013 share on the command line: the run options that do not
// depend on the data set or the model (seed, threads, data limits, metrics file, prefetching,
// the saved models), added in one place so that both trainers spell and check them alike.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include <ctnn/core/thread_governor.hpp>
#include <ctnn/core/precision.hpp>
#include <ctnn/data/image_set.hpp>
#include <ctnn/io/onnx.hpp>
#include <ctnn/train/loop.hpp>

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
};

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

// --precision: fp32 or bf16 as given; `auto` is bf16 for the speed-run presets (airbench, resnet9)
// where bf16 pays (ctnn::bf16_preferred: the AVX512_BF16 kernel built, an AMD CPU), fp32 otherwise.
inline ctnn::Precision resolve_precision(const RunOptions& o, bool speed_preset) {
  if (o.precision == "auto") return speed_preset && ctnn::bf16_preferred() ? ctnn::Precision::bf16 : ctnn::Precision::fp32;
  return *ctnn::parse_precision(o.precision);
}

// The line a trainer prints at start.
inline void print_precision(ctnn::Precision p) {
  if (p == ctnn::Precision::bf16)
    std::printf("precision bf16: conv and linear GEMMs on bf16 inputs with fp32 accumulation (%s); fp32 master weights, "
                "BatchNorm and loss\n",
                ctnn::bf16_native ? "AVX512_BF16 kernel" : "portable path: built without AVX512_BF16, slower");
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

// Adds --seed, --threads, --precision, --train-limit, --test-limit, --metrics, --no-prefetch, --on-nan,
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

}  // namespace trainer
