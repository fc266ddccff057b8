// ctnn::train::Trainer (train/trainer.hpp) on a small synthetic data set (no CIFAR needed): an
// interrupted run resumed from its checkpoint ends on the uninterrupted run's weights bit for bit,
// with Lookahead and with an EMA, mid-epoch and at an epoch's end; the callbacks see every step
// and epoch; unset options change nothing; a checkpoint of another run is refused naming the field;
// eval_every evaluates the epochs it names and changes nothing else, resumed runs included.
#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include <ctnn/ctnn.hpp>
#include <ctnn/data/dataloader.hpp>
#include <ctnn/data/tensor_dataset.hpp>
#include <ctnn/data/transforms.hpp>
#include <ctnn/train/sweep.hpp>
#include <ctnn/train/trainer.hpp>

namespace data = ctnn::data;
namespace fs = std::filesystem;
using namespace ctnn;

namespace {

using S = Shape<3, 8, 8>;
using Net = Sequential<Input<3, 8, 8>, Conv<3, 4, 3>, BatchNorm, ReLU, Dropout<0.2>, MaxPool<2>, Linear<3>>;
using OtherNet = Sequential<Input<3, 8, 8>, Conv<3, 6, 3>, BatchNorm, ReLU, MaxPool<2>, Linear<3>>;

// 60 images of three classes whose mean brightness differs, so training makes progress.
data::ImageSet<S> make_set(std::size_t n, std::uint32_t salt) {
  std::vector<std::uint8_t> px(n * S::size);
  std::vector<std::int32_t> labels(n);
  for (std::size_t i = 0; i < n; ++i) {
    labels[i] = static_cast<std::int32_t>((i * 7 + salt) % 3);
    for (std::size_t j = 0; j < S::size; ++j)
      px[i * S::size + j] = static_cast<std::uint8_t>(60 * labels[i] + (i * 31 + j * 17 + salt) % 90);
  }
  return data::make_dataset<S>(px, labels, {"a", "b", "c"});
}

const data::ImageSet<S>& train_set() {
  static const auto s = make_set(60, 1);
  return s;
}
const data::ImageSet<S>& test_set() {
  static const auto s = make_set(30, 2);
  return s;
}

auto train_tf() {
  return data::compose<S>(data::RandomHorizontalFlip{}, data::ToTensor{},
                          data::Normalize<3>{{0.5f, 0.5f, 0.5f}, {0.25f, 0.25f, 0.25f}});
}
auto test_tf() { return data::compose<S>(data::ToTensor{}, data::Normalize<3>{{0.5f, 0.5f, 0.5f}, {0.25f, 0.25f, 0.25f}}); }

fs::path fresh_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("ctnn_trainer_" + name);
  fs::remove_all(d);
  return d;
}

// Every parameter and buffer, as bytes.
std::vector<std::uint8_t> weight_bytes(Net& net) {
  std::vector<std::uint8_t> out;
  const auto add = [&](const float* v, std::size_t n) {
    const auto* b = reinterpret_cast<const std::uint8_t*>(v);
    out.insert(out.end(), b, b + n * sizeof(float));
  };
  for (const auto& p : net.parameters()) add(p.value, p.size);
  for (const auto& b : net.buffers()) add(b.value, b.size);
  return out;
}

enum class Extra { lookahead, ema };

train::TrainerOptions quiet(int epochs) {
  train::TrainerOptions o;
  o.epochs = epochs;
  o.print_epochs = false;
  o.progress = false;
  return o;
}

train::TrainerOptions options_for(Extra extra, int epochs, long long steps_per_epoch) {
  train::TrainerOptions o = quiet(epochs);
  o.identity = {{"model", "tiny"}, {"lr", "0.05"}};
  o.schedule = parse_schedule("cosine", {.total_steps = steps_per_epoch * epochs, .steps_per_epoch = steps_per_epoch});
  if (extra == Extra::lookahead) o.lookahead = train::LookaheadOptions{.k = 3};
  else o.ema = train::EmaOptions{.decay = 0.8};
  return o;
}

