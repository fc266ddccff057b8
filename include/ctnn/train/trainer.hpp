#pragma once
// ctnn::train::Trainer: the whole training run for any network, data loaders, optimizer and
// schedule, as Keras' model.fit or a Lightning Trainer: epochs, the lr schedule per step or per
// epoch, optional Lookahead and weight EMA, the progress line, per-epoch evaluation (or every
// eval_every epochs), metrics CSV, a checkpoint every epoch and on Ctrl-C, exact resume, a final
// test-time-augmented evaluation, the saved model, and callbacks for what a program adds.
//
//   ctnn::Adam opt{net.parameters(), {.lr = 1e-3}};
//   ctnn::train::Trainer trainer(net, opt, {.epochs = 5, .checkpoint_dir = "ck"});
//   auto result = trainer.fit(train_loader, test_loader);
//   if (result.interrupted()) return 130;   // Ctrl-C: checkpointed; resume with .resume_dir = "ck"
//
// Resume is bit-identical to an uninterrupted run with the same options and thread count: the
// checkpoint (io/checkpoint.hpp + the typed TrainRecord of train/train_checkpoint.hpp) holds the
// weights, the optimizer state and step count (hence the schedule's position), the network's
// random state, the loader's position (epoch, batch: a DataLoader's order and augmentation depend
// only on its seed, the epoch and the image), the epoch's running sums, the history, and the
// Lookahead slow weights and EMA averages.
//
// The loaders are any type with size() and epoch(e) giving batches (images, labels, size()), as
// data::DataLoader. Data-parallel training (TrainerOptions::strategy, train/strategy.hpp; over
// MPI, mpi::DdpStrategy) passes each process's shards of the data: the trainer then sums the
// gradients around every backward, the epoch's figures and the evaluations over the processes,
// takes every decision one process alone could see (a non-finite loss, Ctrl-C) on all of them
// alike, and prints, writes and saves on rank 0 only. A resume needs the same process count.
// Under mpirun, Ctrl-C ends the processes at once (Open MPI sends them SIGTERM); the signal
// mpirun passes on is SIGUSR1, which the trainer takes as Ctrl-C: `kill -USR1 <mpirun's pid>`
// checkpoints every process at the same batch and stops.
//
// Compile time: the optimizer is seen through its base (OptimizerBase) and one step function, so
// fit() is compiled once per (network, loaders), whatever the optimizer.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "ctnn/core/thread_governor.hpp"
#include "ctnn/io/checkpoint.hpp"
#include "ctnn/io/safetensors.hpp"
#include "ctnn/optim/ema.hpp"
#include "ctnn/train/loop.hpp"
#include "ctnn/train/metrics.hpp"
#include "ctnn/train/progress.hpp"
#include "ctnn/train/train_checkpoint.hpp"
#include "ctnn/train/trainer_options.hpp"
#include "ctnn/train/tta.hpp"

namespace ctnn::train {

namespace detail {
inline volatile std::sig_atomic_t g_interrupt = 0;
extern "C" inline void trainer_on_sigint(int) { g_interrupt = 1; }
}  // namespace detail

// Ctrl-C (SIGINT), or SIGUSR1, sets a flag the trainer reads at every batch boundary; a second
// one stops the program at once (SA_RESETHAND).
inline void install_sigint_handler() {
  struct sigaction sa {};
  sa.sa_handler = detail::trainer_on_sigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART | SA_RESETHAND;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGUSR1, &sa, nullptr);  // what mpirun forwards to its processes (SIGINT it does not)
}
inline bool interrupt_requested() { return detail::g_interrupt != 0; }
inline void request_interrupt() { detail::g_interrupt = 1; }
inline void clear_interrupt() { detail::g_interrupt = 0; }

// The test_loss and test_acc columns of an epoch table (10 and 9 characters wide), "-" in both
// for an epoch that was not evaluated (samples == 0, TrainerOptions::eval_every).
inline std::string test_columns(const PassResult& test) {
  char buf[64];
  if (test.samples == 0) std::snprintf(buf, sizeof buf, "%10s %9s", "-", "-");
  else std::snprintf(buf, sizeof buf, "%10.4f %8.2f%%", test.loss, 100 * test.accuracy);
  return buf;
}

// Any optimizer as its base and its step (the one call that differs between optimizers).
template <class T>
struct AnyOptimizer {
  template <class Optimizer>
  explicit AnyOptimizer(Optimizer& o) : base(o), step_fn([&o] { o.step(); }) {}
  OptimizerBase<T>& base;
  std::function<void()> step_fn;
  void step() { step_fn(); }
  void zero_grad() { base.zero_grad(); }
  long long steps() const { return base.steps(); }
};

