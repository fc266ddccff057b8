#pragma once
// Exporting a network to ONNX (opset 17), for inference in ONNX Runtime, OpenCV's dnn module
// or any other ONNX consumer:
//
//   #include <ctnn/io/onnx.hpp>       // like safetensors.hpp, needs nlohmann/json
//   ctnn::io::save_onnx(net, "seed.onnx",
//                       ctnn::io::onnx_options(ctnn::data::kCifar10Normalize, {"airplane", ...}, "seed"));
//
// The graph's input "input" is [N, C, H, W] float pixels in [0, 1] (the uint8 image / 255, in
// the data set's channel order), N dynamic; its first nodes apply the input normalisation the
// network was trained with, (x - mean[c]) / std[c], so a consumer feeds plain pixels. Its output
// "logits" is [N, classes] (softmax gives probabilities). metadata_props record "ctnn.classes",
// "ctnn.normalize.mean", "ctnn.normalize.std", "ctnn.input" and "ctnn.model".
//
// Layers become standard operators (docs/onnx.md has the table): Conv (stride, padding, groups,
// with or without bias) -> Conv; BatchNorm -> BatchNormalization with the running statistics
// (eval mode, not folded; affine = false gets constant ones and zeros); ReLU -> Relu;
// LeakyReLU -> LeakyRelu; GELU -> its exact form 0.5 x (1 + Erf(x / sqrt 2)) in five nodes
// (opset 17 has no Gelu); MaxPool / AvgPool -> MaxPool / AveragePool (no padding, floor
// mode, as ctnn); GlobalAvgPool / GlobalMaxPool -> GlobalAveragePool / GlobalMaxPool;
// Flatten -> Flatten; Linear -> Gemm (after a Flatten when its input is spatial, ctnn's
// implicit flatten); Scale -> Mul by a constant; Dropout -> nothing (identity at inference);
// Residual -> its body's nodes, the shortcut's (if any), then Add.
//
// Dispatch is on the bound layer's class template (OnnxExport below), never on kind_name. A
// layer without an OnnxExport specialisation is a compile-time error; to export a layer of
// your own, specialise ctnn::io::OnnxExport for its bound type.
//
// Initializers carry the network's safetensors names ("0.weight", "3.1.running_var", ...; the
// walk of io/safetensors.hpp), and a double network is exported in float32.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "ctnn/layers/activation.hpp"
#include "ctnn/layers/batchnorm.hpp"
#include "ctnn/layers/chain.hpp"
#include "ctnn/layers/conv.hpp"
#include "ctnn/layers/dropout.hpp"
#include "ctnn/layers/flatten.hpp"
#include "ctnn/layers/global_pool.hpp"
#include "ctnn/layers/linear.hpp"
#include "ctnn/layers/pool.hpp"
#include "ctnn/layers/relu.hpp"
#include "ctnn/layers/residual.hpp"
#include "ctnn/io/onnx_graph.hpp"
#include "ctnn/io/safetensors.hpp"
#include "ctnn/version.hpp"

namespace ctnn::io {

struct OnnxOptions {
  // The input normalisation the network was trained with, one value per input channel
  // (mean 0 and std 1 for a network that takes pixels / 255 as they are).
  std::vector<float> mean{};
  std::vector<float> std{};
  std::vector<std::string> class_names{};         // optional: one per output, no commas
  std::string model_name{};                       // optional: the graph's name and "ctnn.model"
  std::map<std::string, std::string> metadata{};  // further metadata_props
};

// Options from a ctnn::data::Normalize (or anything with per-channel .mean and .std arrays).
template <class Normalize>
OnnxOptions onnx_options(const Normalize& n, std::vector<std::string> class_names, std::string model_name = {}) {
  return {{n.mean.begin(), n.mean.end()}, {n.std.begin(), n.std.end()}, std::move(class_names), std::move(model_name), {}};
}

namespace onnx {

// A value in the graph: its name, and whether it is [N, C, H, W] (rank 4) or [N, F] (rank 2).
struct Value {
  std::string name;
  int rank = 4;
};

// The state of one export: the graph, and the network's tensors by their safetensors names
// (io::detail::network_slots, the walk io::save uses), each of which must be exported once.
template <class T>
class Exporter {
 public:
  Exporter(std::vector<io::detail::Slot<T>> slots, std::string graph_name) : graph(std::move(graph_name)) {
    for (auto& s : slots)
      if (s.value) tensors_.emplace(s.name, std::move(s));  // not num_batches_tracked
  }