// One run: interrupted after `interrupt_after` batches when > 0 and resumed (in a new network,
// optimizer and trainer, as a new process would), or straight through. Returns the final weights.
std::vector<std::uint8_t> run(Extra extra, int epochs, long long interrupt_after, const fs::path& dir) {
  const auto once = [&](std::optional<long long> interrupt, bool resume) {
    data::DataLoader train_loader(train_set(), train_tf(), {.batch_size = 8, .shuffle = true, .seed = 3});
    data::DataLoader test_loader(test_set(), test_tf(), {.batch_size = 16});
    Net net(7);
    SGD opt{net.parameters(), {.lr = 0.05, .momentum = 0.9, .nesterov = true}};
    auto o = options_for(extra, epochs, static_cast<long long>(train_loader.size()));
    if (!dir.empty()) o.checkpoint_dir = dir;
    if (resume) o.resume_dir = dir;
    o.interrupt_after_batches = interrupt;
    train::Trainer trainer(net, opt, o);
    const auto r = trainer.fit(train_loader, test_loader);
    train::clear_interrupt();
    return std::pair{r, weight_bytes(net)};
  };
  if (interrupt_after <= 0) return once(std::nullopt, false).second;
  const auto first = once(interrupt_after, false);
  CHECK(first.first.interrupted());
  const auto second = once(std::nullopt, true);
  CHECK(!second.first.interrupted());
  CHECK(second.first.history.size() == static_cast<std::size_t>(epochs));
  return second.second;
}

// A run for the eval_every tests (Lookahead or EMA, the cosine schedule, 3 epochs of 8 batches):
// what fit() returned, every EpochEnd, and the final weights. With `dir`, the metrics CSV is
// DIR/metrics.csv and checkpoints go to DIR; `stop_after` > 0 asks for Ctrl-C as that epoch ends;
// `resume` continues the run checkpointed in DIR.
struct EvalRun {
  train::FitResult fit;
  std::vector<train::EpochEnd> ends;
  std::vector<std::uint8_t> weights;
};

EvalRun eval_run(Extra extra, int eval_every, const fs::path& dir = {}, int stop_after = 0, bool resume = false) {
  data::DataLoader train_loader(train_set(), train_tf(), {.batch_size = 8, .shuffle = true, .seed = 3});
  data::DataLoader test_loader(test_set(), test_tf(), {.batch_size = 16});
  Net net(7);
  SGD opt{net.parameters(), {.lr = 0.05, .momentum = 0.9, .nesterov = true}};
  auto o = options_for(extra, 3, static_cast<long long>(train_loader.size()));
  o.eval_every = eval_every;
  if (!dir.empty()) {
    o.checkpoint_dir = dir;
    o.metrics_csv = dir / "metrics.csv";
  }
  if (resume) o.resume_dir = dir;
  EvalRun out;
  train::TrainerCallbacks<float> cb;
  cb.on_epoch_end = [&](const train::EpochEnd& e) {
    out.ends.push_back(e);
    if (e.metrics.epoch == stop_after) train::request_interrupt();
  };
  train::Trainer trainer(net, opt, o, cb);
  out.fit = trainer.fit(train_loader, test_loader);
  train::clear_interrupt();
  out.weights = weight_bytes(net);
  return out;
}

// The test samples each EpochEnd saw, in order.
std::vector<std::size_t> test_samples(const EvalRun& r) {
  std::vector<std::size_t> n;
  for (const auto& e : r.ends) n.push_back(e.test.samples);
  return n;
}

std::uint64_t bits(double v) { return std::bit_cast<std::uint64_t>(v); }

// Two histories hold the same figures bit for bit (NaN included), the wall times apart.
void check_same_history(const std::vector<train::EpochMetrics>& a, const std::vector<train::EpochMetrics>& b) {
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    CAPTURE(i);
    CHECK(a[i].epoch == b[i].epoch);
    CHECK(bits(a[i].train_loss) == bits(b[i].train_loss));
    CHECK(bits(a[i].train_accuracy) == bits(b[i].train_accuracy));
    CHECK(bits(a[i].test_loss) == bits(b[i].test_loss));
    CHECK(bits(a[i].test_accuracy) == bits(b[i].test_accuracy));
  }
}

// The lines of a text file.
std::vector<std::string> lines_of(const fs::path& p) {
  std::ifstream in(p);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// The comma-separated fields of a line, empty ones included.
std::vector<std::string> fields_of(const std::string& line) {
  std::vector<std::string> out(1);
  for (char c : line) {
    if (c == ',') out.emplace_back();
    else out.back() += c;
  }
  return out;
}

}  // namespace

