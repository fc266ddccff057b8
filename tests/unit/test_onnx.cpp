// ONNX export: the protobuf wire format round-trips, the written bytes hold the graph that
// docs/onnx.md describes (decoded here with protobuf::Reader, no ONNX library), and bad requests
// and unwritable paths throw io::Error naming the problem. tests/onnx/ runs the files in real
// ONNX consumers.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <ctnn/ctnn.hpp>
#include <ctnn/data/transforms.hpp>
#include <ctnn/io/onnx.hpp>
#include <ctnn/io/protobuf.hpp>

#include "support/layer_zoo.hpp"

using namespace ctnn;
namespace pb = ctnn::io::protobuf;
namespace fs = std::filesystem;

namespace {

// A message's fields by number, in order. Payloads are views into `bytes`, which must outlive them.
std::multimap<std::uint32_t, pb::Field> fields(std::string_view bytes) {
  std::multimap<std::uint32_t, pb::Field> out;
  pb::Reader r(bytes);
  pb::Field f;
  while (r.next(f)) out.emplace(f.number, f);
  return out;
}
std::vector<pb::Field> all(const std::multimap<std::uint32_t, pb::Field>& m, std::uint32_t number) {
  std::vector<pb::Field> out;
  for (auto [it, end] = m.equal_range(number); it != end; ++it) out.push_back(it->second);
  return out;
}
std::string_view str(const std::multimap<std::uint32_t, pb::Field>& m, std::uint32_t number) {
  const auto it = m.find(number);
  REQUIRE(it != m.end());
  return it->second.payload;
}
std::vector<std::int64_t> packed(std::string_view payload) {
  std::vector<std::int64_t> out;
  pb::Reader r(payload);
  while (!r.done()) out.push_back(static_cast<std::int64_t>(r.read_varint()));
  return out;
}

struct Decoded {
  std::multimap<std::uint32_t, pb::Field> model, graph;
  std::vector<std::string> ops, node_names;
  std::map<std::string, std::string> metadata;
  std::map<std::string, std::string> raw;  // initializer name -> raw_data
  std::map<std::string, std::vector<std::int64_t>> dims;
};

// `bytes` must outlive the result.
Decoded decode(const std::string& bytes) {
  Decoded d;
  d.model = fields(bytes);
  d.graph = fields(str(d.model, 7));
  for (const auto& n : all(d.graph, 1)) {
    const auto node = fields(n.payload);
    d.ops.emplace_back(str(node, 4));
    d.node_names.emplace_back(str(node, 3));
  }
  for (const auto& t : all(d.graph, 5)) {
    const auto tensor = fields(t.payload);
    const std::string name(str(tensor, 8));
    d.raw[name] = str(tensor, 9);
    d.dims[name] = packed(str(tensor, 1));
  }
  for (const auto& e : all(d.model, 14)) {
    const auto entry = fields(e.payload);
    d.metadata[std::string(str(entry, 1))] = str(entry, 2);
  }
  return d;
}

// A value_info's dims, dim_param "N" as -1.
std::vector<std::int64_t> value_dims(std::string_view value_info) {
  const auto type = fields(str(fields(value_info), 2));
  const auto tensor = fields(str(type, 1));
  CHECK(tensor.find(1)->second.value == 1);  // float32
  std::vector<std::int64_t> out;
  for (const auto& d : all(fields(str(tensor, 2)), 1)) {
    const auto dim = fields(d.payload);
    if (dim.count(2)) {
      CHECK(str(dim, 2) == "N");
      out.push_back(-1);
    } else {
      out.push_back(static_cast<std::int64_t>(dim.find(1)->second.value));
    }
  }
  return out;
}

std::string bytes_of(const float* v, std::size_t n) { return std::string(reinterpret_cast<const char*>(v), n * sizeof(float)); }

using Tiny = Sequential<Input<2, 6, 6>, Conv<2, 4, 3>, BatchNorm, ReLU, MaxPool<2>, Linear<3>>;

io::OnnxOptions tiny_options() {
  return {{0.5f, 0.25f}, {0.2f, 0.1f}, {"cat", "dog", "frog"}, "tiny", {{"note", "hello"}}};
}


}  // namespace