template <class Net>
class Trainer {
 public:
  using T = typename Net::scalar;

  template <class Optimizer>
  Trainer(Net& net, Optimizer& optimizer, TrainerOptions options = {}, TrainerCallbacks<T> callbacks = {})
      : net_(net), opt_(optimizer), o_(std::move(options)), cb_(std::move(callbacks)) {
    if (o_.epochs < 1) throw std::invalid_argument("Trainer: epochs must be >= 1");
    if (o_.resume_dir && !o_.checkpoint_dir) o_.checkpoint_dir = o_.resume_dir;
  }

  // DIR/checkpoint.safetensors, or empty without checkpoints.
  std::filesystem::path checkpoint_file() const {
    return o_.checkpoint_dir ? *o_.checkpoint_dir / "checkpoint.safetensors" : std::filesystem::path();
  }
  const TrainerOptions& options() const { return o_; }

  // Trains from the start or from resume_dir's checkpoint to `epochs`. Throws
  // std::invalid_argument (a negative eval_every, a training loader without batches),
  // DivergedError (a non-finite loss; no checkpoint is written after it), io::Error (a checkpoint
  // that does not match this run, naming what differs) and what the loaders throw.
  template <class TrainLoader, class TestLoader>
  FitResult fit(TrainLoader& train_loader, TestLoader& test_loader) {
    const auto fit_start = std::chrono::steady_clock::now();
    if (o_.eval_every < 0)
      throw std::invalid_argument("Trainer::fit: eval_every must be 0 (evaluate after the last epoch only) or more, "
                                  "not " + std::to_string(o_.eval_every) + ".");
    steps_per_epoch_ = static_cast<long long>(train_loader.size());
    if (steps_per_epoch_ == 0) throw std::invalid_argument("Trainer::fit: the training loader has no batch");
    total_steps_ = steps_per_epoch_ * o_.epochs;
    if (o_.lookahead) lookahead_.emplace(net_.parameters(), o_.lookahead->k, net_.buffers());
    if (o_.ema) ema_.emplace(net_.parameters(), o_.ema->decay, net_.buffers());

    shared_tta_.reset();
    FitResult result;
    TrainRecord rec;
    if (o_.resume_dir) rec = resume();
    result.first_epoch = static_cast<int>(rec.history.size()) + 1;
    std::optional<MetricsFile> metrics;
    if (o_.metrics_csv && root()) {
      metrics.emplace(*o_.metrics_csv);
      for (const auto& m : rec.history) metrics->append(m);
    }
    if (o_.checkpoint_dir) {
      if (root()) std::filesystem::create_directories(*o_.checkpoint_dir);
      if (o_.handle_sigint) install_sigint_handler();
    }
    if (print_epochs()) {
      std::printf("%5s %10s %9s %10s %9s %8s %8s\n", "epoch", "train_loss", "train_acc", "test_loss", "test_acc",
                  "seconds", "img/s");
      std::fflush(stdout);
    }
    // Not under a strategy: mpirun gives its processes a terminal of their own (a pty) even when
    // its own output goes to a file.
    ProgressLine progress(o_.progress && !o_.strategy && ProgressLine().enabled());
    long long countdown = o_.interrupt_after_batches.value_or(0);
    EpochTally& tally = rec.tally;
    for (int epoch = result.first_epoch; epoch <= o_.epochs; ++epoch) {
      if (o_.schedule && o_.schedule_unit == ScheduleUnit::epoch) o_.schedule->apply(opt_.base, epoch - 1);
      const double seconds_before = tally.seconds;
      const auto t0 = std::chrono::steady_clock::now();
      TrainHooks hooks = epoch_hooks(epoch, tally, train_loader.size(), progress, countdown);
      bool finished = false;
      try {
        finished = train_epoch_resumable(net_, opt_, train_loader, static_cast<std::uint64_t>(epoch - 1), tally,
                                         o_.step, hooks);
      } catch (...) {
        progress.clear();
        throw;
      }
      progress.clear();
      if (!finished) {
        if (!o_.checkpoint_dir) {
          if (root())
            std::printf("interrupted after %zu of %zu batches of epoch %d (no checkpoint folder: nothing written)\n",
                      tally.batches, train_loader.size(), epoch);
          return finish(result, rec, FitResult::Outcome::interrupted);
        }
        write_checkpoint(rec, epoch - 1);
        if (root())
          std::printf("interrupted: checkpoint written to %s after %zu of %zu batches of epoch %d; continue with --resume %s\n",
                    checkpoint_file().string().c_str(), tally.batches, train_loader.size(), epoch,
                    o_.checkpoint_dir->string().c_str());
        std::fflush(stdout);
        return finish(result, rec, FitResult::Outcome::interrupted);
      }
      rec.train_seconds += tally.seconds;
      if (lookahead_ && epoch == o_.epochs) lookahead_->finish();  // the network ends on the slow weights
      const PassResult te = !evaluated(epoch)        ? not_evaluated()
                            : tta_shares_pass(epoch) ? evaluate_with_tta(test_loader)
                                                     : evaluate_now(test_loader);
      const auto now = std::chrono::steady_clock::now();
      const double seconds = seconds_before + std::chrono::duration<double>(now - t0).count();
      rec.total_seconds += seconds;
      const PassResult tr = global_tally(tally).result();
      const double img_s = tr.images_per_second();
      rec.history.push_back({epoch, tr.loss, tr.accuracy, te.loss, te.accuracy, seconds, img_s});
      if (print_epochs()) {
        std::printf("%5d %10.4f %8.2f%% %s %8.1f %8.0f\n", epoch, tr.loss, 100 * tr.accuracy, test_columns(te).c_str(),
                    seconds, img_s);
        std::fflush(stdout);
      }
      if (metrics) metrics->append(rec.history.back());
      if (cb_.on_epoch_end)
        cb_.on_epoch_end({rec.history.back(), tr, te, opt_.base.param_groups()[0].lr,
                          std::chrono::duration<double>(now - fit_start).count()});
      tally.start_epoch();
      if (o_.checkpoint_dir) write_checkpoint(rec, epoch);
      if (interrupt_agreed()) {
        // Ctrl-C since the epoch's last batch (during the evaluation, if any): the epoch's checkpoint is written
        if (o_.checkpoint_dir && root())
          std::printf("interrupted: checkpoint written to %s after epoch %d; continue with --resume %s\n",
                      checkpoint_file().string().c_str(), epoch, o_.checkpoint_dir->string().c_str());
        return finish(result, rec, FitResult::Outcome::interrupted);
      }
    }
    if (print_epochs()) {
      std::printf("total %.1f s for %d epochs (%.1f s of it training, the rest per-epoch evaluation)\n",
                  rec.total_seconds, o_.epochs, rec.train_seconds);
      print_communication(rec);
    }
    if (ema_ && o_.ema->final_average) ema_->copy_to_network();
    if (o_.tta_level.value_or(0) > 0 && result.first_epoch <= o_.epochs) final_tta(result, rec, test_loader);
    if (o_.save) save_model(*o_.save, o_.save_options);
    return finish(result, rec, FitResult::Outcome::finished);
  }

