#pragma once
// What the trainers keep between runs and share around their loops: exact numbers for
// checkpoint metadata, the metrics history a checkpoint carries, the optimizer as its common base
// (so that a trainer's loop is compiled once per network), and the plots of --plot.
// Plotting needs CTNN_PLOT_SCRIPT (scripts/plot_metrics.sh) defined by the target.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <ctnn/optim/optimizer.hpp>
#include <ctnn/train/metrics.hpp>

namespace trainer {

inline std::string exact(double v) {  // round-trips through std::strtod
  char buf[64];
  std::snprintf(buf, sizeof buf, "%a", v);
  return buf;
}

inline std::string metrics_rows_to_string(const std::vector<ctnn::train::EpochMetrics>& rows) {
  std::string s;
  for (const auto& m : rows)
    s += std::to_string(m.epoch) + "," + exact(m.train_loss) + "," + exact(m.train_accuracy) + "," + exact(m.test_loss) +
         "," + exact(m.test_accuracy) + "," + exact(m.seconds) + "," + exact(m.images_per_second) + "\n";
  return s;
}

inline std::vector<ctnn::train::EpochMetrics> metrics_rows_from_string(const std::string& text) {
  std::vector<ctnn::train::EpochMetrics> rows;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    ctnn::train::EpochMetrics m;
    char* p = line.data();
    m.epoch = static_cast<int>(std::strtol(p, &p, 10));
    double* fields[] = {&m.train_loss, &m.train_accuracy, &m.test_loss, &m.test_accuracy, &m.seconds,
                        &m.images_per_second};
    for (double* f : fields) {
      if (*p != ',') throw std::runtime_error("checkpoint: malformed metrics history line '" + line + "'");
      *f = std::strtod(p + 1, &p);
    }
    rows.push_back(m);
  }
  return rows;
}

// Compile time: a trainer's run() is its whole training loop, checkpointing included. Instantiated
// for every (network, optimizer, augmentation) triple it made train_cifar10 take 81 s to build;
// it sees the optimizer through its common base (groups, state, step count) with the step as a
// function, so it is compiled once per network. One indirect call per step costs nothing measurable.
struct TrainerOptimizer {
  ctnn::OptimizerBase<float>& base;
  std::function<void()> step_fn;
  void step() { step_fn(); }
  void zero_grad() { base.zero_grad(); }
  long long steps() const { return base.steps(); }
  void set_steps(long long s) { base.set_steps(s); }
  auto param_groups() { return base.param_groups(); }
  auto& state() { return base.state(); }
};

#ifdef CTNN_PLOT_SCRIPT
// Draws metrics files with scripts/plot_metrics.sh (gnuplot); says how to get gnuplot if absent.
inline bool plot(const std::filesystem::path& out_dir, const std::vector<std::pair<std::filesystem::path, std::string>>& runs) {
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
    std::fprintf(stderr, "note: no plots: gnuplot is not installed (Debian: sudo apt-get install gnuplot-nox); "
                         "later: scripts/plot_metrics.sh DIR FILE.csv=LABEL ...\n");
    return false;
  }
  std::string cmd = "bash '" CTNN_PLOT_SCRIPT "' '" + out_dir.string() + "'";
  for (const auto& [file, label] : runs) cmd += " '" + file.string() + "=" + label + "'";
  cmd += " >/dev/null";
  if (std::system(cmd.c_str()) != 0) {
    std::fprintf(stderr, "warning: plotting into %s failed\n", out_dir.string().c_str());
    return false;
  }
  std::printf("figures written to %s\n", out_dir.string().c_str());
  return true;
}
#endif

}  // namespace trainer