TEST_CASE("onnx: protobuf varints and fields decode to what was written") {
  pb::Writer w;
  const std::vector<std::uint64_t> values{0, 1, 127, 128, 300, 16383, 16384, (1ull << 32) + 5, ~0ull};
  for (std::size_t i = 0; i < values.size(); ++i) w.varint(static_cast<std::uint32_t>(i + 1), values[i]);
  w.int64(20, -2);
  w.fixed32(21, 0.1f);
  w.string(22, "hello");
  w.packed_int64(23, std::vector<std::int64_t>{3, -1, 1 << 20});
  pb::Writer nested;
  nested.string(1, "inner");
  w.message(536870911, nested);  // the largest field number
  CHECK(w.bytes().substr(0, 2) == std::string("\x08\x00", 2));
  CHECK(w.bytes().substr(6, 3) == "\x20\x80\x01");  // field 4 = 128: key 4 << 3, then 0x80 0x01

  pb::Reader r(w.bytes());
  pb::Field f;
  for (std::size_t i = 0; i < values.size(); ++i) {
    REQUIRE(r.next(f));
    CHECK(f.number == i + 1);
    CHECK(f.type == pb::WireType::varint);
    CHECK(f.value == values[i]);
  }
  REQUIRE(r.next(f));
  CHECK(static_cast<std::int64_t>(f.value) == -2);
  REQUIRE(r.next(f));
  CHECK(f.type == pb::WireType::fixed32);
  CHECK(f.as_float() == 0.1f);
  REQUIRE(r.next(f));
  CHECK(f.payload == "hello");
  REQUIRE(r.next(f));
  CHECK(packed(f.payload) == std::vector<std::int64_t>{3, -1, 1 << 20});
  REQUIRE(r.next(f));
  CHECK(f.number == 536870911);
  CHECK(str(fields(f.payload), 1) == "inner");
  CHECK_FALSE(r.next(f));

  CHECK_THROWS_AS(w.varint(0, 1), std::invalid_argument);
  CHECK_THROWS_AS(w.varint(1u << 29, 1), std::invalid_argument);
  const std::string truncated = w.bytes().substr(0, w.bytes().size() - 2);
  pb::Reader bad(truncated);
  CHECK_THROWS_AS([&] { while (bad.next(f)) {} }(), pb::DecodeError);
  const std::string eleven(11, '\x80');
  pb::Reader endless(eleven);
  CHECK_THROWS_AS(endless.read_varint(), pb::DecodeError);
}

TEST_CASE("onnx: a tiny network's ONNX bytes: model header, nodes in order, initializers, input, output, metadata") {
  Tiny net(3);
  const auto bytes = io::to_onnx(net, tiny_options());
  const auto d = decode(bytes);
  CHECK(d.model.find(1)->second.value == 8);  // IR version
  CHECK(str(d.model, 2) == "ctnn");
  CHECK(str(d.model, 3) == CTNN_VERSION);
  const auto opset = fields(str(d.model, 8));
  CHECK(str(opset, 1).empty());
  CHECK(opset.find(2)->second.value == 17);
  CHECK(str(d.graph, 2) == "tiny");

  CHECK(d.ops == std::vector<std::string>{"Sub", "Div", "Conv", "BatchNormalization", "Relu", "MaxPool", "Flatten", "Gemm",
                                          "Flatten"});
  CHECK(d.node_names == std::vector<std::string>{"input.centred", "input.normalized", "0", "1", "2", "3", "4.flatten", "4",
                                                 "logits"});

  // The network's tensors under their safetensors names, byte for byte (float32 little-endian).
  for (const auto& p : net.parameters()) {
    REQUIRE(d.raw.count(p.name));
    CHECK(d.raw.at(p.name) == bytes_of(p.value, p.size));
    CHECK(d.dims.at(p.name) == std::vector<std::int64_t>(p.dims.begin(), p.dims.end()));
  }
  for (const auto& b : net.buffers()) CHECK(d.raw.at(b.name) == bytes_of(b.value, b.size));
  const float mean[] = {0.5f, 0.25f}, sd[] = {0.2f, 0.1f};
  CHECK(d.raw.at("input.mean") == bytes_of(mean, 2));
  CHECK(d.raw.at("input.std") == bytes_of(sd, 2));
  CHECK(d.dims.at("input.mean") == std::vector<std::int64_t>{2, 1, 1});
  CHECK(d.raw.size() == 2 + 2 + 4 + 2);  // normalisation, conv, batchnorm, linear

  const auto inputs = all(d.graph, 11), outputs = all(d.graph, 12);
  REQUIRE(inputs.size() == 1);
  REQUIRE(outputs.size() == 1);
  CHECK(str(fields(inputs[0].payload), 1) == "input");
  CHECK(value_dims(inputs[0].payload) == std::vector<std::int64_t>{-1, 2, 6, 6});
  CHECK(str(fields(outputs[0].payload), 1) == "logits");
  CHECK(value_dims(outputs[0].payload) == std::vector<std::int64_t>{-1, 3});

  CHECK(d.metadata == std::map<std::string, std::string>{{"ctnn.classes", "cat,dog,frog"},
                                                         {"ctnn.input", "2x6x6"},
                                                         {"ctnn.model", "tiny"},
                                                         {"ctnn.normalize.mean", "0.5,0.25"},
                                                         {"ctnn.normalize.std", "0.200000003,0.100000001"},
                                                         {"note", "hello"}});
}