  // The network as safetensors, with the optimizer's step count as num_batches_tracked (on rank
  // 0 only, in data-parallel training).
  void save_model(const std::filesystem::path& path, io::SaveOptions so) {
    if (!root()) return;
    so.batches_tracked = opt_.steps();
    io::save(net_, path, so);
  }

  // The Lookahead and EMA, when the options ask for them (after fit() started).
  std::optional<Lookahead<T>>& lookahead() { return lookahead_; }
  std::optional<WeightEMA<T>>& ema() { return ema_; }

  // True on the process that prints and writes: always with one process, rank 0 with a strategy.
  bool root() const { return !o_.strategy || o_.strategy->is_root(); }

 private:
  bool print_epochs() const { return o_.print_epochs && root(); }

  // Ctrl-C or SIGUSR1 on any process (every process gets the same answer at the same call).
  bool interrupt_agreed() const {
    return o_.strategy ? o_.strategy->any(interrupt_requested()) : interrupt_requested();
  }

  // What the training loop calls back in epoch `epoch`: the strategy around each backward, the
  // schedule and callbacks around each step, the progress line and the interrupt check after
  // each batch.
  TrainHooks epoch_hooks(int epoch, EpochTally& tally, std::size_t batches, ProgressLine& progress,
                         long long& countdown) {
    TrainHooks hooks;
    if (Strategy* s = o_.strategy) {
      hooks.before_backward = [s](std::size_t local, std::size_t global) { s->begin_step(local, global); };
      hooks.after_backward = [s] { s->finish_step(); };
      hooks.agree = [s](bool bad) { return s->any(bad); };
    }
    hooks.before_step = [this, epoch, &tally, batches] {
      if (o_.schedule && o_.schedule_unit == ScheduleUnit::step) o_.schedule->apply(opt_.base, opt_.steps());
      if (cb_.before_step) cb_.before_step(step_info(epoch, tally, batches));
    };
    hooks.after_step = [this, epoch, &tally, batches] { after_step(epoch, tally, batches); };
    hooks.after_batch = [this, batches, &progress, &countdown](const EpochTally& t) {
      if (progress.enabled() && t.samples > 0)
        progress.update(t.batches, batches, t.loss_sum / static_cast<double>(t.samples),
                        static_cast<double>(t.samples) / t.seconds, t.seconds);
      if (countdown > 0 && --countdown == 0) std::raise(SIGINT);
      return !interrupt_agreed();
    };
    hooks.warn = [this, &progress](const std::string& note) {
      if (!root()) return;  // every process left the batch out; one says so
      progress.clear();
      std::fprintf(stderr, "%s\n", note.c_str());
    };
    return hooks;
  }