  Graph graph;

  // The network's tensor `name` (e.g. "3.1.weight") as an initializer of the same name.
  std::string tensor(const std::string& name) {
    const auto it = tensors_.find(name);
    if (it == tensors_.end()) throw Error("ONNX export: the network has no tensor '" + name + "'");
    if (!exported_.insert(name).second) throw Error("ONNX export: tensor '" + name + "' exported twice");
    const auto& s = it->second;
    return graph.initializer(name, std::vector<std::int64_t>(s.dims.begin(), s.dims.end()),
                             std::span<const T>(s.value, s.size));
  }

  // A constant of the export itself (normalisation, GELU's factors, ...); dims {} is a scalar.
  std::string constant(std::string name, const std::vector<std::int64_t>& dims, const std::vector<float>& values) {
    return graph.initializer(std::move(name), dims, std::span<const float>(values));
  }

  // x as [N, C, H, W] for a spatial operator: a [N, F] value (F = C, H = W = 1) is reshaped.
  template <class Shape>
  Value spatial(const Value& x, const std::string& name) {
    if (x.rank == 4) return x;
    const std::vector<std::int64_t> shape{0, static_cast<std::int64_t>(Shape::channels),
                                          static_cast<std::int64_t>(Shape::height), static_cast<std::int64_t>(Shape::width)};
    const auto dims = graph.initializer_int64(name + "_shape", {4}, shape);
    return {graph.node("Reshape", name, {x.name, dims}), 4};
  }
  // x as [N, F] (NCHW order, as ctnn's Linear and torch.flatten(x, 1) read it).
  Value flat(const Value& x, const std::string& name) {
    if (x.rank == 2) return x;
    return {graph.node("Flatten", name, {x.name}, {attribute("axis", std::int64_t{1})}), 2};
  }

  // Every tensor of the network made it into the graph (a layer that left one out would give
  // other numbers than ctnn).
  void check_complete() const {
    for (const auto& [name, slot] : tensors_)
      if (!exported_.count(name)) throw Error("ONNX export: tensor '" + name + "' of the network was not exported");
  }

 private:
  std::map<std::string, io::detail::Slot<T>> tensors_;
  std::set<std::string> exported_;
};

}  // namespace onnx

namespace detail {
template <class>
inline constexpr bool no_onnx_form = false;
}  // namespace detail

// How one bound layer becomes ONNX nodes: emit(exporter, input value, path) adds them and
// returns the output value. `path` is the layer's place in the safetensors names ("3" for
// layer 3, "3.1" inside the block at 3), which prefixes its tensors and nodes.
template <class Layer>
struct OnnxExport {
  static_assert(detail::no_onnx_form<Layer>,
                "ctnn::io::save_onnx: the network has a layer with no ONNX form; the 'OnnxExport<...>' line of "
                "this error names its type. Specialise ctnn::io::OnnxExport<ThatLayer> (docs/onnx.md) or export a "
                "network without it");
  template <class Ex>  // only so that the assertion above is the one error
  static onnx::Value emit(Ex&, const onnx::Value& x, const std::string&) {
    return x;
  }
};

namespace onnx {
// Emits the layers of a Sequential or a Chain in order; layer I's path is prefix + I.
template <class Layers, class Ex>
Value emit_layers(Ex& ex, Value x, const std::string& prefix) {
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    ((x = OnnxExport<typename Layers::template layer_type<I>>::emit(ex, x, prefix + std::to_string(I))), ...);
  }(std::make_index_sequence<Layers::depth>{});
  return x;
}

inline std::vector<std::int64_t> pair(std::size_t v) { return {static_cast<std::int64_t>(v), static_cast<std::int64_t>(v)}; }
}  // namespace onnx

template <class T, class In, std::size_t Cin, std::size_t Cout, std::size_t K, std::size_t Stride, std::size_t Pad,
          std::size_t Groups, bool Bias, std::size_t P>
struct OnnxExport<ConvLayer<T, In, Cin, Cout, K, Stride, Pad, Groups, Bias, P>> {
  template <class Ex>
  static onnx::Value emit(Ex& ex, const onnx::Value& x, const std::string& path) {
    const auto in = ex.template spatial<In>(x, path + ".reshape");
    std::vector<std::string> inputs{in.name, ex.tensor(path + ".weight")};
    if constexpr (Bias) inputs.push_back(ex.tensor(path + ".bias"));
    const auto p = static_cast<std::int64_t>(Pad);
    return {ex.graph.node("Conv", path, inputs,
                          {onnx::attribute("kernel_shape", onnx::pair(K)), onnx::attribute("strides", onnx::pair(Stride)),
                           onnx::attribute("pads", std::vector<std::int64_t>{p, p, p, p}),
                           onnx::attribute("dilations", onnx::pair(1)),
                           onnx::attribute("group", static_cast<std::int64_t>(Groups))}),
            4};
  }
};

