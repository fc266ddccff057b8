// Saving and loading networks as safetensors: round trip, torch names, and every way a file can
// fail to match (each an io::Error naming the tensor, never a crash or an out-of-bounds read).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <vector>

#include <ctnn/ctnn.hpp>
#include <ctnn/data/cifar10.hpp>
#include <ctnn/data/dataloader.hpp>
#include <ctnn/data/transforms.hpp>
#include <ctnn/io/image.hpp>
#include <ctnn/io/safetensors.hpp>

#include "support/data.hpp"
#include "support/golden.hpp"

using namespace ctnn;
namespace data = ctnn::data;

namespace {

using SeedNet = Sequential<Input<3, 32, 32>, Conv<3, 16, 5>, BatchNorm, ReLU, MaxPool<2>, Conv<16, 32, 5>, BatchNorm,
                           ReLU, MaxPool<2>, Linear<10>>;
// Flatten inserted before the first Linear: every later index shifts in torch.
using MlpHead = Sequential<Input<2, 6, 6>, Conv<2, 3, 3>, ReLU, Linear<8>, BatchNorm, ReLU, Dropout<0.25>, Linear<4>>;
// An explicit Flatten: torch's indices are ctnn's.
using Flat = Sequential<Input<2, 4, 4>, Flatten, Linear<5>, BatchNorm, Linear<3>>;

std::span<const std::uint8_t> as_bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// A safetensors file from a header text and a data section.
std::string make_file(const std::string& header, const std::string& data = "") {
  std::string out(8, '\0');
  const std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xFF);
  return out + header + data;
}

template <class Net>
void train_a_little(Net& net, int steps = 3) {
  Tensor<typename Net::in_shape> x(6);
  Rng rng(7);
  std::vector<std::int32_t> labels(6);
  Adam opt{net.parameters(), {.lr = 1e-2}};
  CrossEntropyLoss<typename Net::out_shape> loss;
  net.train();
  for (int s = 0; s < steps; ++s) {
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(rng.uniform(-1, 1));
    for (std::size_t i = 0; i < labels.size(); ++i)
      labels[i] = static_cast<std::int32_t>(rng.below(Net::out_shape::size));
    loss(net.forward(x), labels);
    net.backward(loss.grad());
    opt.step();
    opt.zero_grad();
  }
}

template <class Net>
std::vector<float> eval_outputs(Net& net, std::uint64_t seed = 3) {
  Tensor<typename Net::in_shape> x(5);
  Rng rng(seed);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(rng.uniform(-2, 2));
  net.eval();
  auto y = net.forward(x);
  return std::vector<float>(y.data(), y.data() + 5 * Net::out_shape::size);
}

template <class Net>
std::vector<float> all_state(Net& net) {
  std::vector<float> v(net.parameter_data(), net.parameter_data() + Net::param_count);
  v.insert(v.end(), net.buffer_data(), net.buffer_data() + Net::buffer_count);
  return v;
}

// The error a load of `bytes` into a fresh SeedNet throws ("" if it loads).
std::string load_error(const std::string& bytes) {
  SeedNet net(1);
  const auto before = all_state(net);
  try {
    io::load(net, as_bytes(bytes), {}, "test.safetensors");
  } catch (const io::Error& e) {
    CHECK(all_state(net) == before);  // a failed load changes nothing
    return e.what();
  }
  return "";
}

io::SaveOptions save_options(io::Naming naming, bool num_batches_tracked = true) {
  io::SaveOptions o;
  o.naming = naming;
  o.num_batches_tracked = num_batches_tracked;
  return o;
}

std::string seed_file(const io::SaveOptions& options = {}) {
  SeedNet net(1);
  return io::to_bytes(net, options);
}

// Rewrites the JSON header of a valid file with f, keeping the data section.
template <class F>
std::string edit_header(const std::string& file, F&& f) {
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(file[static_cast<std::size_t>(i)]);
  auto header = nlohmann::ordered_json::parse(file.substr(8, n));
  f(header);
  return make_file(header.dump(), file.substr(8 + n));
}

}  // namespace