  // The epoch's running figures over every process (the seconds are this process's).
  EpochTally global_tally(const EpochTally& mine) const {
    if (!o_.strategy) return mine;
    EpochTally t = mine;
    double sums[3] = {mine.loss_sum, static_cast<double>(mine.correct), static_cast<double>(mine.samples)};
    o_.strategy->allreduce_sum(sums);
    t.loss_sum = sums[0];
    t.correct = static_cast<std::size_t>(sums[1]);
    t.samples = static_cast<std::size_t>(sums[2]);
    return t;
  }

  // The communication the overlap with the backward did not hide, as a share of training time.
  void print_communication(const TrainRecord& rec) const {
    if (!o_.strategy || rec.train_seconds <= 0) return;
    const double wait = o_.strategy->wait_seconds();
    std::printf("data-parallel: %d processes; %.2f s of the training time (%.1f%%) waited for gradients after the "
                "backward (process 0)\n",
                o_.strategy->size(), wait, 100 * wait / rec.train_seconds);
  }

  StepInfo<T> step_info(int epoch, const EpochTally& t, std::size_t batches) {
    return {epoch, t.batches + 1, batches, opt_.steps(), opt_.base};
  }

  void after_step(int epoch, const EpochTally& t, std::size_t batches) {
    if (lookahead_)
      lookahead_->step(opt_.steps(), Lookahead<T>::airbench_decay(opt_.steps(), total_steps_));
    if (ema_) ema_->update();
    if (cb_.on_step) {
      auto info = step_info(epoch, t, batches);
      info.steps_done = opt_.steps();
      cb_.on_step(info);
    }
  }

  // Whether epoch `epoch` (1-based) ends with the test evaluation: by its number alone, so that a
  // resumed run evaluates the same epochs.
  bool evaluated(int epoch) const {
    return epoch == o_.epochs || (o_.eval_every > 0 && epoch % o_.eval_every == 0);
  }

  // The test figures of an epoch that is not evaluated: NaN loss and accuracy, no samples.
  static PassResult not_evaluated() {
    constexpr double nan = std::numeric_limits<double>::quiet_NaN();
    return {.loss = nan, .accuracy = nan, .samples = 0, .seconds = 0};
  }

  template <class Loader>
  PassResult evaluate_now(Loader& loader) {
    if (ema_ && o_.ema->evaluate_average) {
      auto averaged = ema_->use_averaged();
      return global(evaluate(net_, loader));
    }
    return global(evaluate(net_, loader));
  }
  PassResult global(const PassResult& mine) const { return o_.strategy ? combine(*o_.strategy, mine) : mine; }

  // Whether the last epoch's evaluation and the final test-time augmentation run as one pass:
  // the augmented views include the image itself, and the weights are the same for both unless
  // an EMA average is evaluated or copied in between.
  bool tta_shares_pass(int epoch) const { return epoch == o_.epochs && o_.tta_level.value_or(0) > 0 && !ema_; }

  // The last epoch's test figures, from the pass that also gives the final augmented figures.
  template <class Loader>
  PassResult evaluate_with_tta(Loader& loader) {
    const TtaAndPlain both = evaluate_tta_and_plain(net_, loader, tta_options(*o_.tta_level));
    shared_tta_ = global(both.tta);
    return global(both.plain);
  }

