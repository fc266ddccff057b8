#pragma once
// The safetensors format (https://github.com/huggingface/safetensors), which Python's
// `safetensors` and PyTorch read and write: the dtypes, a Writer that builds a file in memory and
// File, a parsed and validated file. What a network's tensors are called in it, saving and
// loading networks, is ctnn/io/safetensors.hpp; writing files atomically, ctnn/io/atomic_file.hpp.
//
// File layout: an 8-byte little-endian unsigned header length N; N bytes of UTF-8 JSON
// (padded with spaces to a multiple of 8 by this writer) mapping each tensor name to
// {"dtype": "F32", "shape": [16, 3, 5, 5], "data_offsets": [begin, end]}, plus an optional
// "__metadata__" object of string -> string; then the data section, each tensor's bytes
// little-endian, C order, at [begin, end) relative to the start of the data section. The
// tensors tile the data section with no gap or overlap (the reference implementation's rule).
//
// Parsing checks the structure: a truncated file, a header that is not valid JSON or not the
// expected structure, offsets outside the data section or not tiling it all throw
// ctnn::io::Error naming the file, the tensor and what differs. The parser never reads outside
// the bytes it is given (fuzzed: fuzz/fuzz_safetensors.cpp).
#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "ctnn/core/parameter.hpp"
#include "ctnn/io/atomic_file.hpp"

namespace ctnn::io {

// ---- dtypes --------------------------------------------------------------------------------

// The size in bytes of one element of a safetensors dtype, or 0 if the name is not one.
inline std::size_t dtype_size(std::string_view dtype) noexcept {
  struct Entry {
    std::string_view name;
    std::size_t size;
  };
  static constexpr Entry table[] = {{"BOOL", 1}, {"U8", 1},  {"I8", 1},   {"F8_E5M2", 1}, {"F8_E4M3", 1},
                                    {"I16", 2},  {"U16", 2}, {"F16", 2},  {"BF16", 2},    {"I32", 4},
                                    {"U32", 4},  {"F32", 4}, {"F64", 8},  {"I64", 8},     {"U64", 8}};
  for (const auto& e : table)
    if (e.name == dtype) return e.size;
  return 0;
}

template <class T>
constexpr std::string_view dtype_of() {
  if constexpr (std::is_same_v<T, float>) return "F32";
  else if constexpr (std::is_same_v<T, double>) return "F64";
  else if constexpr (std::is_same_v<T, std::int64_t>) return "I64";
  else if constexpr (std::is_same_v<T, std::uint64_t>) return "U64";
  else if constexpr (std::is_same_v<T, std::int32_t>) return "I32";
  else if constexpr (std::is_same_v<T, std::uint8_t>) return "U8";
  else static_assert(sizeof(T) == 0, "ctnn::io: no safetensors dtype for this type");
}

// "[16, 3, 5, 5]"; "[]" for a scalar.
template <class Dims>
std::string shape_string(const Dims& shape) {
  std::string s = "[";
  bool first = true;
  for (auto d : shape) {
    s += (first ? "" : ", ") + std::to_string(d);
    first = false;
  }
  return s + "]";
}

namespace detail {

template <class T>
T byteswap(T v) noexcept {
  auto bytes = std::bit_cast<std::array<unsigned char, sizeof(T)>>(v);
  std::reverse(bytes.begin(), bytes.end());
  return std::bit_cast<T>(bytes);
}

// Little-endian bytes <-> host values. `src`/`dst` need not be aligned.
template <class T>
void decode_le(const std::uint8_t* src, T* dst, std::size_t n) noexcept {
  if (n == 0) return;
  std::memcpy(static_cast<void*>(dst), src, n * sizeof(T));
  if constexpr (std::endian::native == std::endian::big)
    for (std::size_t i = 0; i < n; ++i) dst[i] = byteswap(dst[i]);
}
template <class T>
void encode_le(const T* src, std::size_t n, std::string& out) {
  const std::size_t at = out.size();
  out.resize(at + n * sizeof(T));
  if (n == 0) return;
  std::memcpy(out.data() + at, src, n * sizeof(T));
  if constexpr (std::endian::native == std::endian::big)
    for (std::size_t i = 0; i < n; ++i) {
      const T v = byteswap(src[i]);
      std::memcpy(out.data() + at + i * sizeof(T), &v, sizeof(T));
    }
}

inline std::uint64_t read_u64_le(const std::uint8_t* p) noexcept {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace detail

// Builds a safetensors file in memory: add tensors (their bytes are copied), then bytes() or
// write(). Tensors are stored in the order added.
class Writer {
 public:
  template <class T>
  void add(std::string name, std::vector<std::uint64_t> shape, const T* values, std::size_t count) {
    std::uint64_t numel = 1;
    for (auto d : shape) numel *= d;
    if (numel != count)
      throw Error("safetensors writer: tensor " + detail::quote(name) + " has " + std::to_string(count) +
                  " values but shape " + shape_string(shape));
    if (!names_.insert(name).second) throw Error("safetensors writer: duplicate tensor " + detail::quote(name));
    const std::uint64_t begin = data_.size();
    detail::encode_le(values, count, data_);
    entries_.push_back({std::move(name), std::string(dtype_of<T>()), std::move(shape), begin, data_.size()});
  }

  std::map<std::string, std::string>& metadata() { return metadata_; }

  // The whole file.
  std::string bytes() const {
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    if (!metadata_.empty()) {
      nlohmann::ordered_json m = nlohmann::ordered_json::object();
      for (const auto& [k, v] : metadata_) m[k] = v;
      header["__metadata__"] = std::move(m);
    }
    for (const auto& e : entries_)
      header[e.name] = {{"dtype", e.dtype}, {"shape", e.shape}, {"data_offsets", {e.begin, e.end}}};
    std::string text;
    try {
      text = header.dump();
    } catch (const nlohmann::json::exception& ex) {  // e.g. a name or metadata value that is not UTF-8
      throw Error(std::string("safetensors writer: cannot encode the header: ") + ex.what());
    }
    text.resize((text.size() + 7) / 8 * 8, ' ');  // 8-byte aligned data, as the reference writer does
    std::string out;
    out.reserve(8 + text.size() + data_.size());
    const std::uint64_t n = text.size();
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xFF));
    out += text;
    out += data_;
    return out;
  }

