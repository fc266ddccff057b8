#pragma once
// What ctnn::train::Trainer (train/trainer.hpp) is told: typed options, std::optional for
// "not wanted" or "not set", and the callbacks a program adds around the steps and epochs.
//
//   ctnn::train::TrainerOptions o{.epochs = 5};
//   o.checkpoint_dir = "ck";                        // DIR/checkpoint.safetensors after every epoch, and on Ctrl-C
//   o.lookahead = ctnn::train::LookaheadOptions{};  // airbench's Lookahead, every 5 steps
//   o.schedule = ctnn::parse_schedule("cosine", {.total_steps = ..., .steps_per_epoch = ...});
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "ctnn/io/safetensors.hpp"
#include "ctnn/optim/optimizer.hpp"
#include "ctnn/optim/schedule.hpp"
#include "ctnn/train/loop.hpp"
#include "ctnn/train/metrics.hpp"
#include "ctnn/train/strategy.hpp"
#include "ctnn/train/train_checkpoint.hpp"

namespace ctnn::train {

// When Schedule::apply runs: before every optimizer step with the steps done (its lengths count
// steps), or once before every epoch with the epochs done (torch's scheduler.step() per epoch).
enum class ScheduleUnit { step, epoch };

// airbench's Lookahead (optim/ema.hpp): every k steps the slow weights move towards the fast
// ones with airbench's decay 0.95^5 (step / total)^3, and the network takes them; the last epoch
// ends on the slow weights.
struct LookaheadOptions {
  long long k = 5;
};

// An exponential moving average of the weights and BatchNorm statistics, updated after every step.
struct EmaOptions {
  double decay = 0.999;
  bool evaluate_average = true;  // the per-epoch evaluation runs on the average
  bool final_average = true;     // after the last epoch the network keeps the average (saved, TTA)
};

struct TrainerOptions {
  int epochs = 1;
  std::optional<Schedule> schedule;  // unset: the optimizer's lr throughout
  ScheduleUnit schedule_unit = ScheduleUnit::step;
  std::optional<LookaheadOptions> lookahead;
  std::optional<EmaOptions> ema;
  TrainOptions step{};  // the loss (label smoothing) and what a non-finite loss does

  // The per-epoch test evaluation runs after every eval_every-th epoch (epochs eval_every,
  // 2 eval_every, ...) and always after the last; 0 means after the last epoch only. It depends
  // on the epoch number alone, so a resumed run evaluates the same epochs. An epoch left out has
  // NaN test figures in the history and an empty field in the metrics CSV; the training does not
  // change. Negative values are refused by fit().
  int eval_every = 1;

  // Checkpoints: DIR/checkpoint.safetensors after every epoch and, with handle_sigint, on Ctrl-C
  // at the next batch boundary (fit() then returns Outcome::interrupted). resume_dir continues
  // the run checkpointed there (and keeps checkpointing there unless checkpoint_dir says otherwise).
  std::optional<std::filesystem::path> checkpoint_dir;
  std::optional<std::filesystem::path> resume_dir;
  RunIdentity identity;  // recorded, and compared on resume (the options that shape the run)
  bool handle_sigint = true;
  std::optional<long long> interrupt_after_batches;  // testing: raise SIGINT after this many batches

  std::optional<std::filesystem::path> metrics_csv;  // per-epoch figures (train/metrics.hpp)
  std::optional<int> tta_level;                       // > 0: a final evaluation with tta_options(level)
  std::optional<std::filesystem::path> save;          // the final model, safetensors
  io::SaveOptions save_options{};                     // its naming and metadata (batches_tracked is set)

  // Data-parallel training (train/strategy.hpp; over MPI: mpi::DdpStrategy): null, one process.
  // Not owned; it must outlive fit(). With it, the loaders given to fit() are this process's
  // shards, and rank 0 alone prints, writes the metrics, checkpoints and the saved model.
  Strategy* strategy = nullptr;

  bool print_epochs = true;  // the table of epochs and the total line (notes are printed regardless)
  bool progress = true;      // the live progress line, when stdout is a terminal
};

// Where a step is, for the step callbacks.
template <class T>
struct StepInfo {
  int epoch;                    // 1-based
  std::size_t batch;            // 1-based, within the epoch
  std::size_t batches;          // in the epoch
  long long steps_done;         // optimizer steps before this one (before_step) or with it (on_step)
  OptimizerBase<T>& optimizer;  // its groups may be changed in before_step (after the schedule)
};

struct EpochEnd {
  EpochMetrics metrics;  // the row the metrics file gets
  PassResult train, test;  // test.samples == 0: not evaluated this epoch (loss and accuracy NaN)
  double lr = 0;          // group 0's lr at the epoch's last step
  double elapsed = 0;     // seconds since fit() started (this process)
};

template <class T>
struct TrainerCallbacks {
  // After backward (the gradients are complete, and were checked finite) and the schedule,
  // before optimizer.step(): a data-parallel program averages the gradients across ranks here.
  std::function<void(const StepInfo<T>&)> before_step;
  std::function<void(const StepInfo<T>&)> on_step;     // after optimizer.step() (and Lookahead, EMA)
  std::function<void(const EpochEnd&)> on_epoch_end;   // after the evaluation, before the checkpoint
};

struct FitResult {
  enum class Outcome { finished, interrupted };
  Outcome outcome = Outcome::finished;
  int first_epoch = 1;       // the first epoch this call trained (> 1 after a resume)
  std::vector<EpochMetrics> history;  // every finished epoch, those before a resume too
  double total_seconds = 0, train_seconds = 0;
  std::optional<PassResult> tta;  // the final test-time augmented evaluation, if any
  bool interrupted() const { return outcome == Outcome::interrupted; }
};

}  // namespace ctnn::train
