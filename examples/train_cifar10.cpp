// train_cifar10: trains a CNN on CIFAR-10 on the CPU and reports per-epoch loss and accuracy.
//
//   train_cifar10 --data data/cifar-10-batches-bin --model seed --epochs 5
//
// The command line over the library trainer (ctnn::train::Trainer): the model presets are
// examples/models.hpp's table, each network's run is examples/cifar_run.hpp, compiled once per
// preset (cifar_model_*.cpp). Each epoch prints one line (train loss/accuracy, test loss/accuracy,
// seconds, images/s); a live progress line is drawn when stdout is a terminal. --metrics FILE
// keeps the same figures as CSV, rewritten atomically after every epoch.
//
// Persistence (docs/persistence.md):
//   --save FILE        the final model as safetensors (--torch-names: torch.nn.Sequential names)
//   --save-onnx FILE   the final model as ONNX (docs/onnx.md)
//   --checkpoint DIR   DIR/checkpoint.safetensors after every epoch (written to a temporary file,
//                      then renamed: a crash leaves the previous checkpoint whole); with it, Ctrl-C
//                      (SIGINT) finishes the current step, writes a checkpoint and exits (status 130)
//   --resume DIR       continues from DIR's checkpoint (mid-epoch too, Lookahead included) and keeps
//                      checkpointing there unless --checkpoint says otherwise; with the same options
//                      and thread count the final weights equal those of an uninterrupted run, bit for bit
//
// Data-parallel (docs/mpi.md): `mpirun -np N train_cifar10 ... --threads T` trains on N processes,
// --batch-size staying the global batch (it must divide by N); --sync-bn on computes BatchNorm
// statistics over the global batch. Process 0 alone prints and writes files.
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <ctnn/train/sweep.hpp>
#if CTNN_EXAMPLES_MPI
#include <cstdio>

#include <ctnn/mpi/communicator.hpp>
#endif

#include "cifar_run.hpp"
#include "trainer_state.hpp"

namespace fs = std::filesystem;
using cifar::Options;

// The preset by name, with its recipe as the defaults of the options left unset.
int run_preset(const Options& o) {
  const presets::Recipe r = cifar::resolve(o, presets::cifar_preset(o.model).recipe());
  return presets::with_cifar_network(o.model, [&]<class Net>() { return cifar::run_model<Net>(o, r); });
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
      {"optimizer", check_one_of({"sgd", "adam", "adamw", "muon"})},
      {"model", check_one_of(presets::cifar_model_names())},
  };
  const SweepSpec spec = parse_sweep(base.sweep, keys);
  const fs::path dir = base.sweep_dir.empty() ? fs::path("results") / ("sweep-" + spec.key) : fs::path(base.sweep_dir);
  fs::create_directories(dir);
  const int epochs = base.flags.epochs.value_or(presets::seed_recipe.epochs);
  std::vector<std::pair<fs::path, std::string>> runs;
  for (const auto& value : spec.values) {
    Options o = base;
    o.sweep.clear();
    o.plot_dir.clear();
    o.save.clear();
    o.save_onnx.clear();
    if (spec.key == "lr") o.flags.lr = std::stod(value);
    if (spec.key == "batch-size") o.flags.batch_size = std::stoul(value);
    if (spec.key == "weight-decay") o.flags.weight_decay = std::stod(value);
    if (spec.key == "optimizer") o.flags.optimizer = value;
    if (spec.key == "model") o.model = value;
    const std::string label = spec.key + "=" + value;
    const std::string stem = spec.key + "_" + value;  // no '=' in file names: FILE=LABEL is the plot syntax
    o.metrics = (dir / (stem + ".csv")).string();
    o.flags.checkpoint_dir = (dir / (stem + ".checkpoint")).string();
    runs.emplace_back(o.metrics, label);
    if (static_cast<int>(read_metrics_csv(o.metrics).size()) >= epochs) {
      std::printf("== %s: already finished (%s), not re-run\n", label.c_str(), o.metrics.c_str());
      continue;
    }
    if (fs::exists(fs::path(o.flags.checkpoint_dir) / "checkpoint.safetensors")) o.flags.resume_dir = o.flags.checkpoint_dir;
    std::printf("== %s%s\n", label.c_str(), o.flags.resume_dir.empty() ? "" : " (resuming)");
    std::fflush(stdout);
    if (const int status = run_preset(o); status != 0) return status;
  }
  const std::string md = write_sweep_summary(dir, spec.key, runs);
  std::printf("\n%s\nsummary: %s, %s\n", md.c_str(), (dir / "summary.csv").string().c_str(),
              (dir / "summary.md").string().c_str());
  trainer::plot(base.plot_dir.empty() ? dir : fs::path(base.plot_dir), runs);
  return 0;
}