TEST_CASE("safetensors: save, load into a fresh network, identical parameters, statistics and outputs") {
  SeedNet a(1);
  train_a_little(a);  // running statistics and weights away from their initial values
  const auto expected = eval_outputs(a);
  const std::string bytes = io::to_bytes(a);

  SeedNet b(99);
  CHECK(all_state(b) != all_state(a));
  const auto r = io::load(b, as_bytes(bytes));
  CHECK(r.naming == io::Naming::ctnn);
  CHECK(all_state(b) == all_state(a));
  CHECK(eval_outputs(b) == expected);

  // Through a file as well (written atomically: no temporary left behind).
  const auto dir = std::filesystem::temp_directory_path() / "ctnn_safetensors_test";
  std::filesystem::create_directories(dir);
  const auto path = dir / "seed.safetensors";
  io::save(a, path);
  CHECK(!std::filesystem::exists(path.string() + ".tmp"));
  SeedNet c(5);
  io::load(c, path);
  CHECK(eval_outputs(c) == expected);
  std::filesystem::remove_all(dir);
}

TEST_CASE("safetensors: the header follows the format, with PyTorch names, shapes and dtypes") {
  SeedNet net(1);
  const std::string bytes = io::to_bytes(net, {.naming = io::Naming::ctnn, .num_batches_tracked = true,
                                               .batches_tracked = 42, .metadata = {{"note", "hello"}}});
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
  CHECK(n % 8 == 0);  // data 8-byte aligned, like the reference writer
  CHECK(bytes[8] == '{');
  const auto h = nlohmann::json::parse(bytes.substr(8, n));
  CHECK(h["0.weight"]["dtype"] == "F32");
  CHECK(h["0.weight"]["shape"] == nlohmann::json::array({16, 3, 5, 5}));
  CHECK(h["0.weight"]["data_offsets"] == nlohmann::json::array({0, 16 * 3 * 25 * 4}));
  CHECK(h["8.weight"]["shape"] == nlohmann::json::array({10, 2048}));
  CHECK(h["1.running_var"]["shape"] == nlohmann::json::array({16}));
  CHECK(h["5.num_batches_tracked"]["dtype"] == "I64");
  CHECK(h["5.num_batches_tracked"]["shape"] == nlohmann::json::array());
  CHECK(h["__metadata__"]["note"] == "hello");
  CHECK(h.size() == 1 + 10 + 4 + 2);  // metadata, parameters, running stats, num_batches_tracked

  const auto f = io::File::parse(as_bytes(bytes));
  const auto* nbt = f.find("1.num_batches_tracked");
  REQUIRE(nbt);
  std::int64_t v = 0;
  f.copy_to(*nbt, &v, 1);
  CHECK(v == 42);
  const auto* rv = f.find("1.running_var");
  REQUIRE(rv);
  float first = 0;
  std::memcpy(&first, f.data(*rv).data(), 4);
  CHECK(first == 1.0f);

  // A double network writes F64.
  BasicSequential<double, Input<1, 4, 4>, Conv<1, 2, 3>, BatchNorm> d(1);
  const auto dh = io::File::parse_owned(io::to_bytes(d));
  CHECK(dh.find("0.weight")->dtype == "F64");
  BasicSequential<double, Input<1, 4, 4>, Conv<1, 2, 3>, BatchNorm> d2(2);
  io::load(d2, as_bytes(io::to_bytes(d)));
  CHECK(std::equal(d.parameter_data(), d.parameter_data() + d.param_count, d2.parameter_data()));
}

// The layer-index mapping is a compile-time function of the layer types (TorchFlattening).
static_assert(io::torch_indices<SeedNet>()[7] == 7 && io::torch_indices<SeedNet>()[8] == 9);

