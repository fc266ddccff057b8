#pragma once
// Decoding image files from untrusted sources (predict's inputs): PNG with libpng, JPEG with
// libjpeg-turbo (both continuously fuzzed upstream, and fuzzed here through this header:
// fuzz/fuzz_image.cpp), binary PGM/PPM (P5/P6, 8-bit) with the small strict parser below.
// Anything else (BMP, GIF, TIFF, WebP, ASCII PNM, 16-bit PNM, CMYK JPEG) is refused by name.
//
//   const ctnn::io::Image img = ctnn::io::read_image("cat.png", 3);  // RGB, interleaved (HWC)
//   // img.width, img.height, img.pixels (height * width * 3 bytes)
//
// A truncated or corrupt file is an ImageError naming the file and what is wrong: libpng's and
// libjpeg's errors, and their warnings too (libjpeg decodes a truncated JPEG into a grey-filled
// image with only a warning; here that is an error). The format is told by the first bytes,
// not the file name.
//
// Channels: 3 gives RGB (grey images are replicated, alpha is dropped, as PIL's
// convert('RGB')), 1 gives grey (RGB converted with PIL's convert('L') formula, exactly:
// (19595 R + 38470 G + 7471 B + 2^15) >> 16).
//
// Not included by <ctnn/ctnn.hpp>. Link libpng and libjpeg (CMake: find_package(PNG) and
// find_package(JPEG), targets PNG::PNG and JPEG::JPEG; Debian: libpng-dev libjpeg62-turbo-dev).
#include <csetjmp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <jpeglib.h>
#include <png.h>

