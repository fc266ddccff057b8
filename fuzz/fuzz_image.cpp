// libFuzzer target for the image loader that predict uses (ctnn/io/image_decode.hpp: libpng,
// libjpeg-turbo, the PGM/PPM parser): the input is decoded as grey and as RGB, in memory and
// through read_image from a file. Any input must decode to consistent pixels or throw
// ctnn::io::ImageError. Build and run: fuzz/run.sh.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <span>
#include <string>

#include <ctnn/io/image_decode.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace fs = std::filesystem;
  namespace io = ctnn::io;
  static const fs::path path = [] {
    const fs::path dir = fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    return dir / ("ctnn_fuzz_image_" + std::to_string(::getpid()));
  }();
  const io::ImageLimits limits{.max_pixels = std::size_t{1} << 22};  // 4 Mpixel: fast iterations
  for (std::size_t channels : {std::size_t{1}, std::size_t{3}}) {
    try {
      const auto img = io::decode_image(std::span<const std::uint8_t>(data, size), channels, "fuzz", limits);
      if (img.width == 0 || img.height == 0 || img.channels != channels ||
          img.pixels.size() != img.width * img.height * channels)
        __builtin_trap();
    } catch (const io::ImageError&) {
    }
  }
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) __builtin_trap();
    if (size && std::fwrite(data, 1, size, f) != size) __builtin_trap();
    std::fclose(f);
  }
  try {
    const auto img = io::read_image(path, 3, limits);
    if (img.pixels.size() != img.width * img.height * 3) __builtin_trap();
  } catch (const io::ImageError&) {
  }
  return 0;
}