TEST_CASE("safetensors: torch names insert the Flatten index, and the loader accepts either naming") {
  CHECK(io::torch_name<SeedNet>("8.weight") == "9.weight");
  CHECK(io::torch_name<SeedNet>("5.running_mean") == "5.running_mean");
  CHECK(io::torch_name<SeedNet>("0.bias") == "0.bias");
  CHECK(io::torch_name<MlpHead>("0.weight") == "0.weight");
  CHECK(io::torch_name<MlpHead>("2.weight") == "3.weight");
  CHECK(io::torch_name<MlpHead>("3.running_var") == "4.running_var");
  CHECK(io::torch_name<MlpHead>("6.bias") == "7.bias");
  CHECK(io::torch_name<Flat>("1.weight") == "1.weight");
  CHECK(io::torch_name<Flat>("3.weight") == "3.weight");
  CHECK_THROWS_AS(io::torch_name<SeedNet>("12.weight"), io::Error);
  CHECK_THROWS_AS(io::torch_name<SeedNet>("weight"), io::Error);

  MlpHead a(3);
  train_a_little(a);
  const std::string torch_bytes = io::to_bytes(a, save_options(io::Naming::torch));
  const auto f = io::File::parse(as_bytes(torch_bytes));
  CHECK(f.find("3.weight"));
  CHECK(f.find("4.num_batches_tracked"));
  CHECK(!f.find("2.weight"));
  MlpHead b(4), c(5);
  CHECK(io::load(b, as_bytes(torch_bytes)).naming == io::Naming::torch);
  CHECK(io::load(c, as_bytes(io::to_bytes(a))).naming == io::Naming::ctnn);
  CHECK(all_state(b) == all_state(a));
  CHECK(all_state(c) == all_state(a));
  CHECK(eval_outputs(b) == eval_outputs(a));

  // The seed network's torch file has "9.weight"; a file mixing both namings is refused, naming both.
  const std::string seed_torch = seed_file(save_options(io::Naming::torch));
  CHECK(load_error(seed_torch).empty());
  const std::string mixed = edit_header(seed_torch, [](auto& h) {
    h["8.bias"] = h["9.bias"];
    h.erase("9.bias");
  });
  const auto e = load_error(mixed);
  CHECK(e.find("tensor '8.weight' (F32 [10, 2048]) is missing (the file has '9.weight', the torch name, but mixes "
               "namings)") != std::string::npos);
  CHECK(e.find("unexpected tensor '9.weight'") != std::string::npos);
}

TEST_CASE("safetensors: num_batches_tracked is optional on load, and written only if asked") {
  const std::string without = seed_file(save_options(io::Naming::ctnn, false));
  CHECK(io::File::parse(as_bytes(without)).find("1.num_batches_tracked") == nullptr);
  SeedNet net(2);
  const auto r = io::load(net, as_bytes(without));
  CHECK(!r.batches_tracked.has_value());
  // Present but of the wrong type: an error naming it.
  const std::string wrong = edit_header(seed_file(), [](auto& h) { h["1.num_batches_tracked"]["dtype"] = "F64"; });
  const auto e = load_error(wrong);
  CHECK(e.find("'1.num_batches_tracked' is F64 []") != std::string::npos);
}

TEST_CASE("safetensors: a file that does not match the network names the tensor and the difference") {
  const std::string good = seed_file();
  CHECK(load_error(good).empty());

  SUBCASE("missing tensor") {
    SeedNet net(1);
    io::Writer w;
    for (const auto& p : net.parameters())
      if (p.name != "4.bias") w.add(p.name, {p.dims.begin(), p.dims.end()}, p.value, p.size);
    for (const auto& b : net.buffers()) w.add(b.name, {b.dims.begin(), b.dims.end()}, b.value, b.size);
    const auto e = load_error(w.bytes());
    CHECK(e.find("1 problem):") != std::string::npos);
    CHECK(e.find("tensor '4.bias' (F32 [32]) is missing") != std::string::npos);
  }
  SUBCASE("extra tensor") {
    SeedNet net(1);
    io::Writer w;
    io::add_network(w, net);
    const float extra[3] = {1, 2, 3};
    w.add("9.weight_extra", {3}, extra, 3);
    const auto e = load_error(w.bytes());
    CHECK(e.find("unexpected tensor '9.weight_extra' (F32 [3])") != std::string::npos);
  }
  SUBCASE("wrong shape") {
    using Other = Sequential<Input<3, 32, 32>, Conv<3, 16, 3>, BatchNorm, ReLU, MaxPool<2>, Conv<16, 32, 5>, BatchNorm,
                             ReLU, MaxPool<2>, Linear<10>>;
    Other other(1);
    const auto e = load_error(io::to_bytes(other));
    CHECK(e.find("tensor '0.weight' has shape [16, 3, 3, 3], the network needs [16, 3, 5, 5]") != std::string::npos);
    CHECK(e.find("1 problem):") != std::string::npos);
  }
  SUBCASE("wrong dtype") {
    BasicSequential<double, Input<3, 32, 32>, Conv<3, 16, 5>, BatchNorm, ReLU, MaxPool<2>, Conv<16, 32, 5>, BatchNorm,
                    ReLU, MaxPool<2>, Linear<10>>
        d(1);
    const auto e = load_error(io::to_bytes(d));
    CHECK(e.find("tensor '0.weight' has dtype F64, the network needs F32") != std::string::npos);
    CHECK(e.find("14 problems") != std::string::npos);  // 10 parameters, 4 running statistics
  }
  SUBCASE("a different architecture entirely") {
    MlpHead m(1);
    const auto e = load_error(io::to_bytes(m));
    CHECK(e.find("does not match the network") != std::string::npos);
    CHECK(e.find("'0.weight' has shape [3, 2, 3, 3]") != std::string::npos);
  }
}

