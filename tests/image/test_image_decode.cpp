// ctnn/io/image_decode.hpp on images made here with libpng's and libjpeg's encoders: good
// PNG (RGB, grey, RGBA, palette, interlaced), JPEG (grey, RGB) and PGM/PPM files decode to the
// expected pixels; truncated, corrupt and non-image files are ImageErrors naming the file.
#include <doctest/doctest.h>

#include <unistd.h>
#include <zlib.h>

#include <csetjmp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <ctnn/io/image_decode.hpp>

#include "support/image_encode.hpp"

namespace fs = std::filesystem;
namespace io = ctnn::io;
using ctnn::test::Bytes;
using ctnn::test::encode_jpeg;
using ctnn::test::encode_png;

namespace {

// The offset of a chunk's length field, or npos.
std::size_t find_chunk(const Bytes& png, const char* type) {
  for (std::size_t at = 8; at + 8 <= png.size();) {
    const std::size_t len = (std::size_t{png[at]} << 24) | (png[at + 1] << 16) | (png[at + 2] << 8) | png[at + 3];
    if (std::memcmp(png.data() + at + 4, type, 4) == 0) return at;
    at += 12 + len;
  }
  return std::string::npos;
}

// The same PNG with its IDAT chunk holding only the first `keep` bytes of the zlib stream, the
// chunk's length and CRC rewritten: a well-formed file whose image data is cut short.
Bytes cut_image_data(const Bytes& png, std::size_t keep) {
  const std::size_t at = find_chunk(png, "IDAT");
  REQUIRE(at != std::string::npos);
  const std::size_t len = (std::size_t{png[at]} << 24) | (png[at + 1] << 16) | (png[at + 2] << 8) | png[at + 3];
  REQUIRE(keep < len);
  Bytes out(png.begin(), png.begin() + static_cast<std::ptrdiff_t>(at));
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<std::uint8_t>(keep >> s));
  out.insert(out.end(), png.begin() + static_cast<std::ptrdiff_t>(at + 4), png.begin() + static_cast<std::ptrdiff_t>(at + 8 + keep));
  const auto crc = crc32(crc32(0, nullptr, 0), out.data() + at + 4, static_cast<uInt>(4 + keep));
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<std::uint8_t>(crc >> s));
  out.insert(out.end(), png.begin() + static_cast<std::ptrdiff_t>(at + 12 + len), png.end());
  return out;
}

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("ctnn-image-test-" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path write(const std::string& name, const Bytes& b) const {
    std::ofstream(path / name, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    return path / name;
  }
};

std::string error_of(const fs::path& p, std::size_t channels = 3) {
  try {
    io::read_image(p, channels);
  } catch (const io::ImageError& e) {
    return e.what();
  }
  FAIL("no ImageError for " << p);
  return {};
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// A w x h RGB test pattern.
Bytes pattern(unsigned w, unsigned h, unsigned c) {
  Bytes p(w * h * c);
  for (std::size_t i = 0; i < p.size(); ++i) p[i] = static_cast<std::uint8_t>((i * 37 + i / c * 11) % 256);
  return p;
}

std::uint8_t pil_luma(std::uint32_t r, std::uint32_t g, std::uint32_t b) {
  return static_cast<std::uint8_t>((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16);
}

}  // namespace

TEST_CASE("image decode: PNG (RGB, grey, RGBA, palette, interlaced) gives the encoded pixels exactly") {
  TempDir tmp;
  const Bytes rgb = pattern(7, 5, 3);
  SUBCASE("RGB, and as grey with PIL's convert('L')") {
    const auto img = io::read_image(tmp.write("rgb.png", encode_png(rgb, 7, 5, PNG_COLOR_TYPE_RGB)), 3);
    CHECK(std::string(img.format) == "PNG");
    CHECK(img.width == 7);
    CHECK(img.height == 5);
    CHECK(img.channels == 3);
    CHECK(img.pixels == rgb);
    const auto grey = io::read_image(tmp.path / "rgb.png", 1);
    REQUIRE(grey.pixels.size() == 35);
    for (std::size_t i = 0; i < 35; ++i) CHECK(grey.pixels[i] == pil_luma(rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]));
  }
  SUBCASE("grey, replicated to RGB") {
    const Bytes g = pattern(6, 4, 1);
    CHECK(io::read_image(tmp.write("g.png", encode_png(g, 6, 4, PNG_COLOR_TYPE_GRAY)), 1).pixels == g);
    const auto img = io::read_image(tmp.path / "g.png", 3);
    for (std::size_t i = 0; i < g.size(); ++i) CHECK((img.pixels[3 * i] == g[i] && img.pixels[3 * i + 2] == g[i]));
  }
  SUBCASE("RGBA: alpha dropped, colours kept (PIL's convert('RGB'))") {
    const Bytes rgba = pattern(4, 4, 4);
    const auto img = io::read_image(tmp.write("a.png", encode_png(rgba, 4, 4, PNG_COLOR_TYPE_RGB_ALPHA)), 3);
    for (std::size_t i = 0; i < 16; ++i)
      CHECK((img.pixels[3 * i] == rgba[4 * i] && img.pixels[3 * i + 1] == rgba[4 * i + 1] &&
             img.pixels[3 * i + 2] == rgba[4 * i + 2]));
  }
  SUBCASE("palette and Adam7 interlacing") {
    const Bytes palette = {255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30};
    Bytes index(9 * 9);
    for (std::size_t i = 0; i < index.size(); ++i) index[i] = static_cast<std::uint8_t>(i % 4);
    const auto img = io::read_image(tmp.write("p.png", encode_png(index, 9, 9, PNG_COLOR_TYPE_PALETTE, true, palette)), 3);
    for (std::size_t i = 0; i < index.size(); ++i)
      for (std::size_t c = 0; c < 3; ++c) CHECK(img.pixels[3 * i + c] == palette[3 * index[i] + c]);
    const Bytes big = pattern(33, 17, 3);
    CHECK(io::read_image(tmp.write("i.png", encode_png(big, 33, 17, PNG_COLOR_TYPE_RGB, true)), 3).pixels == big);
  }
}

TEST_CASE("image decode: JPEG (grey, RGB) gives the encoded pixels within JPEG's rounding") {
  TempDir tmp;
  // Flat 8x8 blocks survive quality-100 JPEG up to the colour conversion's rounding.
  Bytes grey(16 * 16), rgb(16 * 16 * 3);
  for (std::size_t y = 0; y < 16; ++y)
    for (std::size_t x = 0; x < 16; ++x) {
      const std::size_t block = (y / 8) * 2 + x / 8;
      grey[y * 16 + x] = static_cast<std::uint8_t>(40 + 50 * block);
      for (std::size_t c = 0; c < 3; ++c) rgb[(y * 16 + x) * 3 + c] = static_cast<std::uint8_t>(30 + 60 * block + 20 * c);
    }
  const auto g = io::read_image(tmp.write("g.jpg", encode_jpeg(grey, 16, 16, 1)), 1);
  CHECK(std::string(g.format) == "JPEG");
  CHECK(g.width == 16);
  CHECK(g.channels == 1);
  REQUIRE(g.pixels.size() == grey.size());
  for (std::size_t i = 0; i < grey.size(); ++i) CHECK(std::abs(int(g.pixels[i]) - int(grey[i])) <= 1);
  const auto c = io::read_image(tmp.write("c.jpg", encode_jpeg(rgb, 16, 16, 3)), 3);
  REQUIRE(c.pixels.size() == rgb.size());
  int worst = 0;
  for (std::size_t i = 0; i < rgb.size(); ++i) worst = std::max(worst, std::abs(int(c.pixels[i]) - int(rgb[i])));
  CHECK(worst <= 2);
}

TEST_CASE("image decode: binary PGM/PPM, with maxval scaling") {
  TempDir tmp;
  Bytes pgm = {'P', '5', '\n', '#', ' ', 'c', '\n', '3', ' ', '2', '\n', '2', '5', '5', '\n', 0, 1, 2, 253, 254, 255};
  const auto g = io::read_image(tmp.write("a.pgm", pgm), 1);
  CHECK(std::string(g.format) == "PGM");
  CHECK(g.pixels == Bytes{0, 1, 2, 253, 254, 255});
  Bytes ppm = {'P', '6', ' ', '1', ' ', '1', ' ', '1', '5', '\n', 0, 15, 7};
  CHECK(io::read_image(tmp.write("a.ppm", ppm), 3).pixels == Bytes{0, 255, 119});
  pgm.resize(pgm.size() - 2);
  const auto msg = error_of(tmp.write("cut.pgm", pgm), 1);
  CHECK(contains(msg, "cut.pgm': PGM: the pixel data ends early (truncated): 4 of 6 bytes"));
  CHECK(contains(error_of(tmp.write("m.pgm", {'P', '5', ' ', '1', ' ', '1', ' ', '6', '5', '5', '3', '5', ' ', 0, 0})),
                 "maximum value 65535 (only 8-bit"));
}

TEST_CASE("image decode: truncated and corrupt files are errors naming the file, never pixels") {
  TempDir tmp;
  const Bytes rgb = pattern(40, 30, 3);
  const Bytes png = encode_png(rgb, 40, 30, PNG_COLOR_TYPE_RGB);
  const Bytes jpeg = encode_jpeg(rgb, 40, 30, 3, 90);

  SUBCASE("a PNG whose image data stream is cut short (well-formed chunks)") {
    const std::size_t idat = find_chunk(png, "IDAT");
    const std::size_t len = (std::size_t{png[idat]} << 24) | (png[idat + 1] << 16) | (png[idat + 2] << 8) | png[idat + 3];
    const auto p = tmp.write("short-idat.png", cut_image_data(png, len / 2));
    const auto msg = error_of(p);
    MESSAGE(msg);
    CHECK(contains(msg, "cannot read image '" + p.string() + "': PNG: "));
  }
  SUBCASE("a PNG file cut anywhere: in the header, in the image data, before IEND") {
    for (std::size_t keep : {std::size_t{8 + 10}, png.size() / 2, png.size() - 12, png.size() - 1}) {
      CAPTURE(keep);
      const auto p = tmp.write("cut.png", Bytes(png.begin(), png.begin() + static_cast<std::ptrdiff_t>(keep)));
      CHECK(contains(error_of(p), "cannot read image '" + p.string() + "': PNG: "));
    }
  }
  SUBCASE("a truncated JPEG (libjpeg only warns and fills grey: an error here)") {
    for (std::size_t keep : {std::size_t{20}, jpeg.size() / 2, jpeg.size() - 2}) {
      CAPTURE(keep);
      const auto p = tmp.write("cut.jpg", Bytes(jpeg.begin(), jpeg.begin() + static_cast<std::ptrdiff_t>(keep)));
      const auto msg = error_of(p);
      CHECK(contains(msg, "cannot read image '" + p.string() + "': JPEG: "));
    }
    const auto p = tmp.write("cut.jpg", Bytes(jpeg.begin(), jpeg.begin() + static_cast<std::ptrdiff_t>(jpeg.size() / 2)));
    MESSAGE(error_of(p));
  }
  SUBCASE("corrupt headers") {
    Bytes bad = png;
    bad[16 + 3] ^= 0x40;  // IHDR width: its CRC no longer matches
    auto msg = error_of(tmp.write("crc.png", bad));
    MESSAGE(msg);
    CHECK(contains(msg, "crc.png': PNG: "));
    Bytes zero = jpeg;
    const std::size_t sof = [&] {
      for (std::size_t i = 2; i + 1 < zero.size(); ++i)
        if (zero[i] == 0xFF && zero[i + 1] == 0xC0) return i;
      return std::size_t{0};
    }();
    REQUIRE(sof > 0);
    zero[sof + 5] = zero[sof + 6] = 0;  // height 0
    msg = error_of(tmp.write("h0.jpg", zero));
    MESSAGE(msg);
    CHECK(contains(msg, "h0.jpg': JPEG: "));
    CHECK(contains(error_of(tmp.write("h.pgm", {'P', '5', ' ', 'x', ' ', '1', ' ', '2', '5', '5', ' ', 0})), "h.pgm': PGM: "));
  }
  SUBCASE("not an image, empty, unsupported formats, missing") {
    CHECK(contains(error_of(tmp.write("text.png", {'n', 'o', 't', ' ', 'a', 'n', ' ', 'i', 'm', 'g'})),
                   "text.png': not a PNG, JPEG or binary PGM/PPM file"));
    CHECK(contains(error_of(tmp.write("empty.jpg", {})), "empty.jpg': the file is empty"));
    CHECK(contains(error_of(tmp.write("x.bmp", {'B', 'M', 0, 0, 0, 0})), "x.bmp': a BMP file, which is not supported: convert it to PNG"));
    CHECK(contains(error_of(tmp.path / "absent.png"), "absent.png': no such file"));
    CHECK(contains(error_of(tmp.path), "not a regular file"));
  }
  SUBCASE("an image larger than the limit is refused before decoding") {
    const auto p = tmp.write("big.png", png);
    try {
      io::read_image(p, 3, {.max_pixels = 1000});
      FAIL("no limit");
    } catch (const io::ImageError& e) {
      CHECK(contains(e.what(), "40x30 pixels, more than the 1000 allowed"));
    }
  }
}
