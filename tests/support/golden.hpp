// Reader for ctnn's PyTorch golden test vectors (tests/golden/data/*.ctv).
//
// File format (little-endian), written by tests/golden/make_golden.py:
//   "CTNNGOLD" (8 bytes), uint32 version (= 1), uint32 tensor count, then per tensor:
//   uint32 name length, name bytes (UTF-8), uint32 dtype (0 = float32, 1 = int32),
//   uint32 ndim, ndim x int64 dims, raw data (product(dims) elements; ndim 0 = scalar, 1 element).
//
// Header-only; depends on the standard library only.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <iterator>
#include <limits>
#include <mutex>
#include <ostream>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace ctnn::test {

inline constexpr int golden_f32 = 0;
inline constexpr int golden_i32 = 1;

struct GoldenTensor {
  std::string name;
  int dtype = golden_f32;              // golden_f32 or golden_i32
  std::vector<std::int64_t> shape;     // empty = scalar
  std::vector<float> f32;              // filled when dtype == golden_f32
  std::vector<std::int32_t> i32;       // filled when dtype == golden_i32

  std::size_t numel() const {
    std::size_t n = 1;
    for (auto d : shape) n *= static_cast<std::size_t>(d);
    return n;
  }
  // The single value of a one-element tensor (an int32 one is converted).
  float scalar() const {
    if (numel() != 1)
      throw std::runtime_error("golden tensor '" + name + "' is not a scalar (it has " +
                               std::to_string(numel()) + " elements)");
    return dtype == golden_f32 ? f32[0] : static_cast<float>(i32[0]);
  }
  // Element i as a double, whatever the dtype.
  double at(std::size_t i) const {
    return dtype == golden_f32 ? static_cast<double>(f32.at(i)) : static_cast<double>(i32.at(i));
  }
  std::string shape_string() const {
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) {
      if (i) s += ',';
      s += std::to_string(shape[i]);
    }
    s += ']';
    return s;
  }
};

