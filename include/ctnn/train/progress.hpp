#pragma once
// A live one-line progress display for a terminal: bar, batch count, running loss, images/s
// and ETA, redrawn at most 10 times a second. Silent when stdout is not a terminal, so logs and
// pipes get only the per-epoch lines.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <string>

namespace ctnn::train {

class ProgressLine {
 public:
  explicit ProgressLine(bool enabled = ::isatty(STDOUT_FILENO) != 0) : enabled_(enabled) {}

  bool enabled() const { return enabled_; }

  void update(std::size_t done, std::size_t total, double loss, double images_per_second, double elapsed_seconds) {
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    if (done < total && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    constexpr int width = 30;
    const double frac = total ? static_cast<double>(done) / static_cast<double>(total) : 1.0;
    const int filled = static_cast<int>(frac * width);
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.resize(width, '.');
    const double eta = frac > 0 ? elapsed_seconds * (1 - frac) / frac : 0;
    std::printf("\r  [%s] %zu/%zu  loss %.4f  %.0f img/s  ETA %.0fs   ", bar.c_str(), done, total, loss,
                images_per_second, eta);
    std::fflush(stdout);
    dirty_ = true;
  }

  // Erases the line so the next print starts clean.
  void clear() {
    if (!enabled_ || !dirty_) return;
    std::printf("\r%*s\r", 90, "");
    std::fflush(stdout);
    dirty_ = false;
  }

 private:
  bool enabled_;
  bool dirty_ = false;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace ctnn::train