namespace ctnn::io {

// Every failure to read or decode an image. The message names the file.
class ImageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Image {
  std::size_t width = 0, height = 0, channels = 0;
  std::vector<std::uint8_t> pixels;  // height rows of width pixels of `channels` bytes (HWC)
  const char* format = "";           // "PNG", "JPEG", "PGM", "PPM"
};

struct ImageLimits {
  std::size_t max_pixels = std::size_t{1} << 26;  // 64 Mpixel: larger images are refused before decoding
};

namespace detail {

inline constexpr std::size_t kImageErrorBytes = 200;

// ---- PNG (libpng; errors longjmp back here with the message kept) ----
struct PngSource {
  const std::uint8_t* data;
  std::size_t size, at;
  char error[kImageErrorBytes];
};

extern "C" inline void ctnn_png_read(png_structp png, png_bytep out, png_size_t n) {
  auto* s = static_cast<PngSource*>(png_get_io_ptr(png));
  if (s->size - s->at < n) png_error(png, "the file ends early (truncated)");
  std::memcpy(out, s->data + s->at, n);
  s->at += n;
}
extern "C" inline void ctnn_png_error(png_structp png, png_const_charp message) {
  auto* s = static_cast<PngSource*>(png_get_error_ptr(png));
  std::snprintf(s->error, sizeof s->error, "%s", message);
  png_longjmp(png, 1);
}
extern "C" inline void ctnn_png_warning(png_structp, png_const_charp) {}  // benign (e.g. a bad ancillary chunk)

// Decodes into `out` (grey or RGB, 8-bit); returns false with s.error set on any failure.
// No object with a destructor lives in this frame across setjmp.
inline bool png_decode(PngSource& s, std::vector<std::uint8_t>& out, std::size_t& width, std::size_t& height,
                       std::size_t& channels, std::size_t max_pixels) {
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &s, ctnn_png_error, ctnn_png_warning);
  if (!png) {
    std::snprintf(s.error, sizeof s.error, "out of memory");
    return false;
  }
  png_infop info = png_create_info_struct(png);
  png_bytep* volatile rows = nullptr;
  if (!info || setjmp(png_jmpbuf(png))) {
    png_free(png, rows);
    png_destroy_read_struct(&png, &info, nullptr);
    if (!s.error[0]) std::snprintf(s.error, sizeof s.error, "out of memory");
    return false;
  }
  png_set_read_fn(png, &s, ctnn_png_read);
  png_set_user_limits(png, 1u << 20, 1u << 20);
  png_read_info(png, info);
  const png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
  if (static_cast<std::uint64_t>(w) * h > max_pixels) {
    char too_large[kImageErrorBytes];
    std::snprintf(too_large, sizeof too_large, "%ux%u pixels, more than the %zu allowed", static_cast<unsigned>(w),
                  static_cast<unsigned>(h), max_pixels);
    png_error(png, too_large);
  }
  const int color = png_get_color_type(png, info);
  png_set_expand(png);  // palette -> RGB, grey < 8 bits -> 8 bits, tRNS -> alpha
  png_set_strip_16(png);
  png_set_strip_alpha(png);  // dropped, as PIL's convert('RGB') and convert('L') do
  if (color & PNG_COLOR_MASK_PALETTE) channels = 3;
  else channels = (color & PNG_COLOR_MASK_COLOR) ? 3 : 1;
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  if (png_get_rowbytes(png, info) != static_cast<std::size_t>(w) * channels)
    png_error(png, "unexpected row layout after conversion to 8 bits");
  out.resize(static_cast<std::size_t>(w) * h * channels);
  rows = static_cast<png_bytep*>(png_malloc(png, sizeof(png_bytep) * h));
  for (png_uint_32 y = 0; y < h; ++y) rows[y] = out.data() + static_cast<std::size_t>(y) * w * channels;
  png_read_image(png, rows);
  png_read_end(png, nullptr);  // the chunks after the image data, up to IEND (a cut file fails here)
  png_free(png, rows);
  png_destroy_read_struct(&png, &info, nullptr);
  width = w;
  height = h;
  return true;
}

// ---- JPEG (libjpeg-turbo; warnings, such as "premature end of data", are errors here) ----
struct JpegError {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char error[kImageErrorBytes];
};

extern "C" inline void ctnn_jpeg_error_exit(j_common_ptr cinfo) {
  auto* e = reinterpret_cast<JpegError*>(cinfo->err);
  char text[JMSG_LENGTH_MAX];
  (*cinfo->err->format_message)(cinfo, text);
  std::snprintf(e->error, sizeof e->error, "%s", text);
  std::longjmp(e->jump, 1);
}
extern "C" inline void ctnn_jpeg_message(j_common_ptr cinfo, int level) {
  if (level < 0) ctnn_jpeg_error_exit(cinfo);  // a warning: corrupt or truncated data
}

inline bool jpeg_decode(const std::uint8_t* data, std::size_t size, JpegError& err, std::vector<std::uint8_t>& out,
                        std::size_t& width, std::size_t& height, std::size_t& channels, std::size_t max_pixels) {
  jpeg_decompress_struct cinfo;
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = ctnn_jpeg_error_exit;
  err.mgr.emit_message = ctnn_jpeg_message;
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, data, static_cast<unsigned long>(size));
  jpeg_read_header(&cinfo, TRUE);
  if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
    std::snprintf(err.error, sizeof err.error, "CMYK JPEG is not supported (convert it to RGB)");
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  if (static_cast<std::uint64_t>(cinfo.image_width) * cinfo.image_height > max_pixels) {
    std::snprintf(err.error, sizeof err.error, "%ux%u pixels, more than the %zu allowed", cinfo.image_width,
                  cinfo.image_height, max_pixels);
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  cinfo.out_color_space = cinfo.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(&cinfo);
  channels = static_cast<std::size_t>(cinfo.output_components);
  width = cinfo.output_width;
  height = cinfo.output_height;
  out.resize(width * height * channels);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = out.data() + static_cast<std::size_t>(cinfo.output_scanline) * width * channels;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return true;
}

// ---- PGM / PPM (binary P5 / P6, maxval 1..255) ----
// Returns "" on success, else what is wrong.
inline std::string pnm_decode(std::span<const std::uint8_t> b, std::vector<std::uint8_t>& out, std::size_t& width,
                              std::size_t& height, std::size_t& channels, std::size_t max_pixels) {
  channels = b[1] == '5' ? 1 : 3;
  std::size_t at = 2;
  std::size_t fields[3] = {0, 0, 0};  // width, height, maxval
  for (std::size_t& f : fields) {
    for (;;) {  // white space and # comments
      if (at >= b.size()) return "the header ends early (truncated)";
      if (b[at] == '#') {
        while (at < b.size() && b[at] != '\n' && b[at] != '\r') ++at;
      } else if (b[at] == ' ' || b[at] == '\t' || b[at] == '\n' || b[at] == '\r' || b[at] == '\v' || b[at] == '\f') {
        ++at;
      } else {
        break;
      }
    }
    if (b[at] < '0' || b[at] > '9') return "the header holds a non-number where the width, height or maximum value stands";
    while (at < b.size() && b[at] >= '0' && b[at] <= '9') {
      f = f * 10 + static_cast<std::size_t>(b[at++] - '0');
      if (f > 1'000'000) return "a header number above 1000000";
    }
  }
  width = fields[0];
  height = fields[1];
  const std::size_t maxval = fields[2];
  if (at >= b.size()) return "the header ends early (truncated)";
  ++at;  // the one white-space byte before the pixels
  if (width == 0 || height == 0) return "a width or height of 0";
  if (maxval == 0 || maxval > 255) return "maximum value " + std::to_string(maxval) + " (only 8-bit, 1..255, is read)";
  if (width * height > max_pixels) return std::to_string(width) + "x" + std::to_string(height) + " pixels, more than the " +
                                          std::to_string(max_pixels) + " allowed";
  const std::size_t n = width * height * channels;
  if (b.size() - at < n)
    return "the pixel data ends early (truncated): " + std::to_string(b.size() - at) + " of " + std::to_string(n) +
           " bytes";
  out.assign(b.begin() + static_cast<std::ptrdiff_t>(at), b.begin() + static_cast<std::ptrdiff_t>(at + n));
  for (auto& v : out) {
    if (v > maxval) return "a sample above the maximum value " + std::to_string(maxval);
    if (maxval != 255) v = static_cast<std::uint8_t>((v * 255u + maxval / 2) / maxval);
  }
  return {};
}

inline const char* unsupported_format(std::span<const std::uint8_t> b) {
  const auto starts = [&](std::string_view m) {
    return b.size() >= m.size() && std::memcmp(b.data(), m.data(), m.size()) == 0;
  };
  if (starts("BM")) return "a BMP file";
  if (starts("GIF8")) return "a GIF file";
  if (starts("II*") || starts("MM")) return "a TIFF file";
  if (b.size() >= 12 && starts("RIFF") && std::memcmp(b.data() + 8, "WEBP", 4) == 0) return "a WebP file";
  if (starts("P1") || starts("P2") || starts("P3") || starts("P4")) return "an ASCII or 1-bit PNM file";
  return nullptr;
}

}  // namespace detail