TEST_CASE("safetensors: malformed files are errors naming what is wrong") {
  const std::string good = seed_file();
  auto err = [](const std::string& bytes) { return load_error(bytes); };
  auto has = [](const std::string& e, const char* what) {
    INFO("error: " << e);
    CHECK(e.find(what) != std::string::npos);
  };

  has(err(""), "too short for the 8-byte header length");
  has(err(std::string("\x10\0\0\0", 4)), "too short");
  has(err(make_file("{}").substr(0, 9)), "only 1 follow it (truncated file?)");
  has(err(make_file("not json at all")), "is not valid JSON");
  has(err(make_file("{\"0.weight\": {\"dtype\": \"F32\",")), "is not valid JSON");
  has(err(make_file("[1, 2, 3]")), "not an object (it is array)");
  has(err(make_file("{\"a\": 1}")), "tensor 'a': its header entry is not an object");
  has(err(make_file(R"({"a": {"dtype": "F33", "shape": [1], "data_offsets": [0, 4]}})", "1234")),
      "tensor 'a': unknown dtype 'F33'");
  has(err(make_file(R"({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})", "1234")),
      "\"shape\" holds -1");
  has(err(make_file(R"({"a": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}})", "1234")),
      "\"shape\" holds 1.5");
  has(err(make_file(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0]}})", "1234")),
      "not an array of two offsets");
  has(err(make_file(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}})", "1234")), "end before they begin");
  has(err(make_file(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})", "1234")),
      "tensor 'a': \"data_offsets\" [0,8] run past the end of the 4-byte data section");
  has(err(make_file(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 18446744073709551615]}})", "1234")),
      "run past the end");
  has(err(make_file(R"({"a": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 4]}})", "1234")),
      "needs more bytes than the 4-byte data section holds");
  has(err(make_file(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}})", "12345678")),
      "span 4 bytes but F32 [2] needs 8");
  has(err(make_file(R"({"a": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]},
                        "b": {"dtype": "U8", "shape": [2], "data_offsets": [1, 3]}})",
                    "123")),
      "tensor 'b' starts at data byte 1 but the previous tensor 'a' ends at 2");
  has(err(make_file(R"({"a": {"dtype": "U8", "shape": [2], "data_offsets": [1, 3]}})", "123")),
      "starts at data byte 1 but the data section starts at 0");
  has(err(make_file(R"({"a": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]}})", "123")),
      "the tensors cover 2 bytes of the 3-byte data section");
  has(err(make_file(R"({"a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]},
                        "a": {"dtype": "U8", "shape": [1], "data_offsets": [1, 2]}})",
                    "12")),
      "names tensor 'a' twice");
  has(err(make_file(R"({"__metadata__": {"k": 1}})")), "\"__metadata__\" entry 'k' is not a string");
  has(err(make_file(R"({"__metadata__": [1]})")), "\"__metadata__\" is not an object of strings");
  has(err(make_file(std::string(1000, '[') + std::string(1000, ']'))), "nests deeper");
  has(err(make_file("{\"\xff\": 1}")), "is not valid JSON");  // not UTF-8

  // Header length larger than the file, and absurdly large.
  std::string big = good;
  big[5] = 1;  // + 2^40
  has(err(big), "the header length field says");
  // Every truncation of a valid file is an error, never a crash or an out-of-bounds read.
  for (std::size_t len = 0; len < good.size(); len += (len < 2048 ? 1 : 997)) {
    const std::string cut = good.substr(0, len);  // a fresh allocation of exactly len bytes
    INFO("truncated to " << len << " bytes");
    CHECK(!err(cut).empty());
  }
}