  template <class Loader>
  void final_tta(FitResult& result, TrainRecord& rec, Loader& loader) {
    const int level = *o_.tta_level;
    const bool shared = shared_tta_.has_value();
    const PassResult t = shared ? *shared_tta_ : global(evaluate_tta(net_, loader, tta_options(level)));
    shared_tta_.reset();
    result.tta = t;
    if (!root()) return;
    std::printf("final test accuracy with test-time augmentation (level %d: %s): %.2f%% (loss %.4f, %.1f s%s)\n", level,
                tta_level_name(level), 100 * t.accuracy, t.loss, t.seconds,
                shared ? ", the same pass as the last epoch's test figures" : "");
    if (!o_.metrics_csv) return;
    char line[256];
    std::snprintf(line, sizeof line, "tta_level,test_loss,test_accuracy,train_seconds,total_seconds\n%d,%.6f,%.6f,%.3f,%.3f\n",
                  level, t.loss, t.accuracy, rec.train_seconds, rec.total_seconds + (shared ? 0 : t.seconds));
    const auto final_file = std::filesystem::path(*o_.metrics_csv).replace_extension(".final.csv");
    write_file_atomically(final_file, line);
    std::printf("final figures written to %s\n", final_file.string().c_str());
  }

  FitResult& finish(FitResult& result, TrainRecord& rec, FitResult::Outcome outcome) {
    result.outcome = outcome;
    result.history = rec.history;
    result.total_seconds = rec.total_seconds;
    result.train_seconds = rec.train_seconds;
    return result;
  }

  // The Lookahead slow weights and EMA averages, one checkpoint tensor per network tensor.
  std::vector<io::CheckpointTensor<T>> extra_tensors() {
    std::vector<io::CheckpointTensor<T>> out;
    if (lookahead_)
      for (std::size_t i = 0; i < lookahead_->tensors(); ++i)
        out.push_back({std::string(kLookaheadTensor) + "." + std::to_string(i), lookahead_->slow_data(i), lookahead_->size(i)});
    if (ema_)
      for (std::size_t i = 0; i < ema_->tensors(); ++i)
        out.push_back({std::string(kEmaTensor) + "." + std::to_string(i), ema_->average_data(i), ema_->size(i)});
    return out;
  }

  void fill_record(TrainRecord& rec) {
    rec.epochs = o_.epochs;
    rec.threads = thread_width();
    rec.processes = processes();
    rec.precision = precision_name(net_.precision());
    rec.lookahead_k.reset();
    rec.ema_decay.reset();
    if (lookahead_) {
      rec.lookahead_k = lookahead_->k();
      rec.lookahead_syncs = lookahead_->syncs();
    }
    if (ema_) {
      rec.ema_decay = ema_->decay();
      rec.ema_updates = ema_->updates();
    }
  }

  int processes() const { return o_.strategy ? o_.strategy->size() : 1; }

  // Collective with a strategy (the epoch's figures are summed); rank 0 writes.
  void write_checkpoint(TrainRecord& rec, int epochs_done) {
    fill_record(rec);
    TrainRecord out = rec;
    out.tally = global_tally(rec.tally);
    if (o_.strategy) {  // every process's own sum, gathered exactly (each slot is one value plus zeros)
      std::vector<double> sums(static_cast<std::size_t>(processes()), 0.0);
      sums[static_cast<std::size_t>(o_.strategy->rank())] = rec.tally.loss_sum;
      o_.strategy->allreduce_sum(sums);
      out.process_loss_sums = std::move(sums);
    }
    if (!root()) return;
    io::CheckpointState st;
    st.epoch = epochs_done;
    st.batch = static_cast<std::int64_t>(out.tally.batches);
    st.rng = net_.rng().state();
    write_identity(o_.identity, st.metadata);
    write_record(out, st.metadata);
    io::save_checkpoint(checkpoint_file(), net_, opt_.base, st, extra_tensors());
  }

