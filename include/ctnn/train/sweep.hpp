#pragma once
// Hyper-parameter sweeps: "lr=0.1,0.01,0.001" -> one run per value with everything else equal.
// Parsing is strict: an unknown key, an empty or repeated value, or a value its key's check
// rejects is an error that quotes the spec and says what was expected.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "ctnn/train/metrics.hpp"

namespace ctnn::train {

struct SweepSpec {
  std::string key;
  std::vector<std::string> values;
};

// A key's values are checked by a function returning an empty string when valid, else the
// reason (e.g. "must be a number greater than 0").
using SweepValueCheck = std::function<std::string(const std::string&)>;

inline SweepSpec parse_sweep(const std::string& spec, const std::map<std::string, SweepValueCheck>& keys) {
  auto known = [&] {
    std::string list;
    for (const auto& [k, _] : keys) list += (list.empty() ? "" : ", ") + k;
    return list;
  };
  const auto eq = spec.find('=');
  if (eq == std::string::npos || eq == 0)
    throw std::invalid_argument("--sweep '" + spec + "': expected KEY=V1,V2,... with KEY one of " + known());
  SweepSpec out;
  out.key = spec.substr(0, eq);
  const auto check = keys.find(out.key);
  if (check == keys.end())
    throw std::invalid_argument("--sweep '" + spec + "': unknown key '" + out.key + "'; expected one of " + known());
  const std::string list = spec.substr(eq + 1);
  std::size_t start = 0;
  while (true) {
    const auto comma = list.find(',', start);
    std::string value = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (value.empty())
      throw std::invalid_argument("--sweep '" + spec + "': empty value at position " +
                                  std::to_string(out.values.size() + 1));
    if (std::find(out.values.begin(), out.values.end(), value) != out.values.end())
      throw std::invalid_argument("--sweep '" + spec + "': value '" + value + "' is given twice");
    if (const std::string why = check->second(value); !why.empty())
      throw std::invalid_argument("--sweep '" + spec + "': " + out.key + " value '" + value + "' " + why);
    out.values.push_back(std::move(value));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (out.values.size() < 2)
    throw std::invalid_argument("--sweep '" + spec + "': give at least two values to compare");
  return out;
}

// Common checks.
inline std::string check_positive_number(const std::string& v) {
  try {
    std::size_t used = 0;
    const double d = std::stod(v, &used);
    if (used == v.size() && d > 0) return {};
  } catch (...) {
  }
  return "must be a number greater than 0";
}
inline std::string check_non_negative_number(const std::string& v) {
  try {
    std::size_t used = 0;
    const double d = std::stod(v, &used);
    if (used == v.size() && d >= 0) return {};
  } catch (...) {
  }
  return "must be a number >= 0";
}
inline std::string check_positive_integer(const std::string& v) {
  if (!v.empty() && v.size() < 10 && std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
      std::stoul(v) > 0)
    return {};
  return "must be a whole number greater than 0";
}
inline SweepValueCheck check_one_of(std::vector<std::string> allowed) {
  return [allowed = std::move(allowed)](const std::string& v) -> std::string {
    if (std::find(allowed.begin(), allowed.end(), v) != allowed.end()) return {};
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    return "must be one of " + list;
  };
}

// The rows of a metrics file MetricsFile wrote, an empty field as NaN (an epoch not evaluated);
// none if it is absent or not one (a sweep then runs that setting again).
inline std::vector<EpochMetrics> read_metrics_csv(const std::filesystem::path& path) {
  std::vector<EpochMetrics> rows;
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line) || line != MetricsFile::header) return rows;
  while (std::getline(in, line)) {
    EpochMetrics m;
    double* fields[] = {&m.train_loss, &m.train_accuracy, &m.test_loss, &m.test_accuracy, &m.seconds, &m.images_per_second};
    const char* p = line.data();
    const char* end = line.data() + line.size();
    auto r = std::from_chars(p, end, m.epoch);
    bool ok = r.ec == std::errc();
    for (double* f : fields) {
      if (!ok || r.ptr == end || *r.ptr != ',') {
        ok = false;
        break;
      }
      if (r.ptr + 1 == end || r.ptr[1] == ',') {
        *f = std::numeric_limits<double>::quiet_NaN();
        ++r.ptr;
        continue;
      }
      r = std::from_chars(r.ptr + 1, end, *f);
      ok = r.ec == std::errc();
    }
    if (!ok || r.ptr != end) return {};
    rows.push_back(m);
  }
  return rows;
}

// A sweep's summary of its runs (metrics file, label "KEY=VALUE"): per setting the best (of the
// epochs evaluated) and final test accuracy, the epoch of the best, the final losses and the
// wall time, written as DIR/summary.csv and DIR/summary.md (atomically); returns the Markdown
// table.
inline std::string write_sweep_summary(const std::filesystem::path& dir, const std::string& key,
                                       const std::vector<std::pair<std::filesystem::path, std::string>>& runs) {
  std::string csv = "setting,best_test_acc,final_test_acc,best_epoch,final_train_loss,final_test_loss,seconds\n";
  std::string md = "| " + key + " | best test acc | final test acc | epoch of best | final train loss | final test loss | wall time (s) |\n"
                   "|---|---|---|---|---|---|---|\n";
  for (const auto& [file, label] : runs) {
    const auto rows = read_metrics_csv(file);
    if (rows.empty()) continue;
    // An epoch not evaluated (NaN) ranks below every evaluated one.
    const auto best = std::max_element(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
      return !std::isnan(b.test_accuracy) && (std::isnan(a.test_accuracy) || a.test_accuracy < b.test_accuracy);
    });
    double seconds = 0;
    for (const auto& r : rows) seconds += r.seconds;
    const std::string value = label.substr(key.size() + 1);
    char line[512];
    std::snprintf(line, sizeof line, "%s,%.4f,%.4f,%d,%.4f,%.4f,%.1f\n", value.c_str(), best->test_accuracy,
                  rows.back().test_accuracy, best->epoch, rows.back().train_loss, rows.back().test_loss, seconds);
    csv += line;
    std::snprintf(line, sizeof line, "| %s | %.2f %% | %.2f %% | %d | %.4f | %.4f | %.0f |\n", value.c_str(),
                  100 * best->test_accuracy, 100 * rows.back().test_accuracy, best->epoch, rows.back().train_loss,
                  rows.back().test_loss, seconds);
    md += line;
  }
  write_file_atomically(dir / "summary.csv", csv);
  write_file_atomically(dir / "summary.md", md);
  return md;
}

}  // namespace ctnn::train
