#pragma once
// The trainer's part of a checkpoint (train/trainer.hpp): a typed record, written field by field
// into the checkpoint's metadata (io/checkpoint.hpp keeps the network, the optimizer, the random
// state and the position) and read back with a check of every field, so a bad or foreign file is
// refused with the name of the field and what was expected.
//
//   TrainRecord r;  ...                        // what a resume needs beyond the weights
//   write_record(r, state.metadata);          // "trainer.version" = "1", "trainer.threads", ...
//   TrainRecord back = read_record(file);     // throws io::Error naming the field on a mismatch
//
// Encoding: integers in decimal, floating-point numbers as the 16 hex digits of their bits (so a
// resumed run's running sums are the same bits), strings as they are, the metrics history as rows
// of such numbers. Parsed with std::from_chars and checked to the last character.
//
// The run's identity (RunIdentity: the options that shape its trajectory, e.g. model, lr, batch
// size) is recorded as "train.<key>" entries and compared as text on resume.
#include <bit>
#include <charconv>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "ctnn/io/safetensors_format.hpp"
#include "ctnn/train/loop.hpp"
#include "ctnn/train/metrics.hpp"

namespace ctnn::train {

inline constexpr int kTrainRecordVersion = 1;

// The options that decide a run's trajectory, as (key, value) text: a resumed run must have the
// same. Keys are shown as command-line options (--key) in the messages.
using RunIdentity = std::vector<std::pair<std::string, std::string>>;

struct TrainRecord {
  int version = kTrainRecordVersion;
  int epochs = 0;              // the run's planned epochs (not checked: a resume may extend the run)
  int threads = 0;             // thread_width() of the run that wrote it (another: a warning, not bit-identical)
  std::optional<int> processes;  // data-parallel processes (Strategy::size()); absent: 1. Must match
  std::string precision;       // "fp32" | "bf16": must match
  EpochTally tally;            // the epoch in progress (batches done, running sums)
  double total_seconds = 0;    // wall time of the finished epochs
  double train_seconds = 0;    // training part of it
  std::vector<EpochMetrics> history;  // the finished epochs' figures
  std::optional<long long> lookahead_k;  // set: the run has Lookahead; its slow weights are a tensor
  long long lookahead_syncs = 0;
  std::optional<double> ema_decay;       // set: the run keeps an EMA; its averages are a tensor
  long long ema_updates = 0;
  // Data-parallel runs: each process's own running loss sum of the epoch in progress (tally.loss_sum
  // is their total). A resumed process continues its own, so the epoch's loss is bit-identical to an
  // uninterrupted run's: continuing from the total would add the same numbers in another order.
  std::optional<std::vector<double>> process_loss_sums;
};

inline constexpr const char* kLookaheadTensor = "trainer.lookahead.slow";
inline constexpr const char* kEmaTensor = "trainer.ema.average";

namespace detail {

inline std::string hex_bits(double v) {
  char buf[17];
  const auto r = std::to_chars(buf, buf + 16, std::bit_cast<std::uint64_t>(v), 16);
  return std::string(static_cast<std::size_t>(16 - (r.ptr - buf)), '0') + std::string(buf, r.ptr);
}

template <class T>
bool parse_whole(std::string_view s, T& out, int base = 10) {
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out, base);
  return !s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size();
}

inline bool parse_bits(std::string_view s, double& out) {
  std::uint64_t bits = 0;
  if (s.size() != 16 || !parse_whole(s, bits, 16)) return false;
  out = std::bit_cast<double>(bits);
  return true;
}

// One field's text and its parser; the parser's `expected` says what the text should be.
template <class T>
struct Codec;

template <class T>
  requires std::is_integral_v<T>
struct Codec<T> {
  static constexpr const char* expected = "an integer";
  static std::string encode(T v) { return std::to_string(v); }
  static bool decode(std::string_view s, T& v) { return parse_whole(s, v); }
};
template <>
struct Codec<double> {
  static constexpr const char* expected = "a 64-bit float as 16 hex digits of its bits";
  static std::string encode(double v) { return hex_bits(v); }
  static bool decode(std::string_view s, double& v) { return parse_bits(s, v); }
};
template <>
struct Codec<std::string> {
  static constexpr const char* expected = "text";
  static std::string encode(const std::string& v) { return v; }
  static bool decode(std::string_view s, std::string& v) {
    v = s;
    return true;
  }
};
// Floats as 16 hex digits of their bits, ',' between them.
template <>
struct Codec<std::vector<double>> {
  static constexpr const char* expected = "16-hex-digit floats with ',' between them";
  static std::string encode(const std::vector<double>& v) {
    std::string s;
    for (std::size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + hex_bits(v[i]);
    return s;
  }
  static bool decode(std::string_view s, std::vector<double>& v) {
    v.clear();
    while (true) {
      const auto comma = s.find(',');
      double x = 0;
      if (!parse_bits(s.substr(0, comma), x)) return false;
      v.push_back(x);
      if (comma == std::string_view::npos) return true;
      s.remove_prefix(comma + 1);
    }
  }
};
// Rows "epoch,train_loss,train_acc,test_loss,test_acc,seconds,img_s;" with the numbers as bits.
template <>
struct Codec<std::vector<EpochMetrics>> {
  static constexpr const char* expected = "rows of an epoch and six 16-hex-digit floats, ';' after each";
  static std::string encode(const std::vector<EpochMetrics>& rows) {
    std::string s;
    for (const auto& m : rows) {
      s += std::to_string(m.epoch);
      for (double v : {m.train_loss, m.train_accuracy, m.test_loss, m.test_accuracy, m.seconds, m.images_per_second}) {
        s += ',';
        s += hex_bits(v);
      }
      s += ";";
    }
    return s;
  }
  static bool decode(std::string_view s, std::vector<EpochMetrics>& rows) {
    rows.clear();
    while (!s.empty()) {
      const auto end = s.find(';');
      if (end == std::string_view::npos) return false;
      std::string_view row = s.substr(0, end);
      s.remove_prefix(end + 1);
      EpochMetrics m;
      double* fields[] = {&m.train_loss, &m.train_accuracy, &m.test_loss, &m.test_accuracy, &m.seconds,
                          &m.images_per_second};
      auto comma = row.find(',');
      if (!parse_whole(row.substr(0, comma), m.epoch)) return false;
      for (double* f : fields) {
        if (comma == std::string_view::npos) return false;
        row.remove_prefix(comma + 1);
        comma = row.find(',');
        if (!parse_bits(row.substr(0, comma), *f)) return false;
      }
      if (comma != std::string_view::npos) return false;
      rows.push_back(m);
    }
    return true;
  }
};

// Every field of the record, with its metadata name; `optional` ones are absent when unset.
template <class Record, class F>
void for_each_field(Record& r, F&& f) {
  f("trainer.epochs", r.epochs);
  f("trainer.threads", r.threads);
  f("trainer.processes", r.processes);
  f("trainer.precision", r.precision);
  f("trainer.tally.loss_sum", r.tally.loss_sum);
  f("trainer.tally.correct", r.tally.correct);
  f("trainer.tally.samples", r.tally.samples);
  f("trainer.tally.batches", r.tally.batches);
  f("trainer.tally.skipped", r.tally.skipped);
  f("trainer.tally.skipped_in_a_row", r.tally.skipped_in_a_row);
  f("trainer.tally.seconds", r.tally.seconds);
  f("trainer.tally.last_finite_loss", r.tally.last_finite_loss);
  f("trainer.tally.last_finite_epoch", r.tally.last_finite_epoch);
  f("trainer.tally.last_finite_step", r.tally.last_finite_step);
  f("trainer.total_seconds", r.total_seconds);
  f("trainer.train_seconds", r.train_seconds);
  f("trainer.history", r.history);
  f("trainer.lookahead.k", r.lookahead_k);
  f("trainer.lookahead.syncs", r.lookahead_syncs);
  f("trainer.ema.decay", r.ema_decay);
  f("trainer.ema.updates", r.ema_updates);
  f("trainer.tally.process_loss_sums", r.process_loss_sums);
}

}  // namespace detail

// Adds the record's fields (and its version) to checkpoint metadata.
inline void write_record(const TrainRecord& r, std::map<std::string, std::string>& meta) {
  meta["trainer.version"] = std::to_string(r.version);
  detail::for_each_field(r, [&](const char* name, const auto& v) {
    using V = std::decay_t<decltype(v)>;
    if constexpr (requires { v.has_value(); }) {
      if (v) meta[name] = detail::Codec<typename V::value_type>::encode(*v);
    } else {
      meta[name] = detail::Codec<V>::encode(v);
    }
  });
}

// Reads the record from a checkpoint file; every field must be there (optional ones may be
// absent) and parse whole, else io::Error names the file, the field and what it should be.
inline TrainRecord read_record(const io::File& f) {
  const auto& meta = f.metadata();
  const auto fail = [&](const std::string& field, const std::string& what) {
    throw io::Error("checkpoint " + io::detail::quote(f.source()) + ": field " + io::detail::quote(field) + " " + what);
  };
  TrainRecord r;
  const auto version = meta.find("trainer.version");
  if (version == meta.end()) fail("trainer.version", "is missing (not a checkpoint of ctnn::train::Trainer?)");
  if (!detail::parse_whole(version->second, r.version) || r.version != kTrainRecordVersion)
    fail("trainer.version", "is " + io::detail::quote(version->second) + ", this program reads version " +
                                std::to_string(kTrainRecordVersion));
  detail::for_each_field(r, [&](const char* name, auto& v) {
    using V = std::decay_t<decltype(v)>;
    const auto it = meta.find(name);
    if constexpr (requires { v.has_value(); }) {
      if (it == meta.end()) return;
      typename V::value_type x{};
      if (!detail::Codec<typename V::value_type>::decode(it->second, x))
        fail(name, "is " + io::detail::quote(it->second) + ", expected " + detail::Codec<typename V::value_type>::expected);
      v = x;
    } else {
      if (it == meta.end()) fail(name, "is missing");
      if (!detail::Codec<V>::decode(it->second, v))
        fail(name, "is " + io::detail::quote(it->second) + ", expected " + detail::Codec<V>::expected);
    }
  });
  return r;
}

// Adds the run's identity to checkpoint metadata ("train.<key>").
inline void write_identity(const RunIdentity& id, std::map<std::string, std::string>& meta) {
  for (const auto& [key, value] : id) meta["train." + key] = value;
}

// Refuses a checkpoint whose identity differs from this run's, naming the first key that does
// (the identity's order: put the likeliest mix-up, e.g. the model, first).
inline void check_identity(const io::File& f, const RunIdentity& id) {
  for (const auto& [key, value] : id) {
    const auto it = f.metadata().find("train." + key);
    if (it == f.metadata().end())
      throw io::Error("--resume: " + f.source() + " does not record --" + key + " (not a checkpoint of this program?)");
    if (it->second != value)
      throw io::Error("--resume: the checkpoint was trained with --" + key + " " + it->second + ", this run has --" + key +
                      " " + value + "; pass the same options (or leave them unset) to continue it");
  }
}

}  // namespace ctnn::train
