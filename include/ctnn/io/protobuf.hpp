#pragma once
// The protocol buffers wire format (https://protobuf.dev/programming-guides/encoding/), the
// small part of it that writing an ONNX file needs: varints, little-endian fixed32, and
// length-delimited fields (strings, bytes, nested messages, packed repeated scalars). No
// schema and no libprotobuf: the caller names each field by its number, as the .proto file
// gives it. Reader decodes the same fields back (the tests check written files with it).
//
//   ctnn::io::protobuf::Writer dims;
//   dims.varint(1, 16);                  // field 1 = 16
//   Writer m;
//   m.string(8, "conv.weight");          // field 8, length-delimited
//   m.message(3, dims);                  // a nested message is a length-delimited field
//   const std::string& bytes = m.bytes();
#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace ctnn::io::protobuf {

enum class WireType : std::uint8_t { varint = 0, fixed64 = 1, length_delimited = 2, fixed32 = 5 };

// Appends fields to a byte string. Field numbers must be in [1, 2^29 - 1].
class Writer {
 public:
  // int32, int64, uint64, bool and enum fields. A negative int64 (or int32) is its 64-bit two's
  // complement, ten bytes, as protobuf encodes it.
  void varint(std::uint32_t field, std::uint64_t value) {
    key(field, WireType::varint);
    put_varint(bytes_, value);
  }
  void int64(std::uint32_t field, std::int64_t value) { varint(field, static_cast<std::uint64_t>(value)); }

  void fixed32(std::uint32_t field, float value) {
    key(field, WireType::fixed32);
    put_le32(bytes_, std::bit_cast<std::uint32_t>(value));
  }

  // string and bytes fields.
  void string(std::uint32_t field, std::string_view value) {
    key(field, WireType::length_delimited);
    put_varint(bytes_, value.size());
    bytes_.append(value);
  }
  void message(std::uint32_t field, const Writer& nested) { string(field, nested.bytes()); }
  // Fields encoded elsewhere (another Writer's bytes): a message is the concatenation of its fields.
  void append_raw(std::string_view encoded_fields) { bytes_.append(encoded_fields); }

  // Packed repeated fields (proto3's default; proto2 parsers accept them too).
  void packed_int64(std::uint32_t field, std::span<const std::int64_t> values) {
    std::string payload;
    for (const auto v : values) put_varint(payload, static_cast<std::uint64_t>(v));
    string(field, payload);
  }
  void packed_float(std::uint32_t field, std::span<const float> values) {
    std::string payload;
    for (const auto v : values) put_le32(payload, std::bit_cast<std::uint32_t>(v));
    string(field, payload);
  }

  const std::string& bytes() const noexcept { return bytes_; }
  std::string take() noexcept { return std::move(bytes_); }

  static void put_varint(std::string& out, std::uint64_t v) {
    while (v >= 0x80) {
      out.push_back(static_cast<char>((v & 0x7F) | 0x80));
      v >>= 7;
    }
    out.push_back(static_cast<char>(v));
  }

 private:
  void key(std::uint32_t field, WireType type) {
    if (field == 0 || field >= (1u << 29)) throw std::invalid_argument("protobuf: field number out of range");
    put_varint(bytes_, (static_cast<std::uint64_t>(field) << 3) | static_cast<std::uint64_t>(type));
  }
  static void put_le32(std::string& out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  }

  std::string bytes_;
};

// One decoded field. For varint, fixed32 and fixed64 fields `value` holds the number (a
// fixed32's bits in the low half); for length-delimited ones `payload` the bytes.
struct Field {
  std::uint32_t number = 0;
  WireType type = WireType::varint;
  std::uint64_t value = 0;
  std::string_view payload;
  float as_float() const { return std::bit_cast<float>(static_cast<std::uint32_t>(value)); }
};

class DecodeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Reads the fields of one message in order. Never reads outside `bytes`: a truncated or
// malformed message throws DecodeError.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}

  bool next(Field& f) {
    if (at_ == bytes_.size()) return false;
    const std::uint64_t k = read_varint();
    f.number = static_cast<std::uint32_t>(k >> 3);
    f.type = static_cast<WireType>(k & 7);
    f.payload = {};
    f.value = 0;
    if (f.number == 0) throw DecodeError("protobuf: field number 0");
    switch (f.type) {
      case WireType::varint: f.value = read_varint(); break;
      case WireType::fixed32: f.value = read_le(4); break;
      case WireType::fixed64: f.value = read_le(8); break;
      case WireType::length_delimited: {
        const std::uint64_t n = read_varint();
        if (n > bytes_.size() - at_) throw DecodeError("protobuf: a length-delimited field runs past the end");
        f.payload = bytes_.substr(at_, static_cast<std::size_t>(n));
        at_ += static_cast<std::size_t>(n);
        break;
      }
      default: throw DecodeError("protobuf: unsupported wire type " + std::to_string(k & 7));
    }
    return true;
  }

  // Decodes one varint from `bytes` as a whole (e.g. an element of a packed field's payload).
  std::uint64_t read_varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (at_ == bytes_.size()) throw DecodeError("protobuf: truncated varint");
      const auto b = static_cast<std::uint8_t>(bytes_[at_++]);
      v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return v;
    }
    throw DecodeError("protobuf: varint longer than 10 bytes");
  }
  bool done() const noexcept { return at_ == bytes_.size(); }

 private:
  std::uint64_t read_le(std::size_t n) {
    if (n > bytes_.size() - at_) throw DecodeError("protobuf: truncated fixed-width field");
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(bytes_[at_ + i])) << (8 * i);
    at_ += n;
    return v;
  }

  std::string_view bytes_;
  std::size_t at_ = 0;
};

}  // namespace ctnn::io::protobuf