class GoldenFile {
 public:
  explicit GoldenFile(const std::string& path) : path_(path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
      throw std::runtime_error("golden file '" + path +
                               "': cannot open (regenerate with tests/golden/make_golden.py)");
    std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)),
                                     std::istreambuf_iterator<char>());
    if (in.bad()) throw std::runtime_error("golden file '" + path + "': read error");
    parse(bytes);
  }

  // Opens CTNN_GOLDEN_DIR "/" case_name ".ctv".
  static GoldenFile load(const std::string& case_name) {
#ifdef CTNN_GOLDEN_DIR
    return GoldenFile(std::string(CTNN_GOLDEN_DIR) + "/" + case_name + ".ctv");
#else
    throw std::runtime_error("GoldenFile::load('" + case_name +
                             "'): CTNN_GOLDEN_DIR is not defined for this target");
#endif
  }

  const GoldenTensor& operator[](const std::string& name) const {
    auto it = index_.find(name);
    if (it == index_.end()) {
      std::string have;
      for (const auto& t : tensors_) {
        if (!have.empty()) have += ", ";
        have += t.name;
      }
      throw std::runtime_error("golden file '" + path_ + "' has no tensor '" + name +
                               "' (it has: " + have + ")");
    }
    return tensors_[it->second];
  }
  bool has(const std::string& name) const { return index_.count(name) != 0; }
  const std::vector<GoldenTensor>& tensors() const { return tensors_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::vector<GoldenTensor> tensors_;
  std::unordered_map<std::string, std::size_t> index_;

  [[noreturn]] void fail(std::size_t offset, const std::string& what, std::size_t size) const {
    throw std::runtime_error("golden file '" + path_ + "': at byte offset " +
                             std::to_string(offset) + ": " + what + " (file is " +
                             std::to_string(size) + " bytes)");
  }

  void parse(const std::vector<unsigned char>& b) {
    const std::size_t size = b.size();
    std::size_t off = 0;
    auto need = [&](std::size_t n, const std::string& what) {
      if (size - off < n)
        fail(off, "truncated: expected " + std::to_string(n) + " bytes for " + what + ", only " +
                      std::to_string(size - off) + " left",
             size);
    };
    auto u32 = [&](const std::string& what) {
      need(4, what);
      std::uint32_t v = 0;
      for (int i = 3; i >= 0; --i) v = (v << 8) | b[off + static_cast<std::size_t>(i)];
      off += 4;
      return v;
    };
    auto i64 = [&](const std::string& what) {
      need(8, what);
      std::uint64_t v = 0;
      for (int i = 7; i >= 0; --i) v = (v << 8) | b[off + static_cast<std::size_t>(i)];
      off += 8;
      return static_cast<std::int64_t>(v);
    };

    need(8, "magic \"CTNNGOLD\"");
    if (std::memcmp(b.data(), "CTNNGOLD", 8) != 0) fail(0, "bad magic, expected \"CTNNGOLD\"", size);
    off = 8;
    const std::size_t version_off = off;
    const std::uint32_t version = u32("version");
    if (version != 1)
      fail(version_off, "unsupported version " + std::to_string(version) + ", expected 1", size);
    const std::uint32_t count = u32("tensor count");

    for (std::uint32_t t = 0; t < count; ++t) {
      const std::string which = "tensor #" + std::to_string(t);
      GoldenTensor g;
      const std::uint32_t name_len = u32(which + " name length");
      need(name_len, which + " name");
      g.name.assign(reinterpret_cast<const char*>(b.data() + off), name_len);
      off += name_len;
      const std::string tn = which + " '" + g.name + "'";
      if (index_.count(g.name)) fail(off - name_len, "duplicate " + tn, size);

      const std::size_t dtype_off = off;
      const std::uint32_t dtype = u32(tn + " dtype");
      if (dtype != golden_f32 && dtype != golden_i32)
        fail(dtype_off,
             "bad dtype " + std::to_string(dtype) + " for " + tn + ", expected 0 (float32) or 1 (int32)",
             size);
      g.dtype = static_cast<int>(dtype);

      const std::size_t ndim_off = off;
      const std::uint32_t ndim = u32(tn + " ndim");
      if (ndim > 16)
        fail(ndim_off, "ndim " + std::to_string(ndim) + " of " + tn + " is implausible (max 16)", size);

      // Count elements while checking that the data still fits in the file,
      // so that no product can overflow and no huge allocation is attempted.
      std::uint64_t numel = 1;
      bool empty = false;
      for (std::uint32_t d = 0; d < ndim; ++d) {
        const std::size_t dim_off = off;
        const std::int64_t dim = i64(tn + " dim " + std::to_string(d));
        if (dim < 0)
          fail(dim_off, "negative dim " + std::to_string(dim) + " in " + tn, size);
        g.shape.push_back(dim);
        if (dim == 0) empty = true;
        if (!empty) {
          const std::uint64_t cap = size / 4;  // elements that could possibly fit
          if (static_cast<std::uint64_t>(dim) > cap || numel > cap / static_cast<std::uint64_t>(dim))
            fail(dim_off,
                 "dims of " + tn + " overflow the file: dim " + std::to_string(d) + " = " +
                     std::to_string(dim) + " gives more elements than the file can hold",
                 size);
          numel *= static_cast<std::uint64_t>(dim);
        }
      }
      if (empty) numel = 0;

      const std::uint64_t nbytes = numel * 4;
      if (nbytes > size - off)
        fail(off,
             "truncated: expected " + std::to_string(nbytes) + " data bytes for " + tn + " " +
                 g.shape_string() + ", only " + std::to_string(size - off) + " left",
             size);
      const auto n = static_cast<std::size_t>(numel);
      const unsigned char* p = b.data() + off;
      auto word = [p](std::size_t i) {
        const unsigned char* q = p + 4 * i;
        return static_cast<std::uint32_t>(q[0]) | (static_cast<std::uint32_t>(q[1]) << 8) |
               (static_cast<std::uint32_t>(q[2]) << 16) | (static_cast<std::uint32_t>(q[3]) << 24);
      };
      if (g.dtype == golden_f32) {
        g.f32.resize(n);
        for (std::size_t i = 0; i < n; ++i) g.f32[i] = std::bit_cast<float>(word(i));
      } else {
        g.i32.resize(n);
        for (std::size_t i = 0; i < n; ++i) g.i32[i] = std::bit_cast<std::int32_t>(word(i));
      }
      off += n * 4;
      index_.emplace(g.name, tensors_.size());
      tensors_.push_back(std::move(g));
    }
    if (off != size)
      fail(off, std::to_string(size - off) + " trailing bytes after the last of " +
                    std::to_string(count) + " tensors, expected end of file",
           size);
  }
};

