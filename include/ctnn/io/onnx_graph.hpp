#pragma once
// An ONNX graph under construction and its serialisation as an ONNX ModelProto (IR version 8,
// opset 17), written with the protobuf wire-format writer of io/protobuf.hpp. It knows ONNX's
// messages and field numbers (onnx/onnx.proto of ONNX 1.12), not networks: io/onnx.hpp walks a
// network and calls node() and initializer() here.
//
// Names: every node has one output, named as the node; initializers keep the names they are
// given (the network's safetensors names). A name used twice throws io::Error.
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ctnn/io/protobuf.hpp"
#include "ctnn/io/safetensors.hpp"

namespace ctnn::io::onnx {

inline constexpr std::int64_t kIrVersion = 8;  // ONNX 1.10 - 1.12
inline constexpr std::int64_t kOpset = 17;     // the highest opset of ONNX 1.12
inline constexpr std::int64_t kDynamic = -1;   // in a value's dims: the batch dimension, dim_param "N"

// TensorProto.DataType and AttributeProto.AttributeType values.
enum class DataType : std::int64_t { float32 = 1, int64 = 7 };
enum class AttributeType : std::int64_t { f = 1, i = 2, floats = 6, ints = 7 };

// One AttributeProto of a node.
struct Attribute {
  protobuf::Writer proto;
};
inline Attribute attribute(std::string_view name, std::int64_t value) {
  Attribute a;
  a.proto.string(1, name);
  a.proto.int64(20, static_cast<std::int64_t>(AttributeType::i));
  a.proto.int64(3, value);
  return a;
}
inline Attribute attribute(std::string_view name, float value) {
  Attribute a;
  a.proto.string(1, name);
  a.proto.int64(20, static_cast<std::int64_t>(AttributeType::f));
  a.proto.fixed32(2, value);
  return a;
}
inline Attribute attribute(std::string_view name, std::vector<std::int64_t> values) {
  Attribute a;
  a.proto.string(1, name);
  a.proto.int64(20, static_cast<std::int64_t>(AttributeType::ints));
  a.proto.packed_int64(8, values);
  return a;
}

class Graph {
 public:
  explicit Graph(std::string name) : name_(std::move(name)) {}

  // Adds a node computing `op` of `inputs`; returns its output's name, which is `name`.
  std::string node(std::string_view op, std::string name, const std::vector<std::string>& inputs,
                   const std::vector<Attribute>& attributes = {}) {
    claim(name);
    protobuf::Writer n;
    for (const auto& in : inputs) n.string(1, in);
    n.string(2, name);
    n.string(3, name);
    n.string(4, op);
    for (const auto& a : attributes) n.message(5, a.proto);
    nodes_.message(1, n);
    return name;
  }

  // Adds a float32 initializer (raw little-endian data); returns its name.
  template <class T>
  std::string initializer(std::string name, const std::vector<std::int64_t>& dims, std::span<const T> values) {
    std::vector<float> f(values.begin(), values.end());
    std::string raw;
    io::detail::encode_le(f.data(), f.size(), raw);
    return add_tensor(std::move(name), dims, DataType::float32, raw);
  }
  std::string initializer_int64(std::string name, const std::vector<std::int64_t>& dims,
                                std::span<const std::int64_t> values) {
    std::string raw;
    io::detail::encode_le(values.data(), values.size(), raw);
    return add_tensor(std::move(name), dims, DataType::int64, raw);
  }

  // The graph's float32 input and output; dims may hold kDynamic (the batch, "N").
  void input(const std::string& name, const std::vector<std::int64_t>& dims, std::string_view doc = {}) {
    claim(name);
    inputs_.message(11, value_info(name, dims, doc));
  }
  void output(const std::string& name, const std::vector<std::int64_t>& dims, std::string_view doc = {}) {
    outputs_.message(12, value_info(name, dims, doc));
  }

  // The GraphProto: nodes, name, initializers, input, output (a message's fields may come in
  // any order; a repeated field's elements keep theirs).
  protobuf::Writer proto() const {
    protobuf::Writer g = nodes_;
    g.string(2, name_);
    g.append_raw(initializers_.bytes());
    g.append_raw(inputs_.bytes());
    g.append_raw(outputs_.bytes());
    return g;
  }

 private:
  void claim(const std::string& name) {
    if (name.empty() || !names_.insert(name).second)
      throw Error("ONNX graph: the value name '" + name + "' is empty or used twice");
  }

  std::string add_tensor(std::string name, const std::vector<std::int64_t>& dims, DataType type,
                         const std::string& raw) {
    claim(name);
    protobuf::Writer t;
    t.packed_int64(1, dims);
    t.int64(2, static_cast<std::int64_t>(type));
    t.string(8, name);
    t.string(9, raw);
    initializers_.message(5, t);
    return name;
  }

  static protobuf::Writer value_info(const std::string& name, const std::vector<std::int64_t>& dims,
                                     std::string_view doc) {
    protobuf::Writer shape;
    for (const auto d : dims) {
      protobuf::Writer dim;
      if (d == kDynamic) dim.string(2, "N");
      else dim.int64(1, d);
      shape.message(1, dim);
    }
    protobuf::Writer tensor;
    tensor.int64(1, static_cast<std::int64_t>(DataType::float32));
    tensor.message(2, shape);
    protobuf::Writer type;
    type.message(1, tensor);
    protobuf::Writer v;
    v.string(1, name);
    v.message(2, type);
    if (!doc.empty()) v.string(3, doc);
    return v;
  }

  std::string name_;
  std::set<std::string> names_;
  protobuf::Writer nodes_, initializers_, inputs_, outputs_;
};

struct ModelInfo {
  std::string producer_name = "ctnn";
  std::string producer_version;
  std::string doc;
  std::map<std::string, std::string> metadata;  // metadata_props
};

// The ModelProto holding `graph`: the bytes of a .onnx file.
inline std::string model_bytes(const Graph& graph, const ModelInfo& info) {
  protobuf::Writer m;
  m.int64(1, kIrVersion);
  m.string(2, info.producer_name);
  m.string(3, info.producer_version);
  if (!info.doc.empty()) m.string(6, info.doc);
  m.message(7, graph.proto());
  protobuf::Writer opset;
  opset.string(1, "");
  opset.int64(2, kOpset);
  m.message(8, opset);
  for (const auto& [k, v] : info.metadata) {
    protobuf::Writer e;
    e.string(1, k);
    e.string(2, v);
    m.message(14, e);
  }
  return m.take();
}

}  // namespace ctnn::io::onnx
