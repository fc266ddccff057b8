#pragma once
// Saving and loading a network's parameters and BatchNorm running statistics in the
// safetensors format (https://github.com/huggingface/safetensors), which Python's
// `safetensors` and PyTorch read and write.
//
//   #include <ctnn/io/safetensors.hpp>        // needs nlohmann/json (Debian: nlohmann-json3-dev)
//   ctnn::io::save(net, "model.safetensors");                              // ctnn names
//   ctnn::io::save(net, "model.safetensors", {.naming = ctnn::io::Naming::torch});
//   ctnn::io::load(net, "model.safetensors");   // either naming; throws ctnn::io::Error
//
// This header is optional: <ctnn/ctnn.hpp> does not include it, so programs that never save
// do not need the JSON library.
//
// File layout and parsing: ctnn/io/safetensors_format.hpp.
//
// Names. A ctnn network names its tensors "<layer index>.<tensor>" with ctnn's layer indices
// (Sequential::parameters() and buffers()): "0.weight", "1.running_mean", ... PyTorch needs an
// nn.Flatten before the first Linear (ctnn's Linear flattens implicitly), so in the equivalent
// torch.nn.Sequential every layer from the first Linear on (unless an explicit ctnn Flatten
// comes before it) sits one index later: for the seed network ctnn's "8.weight" is torch's
// "9.weight". save() writes ctnn names unless SaveOptions::naming is Naming::torch; load()
// accepts either naming (it picks the one that matches more of the network's tensors and
// reports differences against it). torch_name<Net>() converts one name.
//
// Tensors written per layer: Conv and Linear "weight" and "bias"; BatchNorm "weight", "bias",
// "running_mean", "running_var" (float32 for a float network, F64 for a double one) and
// "num_batches_tracked" (I64 scalar, shape []), which torch's load_state_dict(strict=True)
// requires. It is optional on load (its value is returned, not used: ctnn's BatchNorm always
// uses momentum 0.1).
//
// Loading checks the whole file against the network before changing anything: a missing or
// unexpected tensor, a wrong dtype or shape, a truncated file, a header that is not valid JSON
// or not the expected structure, offsets outside the data section or not tiling it all throw
// ctnn::io::Error naming the file, the tensor and what differs. The parser never reads outside
// the bytes it is given (fuzzed: fuzz/fuzz_safetensors.cpp).
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ctnn/core/parameter.hpp"
#include "ctnn/io/atomic_file.hpp"
#include "ctnn/layers/flatten.hpp"
#include "ctnn/layers/linear.hpp"
#include "ctnn/io/safetensors_format.hpp"

namespace ctnn::io {

// ---- networks ------------------------------------------------------------------------------

enum class Naming { ctnn, torch };

inline const char* naming_name(Naming n) { return n == Naming::ctnn ? "ctnn" : "torch"; }

// Where a bound layer sits in the equivalent torch.nn.Sequential, keyed on its type (a trait, not
// its printed name). ctnn's Linear flattens its input itself, where torch needs an nn.Flatten
// module before it; a Flatten is that module. Every other layer is one torch module.
template <class Layer>
struct TorchFlattening {
  static constexpr bool needs_flatten_before = false;  // torch has an nn.Flatten just before it
  static constexpr bool leaves_input_flat = false;      // after it, a Linear needs no nn.Flatten
};
template <class T, class In, std::size_t Out, bool Bias, std::size_t Position>
struct TorchFlattening<LinearLayer<T, In, Out, Bias, Position>> {
  static constexpr bool needs_flatten_before = true;
  static constexpr bool leaves_input_flat = true;
};
template <class T, class In, std::size_t Position>
struct TorchFlattening<FlattenLayer<T, In, Position>> {
  static constexpr bool needs_flatten_before = false;
  static constexpr bool leaves_input_flat = true;
};

// For each ctnn layer index, the index of the same layer in the equivalent torch.nn.Sequential
// (which has an nn.Flatten just before the first Linear not preceded by a ctnn Flatten).
template <class Net>
constexpr std::array<std::size_t, Net::depth> torch_indices() {
  std::array<bool, Net::depth> needs{}, leaves{};
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    ((needs[I] = TorchFlattening<typename Net::template layer_type<I>>::needs_flatten_before,
      leaves[I] = TorchFlattening<typename Net::template layer_type<I>>::leaves_input_flat),
     ...);
  }(std::make_index_sequence<Net::depth>{});
  std::array<std::size_t, Net::depth> out{};
  std::size_t shift = 0;
  bool flat = false;
  for (std::size_t i = 0; i < Net::depth; ++i) {
    if (needs[i] && !flat) ++shift;  // torch's Flatten takes index i
    flat = flat || leaves[i];
    out[i] = i + shift;
  }
  return out;
}

