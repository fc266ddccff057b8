#pragma once
// Training checkpoints: everything needed to continue a run exactly where it stopped, in one
// safetensors file written atomically (a temporary file, synced, then renamed), so a crash at
// any moment leaves the previous checkpoint whole.
//
//   ctnn::io::CheckpointState st{.epoch = e, .batch = 0, .rng = net.rng().state()};
//   ctnn::io::save_checkpoint(dir / "checkpoint.safetensors", net, optimizer, st);
//   ...
//   auto st = ctnn::io::load_checkpoint(dir / "checkpoint.safetensors", net, optimizer);
//   net.rng().set_state(st.rng);  // (load_checkpoint does this)
//
// Contents (a valid safetensors file; Python reads it with the same few lines as a model):
//   - the network's tensors with ctnn names (parameters, BatchNorm running statistics and
//     num_batches_tracked = the optimizer's step count), exactly as io::save writes them;
//   - "optimizer.state": the optimizer's whole state arena (OptimizerBase::state(): SGD's
//     momentum buffers, Adam's two moments), 1-D, F32 (F64 for a double network);
//   - "__metadata__": "ctnn.checkpoint" = "1", "ctnn.epoch" (epochs finished), "ctnn.batch"
//     (batches of the next epoch already trained: 0 at an epoch boundary, more when the run
//     was interrupted mid-epoch), "ctnn.optimizer_steps", "ctnn.rng" (the network's random
//     state, four hex words) and the trainer's own entries (CheckpointState::metadata).
//
// Loading checks the file against both the network and the optimizer before changing either.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "ctnn/core/random.hpp"
#include "ctnn/io/safetensors.hpp"

namespace ctnn::io {

struct CheckpointState {
  std::int64_t epoch = 0;            // epochs completed
  std::int64_t batch = 0;            // batches of epoch `epoch` (0-based) already trained
  std::int64_t optimizer_steps = 0;  // set from the optimizer by save_checkpoint
  Rng::State rng{};                  // the network's random state (Dropout masks)
  std::map<std::string, std::string> metadata{};  // the trainer's own entries (recipe, running sums, ...)
};

// A tensor a trainer keeps beside the network's (Lookahead's slow weights, an EMA): saved from
// `data`, and loaded into it after its size was checked.
template <class T>
struct CheckpointTensor {
  std::string name;
  T* data = nullptr;
  std::size_t size = 0;
};

inline constexpr const char* kCheckpointVersion = "1";
inline constexpr const char* kOptimizerStateName = "optimizer.state";

namespace detail {

inline std::string rng_to_string(const Rng::State& s) {
  char buf[4 * 17 + 1];
  std::snprintf(buf, sizeof buf, "%016llx %016llx %016llx %016llx", static_cast<unsigned long long>(s.s[0]),
                static_cast<unsigned long long>(s.s[1]), static_cast<unsigned long long>(s.s[2]),
                static_cast<unsigned long long>(s.s[3]));
  return buf;
}

inline bool rng_from_string(const std::string& text, Rng::State& out) {
  if (text.size() != 4 * 16 + 3) return false;
  for (int w = 0; w < 4; ++w) {
    std::uint64_t v = 0;
    for (int i = 0; i < 16; ++i) {
      const char c = text[static_cast<std::size_t>(w * 17 + i)];
      int d = -1;
      if (c >= '0' && c <= '9') d = c - '0';
      else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
      if (d < 0) return false;
      v = (v << 4) | static_cast<std::uint64_t>(d);
    }
    if (w < 3 && text[static_cast<std::size_t>(w * 17 + 16)] != ' ') return false;
    out.s[w] = v;
  }
  return true;
}

inline std::int64_t parse_count(const File& f, const std::string& key) {
  const auto it = f.metadata().find(key);
  if (it == f.metadata().end())
    throw Error("checkpoint " + quote(f.source()) + ": metadata entry " + quote(key) + " is missing");
  const std::string& s = it->second;
  std::int64_t v = 0;
  if (s.empty() || s.size() > 18) v = -1;
  for (char c : s) {
    if (c < '0' || c > '9') {
      v = -1;
      break;
    }
    v = v * 10 + (c - '0');
  }
  if (v < 0)
    throw Error("checkpoint " + quote(f.source()) + ": metadata entry " + quote(key) + " is " + quote(s) +
                ", not a non-negative integer");
  return v;
}

}  // namespace detail

// The bytes of a checkpoint file.
template <class Net, class Optimizer>
std::string checkpoint_bytes(Net& net, Optimizer& optimizer, const CheckpointState& state,
                             const std::vector<CheckpointTensor<typename Net::scalar>>& extra = {}) {
  using T = typename Net::scalar;
  Writer w;
  SaveOptions options;
  options.batches_tracked = optimizer.steps();
  add_network(w, net, options);
  auto& s = optimizer.state();
  w.add<T>(kOptimizerStateName, {s.size()}, s.data(), s.size());
  for (const auto& e : extra) w.add<T>(e.name, {e.size}, e.data, e.size);
  for (const auto& [k, v] : state.metadata) w.metadata()[k] = v;
  w.metadata()["ctnn.checkpoint"] = kCheckpointVersion;
  w.metadata()["ctnn.epoch"] = std::to_string(state.epoch);
  w.metadata()["ctnn.batch"] = std::to_string(state.batch);
  w.metadata()["ctnn.optimizer_steps"] = std::to_string(optimizer.steps());
  w.metadata()["ctnn.rng"] = detail::rng_to_string(state.rng);
  return w.bytes();
}

// Writes a checkpoint to `path` atomically (creating its folder if needed).
template <class Net, class Optimizer>
void save_checkpoint(const std::filesystem::path& path, Net& net, Optimizer& optimizer, const CheckpointState& state,
                     const std::vector<CheckpointTensor<typename Net::scalar>>& extra = {}) {
  if (path.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) throw Error("cannot create checkpoint folder " + detail::quote(path.parent_path().string()) + ": " + ec.message());
  }
  write_file_atomically(path, checkpoint_bytes(net, optimizer, state, extra));
}

