#pragma once
// Per-epoch metrics as CSV. The whole file is rewritten through a temporary file and renamed
// after every epoch, so an interrupted run keeps every finished epoch and never leaves a
// half-written file.
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
  double test_loss = 0, test_accuracy = 0;
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
  void write() const {
    std::ostringstream s;
    s << header << "\n" << std::setprecision(6);
    for (const auto& m : rows_)
      s << m.epoch << "," << m.train_loss << "," << m.train_accuracy << "," << m.test_loss << "," << m.test_accuracy
        << "," << std::setprecision(4) << m.seconds << "," << std::setprecision(6) << m.images_per_second << "\n";
    write_file_atomically(path_, s.str());
  }

  std::filesystem::path path_;
  std::vector<EpochMetrics> rows_;
};

}  // namespace ctnn::train