int main(int argc, char** argv) {
  CLI::App app{"Train a CNN on CIFAR-10 on the CPU with ctnn. Options left unset take the model preset's recipe."};
  Options o;
  app.add_option("--data", o.data_dir, "Folder holding data_batch_1..5.bin, test_batch.bin, batches.meta.txt")
      ->capture_default_str();
  std::string models = "Model preset:";
  for (const auto& p : presets::kCifarPresets) models += std::string(" ") + p.name + " (" + p.help + ")";
  app.add_option("--model", o.model, models)->check(CLI::IsMember(presets::cifar_model_names()))->capture_default_str();
  trainer::add_recipe_options(
      app, o.flags, {"none", "pad-resize", "crop-flip", "crop-flip-cutout", "flip-translate", "flip-translate4-cutout12"},
      {{"epochs", "seed: 5"}, {"batch-size", "seed: 32"}, {"lr", "seed: 1e-3"}, {"optimizer", "seed: adam, airbench: sgd, airbench_muon: muon (airbench networks only)"},
       {"momentum", "seed: 0.9"}, {"nesterov", "seed: off, airbench: on"}, {"weight-decay", "seed: 0"},
       {"augment", "none | pad-resize (coursework: Pad(4)+Resize(32)) | crop-flip (zero-padded crop 4 + flip) | "
                   "crop-flip-cutout (reflect-padded crop 4, flip, Cutout 8; resnet9) | flip-translate (alternating "
                   "flip, reflect-padded translation by up to 2; airbench) | flip-translate4-cutout12 (the same by up to 4, "
                   "then Cutout 12 inside the image; airbench96); seed: none"},
       {"schedule", "seed: none; airbench: triangle:0.2,0.23,0.07"}, {"schedule-unit", "every preset: step"},
       {"label-smoothing", "seed: 0, airbench: 0.2"}, {"tta", "seed: 0, airbench: 2"}},
      {"sgd", "adam", "adamw", "muon"});
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
  app.add_option("--sync-bn", o.sync_bn,
                 "Under mpirun: BatchNorm statistics of the global batch (SyncBatchNorm): on | off (per process, "
                 "as DDP's default)")
      ->check(CLI::IsMember({"on", "off"}))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::signal(SIGXFSZ, SIG_IGN);  // a file-size limit makes a write fail (an error), not kill the program
  const auto train = [&](bool root) {
    if (!o.sweep.empty()) return run_sweep(o);
    if (!o.plot_dir.empty() && o.metrics.empty()) {
      if (root) fs::create_directories(o.plot_dir);
      o.metrics = (fs::path(o.plot_dir) / "metrics.csv").string();
    }
    const int status = run_preset(o);
    if (status == 0 && root && !o.plot_dir.empty()) trainer::plot(o.plot_dir, {{o.metrics, o.model}});
    return status;
  };
#if CTNN_EXAMPLES_MPI
  // Under mpirun an error on one process ends them all with its message (mpi::run), instead of
  // leaving the others waiting; the other processes' stdout is silenced, stderr is not.
  if (ctnn::mpi::launched_by_mpiexec())
    return ctnn::mpi::run(argc, argv, [&](ctnn::mpi::Communicator& comm) {
      if (comm.size() > 1 && !o.sweep.empty()) throw std::runtime_error("--sweep runs in one process, not under mpirun");
      if (comm.size() > 1) cifar::world() = &comm;
      if (!comm.is_root() && !std::freopen("/dev/null", "w", stdout))
        throw std::runtime_error("process " + std::to_string(comm.rank()) + ": cannot silence stdout");
      return train(comm.is_root());
    });
#endif
  try {
    return train(true);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
