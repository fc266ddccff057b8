#pragma once
// Per-epoch metrics as CSV. The whole file is rewritten through a temporary file and renamed
// after every epoch, so an interrupted run keeps every finished epoch and never leaves a
// half-written file. A NaN (the test figures of an epoch not evaluated, TrainerOptions::eval_every)
// is written as an empty field, which gnuplot with `set datafile separator ","` takes as missing.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "ctnn/io/atomic_file.hpp"

namespace ctnn::train {

struct EpochMetrics {
  int epoch = 0;
  double train_loss = 0, train_accuracy = 0;
  double test_loss = 0, test_accuracy = 0;  // NaN for an epoch that was not evaluated
  double seconds = 0;            // training + evaluation wall time of the epoch
  double images_per_second = 0;  // training throughput
};

// Writes `content` to `path` atomically (see ctnn/io/atomic_file.hpp).
using io::write_file_atomically;

class MetricsFile {
 public:
  explicit MetricsFile(std::filesystem::path path) : path_(std::move(path)) {
    if (path_.has_parent_path()) std::filesystem::create_directories(path_.parent_path());
    write();  // fail early (bad path, read-only folder) rather than after the first epoch
  }

  void append(const EpochMetrics& m) {
    rows_.push_back(m);
    write();
  }

  static constexpr const char* header = "epoch,train_loss,train_acc,test_loss,test_acc,seconds,images_per_second";

 private:
  // A comma and the number with `digits` significant digits; nothing after the comma for NaN.
  static void field(std::ostringstream& s, double v, int digits) {
    s << ',';
    if (!std::isnan(v)) s << std::setprecision(digits) << v;
  }

  void write() const {
    std::ostringstream s;
    s << header << "\n";
    for (const auto& m : rows_) {
      s << m.epoch;
      for (double v : {m.train_loss, m.train_accuracy, m.test_loss, m.test_accuracy}) field(s, v, 6);
      field(s, m.seconds, 4);
      field(s, m.images_per_second, 6);
      s << "\n";
    }
    write_file_atomically(path_, s.str());
  }

  std::filesystem::path path_;
  std::vector<EpochMetrics> rows_;
};

}  // namespace ctnn::train
