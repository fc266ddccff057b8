// Tests of the golden-vector reader (tests/support/golden.hpp) and of the committed data's
// layout (tests/golden/data, written by tests/golden/make_golden.py).
#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "support/golden.hpp"

namespace {

using ctnn::test::GoldenFile;
using ctnn::test::GoldenTensor;

// --- A minimal .ctv writer, independent of the reader -----------------------------------------
struct Writer {
  std::vector<unsigned char> bytes;

  void u32(std::uint32_t v) {
    for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<unsigned char>(v >> (8 * i)));
  }
  void i64(std::int64_t v) {
    const auto u = static_cast<std::uint64_t>(v);
    for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<unsigned char>(u >> (8 * i)));
  }
  void raw(const std::string& s) { bytes.insert(bytes.end(), s.begin(), s.end()); }
  void header(std::uint32_t count, std::uint32_t version = 1) {
    raw("CTNNGOLD");
    u32(version);
    u32(count);
  }
  void tensor_head(const std::string& name, std::uint32_t dtype, const std::vector<std::int64_t>& dims) {
    u32(static_cast<std::uint32_t>(name.size()));
    raw(name);
    u32(dtype);
    u32(static_cast<std::uint32_t>(dims.size()));
    for (auto d : dims) i64(d);
  }
  void f32(const std::string& name, const std::vector<std::int64_t>& dims, const std::vector<float>& v) {
    tensor_head(name, 0, dims);
    for (float x : v) u32(std::bit_cast<std::uint32_t>(x));
  }
  void i32(const std::string& name, const std::vector<std::int64_t>& dims,
           const std::vector<std::int32_t>& v) {
    tensor_head(name, 1, dims);
    for (auto x : v) u32(std::bit_cast<std::uint32_t>(x));
  }
};