// Eval-mode BatchNormalization on the running statistics; ONNX's momentum is 1 - PyTorch's
// (it only matters for training). BatchNorm1d after a Linear normalises a [N, F] value.
template <class T, class In, BatchNormOptions O, std::size_t P>
struct OnnxExport<BatchNormLayer<T, In, O, P>> {
  template <class Ex>
  static onnx::Value emit(Ex& ex, const onnx::Value& x, const std::string& path) {
    constexpr std::size_t C = In::channels;
    const auto c = static_cast<std::int64_t>(C);
    const std::string scale = O.affine ? ex.tensor(path + ".weight")
                                       : ex.constant(path + ".fixed_weight", {c}, std::vector<float>(C, 1.0f));
    const std::string shift = O.affine ? ex.tensor(path + ".bias")
                                       : ex.constant(path + ".fixed_bias", {c}, std::vector<float>(C, 0.0f));
    const std::string mean = ex.tensor(path + ".running_mean"), var = ex.tensor(path + ".running_var");
    return {ex.graph.node("BatchNormalization", path, {x.name, scale, shift, mean, var},
                          {onnx::attribute("epsilon", static_cast<float>(O.eps)),
                           onnx::attribute("momentum", static_cast<float>(1.0 - O.momentum))}),
            x.rank};
  }
};

template <class T, class In, std::size_t P>
struct OnnxExport<ReLULayer<T, In, P>> {
  template <class Ex>
  static onnx::Value emit(Ex& ex, const onnx::Value& x, const std::string& path) {
    return {ex.graph.node("Relu", path, {x.name}), x.rank};
  }
};

template <class T, class In, double Slope, std::size_t P>
struct OnnxExport<LeakyReLULayer<T, In, Slope, P>> {
  template <class Ex>
  static onnx::Value emit(Ex& ex, const onnx::Value& x, const std::string& path) {
    return {ex.graph.node("LeakyRelu", path, {x.name}, {onnx::attribute("alpha", static_cast<float>(Slope))}), x.rank};
  }
};

// The exact GELU in ctnn's order of operations: (0.5 x) (1 + erf(x * (1 / sqrt 2))).
template <class T, class In, std::size_t P>
struct OnnxExport<GELULayer<T, In, P>> {
  template <class Ex>
  static onnx::Value emit(Ex& ex, const onnx::Value& x, const std::string& path) {
    auto& g = ex.graph;
    const auto scaled = g.node("Mul", path + ".scaled", {x.name, ex.constant(path + ".inv_sqrt2", {}, {0.70710678118654752440f})});
    const auto erf = g.node("Erf", path + ".erf", {scaled});
    const auto one_plus = g.node("Add", path + ".one_plus_erf", {erf, ex.constant(path + ".one", {}, {1.0f})});
    const auto half = g.node("Mul", path + ".half_x", {x.name, ex.constant(path + ".half", {}, {0.5f})});
    return {g.node("Mul", path, {half, one_plus}), x.rank};
  }
};

template <class T, class In, double S, std::size_t P>
struct OnnxExport<ScaleLayer<T, In, S, P>> {
  template <class Ex>
  static onnx::Value emit(Ex& ex, const onnx::Value& x, const std::string& path) {
    return {ex.graph.node("Mul", path, {x.name, ex.constant(path + ".factor", {}, {static_cast<float>(S)})}), x.rank};
  }
};

// Dropout is the identity in eval mode: no node.
template <class T, class In, double Prob, std::size_t P>
struct OnnxExport<DropoutLayer<T, In, Prob, P>> {
  template <class Ex>
  static onnx::Value emit(Ex&, const onnx::Value& x, const std::string&) {
    return x;
  }
};

template <class T, class In, std::size_t P>
struct OnnxExport<FlattenLayer<T, In, P>> {
  template <class Ex>
  static onnx::Value emit(Ex& ex, const onnx::Value& x, const std::string& path) {
    return ex.flat(x, path);
  }
};