TEST_CASE("safetensors: reading a missing file or a folder, and writing to an unwritable path") {
  SeedNet net(1);
  CHECK_THROWS_WITH_AS(io::load(net, std::filesystem::path("/nonexistent/x.safetensors")),
                       doctest::Contains("does not exist"), io::Error);
  CHECK_THROWS_WITH_AS(io::load(net, std::filesystem::temp_directory_path()),
                       doctest::Contains("is not a regular file"), io::Error);
  CHECK_THROWS_WITH_AS(io::save(net, "/proc/ctnn-no/x.safetensors"),
                       doctest::Contains("cannot save '/proc/ctnn-no/x.safetensors': creating its temporary file"), io::Error);
}

namespace {
template <std::size_t H, std::size_t W>
void check_runtime_resize() {
  using In = Shape<3, H, W>;
  std::vector<std::uint8_t> src(In::size), expected(3 * 32 * 32), got(3 * 32 * 32);
  Rng rng(H * 1000 + W);
  for (auto& v : src) v = static_cast<std::uint8_t>(rng.below(256));
  data::Resize<32, 32>{}.template apply<In>(src.data(), expected.data(), rng);
  io::resize_bilinear(src.data(), 3, H, W, got.data(), 32, 32);
  CAPTURE(H);
  CAPTURE(W);
  CHECK(got == expected);
}
}  // namespace

TEST_CASE("io::resize_bilinear (predict's run-time resize) equals data::Resize, i.e. PIL's bilinear") {
  check_runtime_resize<32, 32>();   // copy
  check_runtime_resize<61, 97>();   // shrink both ways (antialiased)
  check_runtime_resize<10, 20>();   // enlarge
  check_runtime_resize<32, 48>();   // horizontal pass only
  check_runtime_resize<100, 32>();  // vertical pass only
  check_runtime_resize<7, 300>();
  const std::uint8_t hwc[2 * 3 * 3] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18};
  CHECK(io::hwc_to_chw(hwc, 3, 2, 3) == std::vector<std::uint8_t>{1, 4, 7, 10, 13, 16, 2, 5, 8, 11, 14, 17, 3, 6, 9, 12, 15, 18});
}

// ---- cross-check with PyTorch (tests/io/cross_check.py made the reference) ------------------

namespace {
std::string io_data(const std::string& file) {
  // tests/io/data, next to the golden vectors' folder.
  return std::string(CTNN_GOLDEN_DIR) + "/../../io/data/" + file;
}
double max_abs_diff(const float* a, const test::GoldenTensor& b) {
  double worst = 0;
  for (std::size_t i = 0; i < b.numel(); ++i) {
    const double d = std::fabs(static_cast<double>(a[i]) - b.at(i));
    worst = std::isfinite(d) ? std::max(worst, d) : INFINITY;
  }
  return worst;
}
}  // namespace

