#pragma once
// CIFAR-10, binary version (https://www.cs.toronto.edu/~kriz/cifar.html; get it with
// scripts/get-cifar10.sh). Each .bin file holds records of 3073 bytes: 1 label byte (0-9),
// then the 32x32 red, green and blue planes, each row by row; that is already CHW, so the
// pixels are kept exactly as stored. batches.meta.txt names the classes, one per line.
//
//   auto train = ctnn::data::load_cifar10("data/cifar-10-batches-bin", ctnn::data::Split::train);
//   auto test  = ctnn::data::load_cifar10("data/cifar-10-batches-bin", ctnn::data::Split::test);
//   // train.size() == 50000, train.image(i) is 3*32*32 uint8, train.label(i) in 0..9
//
// Every failure (missing file, size not a whole number of records, not the official 10,000
// records per file when the whole split is read, label outside 0..9, too few records for the
// limit, bad batches.meta.txt) throws ctnn::data::DataError naming the file.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "ctnn/core/shape.hpp"
#include "ctnn/data/image_set.hpp"

namespace ctnn::data {

using Cifar10Shape = Shape<3, 32, 32>;
using Cifar10 = ImageSet<Cifar10Shape>;

inline constexpr std::size_t kCifar10NumClasses = 10;
inline constexpr std::size_t kCifar10RecordBytes = 1 + Cifar10Shape::size;  // 3073
inline constexpr std::size_t kCifar10RecordsPerFile = 10000;  // each of data_batch_1..5.bin, test_batch.bin
inline constexpr std::array<std::string_view, kCifar10NumClasses> kCifar10ClassNames = {
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};

enum class Split { train, test };

// The files of a split, in order: train = data_batch_1.bin .. data_batch_5.bin, test = test_batch.bin.
inline std::vector<std::filesystem::path> cifar10_files(const std::filesystem::path& dir, Split split) {
  if (split == Split::test) return {dir / "test_batch.bin"};
  std::vector<std::filesystem::path> files;
  for (int i = 1; i <= 5; ++i) files.push_back(dir / ("data_batch_" + std::to_string(i) + ".bin"));
  return files;
}

// Class names from batches.meta.txt: one per line, trailing whitespace (and '\r') ignored,
// trailing blank lines tolerated (the official copy ends with one). Exactly 10 non-empty names
// are required.
inline std::vector<std::string> read_cifar10_meta(const std::filesystem::path& path) {
  std::uintmax_t bytes = 0;
  detail::open_for_reading(path, "CIFAR-10 class-name", bytes);  // existence and readability
  std::ifstream in(path);
  if (!in) throw DataError("cannot open CIFAR-10 class-name file " + detail::quoted(path));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
      line.pop_back();
    lines.push_back(std::move(line));
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  for (std::size_t i = 0; i < lines.size(); ++i)
    if (lines[i].empty())
      throw DataError("CIFAR-10 class-name file " + detail::quoted(path) + ": line " +
                      std::to_string(i + 1) + " is blank (expected one class name per line)");
  if (lines.size() != kCifar10NumClasses)
    throw DataError("CIFAR-10 class-name file " + detail::quoted(path) + " lists " +
                    std::to_string(lines.size()) + " class names, expected " +
                    std::to_string(kCifar10NumClasses));
  return lines;
}

// One .bin file (e.g. test_batch.bin, or a sample holding its first records). Class names
// are the standard ones (kCifar10ClassNames); a lone file has no batches.meta.txt to read.
inline Cifar10 load_cifar10_file(const std::filesystem::path& path, std::size_t limit = kAllRecords) {
  Cifar10 set;
  set.class_names.assign(kCifar10ClassNames.begin(), kCifar10ClassNames.end());
  std::uintmax_t bytes = 0;
  detail::open_for_reading(path, "CIFAR-10", bytes);
  const std::size_t records = static_cast<std::size_t>(bytes / kCifar10RecordBytes);
  const std::size_t n = std::min(records, limit);
  set.pixels.reserve(n * kCifar10RecordBytes);  // room for the in-place label squeeze
  set.labels.reserve(n);
  read_label_first_records(path, kCifar10NumClasses, set, limit, "CIFAR-10");
  return set;
}

// A split from the unpacked cifar-10-batches-bin folder: train = the 50,000 images of
// data_batch_1..5 concatenated in that order, test = the 10,000 of test_batch.bin. `limit`
// keeps the first `limit` images of the split (reading only the files needed). Without a limit
// every file must hold the official 10,000 records unless `count` is RecordCount::any.
inline Cifar10 load_cifar10(const std::filesystem::path& dir, Split split, std::size_t limit = kAllRecords,
                            RecordCount count = RecordCount::official) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    throw DataError("CIFAR-10 folder " + detail::quoted(dir) +
                    " does not exist or is not a folder; run scripts/get-cifar10.sh (it downloads "
                    "the binary version and unpacks it into data/cifar-10-batches-bin), or "
                    "scripts/get-cifar10.sh --from ARCHIVE for a local copy");
  Cifar10 set;
  set.class_names = read_cifar10_meta(dir / "batches.meta.txt");

  // Check that every file exists before reading any, and size the arrays once.
  const auto files = cifar10_files(dir, split);
  std::vector<std::size_t> records(files.size());
  std::size_t total = 0, largest = 0;
  for (std::size_t k = 0; k < files.size(); ++k) {
    std::uintmax_t bytes = 0;
    detail::open_for_reading(files[k], "CIFAR-10", bytes);
    records[k] = static_cast<std::size_t>(bytes / kCifar10RecordBytes);
    // A partial record is reported by the reader below, with its offset.
    if (count == RecordCount::official && limit == kAllRecords && bytes % kCifar10RecordBytes == 0 &&
        records[k] != kCifar10RecordsPerFile)
      throw DataError("CIFAR-10 file " + detail::quoted(files[k]) + " holds " + std::to_string(records[k]) +
                      " records (" + std::to_string(bytes) + " bytes), not the official " +
                      std::to_string(kCifar10RecordsPerFile) + " of every CIFAR-10 batch file: a damaged or "
                      "partial copy? Run scripts/get-cifar10.sh again, or ask for a subset (a limit; the "
                      "trainers' --train-limit / --test-limit)");
    total += records[k];
    largest = std::max(largest, records[k]);
  }
  const std::size_t wanted = std::min(total, limit);
  set.pixels.reserve(wanted * Cifar10Shape::size + std::min(largest, wanted));
  set.labels.reserve(wanted);

  for (std::size_t k = 0; k < files.size() && set.size() < wanted; ++k) {
    const std::size_t remaining = wanted - set.size();
    read_label_first_records(files[k], kCifar10NumClasses, set,
                             remaining < records[k] ? remaining : kAllRecords, "CIFAR-10");
  }
  if (limit != kAllRecords && set.size() < limit) {
    std::string names;
    for (const auto& f : files) names += (names.empty() ? "" : ", ") + f.filename().string();
    throw DataError("CIFAR-10 " + std::string(split == Split::train ? "train" : "test") +
                    " split in " + detail::quoted(dir) + " (" + names + ") holds " +
                    std::to_string(set.size()) + " records, fewer than the " +
                    std::to_string(limit) + " requested");
  }
  return set;
}

}  // namespace ctnn::data