  void write(const std::filesystem::path& path) const { write_file_atomically(path, bytes()); }

 private:
  struct Entry {
    std::string name;
    std::string dtype;
    std::vector<std::uint64_t> shape;
    std::uint64_t begin, end;
  };
  std::vector<Entry> entries_;
  std::set<std::string> names_;
  std::string data_;
  std::map<std::string, std::string> metadata_;
};

// ---- reading files -------------------------------------------------------------------------

struct TensorEntry {
  std::string name;
  std::string dtype;
  std::vector<std::uint64_t> shape;
  std::uint64_t begin = 0, end = 0;  // byte range in the data section
  std::uint64_t numel() const {
    std::uint64_t n = 1;
    for (auto d : shape) n *= d;  // checked against the data size when parsed: cannot overflow
    return n;
  }
};

// A parsed and structurally validated safetensors file (or buffer). Every entry's bytes are
// known to lie inside the data section and to have the size its dtype and shape need.
class File {
 public:
  // The reference implementation's limit on the header size.
  static constexpr std::uint64_t max_header_bytes = 100'000'000;

  // Parses `bytes`, which must outlive the File (it reads tensor data from them). `source`
  // names them in messages.
  static File parse(std::span<const std::uint8_t> bytes, std::string source = "<memory>") {
    File f;
    f.source_ = std::move(source);
    f.bytes_ = bytes;
    f.parse_header();
    return f;
  }

  // Parses bytes the File keeps (e.g. the result of to_bytes()).
  static File parse_owned(std::string bytes, std::string source = "<memory>") {
    File f;
    f.source_ = std::move(source);
    f.owned_.assign(bytes.begin(), bytes.end());
    f.bytes_ = std::span<const std::uint8_t>(f.owned_.data(), f.owned_.size());
    f.parse_header();
    return f;
  }

  // Reads and parses a whole file.
  static File read(const std::filesystem::path& path) {
    File f;
    f.source_ = path.string();
    f.owned_ = read_bytes(path);
    f.bytes_ = std::span<const std::uint8_t>(f.owned_.data(), f.owned_.size());
    f.parse_header();
    return f;
  }

