#pragma once
// Where the data-dependent unit tests find their data, and how they skip without it.
//
// The tests read only what a user has after the README's commands: the unpacked CIFAR-10 folder
// (CTNN_CIFAR10_DIR, made by scripts/get-cifar10.sh) and, optionally, the unpacked FER2013 folder
// (CTNN_FER2013_DIR, scripts/get-fer2013.sh). CTest sets both from the CMake cache variables of
// the same names. A test whose data is absent prints one line starting with "CTNN_SKIP:" (the
// reason and the command that gets the data) and returns; tests/CMakeLists.txt gives every unit
// test SKIP_REGULAR_EXPRESSION "CTNN_SKIP:", so CTest reports it as skipped, never as passed.
//
// The 500-record CIFAR-10 sample that several tests use is cut from the unpacked test_batch.bin
// (its first 500 records) into a temporary file, once per process.
//
//   auto dir = ctnn::test::cifar10_dir_or_skip();          if (!dir) return;
//   auto sample = ctnn::test::cifar10_sample_or_skip();    if (!sample) return;
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

namespace ctnn::test {

inline constexpr const char* kSkipMarker = "CTNN_SKIP:";

// Prints the skip line that CTest recognises.
inline void skip_test(const std::string& why) {
  std::cout << kSkipMarker << ' ' << why << std::endl;
}

// The folder named by the environment variable `var` when it holds `must_hold`, else a skip line
// naming what is missing and `how` (the command that gets it), and nullopt.
inline std::optional<std::filesystem::path> data_dir_or_skip(const char* var, const char* must_hold,
                                                             const char* how) {
  const char* p = std::getenv(var);
  if (!p || !*p) {
    skip_test(std::string(var) + " is not set. " + how);
    return std::nullopt;
  }
  const std::filesystem::path dir(p);
  if (!std::filesystem::is_regular_file(dir / must_hold)) {
    skip_test(std::string(var) + "='" + dir.string() + "' holds no " + must_hold + ". " + how);
    return std::nullopt;
  }
  return dir;
}

inline std::optional<std::filesystem::path> cifar10_dir_or_skip() {
  return data_dir_or_skip("CTNN_CIFAR10_DIR", "test_batch.bin",
                          "Get CIFAR-10 with scripts/get-cifar10.sh (official download, or --from "
                          "cifar-10-binary.tar.gz|.tar.xz), then re-run CMake with "
                          "-DCTNN_CIFAR10_DIR=<repo>/data/cifar-10-batches-bin (scripts/test.sh does both).");
}

inline std::optional<std::filesystem::path> fer2013_dir_or_skip() {
  return data_dir_or_skip("CTNN_FER2013_DIR", "fer2013-train.bin",
                          "FER2013 is optional: get it with scripts/get-fer2013.sh --from "
                          "fer2013-binary.tar.xz or fer2013.csv, then re-run CMake with "
                          "-DCTNN_FER2013_DIR=<repo>/data/fer2013-binary.");
}

inline constexpr std::size_t kCifar10SampleRecords = 500;

// A file holding the first 500 records of CTNN_CIFAR10_DIR/test_batch.bin, written once per
// process into a private temporary folder (removed at exit); nullopt (and a skip line) without
// the data.
inline std::optional<std::filesystem::path> cifar10_sample_or_skip() {
  const auto dir = cifar10_dir_or_skip();
  if (!dir) return std::nullopt;
  static const std::filesystem::path sample = [&] {
    constexpr std::size_t bytes = kCifar10SampleRecords * 3073;
    std::ifstream in(*dir / "test_batch.bin", std::ios::binary);
    std::vector<char> head(bytes);
    if (!in.read(head.data(), static_cast<std::streamsize>(bytes)))
      throw std::runtime_error((*dir / "test_batch.bin").string() + " is shorter than " +
                               std::to_string(kCifar10SampleRecords) + " records");
    static const struct Folder {
      std::filesystem::path path;
      Folder() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "ctnn-sample-XXXXXX").string();
        if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed for " + tmpl);
        path = tmpl;
      }
      ~Folder() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
      }
    } folder;
    const auto path = folder.path / "test_batch_head.bin";
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out.write(head.data(), static_cast<std::streamsize>(bytes)) || !out.flush())
      throw std::runtime_error("could not write " + path.string());
    return path;
  }();
  return sample;
}

}  // namespace ctnn::test