// Worst error of `actual` against `expected`, normalised by the expected tensor's scale:
//   max_abs = max_i |a_i - b_i|,  rel = max_abs / max(max_i |b_i|, min_scale).
// A NaN or infinite actual value makes max_abs and rel infinite (worst_index points at it).
// `actual` must hold expected.numel() values.
struct Compare {
  double max_abs;
  double rel;
  std::size_t worst_index;
};

// Same, with an explicit floor for the scale: use it for tensors that are (mathematically)
// zero, e.g. the gradient of a convolution bias that feeds a BatchNorm, passing the scale of a
// related tensor instead.
inline Compare compare(const float* actual, const GoldenTensor& expected, double min_scale) {
  const std::size_t n = expected.numel();
  double scale = 0.0, worst = 0.0;
  std::size_t worst_i = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double b = expected.at(i);
    scale = std::max(scale, std::fabs(b));
    double e = std::fabs(static_cast<double>(actual[i]) - b);
    if (!std::isfinite(e)) e = std::numeric_limits<double>::infinity();  // NaN must not pass
    if (e > worst) {  // the first worst element wins
      worst = e;
      worst_i = i;
    }
  }
  return Compare{worst, worst / std::max(scale, min_scale), worst_i};
}

inline Compare compare(const float* actual, const GoldenTensor& expected) {
  return compare(actual, expected, 1e-6);
}

// Checked-size variant.
inline Compare compare(std::span<const float> actual, const GoldenTensor& expected) {
  if (actual.size() != expected.numel())
    throw std::runtime_error("compare against golden tensor '" + expected.name + "' " +
                             expected.shape_string() + ": got " + std::to_string(actual.size()) +
                             " values, expected " + std::to_string(expected.numel()));
  return compare(actual.data(), expected);
}

// ---------------------------------------------------------------------------------------------
// Process-wide registry of golden comparisons, so a test run can print one table at the end.
struct GoldenRecord {
  std::string name;  // "case/tensor"
  double rel;
};

namespace detail {
struct GoldenRegistry {
  std::mutex mutex;
  std::vector<GoldenRecord> records;
};
inline GoldenRegistry& golden_registry() {
  static GoldenRegistry r;
  return r;
}
}  // namespace detail

inline void record(const std::string& case_and_tensor, double rel) {
  auto& r = detail::golden_registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.records.push_back({case_and_tensor, rel});
}

inline void record(const std::string& case_name, const std::string& tensor, double rel) {
  record(case_name + "/" + tensor, rel);
}

// A copy of everything recorded so far, in recording order.
inline std::vector<GoldenRecord> records() {
  auto& r = detail::golden_registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  return r.records;
}

inline void clear_records() {
  auto& r = detail::golden_registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.records.clear();
}

// Prints the recorded errors as an aligned two-column table.
inline void print_records(std::ostream& os) {
  const auto rs = records();
  std::size_t w = 12;
  for (const auto& r : rs) w = std::max(w, r.name.size());
  std::ostringstream s;
  s << std::left << std::setw(static_cast<int>(w)) << "golden tensor" << "  rel error\n";
  for (const auto& r : rs)
    s << std::left << std::setw(static_cast<int>(w)) << r.name << "  " << std::scientific
      << std::setprecision(2) << r.rel << '\n';
  os << s.str();
}

}  // namespace ctnn::test