  // Checks the file against this run (identity, record, Lookahead/EMA, precision) before
  // anything changes, then restores the network, the optimizer and the trainer's state.
  TrainRecord resume() {
    namespace fs = std::filesystem;
    const fs::path from = *o_.resume_dir / "checkpoint.safetensors";
    if (!fs::exists(from))
      throw io::Error("--resume " + o_.resume_dir->string() + ": no checkpoint there (expected " + from.string() + ")");
    const auto file = io::File::read(from);
    check_identity(file, o_.identity);
    TrainRecord rec = read_record(file);
    const auto refuse = [&](const char* field, const std::string& what) {
      throw io::Error("--resume: checkpoint " + io::detail::quote(from.string()) + ": field " + io::detail::quote(field) +
                      ": " + what);
    };
    const auto on = [](bool b) { return std::string(b ? "with" : "without"); };
    if (rec.lookahead_k.has_value() != lookahead_.has_value() || (lookahead_ && *rec.lookahead_k != lookahead_->k()))
      refuse("trainer.lookahead.k", "the checkpoint was written " + on(rec.lookahead_k.has_value()) + " Lookahead" +
                                        (rec.lookahead_k ? " (k = " + std::to_string(*rec.lookahead_k) + ")" : "") +
                                        ", this run is " + on(lookahead_.has_value()) + " it" +
                                        (lookahead_ ? " (k = " + std::to_string(lookahead_->k()) + ")" : ""));
    if (rec.ema_decay.has_value() != ema_.has_value() || (ema_ && *rec.ema_decay != ema_->decay()))
      refuse("trainer.ema.decay", "the checkpoint was written " + on(rec.ema_decay.has_value()) + " an EMA" +
                                      (rec.ema_decay ? " (decay " + std::to_string(*rec.ema_decay) + ")" : "") +
                                      ", this run is " + on(ema_.has_value()) + " one" +
                                      (ema_ ? " (decay " + std::to_string(ema_->decay()) + ")" : ""));
    if (rec.processes.value_or(1) != processes())
      refuse("trainer.processes", "the checkpoint was written by " + std::to_string(rec.processes.value_or(1)) +
                                      " data-parallel processes, this run has " + std::to_string(processes()) +
                                      "; resume with the same number (mpirun -np " +
                                      std::to_string(rec.processes.value_or(1)) + ")");
    if (rec.precision != precision_name(net_.precision()))
      refuse("trainer.precision", "the checkpoint was trained in " + rec.precision + ", this run is " +
                                      precision_name(net_.precision()) + "; pass the same --precision");
    const io::CheckpointState st = io::load_checkpoint(file, net_, opt_.base, extra_tensors());
    if (lookahead_) lookahead_->set_syncs(rec.lookahead_syncs);
    if (ema_) ema_->set_updates(rec.ema_updates);
    if (o_.strategy) {
      o_.strategy->broadcast_from_root();  // identical already (the same file); made certain
      if (!root()) {  // the file's epoch counts are every process's: rank 0 keeps them
        rec.tally.loss_sum = 0;
        rec.tally.correct = rec.tally.samples = 0;
      }
      // Each process continues its own loss sum where the file has them (files written before they were
      // recorded leave their total with rank 0: the same sum up to the order of its additions).
      const auto rank = static_cast<std::size_t>(o_.strategy->rank());
      if (rec.process_loss_sums && rec.process_loss_sums->size() == static_cast<std::size_t>(processes()))
        rec.tally.loss_sum = (*rec.process_loss_sums)[rank];
    }
    if (!root()) return rec;
    if (rec.threads != thread_width())
      std::fprintf(stderr,
                   "warning: the checkpoint was written with %d threads, this run uses %d: the result will not be "
                   "bit-identical to an uninterrupted run\n",
                   rec.threads, thread_width());
    if (static_cast<std::int64_t>(rec.history.size()) != st.epoch || static_cast<std::int64_t>(rec.tally.batches) != st.batch)
      refuse("trainer.history", "holds " + std::to_string(rec.history.size()) + " epochs and " +
                                    std::to_string(rec.tally.batches) + " batches, the checkpoint's position is epoch " +
                                    std::to_string(st.epoch) + ", batch " + std::to_string(st.batch));
    std::printf("resumed from %s: %lld epochs done", from.string().c_str(), static_cast<long long>(st.epoch));
    if (st.batch > 0)
      std::printf(", %lld batches of epoch %lld", static_cast<long long>(st.batch), static_cast<long long>(st.epoch + 1));
    std::printf(", %lld optimizer steps\n", static_cast<long long>(st.optimizer_steps));
    return rec;
  }

  Net& net_;
  AnyOptimizer<T> opt_;
  TrainerOptions o_;
  TrainerCallbacks<T> cb_;
  std::optional<Lookahead<T>> lookahead_;
  std::optional<WeightEMA<T>> ema_;
  std::optional<PassResult> shared_tta_;  // the final augmented figures, when the last evaluation gave them
  long long steps_per_epoch_ = 0, total_steps_ = 0;
};

}  // namespace ctnn::train