TEST_CASE("safetensors cross-check: a ctnn-trained file gives PyTorch's logits on 1,000 CIFAR-10 test images") {
  const auto ref = test::GoldenFile(io_data("cross_check.ctv"));
  const auto dir = ctnn::test::cifar10_dir_or_skip();
  if (!dir) return;
  const auto& labels = ref["seed.labels"];
  const std::size_t n = labels.numel();
  const auto test_set = data::load_cifar10(*dir, data::Split::test, n);
  for (std::size_t i = 0; i < n; ++i) REQUIRE(test_set.labels[i] == labels.i32[i]);  // the same images

  SeedNet net(0);
  const auto loaded = io::load(net, std::filesystem::path(io_data("seed_cifar10.safetensors")));
  CHECK(loaded.naming == io::Naming::ctnn);
  REQUIRE(loaded.metadata.at("ctnn.normalize") == "cifar");
  net.eval();
  data::DataLoader loader(test_set, data::compose<data::Cifar10Shape>(data::ToTensor{}, data::kCifar10Normalize),
                          {.batch_size = 250});
  std::vector<float> logits;
  for (auto& batch : loader.epoch(0)) {
    const auto y = net.forward(batch.images);
    logits.insert(logits.end(), y.data(), y.data() + batch.size() * 10);
  }
  const auto& expected = ref["seed.logits"];
  REQUIRE(logits.size() == expected.numel());
  const double diff = max_abs_diff(logits.data(), expected);
  std::size_t agree = 0, correct = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const auto* row = logits.data() + i * 10;
    const auto ours = std::max_element(row, row + 10) - row;
    std::size_t theirs = 0;
    for (std::size_t k = 1; k < 10; ++k)
      if (expected.at(i * 10 + k) > expected.at(i * 10 + theirs)) theirs = k;
    agree += static_cast<std::size_t>(ours) == theirs;
    correct += ours == labels.i32[i];
  }
  MESSAGE("ctnn vs PyTorch (float64) logits of " << n << " images: max |diff| " << diff << " (PyTorch float32: "
                                                 << ref["seed.torch32_max_abs"].scalar() << "); argmax agrees on "
                                                 << agree << "/" << n << "; accuracy " << correct << "/" << n);
  test::record("cross_check/seed.logits (abs)", diff);
  CHECK(diff < 1e-4);
  CHECK(agree >= n - 1);  // a near-tie could flip at float32 rounding; none does in this file
  CHECK(static_cast<double>(correct) / static_cast<double>(n) == doctest::Approx(ref["seed.accuracy"].scalar()).epsilon(0.002));
}

TEST_CASE("safetensors cross-check: a file written from a torch.nn.Sequential loads into ctnn (torch names)") {
  using TinyTorch = Sequential<Input<3, 16, 16>, Conv<3, 8, 3>, BatchNorm, ReLU, MaxPool<2>, Linear<16>, BatchNorm, ReLU,
                               Dropout<0.25>, Linear<10>>;
  const auto ref = test::GoldenFile(io_data("cross_check.ctv"));
  TinyTorch net(0);
  const auto loaded = io::load(net, std::filesystem::path(io_data("torch_tiny.safetensors")));
  CHECK(loaded.naming == io::Naming::torch);
  REQUIRE(loaded.batches_tracked.has_value());
  CHECK(*loaded.batches_tracked == 5);
  const auto& x = ref["tiny.x"];
  Tensor<Shape<3, 16, 16>> input(8);
  std::copy(x.f32.begin(), x.f32.end(), input.data());
  net.eval();
  const auto y = net.forward(input);
  const double diff = max_abs_diff(y.data(), ref["tiny.logits"]);
  MESSAGE("ctnn vs PyTorch logits of the torch-written network: max |diff| " << diff);
  CHECK(diff < 1e-5);
  // Saved back with torch names, it is the same set of tensors torch wrote.
  const auto back = io::File::parse_owned(io::to_bytes(net, save_options(io::Naming::torch)));
  const auto theirs = io::File::read(io_data("torch_tiny.safetensors"));
  CHECK(back.tensors().size() == theirs.tensors().size());
  for (const auto& e : theirs.tensors()) {
    const auto* ours = back.find(e.name);
    REQUIRE_MESSAGE(ours, e.name);
    CHECK(ours->shape == e.shape);
    CHECK(ours->dtype == e.dtype);
    if (e.dtype == "F32") {
      const auto a = back.data(*ours), b = theirs.data(e);
      CHECK(std::equal(a.begin(), a.end(), b.begin(), b.end()));
    }
  }
}