TEST_CASE("Trainer: a run interrupted and resumed ends on the uninterrupted run's weights, bit for bit") {
  set_num_threads(2);
  for (const Extra extra : {Extra::lookahead, Extra::ema}) {
    const char* name = extra == Extra::lookahead ? "lookahead" : "ema";
    const auto reference = run(extra, 3, 0, {});
    // 8 batches per epoch: 11 is mid-epoch 2 (between two Lookahead syncs), 8 the end of epoch 1,
    // 5 mid-epoch 1.
    for (const long long k : {11LL, 8LL, 5LL}) {
      CAPTURE(name);
      CAPTURE(k);
      const auto resumed = run(extra, 3, k, fresh_dir(std::string(name) + std::to_string(k)));
      CHECK(resumed.size() == reference.size());
      CHECK(resumed == reference);
    }
  }
}

TEST_CASE("Trainer: the callbacks see every step and epoch, in order, with the right figures") {
  data::DataLoader train_loader(train_set(), train_tf(), {.batch_size = 8, .shuffle = true, .seed = 3});
  data::DataLoader test_loader(test_set(), test_tf(), {.batch_size = 16});
  Net net(7);
  Adam opt{net.parameters(), {.lr = 1e-2}};
  std::vector<std::pair<int, std::size_t>> before, after;
  std::vector<long long> before_steps, after_steps;
  std::vector<train::EpochEnd> epochs;
  train::TrainerCallbacks<float> cb;
  cb.before_step = [&](const train::StepInfo<float>& s) {
    before.emplace_back(s.epoch, s.batch);
    before_steps.push_back(s.steps_done);
    CHECK(s.batches == 8);
    CHECK(&s.optimizer == static_cast<OptimizerBase<float>*>(&opt));
  };
  cb.on_step = [&](const train::StepInfo<float>& s) {
    after.emplace_back(s.epoch, s.batch);
    after_steps.push_back(s.steps_done);
  };
  cb.on_epoch_end = [&](const train::EpochEnd& e) { epochs.push_back(e); };
  train::Trainer trainer(net, opt, quiet(2), cb);
  const auto r = trainer.fit(train_loader, test_loader);
  REQUIRE(before.size() == 16);
  CHECK(after == before);
  for (std::size_t i = 0; i < 16; ++i) {
    CHECK(before[i] == std::pair<int, std::size_t>(static_cast<int>(i / 8) + 1, i % 8 + 1));
    CHECK(before_steps[i] == static_cast<long long>(i));
    CHECK(after_steps[i] == static_cast<long long>(i + 1));
  }
  REQUIRE(epochs.size() == 2);
  REQUIRE(r.history.size() == 2);
  for (std::size_t e = 0; e < 2; ++e) {
    CHECK(epochs[e].metrics.epoch == static_cast<int>(e) + 1);
    CHECK(epochs[e].metrics.train_loss == r.history[e].train_loss);
    CHECK(epochs[e].train.samples == 60);
    CHECK(epochs[e].test.samples == 30);
    CHECK(epochs[e].lr == doctest::Approx(1e-2));
  }
  // The evaluation is train::evaluate on the final weights.
  const auto te = train::evaluate(net, test_loader);
  CHECK(te.loss == epochs[1].test.loss);
}

TEST_CASE("Trainer: unset options change nothing; set ones take effect") {
  const auto fit = [](const train::TrainerOptions& o, double& lr_after, std::optional<train::PassResult>& tta) {
    data::DataLoader train_loader(train_set(), train_tf(), {.batch_size = 8, .shuffle = true, .seed = 3});
    data::DataLoader test_loader(test_set(), test_tf(), {.batch_size = 16});
    Net net(7);
    SGD opt{net.parameters(), {.lr = 0.05, .momentum = 0.9}};
    train::Trainer trainer(net, opt, o);
    const auto r = trainer.fit(train_loader, test_loader);
    CHECK(!trainer.lookahead().has_value() == !o.lookahead.has_value());
    CHECK(!trainer.ema().has_value() == !o.ema.has_value());
    lr_after = opt.param_groups()[0].lr;
    tta = r.tta;
    return r;
  };
  train::TrainerOptions plain = quiet(1);
  CHECK(!plain.schedule);
  CHECK(!plain.lookahead);
  CHECK(!plain.ema);
  CHECK(!plain.checkpoint_dir);
  CHECK(!plain.tta_level);
  double lr = 0;
  std::optional<train::PassResult> tta;
  fit(plain, lr, tta);
  CHECK(lr == 0.05);  // no schedule: the optimizer's lr
  CHECK(!tta);
  train::TrainerOptions set = plain;
  set.schedule = parse_schedule("step:4,0.5", {.total_steps = 8, .steps_per_epoch = 1});
  set.tta_level = 1;
  fit(set, lr, tta);
  CHECK(lr == doctest::Approx(0.025));  // the last step (7) is after the first decay at step 4
  REQUIRE(tta);
  CHECK(tta->samples == 30);
}