TEST_CASE("onnx: node attributes: Conv stride, padding and groups, BatchNorm eps and ONNX momentum, Gemm transB") {
  using Net = Sequential<Input<4, 9, 9>, Conv<4, 4, 3, 2, 1, 2, false>, BatchNormWith<BatchNormOptions{.momentum = 0.4, .eps = 1e-3}>,
                         Linear<2>>;
  Net net(1);
  const auto bytes = io::to_onnx(net, {.mean = {0, 0, 0, 0}, .std = {1, 1, 1, 1}});
  const auto model = fields(bytes);
  std::map<std::string, std::map<std::string, pb::Field>> attrs;  // node -> attribute -> its proto's value field
  std::map<std::string, std::vector<std::string>> inputs;
  for (const auto& n : all(fields(str(model, 7)), 1)) {
    const auto node = fields(n.payload);
    for (const auto& in : all(node, 1)) inputs[std::string(str(node, 3))].emplace_back(in.payload);
    for (const auto& a : all(node, 5)) {
      const auto attr = fields(a.payload);
      const auto type = attr.find(20)->second.value;
      const std::uint32_t value_field = type == 1 ? 2 : type == 2 ? 3 : 8;
      attrs[std::string(str(node, 3))][std::string(str(attr, 1))] = attr.find(value_field)->second;
    }
  }
  CHECK(packed(attrs["0"]["kernel_shape"].payload) == std::vector<std::int64_t>{3, 3});
  CHECK(packed(attrs["0"]["strides"].payload) == std::vector<std::int64_t>{2, 2});
  CHECK(packed(attrs["0"]["pads"].payload) == std::vector<std::int64_t>{1, 1, 1, 1});
  CHECK(attrs["0"]["group"].value == 2);
  CHECK(inputs["0"] == std::vector<std::string>{"input.normalized", "0.weight"});  // no bias
  CHECK(attrs["1"]["epsilon"].as_float() == 1e-3f);
  CHECK(attrs["1"]["momentum"].as_float() == doctest::Approx(0.6f));
  CHECK(inputs["1"] == std::vector<std::string>{"0", "1.weight", "1.bias", "1.running_mean", "1.running_var"});
  CHECK(attrs["2"]["transB"].value == 1);
  CHECK(inputs["2"] == std::vector<std::string>{"2.flatten", "2.weight", "2.bias"});
}