  File(File&&) noexcept = default;
  File& operator=(File&&) noexcept = default;
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  const std::string& source() const noexcept { return source_; }
  // Entries in data order.
  const std::vector<TensorEntry>& tensors() const noexcept { return entries_; }
  const std::map<std::string, std::string>& metadata() const noexcept { return metadata_; }
  const TensorEntry* find(std::string_view name) const {
    const auto it = index_.find(name);
    return it == index_.end() ? nullptr : &entries_[it->second];
  }
  std::span<const std::uint8_t> data(const TensorEntry& e) const {
    return bytes_.subspan(static_cast<std::size_t>(data_start_ + e.begin), static_cast<std::size_t>(e.end - e.begin));
  }
  // Copies a tensor's values, which must be of dtype dtype_of<T>() and hold `count` elements.
  template <class T>
  void copy_to(const TensorEntry& e, T* out, std::size_t count) const {
    if (e.dtype != dtype_of<T>() || e.numel() != count)
      throw Error(where(e.name) + ": cannot read it as " + std::to_string(count) + " " + std::string(dtype_of<T>()) +
                  " values (it is " + e.dtype + " " + shape_string(e.shape) + ")");
    detail::decode_le(data(e).data(), out, count);
  }

  std::string where(std::string_view tensor) const {
    return "safetensors file " + detail::quote(source_) + ": tensor " + detail::quote(tensor);
  }

 private:
  File() = default;

  [[noreturn]] void fail(const std::string& what) const {
    throw Error("safetensors file " + detail::quote(source_) + ": " + what);
  }

  static std::vector<std::uint8_t> read_bytes(const std::filesystem::path& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const auto status = fs::status(path, ec);
    if (ec || !fs::exists(status)) throw Error("safetensors file " + detail::quote(path.string()) + " does not exist");
    if (!fs::is_regular_file(status))
      throw Error("safetensors file " + detail::quote(path.string()) + " is not a regular file");
    std::FILE* fp = std::fopen(path.c_str(), "rb");
    if (!fp) throw Error("cannot open safetensors file " + detail::quote(path.string()) + ": " + std::strerror(errno));
    std::vector<std::uint8_t> out;
    std::uint8_t chunk[1 << 16];
    for (;;) {
      const std::size_t n = std::fread(chunk, 1, sizeof chunk, fp);
      out.insert(out.end(), chunk, chunk + n);
      if (n < sizeof chunk) break;
    }
    const bool bad = std::ferror(fp) != 0;
    std::fclose(fp);
    if (bad) throw Error("error reading safetensors file " + detail::quote(path.string()));
    return out;
  }

  static std::optional<std::uint64_t> as_u64(const nlohmann::json& v) {
    if (v.is_number_unsigned()) return v.get<std::uint64_t>();
    if (v.is_number_integer() && v.get<std::int64_t>() >= 0) return static_cast<std::uint64_t>(v.get<std::int64_t>());
    return std::nullopt;
  }