TEST_CASE("Trainer: the last epoch's test figures and the final TTA come from one pass, equal to separate passes") {
  for (const int level : {1, 2, 3}) {
    CAPTURE(level);
    data::DataLoader train_loader(train_set(), train_tf(), {.batch_size = 8, .shuffle = true, .seed = 3});
    data::DataLoader test_loader(test_set(), test_tf(), {.batch_size = 16});
    Net net(7);
    SGD opt{net.parameters(), {.lr = 0.05, .momentum = 0.9}};
    train::TrainerOptions o = quiet(2);
    o.tta_level = level;
    train::Trainer trainer(net, opt, o);
    const auto r = trainer.fit(train_loader, test_loader);
    REQUIRE(r.tta);
    const auto plain = train::evaluate(net, test_loader);
    const auto tta = train::evaluate_tta(net, test_loader, train::tta_options(level));
    CHECK(r.history.back().test_loss == plain.loss);
    CHECK(r.history.back().test_accuracy == plain.accuracy);
    CHECK(r.tta->loss == tta.loss);
    CHECK(r.tta->accuracy == tta.accuracy);
    CHECK(r.tta->samples == 30);
  }
}

TEST_CASE("Trainer: a checkpoint of another run is refused, naming what differs, and left as it was") {
  set_num_threads(2);
  const fs::path dir = fresh_dir("mismatch");
  {
    data::DataLoader train_loader(train_set(), train_tf(), {.batch_size = 8, .shuffle = true, .seed = 3});
    data::DataLoader test_loader(test_set(), test_tf(), {.batch_size = 16});
    Net net(7);
    SGD opt{net.parameters(), {.lr = 0.05, .momentum = 0.9}};
    auto o = options_for(Extra::lookahead, 2, 8);
    o.checkpoint_dir = dir;
    o.epochs = 1;
    train::Trainer(net, opt, o).fit(train_loader, test_loader);
  }
  const fs::path file = dir / "checkpoint.safetensors";
  const auto read_all = [](const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  };
  const std::string bytes = read_all(file);
  const auto refused = [&](auto&& tweak, const std::string& expected) {
    data::DataLoader train_loader(train_set(), train_tf(), {.batch_size = 8, .shuffle = true, .seed = 3});
    data::DataLoader test_loader(test_set(), test_tf(), {.batch_size = 16});
    Net net(7);
    SGD opt{net.parameters(), {.lr = 0.05, .momentum = 0.9}};
    auto o = options_for(Extra::lookahead, 2, 8);
    o.resume_dir = dir;
    tweak(o);
    train::Trainer trainer(net, opt, o);
    CHECK_THROWS_WITH(trainer.fit(train_loader, test_loader), doctest::Contains(expected.c_str()));
    CHECK(read_all(file) == bytes);
  };
  refused([](auto& o) { o.identity[0].second = "other"; },
          "the checkpoint was trained with --model tiny, this run has --model other");
  refused([](auto& o) { o.identity.push_back({"batch-size", "8"}); }, "does not record --batch-size");
  refused([](auto& o) { o.lookahead.reset(); },
          "field 'trainer.lookahead.k': the checkpoint was written with Lookahead (k = 3), this run is without it");
  refused([](auto& o) { o.lookahead->k = 5; }, "(k = 3), this run is with it (k = 5)");
  refused([](auto& o) { o.ema = train::EmaOptions{}; }, "field 'trainer.ema.decay': the checkpoint was written without an EMA, this run is with one");

  // Another network under the same identity: its tensors do not match.
  {
    data::DataLoader train_loader(train_set(), train_tf(), {.batch_size = 8, .shuffle = true, .seed = 3});
    data::DataLoader test_loader(test_set(), test_tf(), {.batch_size = 16});
    OtherNet net(7);
    SGD opt{net.parameters(), {.lr = 0.05, .momentum = 0.9}};
    auto o = options_for(Extra::lookahead, 2, 8);
    o.resume_dir = dir;
    train::Trainer trainer(net, opt, o);
    CHECK_THROWS_WITH(trainer.fit(train_loader, test_loader), doctest::Contains("(a different optimizer or network?)"));
  }

  // A record field that does not parse, or is missing: named.
  std::string bad = bytes;
  const std::string key = "\"trainer.tally.loss_sum\":\"";
  const auto at = bad.find(key);
  REQUIRE(at != std::string::npos);
  bad[at + key.size()] = 'z';
  const auto parsed = io::File::parse_owned(bad, "bad.safetensors");
  CHECK_THROWS_WITH(train::read_record(parsed),
                    doctest::Contains("field 'trainer.tally.loss_sum' is 'z000000000000000', expected a 64-bit float"));
  std::string missing = bytes;
  missing[missing.find("\"trainer.threads\"") + 9] = 'T';
  CHECK_THROWS_WITH(train::read_record(io::File::parse_owned(missing, "m.safetensors")),
                    doctest::Contains("field 'trainer.threads' is missing"));
  fs::remove_all(dir);
}

