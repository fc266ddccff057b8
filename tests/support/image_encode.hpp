#pragma once
// PNG and JPEG encoders for the image tests (libpng's and libjpeg's own), so that the tests
// make every image they read. Used by tests/image/*.cpp; doctest's FAIL reports an encoder error.
#include <doctest/doctest.h>

#include <csetjmp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <jpeglib.h>
#include <png.h>

namespace ctnn::test {

using Bytes = std::vector<std::uint8_t>;

inline void png_write_to(png_structp png, png_bytep data, png_size_t n) {
  auto* out = static_cast<Bytes*>(png_get_io_ptr(png));
  out->insert(out->end(), data, data + n);
}
inline void png_flush_none(png_structp) {}

// color_type: PNG_COLOR_TYPE_GRAY / RGB / RGB_ALPHA / PALETTE (then `palette` holds RGB triples).
inline Bytes encode_png(const Bytes& pixels, unsigned w, unsigned h, int color_type, bool interlace = false,
                 const Bytes& palette = {}) {
  Bytes out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    FAIL("libpng could not encode the test image");
  }
  png_set_write_fn(png, &out, png_write_to, png_flush_none);
  png_set_IHDR(png, info, w, h, 8, color_type, interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  std::vector<png_color> pal;
  for (std::size_t i = 0; i + 2 < palette.size(); i += 3) pal.push_back({palette[i], palette[i + 1], palette[i + 2]});
  if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_PLTE(png, info, pal.data(), static_cast<int>(pal.size()));
  png_write_info(png, info);
  const std::size_t row = pixels.size() / h;
  std::vector<png_bytep> rows(h);
  for (unsigned y = 0; y < h; ++y) rows[y] = const_cast<png_bytep>(pixels.data() + y * row);
  png_write_image(png, rows.data());
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return out;
}

inline Bytes encode_jpeg(const Bytes& pixels, unsigned w, unsigned h, int components, int quality = 100) {
  jpeg_compress_struct c;
  jpeg_error_mgr err;
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  unsigned char* mem = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&c, &mem, &size);
  c.image_width = w;
  c.image_height = h;
  c.input_components = components;
  c.in_color_space = components == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, quality, TRUE);
  for (int i = 0; i < c.num_components; ++i) c.comp_info[i].h_samp_factor = c.comp_info[i].v_samp_factor = 1;
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < h) {
    JSAMPROW row = const_cast<JSAMPROW>(pixels.data() + c.next_scanline * w * components);
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  Bytes out(mem, mem + size);
  jpeg_destroy_compress(&c);
  std::free(mem);
  return out;
}

}  // namespace ctnn::test
