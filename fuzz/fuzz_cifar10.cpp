// libFuzzer target for the CIFAR-10 reader (ctnn/data/cifar10.hpp, ctnn/data/image_set.hpp):
// the input is written to a file, then read as a CIFAR-10 batch file (all records, and with a
// limit) and as a batches.meta.txt class-name file. Any input must load or throw
// ctnn::data::DataError. Build and run: fuzz/run.sh.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include <ctnn/data/cifar10.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace fs = std::filesystem;
  namespace d = ctnn::data;
  static const fs::path path = [] {
    const fs::path dir = fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    return dir / ("ctnn_fuzz_cifar10_" + std::to_string(::getpid()) + ".bin");
  }();
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) __builtin_trap();
    if (size && std::fwrite(data, 1, size, f) != size) __builtin_trap();
    std::fclose(f);
  }
  try {
    const auto set = d::load_cifar10_file(path);
    if (set.pixels.size() != set.size() * d::Cifar10::image_size) __builtin_trap();
    for (auto l : set.labels)
      if (l < 0 || l > 9) __builtin_trap();
  } catch (const d::DataError&) {
  }
  try {
    const std::size_t limit = size ? data[0] % 4 : 1;
    const auto set = d::load_cifar10_file(path, limit);
    if (set.size() != limit) __builtin_trap();
  } catch (const d::DataError&) {
  }
  try {
    const auto names = d::read_cifar10_meta(path);
    if (names.size() != d::kCifar10NumClasses) __builtin_trap();
  } catch (const d::DataError&) {
  }
  return 0;
}