// Decodes an image held in memory; `name` (the file name) is what messages call it.
// channels: 1 (grey) or 3 (RGB).
inline Image decode_image(std::span<const std::uint8_t> bytes, std::size_t channels, const std::string& name,
                          const ImageLimits& limits = {}) {
  if (channels != 1 && channels != 3) throw std::invalid_argument("decode_image: channels must be 1 or 3");
  const auto fail = [&](const char* format, const std::string& why) -> ImageError {
    return ImageError("cannot read image '" + name + "': " + (format[0] ? std::string(format) + ": " : "") + why);
  };
  Image img;
  std::size_t native = 0;
  if (bytes.size() >= 8 && png_sig_cmp(bytes.data(), 0, 8) == 0) {
    img.format = "PNG";
    detail::PngSource s{bytes.data(), bytes.size(), 0, {}};
    if (!detail::png_decode(s, img.pixels, img.width, img.height, native, limits.max_pixels))
      throw fail(img.format, s.error);
  } else if (bytes.size() >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF) {
    img.format = "JPEG";
    detail::JpegError e{};
    if (!detail::jpeg_decode(bytes.data(), bytes.size(), e, img.pixels, img.width, img.height, native, limits.max_pixels))
      throw fail(img.format, e.error);
  } else if (bytes.size() >= 2 && bytes[0] == 'P' && (bytes[1] == '5' || bytes[1] == '6')) {
    img.format = bytes[1] == '5' ? "PGM" : "PPM";
    const std::string why = detail::pnm_decode(bytes, img.pixels, img.width, img.height, native, limits.max_pixels);
    if (!why.empty()) throw fail(img.format, why);
  } else if (const char* other = detail::unsupported_format(bytes)) {
    throw fail("", std::string(other) + ", which is not supported: convert it to PNG");
  } else {
    throw fail("", bytes.empty() ? "the file is empty" : "not a PNG, JPEG or binary PGM/PPM file");
  }
  const std::size_t n = img.width * img.height;
  if (native == channels) {
    img.channels = channels;
  } else if (channels == 3) {  // grey -> RGB
    std::vector<std::uint8_t> rgb(n * 3);
    for (std::size_t i = 0; i < n; ++i) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = img.pixels[i];
    img.pixels = std::move(rgb);
  } else {  // RGB -> grey, PIL's convert('L')
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint32_t r = img.pixels[3 * i], g = img.pixels[3 * i + 1], b = img.pixels[3 * i + 2];
      img.pixels[i] = static_cast<std::uint8_t>((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16);
    }
    img.pixels.resize(n);
  }
  img.channels = channels;
  return img;
}

// Reads and decodes an image file (see decode_image).
inline Image read_image(const std::filesystem::path& path, std::size_t channels, const ImageLimits& limits = {}) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw ImageError("cannot read image '" + path.string() + "': " +
                     (std::filesystem::exists(path, ec) ? "not a regular file" : "no such file"));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ImageError("cannot read image '" + path.string() + "': cannot open it");
  const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw ImageError("cannot read image '" + path.string() + "': a read error");
  return decode_image(bytes, channels, path.string(), limits);
}

}  // namespace ctnn::io