// "8.weight" (ctnn) -> "9.weight" (torch) for a network whose layer 8 is its first Linear.
template <class Net>
std::string torch_name(std::string_view ctnn_name) {
  const auto dot = ctnn_name.find('.');
  std::size_t index = 0;
  const auto digits = ctnn_name.substr(0, dot);
  if (dot == std::string_view::npos || digits.empty() || digits.size() > 6 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    throw Error("torch_name: " + detail::quote(ctnn_name) + " is not a ctnn tensor name (\"<layer>.<tensor>\")");
  for (char c : digits) index = index * 10 + static_cast<std::size_t>(c - '0');
  if (index >= Net::depth)
    throw Error("torch_name: " + detail::quote(ctnn_name) + " names layer " + std::to_string(index) +
                " but the network has " + std::to_string(Net::depth) + " layers");
  return std::to_string(torch_indices<Net>()[index]) + std::string(ctnn_name.substr(dot));
}

template <class Net>
std::string tensor_name(std::string_view ctnn_name, Naming naming) {
  return naming == Naming::torch ? torch_name<Net>(ctnn_name) : std::string(ctnn_name);
}

struct SaveOptions {
  Naming naming = Naming::ctnn;
  // Write "<i>.num_batches_tracked" (I64, shape []) for each BatchNorm, as torch's state_dict
  // has, with this value (torch counts the train-mode forward passes; a trainer passes its
  // optimizer's step count).
  bool num_batches_tracked = true;
  std::int64_t batches_tracked = 0;
  // Extra "__metadata__" entries (string -> string).
  std::map<std::string, std::string> metadata{};
};

struct LoadOptions {
  // Ignore tensors the network does not have (instead of failing), e.g. a checkpoint's
  // optimizer state.
  bool allow_unexpected = false;
};

struct LoadResult {
  Naming naming = Naming::ctnn;                    // the naming the file uses
  std::optional<std::int64_t> batches_tracked;     // the first BatchNorm's num_batches_tracked, if stored
  std::map<std::string, std::string> metadata;     // the file's "__metadata__"
};

namespace detail {

// What the network holds, in the order save() writes it: per layer, parameters, then buffers,
// then num_batches_tracked for a BatchNorm.
template <class T>
struct Slot {
  std::string name;  // ctnn naming
  T* value = nullptr;  // nullptr: num_batches_tracked
  std::size_t size = 0;
  std::vector<std::size_t> dims;
};

template <class Net>
std::vector<Slot<typename Net::scalar>> network_slots(Net& net) {
  using T = typename Net::scalar;
  std::vector<Slot<T>> slots;
  const auto params = net.parameters();
  const auto buffers = net.buffers();
  auto layer_of = [](const std::string& name) { return std::stoul(name.substr(0, name.find('.'))); };
  std::size_t p = 0, b = 0;
  for (std::size_t layer = 0; layer < Net::depth; ++layer) {
    for (; p < params.size() && layer_of(params[p].name) == layer; ++p)
      slots.push_back({params[p].name, params[p].value, params[p].size, params[p].dims});
    bool running_stats = false;
    for (; b < buffers.size() && layer_of(buffers[b].name) == layer; ++b) {
      slots.push_back({buffers[b].name, buffers[b].value, buffers[b].size, buffers[b].dims});
      running_stats |= buffers[b].kind == ParamKind::running_mean;
    }
    if (running_stats) slots.push_back({std::to_string(layer) + ".num_batches_tracked", nullptr, 1, {}});
  }
  return slots;
}

}  // namespace detail

// Adds the network's tensors to a Writer (used by save() and by checkpoints).
template <class Net>
void add_network(Writer& w, Net& net, const SaveOptions& options = {}) {
  for (const auto& s : detail::network_slots(net)) {
    const std::string name = tensor_name<Net>(s.name, options.naming);
    if (s.value) {
      w.add(name, std::vector<std::uint64_t>(s.dims.begin(), s.dims.end()), s.value, s.size);
    } else if (options.num_batches_tracked) {
      const std::int64_t v = options.batches_tracked;
      w.add(name, {}, &v, 1);
    }
  }
}

// The bytes of a safetensors file holding the network.
template <class Net>
std::string to_bytes(Net& net, const SaveOptions& options = {}) {
  Writer w;
  add_network(w, net, options);
  for (const auto& [k, v] : options.metadata) w.metadata()[k] = v;
  w.metadata()["format"] = "pt";  // what safetensors.torch.save_file writes
  return w.bytes();
}

// Saves the network to `path` (atomically: see write_file_atomically).
template <class Net>
void save(Net& net, const std::filesystem::path& path, const SaveOptions& options = {}) {
  write_file_atomically(path, to_bytes(net, options));
}

// Loads a parsed file into the network. Everything is checked before anything is changed: on
// an Error the network is as it was.
template <class Net>
LoadResult load(Net& net, const File& file, const LoadOptions& options = {}) {
  using T = typename Net::scalar;
  const auto slots = detail::network_slots(net);

  // The naming that matches more of the network's tensors (ctnn on a tie: then they agree).
  std::size_t ctnn_hits = 0, torch_hits = 0;
  for (const auto& s : slots) {
    ctnn_hits += file.find(s.name) != nullptr;
    torch_hits += file.find(torch_name<Net>(s.name)) != nullptr;
  }
  LoadResult result;
  result.naming = torch_hits > ctnn_hits ? Naming::torch : Naming::ctnn;
  result.metadata = file.metadata();

  std::vector<std::string> problems;
  std::set<std::string> used;
  std::vector<std::pair<const detail::Slot<T>*, const TensorEntry*>> copies;
  const std::string want_dtype(dtype_of<T>());
  for (const auto& s : slots) {
    const std::string name = tensor_name<Net>(s.name, result.naming);
    const TensorEntry* e = file.find(name);
    const std::vector<std::uint64_t> want_shape(s.dims.begin(), s.dims.end());
    if (!s.value) {  // num_batches_tracked: optional, I64 scalar
      if (!e) continue;
      used.insert(name);
      if (e->dtype != "I64" || e->numel() != 1 || e->shape.size() > 1)
        problems.push_back("tensor " + detail::quote(name) + " is " + e->dtype + " " + shape_string(e->shape) +
                           ", expected I64 [] (a BatchNorm's num_batches_tracked)");
      else if (!result.batches_tracked) {
        std::int64_t v = 0;
        detail::decode_le(file.data(*e).data(), &v, 1);
        result.batches_tracked = v;
      }
      continue;
    }
    if (!e) {
      std::string alt;
      const std::string other = result.naming == Naming::ctnn ? torch_name<Net>(s.name) : s.name;
      if (other != name && file.find(other))
        alt = " (the file has " + detail::quote(other) + ", the " +
              (result.naming == Naming::ctnn ? "torch" : "ctnn") + " name, but mixes namings)";
      problems.push_back("tensor " + detail::quote(name) + " (" + want_dtype + " " + shape_string(want_shape) +
                         ") is missing" + alt);
      continue;
    }
    used.insert(name);
    bool ok = true;
    if (e->dtype != want_dtype) {
      problems.push_back("tensor " + detail::quote(name) + " has dtype " + e->dtype + ", the network needs " +
                         want_dtype);
      ok = false;
    }
    if (e->shape != want_shape) {
      problems.push_back("tensor " + detail::quote(name) + " has shape " + shape_string(e->shape) +
                         ", the network needs " + shape_string(want_shape));
      ok = false;
    }
    if (ok) copies.emplace_back(&s, e);
  }
  if (!options.allow_unexpected)
    for (const auto& e : file.tensors())
      if (!used.count(e.name))
        problems.push_back("unexpected tensor " + detail::quote(e.name) + " (" + e.dtype + " " +
                           shape_string(e.shape) + "): the network has no tensor of that name");
  if (!problems.empty()) {
    std::string msg = "safetensors file " + detail::quote(file.source()) + " does not match the network (" +
                      naming_name(result.naming) + " names; " + std::to_string(problems.size()) + " problem" +
                      (problems.size() == 1 ? "" : "s") + "):";
    const std::size_t shown = std::min<std::size_t>(problems.size(), 20);
    for (std::size_t i = 0; i < shown; ++i) msg += "\n  " + problems[i];
    if (shown < problems.size()) msg += "\n  ... and " + std::to_string(problems.size() - shown) + " more";
    throw Error(msg);
  }
  for (const auto& [s, e] : copies) file.copy_to(*e, s->value, s->size);
  return result;
}

template <class Net>
LoadResult load(Net& net, std::span<const std::uint8_t> bytes, const LoadOptions& options = {},
                std::string source = "<memory>") {
  return load(net, File::parse(bytes, std::move(source)), options);
}

template <class Net>
LoadResult load(Net& net, const std::filesystem::path& path, const LoadOptions& options = {}) {
  return load(net, File::read(path), options);
}

}  // namespace ctnn::io