  void parse_header() {
    const std::uint64_t size = bytes_.size();
    if (size < 8)
      fail("the file is " + std::to_string(size) +
           " bytes, too short for the 8-byte header length (truncated, or not a safetensors file)");
    const std::uint64_t n = detail::read_u64_le(bytes_.data());
    if (n > max_header_bytes)
      fail("the header length field says " + std::to_string(n) + " bytes, more than the limit of " +
           std::to_string(max_header_bytes) + " (not a safetensors file?)");
    if (n > size - 8)
      fail("the header length field says " + std::to_string(n) + " bytes but only " + std::to_string(size - 8) +
           " follow it (truncated file?)");
    if (n < 2) fail("the header is " + std::to_string(n) + " bytes, too short for a JSON object");
    data_start_ = 8 + n;
    const std::uint64_t data_size = size - data_start_;
    const char* text = reinterpret_cast<const char*>(bytes_.data() + 8);

    // Duplicate tensor names (JSON allows them; the last would silently win) and nesting deeper
    // than a valid header needs are rejected while parsing.
    std::set<std::string> seen;
    std::string duplicate;
    constexpr int max_depth = 4;
    nlohmann::json header;
    try {
      header = nlohmann::json::parse(
          text, text + n,
          [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
            if (depth > max_depth) throw Error("the header nests deeper than a safetensors header can");
            if (event == nlohmann::json::parse_event_t::key && depth == 1 && parsed.is_string() &&
                !seen.insert(parsed.get<std::string>()).second && duplicate.empty())
              duplicate = parsed.get<std::string>();
            return true;
          });
    } catch (const nlohmann::json::exception& e) {
      fail("the " + std::to_string(n) + "-byte header is not valid JSON: " + e.what());
    } catch (const Error& e) {
      fail(e.what());
    }
    if (!duplicate.empty()) fail("the header names tensor " + detail::quote(duplicate) + " twice");
    if (!header.is_object()) fail("the header is JSON but not an object (it is " + std::string(header.type_name()) + ")");

    for (auto it = header.begin(); it != header.end(); ++it) {
      const std::string& name = it.key();
      const auto& v = it.value();
      if (name == "__metadata__") {
        if (!v.is_object()) fail("\"__metadata__\" is not an object of strings");
        for (auto m = v.begin(); m != v.end(); ++m) {
          if (!m.value().is_string())
            fail("\"__metadata__\" entry " + detail::quote(m.key()) + " is not a string (it is " +
                 std::string(m.value().type_name()) + ")");
          metadata_[m.key()] = m.value().get<std::string>();
        }
        continue;
      }
      const std::string who = "tensor " + detail::quote(name);
      if (!v.is_object()) fail(who + ": its header entry is not an object");
      TensorEntry e;
      e.name = name;
      const auto dt = v.find("dtype");
      if (dt == v.end() || !dt->is_string()) fail(who + ": \"dtype\" is missing or not a string");
      e.dtype = dt->get<std::string>();
      const std::size_t esize = dtype_size(e.dtype);
      if (esize == 0) fail(who + ": unknown dtype " + detail::quote(e.dtype));
      const auto sh = v.find("shape");
      if (sh == v.end() || !sh->is_array()) fail(who + ": \"shape\" is missing or not an array");
      // Element count, checked against the data size as it grows so nothing overflows.
      std::uint64_t numel = 1;
      bool zero = false;
      for (const auto& d : *sh) {
        const auto dim = as_u64(d);
        if (!dim) fail(who + ": \"shape\" holds " + d.dump() + ", not a non-negative integer");
        e.shape.push_back(*dim);
        if (*dim == 0) zero = true;
        else if (!zero) {
          if (*dim > data_size || numel > data_size / *dim) {
            numel = std::numeric_limits<std::uint64_t>::max();
          } else {
            numel *= *dim;
          }
        }
      }
      if (zero) numel = 0;
      const auto off = v.find("data_offsets");
      if (off == v.end() || !off->is_array() || off->size() != 2)
        fail(who + ": \"data_offsets\" is missing or not an array of two offsets");
      const auto b = as_u64((*off)[0]), en = as_u64((*off)[1]);
      if (!b || !en) fail(who + ": \"data_offsets\" " + off->dump() + " are not non-negative integers");
      e.begin = *b;
      e.end = *en;
      if (e.begin > e.end) fail(who + ": \"data_offsets\" " + off->dump() + " end before they begin");
      if (e.end > data_size)
        fail(who + ": \"data_offsets\" " + off->dump() + " run past the end of the " + std::to_string(data_size) +
             "-byte data section (truncated file, or offsets out of range)");
      if (numel == std::numeric_limits<std::uint64_t>::max() || numel > data_size / esize)
        fail(who + ": " + e.dtype + " " + shape_string(e.shape) + " needs more bytes than the " +
             std::to_string(data_size) + "-byte data section holds (truncated file, or a wrong shape)");
      const std::uint64_t need = numel * esize;
      if (e.end - e.begin != need)
        fail(who + ": \"data_offsets\" " + off->dump() + " span " + std::to_string(e.end - e.begin) + " bytes but " +
             e.dtype + " " + shape_string(e.shape) + " needs " + std::to_string(need));
      entries_.push_back(std::move(e));
    }

    // The tensors must tile the data section exactly, as the reference implementation requires.
    std::stable_sort(entries_.begin(), entries_.end(), [](const TensorEntry& a, const TensorEntry& b) {
      return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    std::uint64_t at = 0;
    const TensorEntry* prev = nullptr;
    for (const auto& e : entries_) {
      if (e.begin != at)
        fail("tensor " + detail::quote(e.name) + " starts at data byte " + std::to_string(e.begin) + " but " +
             (prev ? "the previous tensor " + detail::quote(prev->name) + " ends at " + std::to_string(at)
                   : std::string("the data section starts at 0")) +
             " (tensors must tile the data section without gaps or overlaps)");
      at = e.end;
      prev = &e;
    }
    if (at != data_size)
      fail("the tensors cover " + std::to_string(at) + " bytes of the " + std::to_string(data_size) +
           "-byte data section (trailing bytes after the last tensor)");
    for (std::size_t i = 0; i < entries_.size(); ++i) index_.emplace(entries_[i].name, i);
  }

  std::string source_;
  std::vector<std::uint8_t> owned_;
  std::span<const std::uint8_t> bytes_;
  std::uint64_t data_start_ = 0;
  std::vector<TensorEntry> entries_;
  std::map<std::string, std::size_t, std::less<>> index_;  // name -> position in entries_
  std::map<std::string, std::string> metadata_;
};

}  // namespace ctnn::io