template <class T, class In, std::size_t Out, bool Bias, std::size_t P>
struct OnnxExport<LinearLayer<T, In, Out, Bias, P>> {
  template <class Ex>
  static onnx::Value emit(Ex& ex, const onnx::Value& x, const std::string& path) {
    const auto in = ex.flat(x, path + ".flatten");
    std::vector<std::string> inputs{in.name, ex.tensor(path + ".weight")};
    if constexpr (Bias) inputs.push_back(ex.tensor(path + ".bias"));
    return {ex.graph.node("Gemm", path, inputs, {onnx::attribute("transB", std::int64_t{1})}), 2};
  }
};

// Pooling without padding in floor mode (ceil_mode 0), as ctnn's pooling layers.
template <class In, std::size_t K, std::size_t Stride, class Ex>
onnx::Value emit_pool(Ex& ex, const onnx::Value& x, const std::string& path, const char* op) {
  const auto in = ex.template spatial<In>(x, path + ".reshape");
  return {ex.graph.node(op, path, {in.name},
                        {onnx::attribute("kernel_shape", onnx::pair(K)), onnx::attribute("strides", onnx::pair(Stride)),
                         onnx::attribute("ceil_mode", std::int64_t{0})}),
          4};
}
template <class T, class In, std::size_t K, std::size_t Stride, std::size_t P>
struct OnnxExport<MaxPoolLayer<T, In, K, Stride, P>> {
  template <class Ex>
  static onnx::Value emit(Ex& ex, const onnx::Value& x, const std::string& path) {
    return emit_pool<In, K, Stride>(ex, x, path, "MaxPool");
  }
};
template <class T, class In, std::size_t K, std::size_t Stride, std::size_t P>
struct OnnxExport<AvgPoolLayer<T, In, K, Stride, P>> {
  template <class Ex>
  static onnx::Value emit(Ex& ex, const onnx::Value& x, const std::string& path) {
    return emit_pool<In, K, Stride>(ex, x, path, "AveragePool");
  }
};

template <class T, class In, std::size_t P>
struct OnnxExport<GlobalAvgPoolLayer<T, In, P>> {
  template <class Ex>
  static onnx::Value emit(Ex& ex, const onnx::Value& x, const std::string& path) {
    return {ex.graph.node("GlobalAveragePool", path, {ex.template spatial<In>(x, path + ".reshape").name}), 4};
  }
};
template <class T, class In, std::size_t P>
struct OnnxExport<GlobalMaxPoolLayer<T, In, P>> {
  template <class Ex>
  static onnx::Value emit(Ex& ex, const onnx::Value& x, const std::string& path) {
    return {ex.graph.node("GlobalMaxPool", path, {ex.template spatial<In>(x, path + ".reshape").name}), 4};
  }
};

// y = body(x) + x, or body(x) + shortcut(x); inner tensors are "<block>.<i>.*" and
// "<block>.shortcut.<i>.*", as io::save names them.
template <class T, class In, std::size_t P, class Projection, class... Specs>
struct OnnxExport<ResidualLayer<T, In, P, Projection, Specs...>> {
  template <class Ex>
  static onnx::Value emit(Ex& ex, const onnx::Value& x, const std::string& path) {
    using Out = typename ResidualLayer<T, In, P, Projection, Specs...>::out_shape;
    auto body = onnx::emit_layers<Chain<T, In, P, 0, Specs...>>(ex, x, path + ".");
    auto skip = x;
    if constexpr (!std::is_void_v<Projection>) skip = onnx::emit_layers<Projection>(ex, x, path + ".shortcut.");
    if (body.rank != skip.rank) {  // both [N, F] or both [N, F, 1, 1]
      body = ex.template spatial<Out>(body, path + ".body_reshape");
      skip = ex.template spatial<Out>(skip, path + ".skip_reshape");
    }
    return {ex.graph.node("Add", path, {body.name, skip.name}), body.rank};
  }
};

namespace detail {

inline std::string join_numbers(const std::vector<float>& v) {
  std::string s;
  for (const float x : v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(x));  // nine digits give the float back
    if (!s.empty()) s += ',';
    s += buf;
  }
  return s;
}