TEST_CASE("TrainRecord: every field round-trips exactly, NaN and history included") {
  train::TrainRecord r;
  r.epochs = 7;
  r.threads = 3;
  r.precision = "bf16";
  r.tally.loss_sum = 0.1 + 0.2;
  r.tally.correct = 12345678901ull;
  r.tally.batches = 4;
  r.total_seconds = 1e-300;
  const double nan = std::numeric_limits<double>::quiet_NaN();  // an epoch not evaluated (eval_every)
  r.history = {{1, 2.5, 0.1, 1.0 / 3, 0.7, 12.25, 999.5}, {2, -0.0, 1, 2, 3, 4, 5}, {3, 1, 0.5, nan, nan, 6, 7}};
  r.lookahead_k = 5;
  r.lookahead_syncs = 17;
  std::map<std::string, std::string> meta;
  train::write_record(r, meta);
  CHECK(!meta.count("trainer.ema.decay"));  // unset: absent
  io::Writer w;
  float x = 0;
  w.add<float>("x", {1}, &x, 1);
  for (const auto& [k, v] : meta) w.metadata()[k] = v;
  const auto f = io::File::parse_owned(w.bytes());
  const auto back = train::read_record(f);
  CHECK(back.epochs == 7);
  CHECK(back.precision == "bf16");
  CHECK(back.tally.loss_sum == r.tally.loss_sum);
  CHECK(back.tally.correct == r.tally.correct);
  CHECK(std::isnan(back.tally.last_finite_loss));
  CHECK(back.total_seconds == 1e-300);
  REQUIRE(back.history.size() == 3);
  CHECK(back.history[0].test_loss == 1.0 / 3);
  CHECK(std::signbit(back.history[1].train_loss));
  CHECK(bits(back.history[2].test_loss) == bits(nan));
  CHECK(bits(back.history[2].test_accuracy) == bits(nan));
  CHECK(back.history[2].seconds == 6);
  CHECK(back.lookahead_k == 5);
  CHECK(!back.ema_decay);
}