TEST_CASE("onnx: every layer kind exports, in order, with every network tensor") {
  testing::LayerZoo net(5);
  const std::vector<float> mean(3, 0.0f), sd(3, 1.0f);
  const auto bytes = io::to_onnx(net, {.mean = mean, .std = sd});
  const auto d = decode(bytes);
  const std::vector<std::string> gelu{"Mul", "Erf", "Add", "Mul", "Mul"};
  std::vector<std::string> want{"Sub", "Div", "Conv", "BatchNormalization", "LeakyRelu", "Conv", "BatchNormalization"};
  want.insert(want.end(), gelu.begin(), gelu.end());
  for (const char* op : {"AveragePool", "Conv", "BatchNormalization", "Relu", "Conv", "Add",                 // identity skip
                         "Conv", "Relu", "Conv", "BatchNormalization", "Add",                                // projection
                         "MaxPool", "GlobalMaxPool", "Flatten", "Gemm", "BatchNormalization", "Relu", "Gemm",  // no Dropout
                         "Mul", "Reshape", "Conv"})
    want.emplace_back(op);
  want.insert(want.end(), gelu.begin(), gelu.end());
  for (const char* op : {"GlobalAveragePool", "Flatten", "Gemm", "Flatten"}) want.emplace_back(op);
  CHECK(d.ops == want);
  CHECK(d.raw.count("8.shortcut.0.weight"));
  CHECK(d.raw.count("8.shortcut.1.weight"));  // the frozen weight, a buffer
  CHECK(d.raw.count("4.fixed_weight"));       // affine = false: constant ones
  CHECK(d.dims.at("3.weight") == std::vector<std::int64_t>{8, 1, 3, 3});
  for (const auto& p : net.parameters()) CHECK(d.raw.count(p.name));
  for (const auto& b : net.buffers()) CHECK(d.raw.count(b.name));
  CHECK(d.metadata.count("ctnn.classes") == 0);  // none given
}

TEST_CASE("onnx: save_onnx writes the file atomically, and bad requests and unwritable paths throw naming the problem") {
  Tiny net(3);
  const fs::path dir = fs::temp_directory_path() / "ctnn_test_onnx";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path file = dir / "tiny.onnx";
  std::ofstream(file) << "old";
  io::save_onnx(net, file, tiny_options());
  std::ifstream in(file, std::ios::binary);
  const std::string written((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(written == io::to_onnx(net, tiny_options()));
  CHECK_FALSE(fs::exists(dir / "tiny.onnx.tmp"));

  const auto error = [&](const io::OnnxOptions& o, const fs::path& path) -> std::string {
    try {
      io::save_onnx(net, path, o);
    } catch (const io::Error& e) {
      return e.what();
    }
    return "";
  };
  const fs::path missing = dir / "no-such-folder" / "m.onnx";
  CHECK(error(tiny_options(), missing).find("cannot write the ONNX model to '" + missing.string() + "'") == 0);
  CHECK_FALSE(fs::exists(missing.parent_path()));

  auto o = tiny_options();
  o.mean = {0.5f};
  CHECK(error(o, dir / "bad.onnx").find("hold 1 and 2 values, the network's input has 2 channels") != std::string::npos);
  o = tiny_options();
  o.std[1] = 0;
  CHECK(error(o, dir / "bad.onnx").find("channel 1 has mean") != std::string::npos);
  o = tiny_options();
  o.class_names.pop_back();
  CHECK(error(o, dir / "bad.onnx").find("names 2 classes, the network has 3 outputs") != std::string::npos);
  o = tiny_options();
  o.class_names[0] = "a,b";
  CHECK(error(o, dir / "bad.onnx").find("class name 'a,b'") != std::string::npos);
  o = tiny_options();
  o.metadata["ctnn.classes"] = "x";
  CHECK(error(o, dir / "bad.onnx").find("metadata key 'ctnn.classes'") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "bad.onnx"));
  fs::remove_all(dir);
}

TEST_CASE("onnx: a double network is exported in float32") {
  BasicSequential<double, Input<1, 4, 4>, Conv<1, 2, 3>, BatchNorm, ReLU, Linear<2>> net(2);
  const auto bytes = io::to_onnx(net, {.mean = {0.5f}, .std = {0.25f}});
  const auto d = decode(bytes);
  for (const auto& p : net.parameters()) {
    const std::vector<float> f(p.value, p.value + p.size);
    CHECK(d.raw.at(p.name) == bytes_of(f.data(), f.size()));
  }
  for (const auto& t : all(d.graph, 5)) CHECK(fields(t.payload).find(2)->second.value == 1);  // FLOAT
}

TEST_CASE("onnx: onnx_options takes a data::Normalize, and the recorded version is the project's") {
  const auto o = io::onnx_options(data::kCifar10Normalize, {"a"}, "m");
  CHECK(o.mean == std::vector<float>(data::kCifar10Mean.begin(), data::kCifar10Mean.end()));
  CHECK(o.std == std::vector<float>(data::kCifar10Std.begin(), data::kCifar10Std.end()));
  CHECK(o.model_name == "m");
#ifdef CTNN_PROJECT_VERSION
  CHECK(std::string(CTNN_VERSION) == CTNN_PROJECT_VERSION);
#endif
}