// A temporary file removed at scope exit (unique name: ctest may run test cases in parallel).
struct TempFile {
  std::filesystem::path path;
  explicit TempFile(const std::vector<unsigned char>& bytes) {
    std::random_device rd;
    path = std::filesystem::temp_directory_path() /
           ("ctnn_golden_test_" + std::to_string(rd()) + "_" + std::to_string(rd()) + ".ctv");
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    REQUIRE(out.good());
  }
  ~TempFile() {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
};

// The message of the runtime_error that reading `bytes` throws ("" if it does not throw).
std::string read_error(const std::vector<unsigned char>& bytes) {
  TempFile f(bytes);
  try {
    GoldenFile g(f.path.string());
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

Writer sample_file() {
  Writer w;
  w.header(6);
  w.f32("x", {2, 3}, {1.0f, -2.5f, 0.0f, -0.0f, 1e-40f, std::numeric_limits<float>::max()});
  w.i32("labels", {4}, {0, 9, -1, std::numeric_limits<std::int32_t>::min()});
  w.f32("loss", {}, {3.25f});
  w.i32("count", {}, {42});
  w.f32("empty", {0, 5}, {});
  w.f32("gewicht.\xc3\xa4", {1, 1, 1, 2}, {0.5f, 0.25f});  // UTF-8 name
  return w;
}

}  // namespace

TEST_CASE("golden file: reader round-trips a file written by the test") {
  const Writer w = sample_file();
  TempFile f(w.bytes);
  const GoldenFile g(f.path.string());

  REQUIRE(g.tensors().size() == 6);
  const char* order[] = {"x", "labels", "loss", "count", "empty", "gewicht.\xc3\xa4"};
  for (std::size_t i = 0; i < 6; ++i) CHECK(g.tensors()[i].name == order[i]);

  const GoldenTensor& x = g["x"];
  CHECK(x.dtype == ctnn::test::golden_f32);
  CHECK(x.shape == std::vector<std::int64_t>{2, 3});
  CHECK(x.numel() == 6);
  REQUIRE(x.f32.size() == 6);
  CHECK(x.i32.empty());
  CHECK(x.f32[0] == 1.0f);
  CHECK(x.f32[1] == -2.5f);
  CHECK(std::bit_cast<std::uint32_t>(x.f32[2]) == 0u);
  CHECK(std::bit_cast<std::uint32_t>(x.f32[3]) == 0x80000000u);  // -0.0 kept bit-exact
  CHECK(x.f32[4] == 1e-40f);                                       // subnormal
  CHECK(x.f32[5] == std::numeric_limits<float>::max());

  const GoldenTensor& labels = g["labels"];
  CHECK(labels.dtype == ctnn::test::golden_i32);
  CHECK(labels.i32 == std::vector<std::int32_t>{0, 9, -1, std::numeric_limits<std::int32_t>::min()});
  CHECK(labels.f32.empty());

  CHECK(g["loss"].shape.empty());
  CHECK(g["loss"].numel() == 1);
  CHECK(g["loss"].scalar() == 3.25f);
  CHECK(g["count"].scalar() == 42.0f);
  CHECK(g["empty"].numel() == 0);
  CHECK(g["empty"].f32.empty());
  CHECK(g["gewicht.\xc3\xa4"].f32 == std::vector<float>{0.5f, 0.25f});
  CHECK_THROWS_AS(x.scalar(), std::runtime_error);

  CHECK(g.has("x"));
  CHECK_FALSE(g.has("y"));
  try {
    (void)g["no_such_tensor"];
    FAIL("operator[] did not throw");
  } catch (const std::runtime_error& e) {
    const std::string msg = e.what();
    CHECK(contains(msg, "no_such_tensor"));
    CHECK(contains(msg, f.path.string()));
  }
}

TEST_CASE("golden file: an empty file list and a missing file") {
  Writer w;
  w.header(0);
  TempFile f(w.bytes);
  CHECK(GoldenFile(f.path.string()).tensors().empty());

  const std::string missing = (std::filesystem::temp_directory_path() / "ctnn_no_such_golden.ctv").string();
  try {
    GoldenFile g(missing);
    FAIL("no throw");
  } catch (const std::runtime_error& e) {
    CHECK(contains(e.what(), missing));
  }
  CHECK_THROWS_AS(GoldenFile::load("no_such_golden_case"), std::runtime_error);
}

TEST_CASE("golden file: every truncation is rejected with the offset") {
  const Writer w = sample_file();
  for (std::size_t len = 0; len < w.bytes.size(); ++len) {
    std::vector<unsigned char> cut(w.bytes.begin(), w.bytes.begin() + static_cast<std::ptrdiff_t>(len));
    const std::string msg = read_error(cut);
    INFO("length " << len << ": " << msg);
    REQUIRE(!msg.empty());
    CHECK(contains(msg, "byte offset"));
    CHECK(contains(msg, "truncated"));
  }
  // A cut inside the first tensor's data names where that data starts.
  // Layout: 16 header bytes, then x: 4 + 1 (name) + 4 + 4 + 2*8 = 29 -> data at 45.
  std::vector<unsigned char> cut(w.bytes.begin(), w.bytes.begin() + 50);
  const std::string msg = read_error(cut);
  CHECK(contains(msg, "byte offset 45"));
  CHECK(contains(msg, "'x'"));
  CHECK(contains(msg, "24 data bytes"));
}

TEST_CASE("golden file: bad magic, version, dtype, dims and trailing bytes are rejected") {
  SUBCASE("bad magic") {
    Writer w = sample_file();
    w.bytes[3] = 'X';
    const std::string msg = read_error(w.bytes);
    CHECK(contains(msg, "byte offset 0"));
    CHECK(contains(msg, "magic"));
  }
  SUBCASE("bad version") {
    Writer w;
    w.header(0, 2);
    const std::string msg = read_error(w.bytes);
    CHECK(contains(msg, "byte offset 8"));
    CHECK(contains(msg, "version 2"));
  }
  SUBCASE("bad dtype") {
    Writer w;
    w.header(1);
    w.tensor_head("t", 7, {1});
    w.u32(0);
    const std::string msg = read_error(w.bytes);
    CHECK(contains(msg, "byte offset 21"));  // 16 + 4 + 1
    CHECK(contains(msg, "dtype 7"));
  }
  SUBCASE("dims overflowing the file") {
    Writer w;
    w.header(1);
    w.tensor_head("big", 0, {2, std::int64_t{1} << 40});
    w.u32(0);
    const std::string msg = read_error(w.bytes);
    CHECK(contains(msg, "byte offset 39"));  // 16 + 4 + 3 + 4 + 4 + 8: the second dim
    CHECK(contains(msg, "overflow"));
    CHECK(contains(msg, "'big'"));
  }
  SUBCASE("dims whose product overflows 64 bits") {
    Writer w;
    w.header(1);
    w.tensor_head("p", 1, {std::int64_t{1} << 32, std::int64_t{1} << 32, 16});
    const std::string msg = read_error(w.bytes);
    CHECK(contains(msg, "byte offset"));
    CHECK(contains(msg, "overflow"));
  }
  SUBCASE("data larger than what is left") {
    Writer w;
    w.header(1);
    w.tensor_head("d", 0, {3, 2});
    for (int i = 0; i < 5; ++i) w.u32(0);  // one element short
    const std::string msg = read_error(w.bytes);
    CHECK(contains(msg, "byte offset 45"));  // 16 + 4 + 1 + 4 + 4 + 16
    CHECK(contains(msg, "truncated"));
  }
  SUBCASE("negative dim") {
    Writer w;
    w.header(1);
    w.tensor_head("n", 0, {-3});
    const std::string msg = read_error(w.bytes);
    CHECK(contains(msg, "byte offset 29"));
    CHECK(contains(msg, "negative"));
  }
  SUBCASE("absurd ndim") {
    Writer w;
    w.header(1);
    w.u32(1);
    w.raw("a");
    w.u32(0);
    w.u32(1000000);
    const std::string msg = read_error(w.bytes);
    CHECK(contains(msg, "byte offset 25"));
    CHECK(contains(msg, "ndim"));
  }
  SUBCASE("name longer than the file") {
    Writer w;
    w.header(1);
    w.u32(0xFFFFFFFFu);
    w.raw("abc");
    const std::string msg = read_error(w.bytes);
    CHECK(contains(msg, "byte offset 20"));
    CHECK(contains(msg, "truncated"));
  }
  SUBCASE("trailing bytes") {
    Writer w = sample_file();
    w.bytes.push_back(0);
    const std::string msg = read_error(w.bytes);
    CHECK(contains(msg, "byte offset " + std::to_string(w.bytes.size() - 1)));
    CHECK(contains(msg, "trailing"));
  }
  SUBCASE("count larger than the tensors present") {
    Writer w = sample_file();
    w.bytes[12] = 7;
    const std::string msg = read_error(w.bytes);
    CHECK(contains(msg, "byte offset " + std::to_string(w.bytes.size())));
    CHECK(contains(msg, "tensor #6"));
  }
  SUBCASE("duplicate names") {
    Writer w;
    w.header(2);
    w.f32("a", {}, {1.0f});
    w.f32("a", {}, {2.0f});
    CHECK(contains(read_error(w.bytes), "duplicate"));
  }
}

TEST_CASE("golden file: compare normalises by the expected tensor's scale") {
  Writer w;
  w.header(3);
  w.f32("b", {4}, {1.0f, -4.0f, 2.0f, 0.5f});
  w.f32("z", {2}, {0.0f, 0.0f});
  w.i32("k", {2}, {3, -5});
  TempFile f(w.bytes);
  const GoldenFile g(f.path.string());

  const float same[] = {1.0f, -4.0f, 2.0f, 0.5f};
  auto c = ctnn::test::compare(same, g["b"]);
  CHECK(c.max_abs == 0.0);
  CHECK(c.rel == 0.0);

  const float off[] = {1.1f, -4.0f, 2.0f, 0.3f};
  c = ctnn::test::compare(off, g["b"]);
  CHECK(c.worst_index == 3);
  CHECK(c.max_abs == doctest::Approx(0.2).epsilon(1e-6));
  CHECK(c.rel == doctest::Approx(0.05).epsilon(1e-6));  // 0.2 / max|b| = 0.2 / 4

  const float nan_in[] = {1.0f, std::nanf(""), 2.0f, 0.5f};
  c = ctnn::test::compare(nan_in, g["b"]);
  CHECK(std::isinf(c.rel));
  CHECK(c.worst_index == 1);

  const float tiny[] = {1e-7f, -2e-7f};
  c = ctnn::test::compare(tiny, g["z"]);  // all-zero reference: scale floor 1e-6
  CHECK(c.worst_index == 1);
  CHECK(c.rel == doctest::Approx(0.2).epsilon(1e-5));
  c = ctnn::test::compare(tiny, g["z"], 1.0);  // explicit floor
  CHECK(c.rel == doctest::Approx(2e-7).epsilon(1e-5));

  const float ints[] = {3.0f, -4.0f};
  c = ctnn::test::compare(ints, g["k"]);
  CHECK(c.rel == doctest::Approx(0.2));

  const std::vector<float> short_vec = {1.0f, 2.0f};
  CHECK_THROWS_AS(ctnn::test::compare(std::span<const float>(short_vec), g["b"]), std::runtime_error);
  const std::vector<float> ok_vec(same, same + 4);
  CHECK(ctnn::test::compare(std::span<const float>(ok_vec), g["b"]).rel == 0.0);
}

TEST_CASE("golden file: record registry prints a table") {
  ctnn::test::clear_records();
  ctnn::test::record("conv_a/dx", 1.5e-7);
  ctnn::test::record("bn2d", "y", 3e-8);
  const auto rs = ctnn::test::records();
  REQUIRE(rs.size() == 2);
  CHECK(rs[0].name == "conv_a/dx");
  CHECK(rs[1].name == "bn2d/y");
  std::ostringstream os;
  ctnn::test::print_records(os);
  CHECK(contains(os.str(), "conv_a/dx"));
  CHECK(contains(os.str(), "1.50e-07"));
  ctnn::test::clear_records();
  CHECK(ctnn::test::records().empty());
}

// --- The committed data: every case exists with the documented tensors -------------------------

namespace {

std::vector<std::int64_t> dims(std::initializer_list<std::int64_t> d) { return d; }

void check_same_shape(const GoldenFile& g, const std::string& a, const std::string& b) {
  INFO(g.path() << ": " << a << " vs " << b);
  CHECK(g[a].shape == g[b].shape);
}

std::int64_t out_size(std::int64_t in, std::int64_t k, std::int64_t s, std::int64_t p) {
  return (in + 2 * p - k) / s + 1;
}

}  // namespace

TEST_CASE("golden data: conv and linear files have the documented layout") {
  for (const char* tag : {"a", "b", "c", "d", "e", "f"}) {
    const GoldenFile g = GoldenFile::load(std::string("conv_") + tag);
    INFO(g.path());
    const auto& c = g["config"].i32;
    REQUIRE(c.size() == 8);
    const std::int64_t cin = c[0], cout = c[1], k = c[2], s = c[3], p = c[4], h = c[5], w = c[6], n = c[7];
    CHECK(g["x"].shape == dims({n, cin, h, w}));
    CHECK(g["weight"].shape == dims({cout, cin, k, k}));
    CHECK(g["bias"].shape == dims({cout}));
    CHECK(g["y"].shape == dims({n, cout, out_size(h, k, s, p), out_size(w, k, s, p)}));
    check_same_shape(g, "y", "dy");
    check_same_shape(g, "x", "dx");
    check_same_shape(g, "weight", "dweight");
    check_same_shape(g, "bias", "dbias");
  }
  for (const char* tag : {"a", "b"}) {
    const GoldenFile g = GoldenFile::load(std::string("linear_") + tag);
    INFO(g.path());
    const auto& c = g["config"].i32;
    REQUIRE(c.size() == 5);
    const std::int64_t ch = c[0], h = c[1], w = c[2], out = c[3], n = c[4];
    CHECK(g["x"].shape == dims({n, ch, h, w}));
    CHECK(g["weight"].shape == dims({out, ch * h * w}));
    CHECK(g["bias"].shape == dims({out}));
    CHECK(g["y"].shape == dims({n, out}));
    check_same_shape(g, "y", "dy");
    check_same_shape(g, "x", "dx");
    check_same_shape(g, "weight", "dweight");
  }
}

TEST_CASE("golden data: batchnorm, relu, pooling and cross-entropy files have the documented layout") {
  for (const char* name : {"bn2d", "bn1d", "bn2d_n1"}) {
    const GoldenFile g = GoldenFile::load(name);
    INFO(g.path());
    const auto& c = g["config"].i32;
    REQUIRE(c.size() == 4);
    const auto x_shape = std::string(name) == "bn1d" ? dims({c[0], c[1]}) : dims({c[0], c[1], c[2], c[3]});
    for (const char* t : {"x", "y", "dy", "dx", "x1", "x2", "x3", "x_eval", "y_eval", "dy_eval", "dx_eval"})
      CHECK(g[t].shape == x_shape);
    for (const char* t : {"weight", "bias", "dweight", "dbias", "running_mean", "running_var",
                          "dweight_eval", "dbias_eval"})
      CHECK(g[t].shape == dims({c[1]}));
  }

  {
    const GoldenFile g = GoldenFile::load("relu");
    const auto& x = g["x"];
    CHECK(x.shape == dims({7, 3, 5, 5}));
    int zeros = 0;
    for (std::size_t i = 0; i < x.numel(); ++i) {
      zeros += x.f32[i] == 0.0f;
      CHECK(g["y"].f32[i] == std::max(x.f32[i], 0.0f));
      CHECK(g["dx"].f32[i] == (x.f32[i] > 0.0f ? g["dy"].f32[i] : 0.0f));
    }
    CHECK(zeros == 10);
  }

  for (const char* name : {"maxpool_a", "maxpool_b", "maxpool_c", "avgpool_a", "avgpool_b"}) {
    const GoldenFile g = GoldenFile::load(name);
    INFO(g.path());
    const auto& c = g["config"].i32;
    REQUIRE(c.size() == 6);
    CHECK(g["x"].shape == dims({c[2], c[3], c[4], c[5]}));
    CHECK(g["y"].shape == dims({c[2], c[3], out_size(c[4], c[0], c[1], 0), out_size(c[5], c[0], c[1], 0)}));
    check_same_shape(g, "y", "dy");
    check_same_shape(g, "x", "dx");
  }

  {
    const GoldenFile g = GoldenFile::load("cross_entropy");
    CHECK(g["logits"].shape == dims({7, 10}));
    CHECK(g["labels"].shape == dims({7}));
    CHECK(g["labels"].dtype == ctnn::test::golden_i32);
    CHECK(g["logits_1"].shape == dims({1, 10}));
    CHECK(g["logits_big"].shape == dims({4, 10}));
    for (const char* suffix : {"", "_ls", "_1", "_big", "_huge"}) {
      const std::string s = suffix;
      CHECK(g["loss" + s].shape.empty());
      CHECK(g["dlogits" + s].shape == g["logits" + (s == "_ls" ? std::string() : s)].shape);
    }
    // Rows of d(mean CE)/dlogits sum to zero (softmax minus a distribution, over N).
    const auto& d = g["dlogits"];
    for (int r = 0; r < 7; ++r) {
      double sum = 0;
      for (int k = 0; k < 10; ++k) sum += d.f32[static_cast<std::size_t>(r * 10 + k)];
      CHECK(std::fabs(sum) < 1e-6);
    }
  }
}

TEST_CASE("golden data: optimizer files hold the whole-network run") {
  const std::vector<std::pair<std::string, std::vector<std::int64_t>>> params = {
      {"0.weight", {16, 3, 5, 5}}, {"0.bias", {16}},  {"1.weight", {16}},           {"1.bias", {16}},
      {"4.weight", {32, 16, 5, 5}}, {"4.bias", {32}}, {"5.weight", {32}},           {"5.bias", {32}},
      {"9.weight", {10, 2048}},     {"9.bias", {10}}};
  for (const char* name : {"optim_sgd_nesterov", "optim_adam", "optim_adamw"}) {
    const GoldenFile g = GoldenFile::load(name);
    INFO(g.path());
    // init.* come first, in named_parameters() order.
    for (std::size_t i = 0; i < params.size(); ++i) CHECK(g.tensors()[i].name == "init." + params[i].first);
    for (const auto& [p, shape] : params) {
      CHECK(g["init." + p].shape == shape);
      CHECK(g["grad1." + p].shape == shape);
      CHECK(g["final." + p].shape == shape);
    }
    for (const char* s : {"1", "2", "3"}) {
      CHECK(g[std::string("x.") + s].shape == dims({8, 3, 32, 32}));
      CHECK(g[std::string("labels.") + s].shape == dims({8}));
      CHECK(g[std::string("loss.") + s].shape.empty());
    }
    CHECK(g["logits.1"].shape == dims({8, 10}));
    CHECK(g["final.1.running_mean"].shape == dims({16}));
    CHECK(g["final.1.running_var"].shape == dims({16}));
    CHECK(g["final.5.running_mean"].shape == dims({32}));
    CHECK(g["final.5.running_var"].shape == dims({32}));
  }
}