TEST_CASE("Trainer: eval_every 2 over 3 epochs evaluates epochs 2 and 3; epoch 1's CSV test fields are empty") {
  set_num_threads(2);
  const fs::path dir = fresh_dir("eval_every2");
  const EvalRun r = eval_run(Extra::lookahead, 2, dir);
  CHECK(test_samples(r) == std::vector<std::size_t>{0, 30, 30});
  REQUIRE(r.fit.history.size() == 3);
  CHECK(std::isnan(r.ends[0].test.loss));
  CHECK(std::isnan(r.ends[0].test.accuracy));
  CHECK(std::isnan(r.fit.history[0].test_loss));
  CHECK(std::isnan(r.fit.history[0].test_accuracy));
  const auto lines = lines_of(dir / "metrics.csv");
  REQUIRE(lines.size() == 4);
  CHECK(lines[0] == train::MetricsFile::header);
  for (int epoch = 1; epoch <= 3; ++epoch) {
    CAPTURE(epoch);
    const auto f = fields_of(lines[static_cast<std::size_t>(epoch)]);
    REQUIRE(f.size() == 7);
    CHECK(f[0] == std::to_string(epoch));
    CHECK(!f[1].empty());
    CHECK(f[3].empty() == (epoch == 1));  // test_loss
    CHECK(f[4].empty() == (epoch == 1));  // test_acc
    CHECK(!f[6].empty());
  }
  // A sweep reads the file back, and ranks the epochs evaluated only.
  const auto rows = train::read_metrics_csv(dir / "metrics.csv");
  REQUIRE(rows.size() == 3);
  CHECK(std::isnan(rows[0].test_accuracy));
  CHECK(rows[2].test_accuracy == doctest::Approx(r.fit.history[2].test_accuracy));
  const std::string md = train::write_sweep_summary(dir, "lr", {{dir / "metrics.csv", "lr=0.05"}});
  CHECK(md.find("nan") == std::string::npos);
  CHECK(md.find("| 0.05 |") != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("Trainer: eval_every 0 evaluates after the last epoch only; 1 after every epoch") {
  set_num_threads(2);
  CHECK(test_samples(eval_run(Extra::ema, 0)) == std::vector<std::size_t>{0, 0, 30});
  CHECK(test_samples(eval_run(Extra::ema, 1)) == std::vector<std::size_t>{30, 30, 30});
  CHECK(test_samples(eval_run(Extra::ema, 5)) == std::vector<std::size_t>{0, 0, 30});
}

TEST_CASE("Trainer: a negative eval_every is refused, naming the option and the value") {
  CHECK_THROWS_WITH_AS(eval_run(Extra::lookahead, -1), doctest::Contains("eval_every must be 0"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(eval_run(Extra::lookahead, -3), doctest::Contains("not -3."), std::invalid_argument);
}

TEST_CASE("Trainer: eval_every changes no training figure, final test result or weight") {
  set_num_threads(2);
  for (const Extra extra : {Extra::lookahead, Extra::ema}) {
    const char* name = extra == Extra::lookahead ? "lookahead" : "ema";
    CAPTURE(name);
    const EvalRun every = eval_run(extra, 1);
    for (const int eval_every : {2, 0}) {
      CAPTURE(eval_every);
      const EvalRun sparse = eval_run(extra, eval_every);
      REQUIRE(sparse.fit.history.size() == 3);
      for (std::size_t e = 0; e < 3; ++e) {
        CAPTURE(e);
        CHECK(bits(sparse.fit.history[e].train_loss) == bits(every.fit.history[e].train_loss));
        CHECK(bits(sparse.fit.history[e].train_accuracy) == bits(every.fit.history[e].train_accuracy));
      }
      CHECK(bits(sparse.fit.history[2].test_loss) == bits(every.fit.history[2].test_loss));
      CHECK(bits(sparse.fit.history[2].test_accuracy) == bits(every.fit.history[2].test_accuracy));
      CHECK(sparse.weights == every.weights);
    }
  }
}

TEST_CASE("Trainer: with eval_every 2, a run resumed after epoch 1 has the uninterrupted run's history") {
  set_num_threads(2);
  const EvalRun whole = eval_run(Extra::lookahead, 2);
  const fs::path dir = fresh_dir("eval_every_resume");
  const EvalRun first = eval_run(Extra::lookahead, 2, dir, 1);
  CHECK(first.fit.interrupted());
  CHECK(first.fit.history.size() == 1);
  const EvalRun second = eval_run(Extra::lookahead, 2, dir, 0, true);
  CHECK(!second.fit.interrupted());
  CHECK(second.fit.first_epoch == 2);
  CHECK(test_samples(second) == std::vector<std::size_t>{30, 30});
  check_same_history(second.fit.history, whole.fit.history);  // epoch 1's NaN came through the checkpoint
  CHECK(second.weights == whole.weights);
  const auto lines = lines_of(dir / "metrics.csv");
  REQUIRE(lines.size() == 4);
  CHECK(fields_of(lines[1])[3].empty());
  CHECK(!fields_of(lines[2])[3].empty());
  fs::remove_all(dir);
}