// What a request must satisfy; throws io::Error naming the option.
template <class Net>
void check_onnx_request(const OnnxOptions& o) {
  using In = typename Net::in_shape;
  const auto channels = std::to_string(In::channels);
  if (o.mean.size() != In::channels || o.std.size() != In::channels)
    throw Error("ONNX export: OnnxOptions::mean and ::std hold " + std::to_string(o.mean.size()) + " and " +
                std::to_string(o.std.size()) + " values, the network's input has " + channels +
                " channels (give the normalisation it was trained with; mean 0 and std 1 for raw pixels / 255)");
  for (std::size_t c = 0; c < In::channels; ++c)
    if (!std::isfinite(o.mean[c]) || !std::isfinite(o.std[c]) || !(o.std[c] > 0))
      throw Error("ONNX export: channel " + std::to_string(c) + " has mean " + std::to_string(o.mean[c]) + " and std " +
                  std::to_string(o.std[c]) + "; the mean must be finite and the std finite and greater than 0");
  if (!o.class_names.empty() && o.class_names.size() != Net::out_shape::size)
    throw Error("ONNX export: OnnxOptions::class_names names " + std::to_string(o.class_names.size()) +
                " classes, the network has " + std::to_string(Net::out_shape::size) + " outputs");
  for (const auto& c : o.class_names)
    if (c.empty() || c.find(',') != std::string::npos)
      throw Error("ONNX export: class name '" + c + "' is empty or holds a comma (\"ctnn.classes\" is comma-separated)");
}

}  // namespace detail

// The bytes of the ONNX model of `net` (eval mode: BatchNorm on its running statistics,
// Dropout off). Throws io::Error for a request that does not fit the network.
template <class Net>
std::string to_onnx(Net& net, const OnnxOptions& o) {
  using In = typename Net::in_shape;
  using T = typename Net::scalar;
  detail::check_onnx_request<Net>(o);
  onnx::ModelInfo info;
  info.producer_version = CTNN_VERSION;
  const std::string shape = std::to_string(In::channels) + "x" + std::to_string(In::height) + "x" + std::to_string(In::width);
  info.metadata = {{"ctnn.input", shape},
                   {"ctnn.normalize.mean", detail::join_numbers(o.mean)},
                   {"ctnn.normalize.std", detail::join_numbers(o.std)}};
  if (!o.class_names.empty()) {
    std::string classes;
    for (const auto& c : o.class_names) {
      if (!classes.empty()) classes += ',';
      classes += c;
    }
    info.metadata["ctnn.classes"] = classes;
  }
  if (!o.model_name.empty()) info.metadata["ctnn.model"] = o.model_name;
  for (const auto& [k, v] : o.metadata)
    if (!info.metadata.emplace(k, v).second)
      throw Error("ONNX export: OnnxOptions::metadata key '" + k + "' is one the export writes itself");
  info.doc = "ctnn network" + (o.model_name.empty() ? std::string() : " '" + o.model_name + "'") + ": input [N, " + shape +
             "] float pixels in [0, 1] (uint8 / 255, NCHW), normalised by the graph; output [N, " +
             std::to_string(Net::out_shape::size) + "] logits";

  onnx::Exporter<T> ex(io::detail::network_slots(net), o.model_name.empty() ? "ctnn" : o.model_name);
  const auto c = static_cast<std::int64_t>(In::channels);
  ex.graph.input("input", {onnx::kDynamic, c, static_cast<std::int64_t>(In::height), static_cast<std::int64_t>(In::width)},
                 "pixels / 255 in [0, 1], NCHW");
  // [C, 1, 1] constants broadcast over [N, C, H, W] (OpenCV 4.6 mis-reads [1, C, 1, 1] ones here).
  const auto centred = ex.graph.node("Sub", "input.centred", {"input", ex.constant("input.mean", {c, 1, 1}, o.mean)});
  onnx::Value x{ex.graph.node("Div", "input.normalized", {centred, ex.constant("input.std", {c, 1, 1}, o.std)}), 4};
  x = onnx::emit_layers<Net>(ex, x, "");
  ex.check_complete();
  // The logits as [N, classes] (a no-op Flatten when the last layer is a Linear).
  ex.graph.node("Flatten", "logits", {x.name}, {onnx::attribute("axis", std::int64_t{1})});
  ex.graph.output("logits", {onnx::kDynamic, static_cast<std::int64_t>(Net::out_shape::size)}, "logits per class");
  return onnx::model_bytes(ex.graph, info);
}

// Writes the ONNX model of `net` to `path`, atomically (io::write_file_atomically). A request
// that does not fit the network or a path that cannot be written throws io::Error naming it;
// nothing is written then.
template <class Net>
void save_onnx(Net& net, const std::filesystem::path& path, const OnnxOptions& options) {
  const std::string bytes = to_onnx(net, options);
  try {
    write_file_atomically(path, bytes);
  } catch (const Error& e) {
    throw Error("cannot write the ONNX model to '" + path.string() + "': " + e.what());
  }
}

}  // namespace ctnn::io