// Restores the network (parameters, running statistics, random state) and the optimizer
// (state arena, step count) from a parsed checkpoint, and returns the rest. Nothing changes
// unless the whole file matches. `extra` names the caller's own tensors, which must be there
// with these sizes (and are filled in).
template <class Net, class Optimizer>
CheckpointState load_checkpoint(const File& f, Net& net, Optimizer& optimizer,
                                const std::vector<CheckpointTensor<typename Net::scalar>>& extra = {}) {
  using T = typename Net::scalar;
  const auto& meta = f.metadata();
  const auto version = meta.find("ctnn.checkpoint");
  if (version == meta.end())
    throw Error("checkpoint " + detail::quote(f.source()) +
                ": not a ctnn checkpoint (no \"ctnn.checkpoint\" metadata entry; a model file is loaded with io::load)");
  if (version->second != kCheckpointVersion)
    throw Error("checkpoint " + detail::quote(f.source()) + ": version " + detail::quote(version->second) +
                ", this program reads version " + kCheckpointVersion);
  CheckpointState st;
  st.epoch = detail::parse_count(f, "ctnn.epoch");
  st.batch = detail::parse_count(f, "ctnn.batch");
  st.optimizer_steps = detail::parse_count(f, "ctnn.optimizer_steps");
  const auto rng = meta.find("ctnn.rng");
  if (rng == meta.end() || !detail::rng_from_string(rng->second, st.rng))
    throw Error("checkpoint " + detail::quote(f.source()) +
                ": metadata entry \"ctnn.rng\" is missing or not four 16-digit hex words");
  const TensorEntry* opt = f.find(kOptimizerStateName);
  auto& s = optimizer.state();
  if (!opt)
    throw Error("checkpoint " + detail::quote(f.source()) + ": tensor \"" + kOptimizerStateName + "\" is missing");
  if (opt->dtype != dtype_of<T>() || opt->shape.size() != 1 || opt->shape[0] != s.size())
    throw Error(f.where(kOptimizerStateName) + " is " + opt->dtype + " " + shape_string(opt->shape) +
                ", this optimizer's state is " + std::string(dtype_of<T>()) + " [" + std::to_string(s.size()) +
                "] (a different optimizer or network?)");
  for (const auto& e : extra) {
    const TensorEntry* t = f.find(e.name);
    if (!t)
      throw Error("checkpoint " + detail::quote(f.source()) + ": tensor " + detail::quote(e.name) +
                  " is missing (the checkpoint was written by a run without it)");
    if (t->dtype != dtype_of<T>() || t->shape.size() != 1 || t->shape[0] != e.size)
      throw Error(f.where(e.name) + " is " + t->dtype + " " + shape_string(t->shape) + ", this run expects " +
                  std::string(dtype_of<T>()) + " [" + std::to_string(e.size) + "] (a different network?)");
  }
  // Besides the optimizer state and the caller's tensors, only the network's own tensors (ctnn names) may be there.
  std::set<std::string, std::less<>> known{kOptimizerStateName};
  for (const auto& e : extra) known.insert(e.name);
  for (const auto& p : net.parameters()) known.insert(p.name);
  for (const auto& b : net.buffers()) {
    known.insert(b.name);
    if (b.kind == ParamKind::running_mean)
      known.insert(b.name.substr(0, b.name.size() - 12) + "num_batches_tracked");
  }
  for (const auto& e : f.tensors()) {
    if (!known.count(e.name))
      throw Error(f.where(e.name) + ": unexpected in a checkpoint of this network (another network, or not a checkpoint)");
  }
  LoadOptions lo;
  lo.allow_unexpected = true;
  load(net, f, lo);  // checks the network's tensors, then copies them
  f.copy_to(*opt, s.data(), s.size());
  for (const auto& e : extra) f.copy_to(*f.find(e.name), e.data, e.size);
  optimizer.set_steps(st.optimizer_steps);
  net.rng().set_state(st.rng);
  for (const auto& [k, v] : meta)
    if (!k.starts_with("ctnn.")) st.metadata[k] = v;
  return st;
}

template <class Net, class Optimizer>
CheckpointState load_checkpoint(const std::filesystem::path& path, Net& net, Optimizer& optimizer,
                                const std::vector<CheckpointTensor<typename Net::scalar>>& extra = {}) {
  return load_checkpoint(File::read(path), net, optimizer, extra);
}

}  // namespace ctnn::io
