#pragma once
// A labelled set of 8-bit images of one compile-time shape, kept in memory as the files hold it.
//
// The sample shape is a template parameter (ImageSet<Shape<3, 32, 32>> for CIFAR-10,
// ImageSet<Shape<1, 48, 48>> for FER2013), not run-time fields: a DataLoader or a network
// built for another shape then fails to compile instead of failing at run time.
//
// Pixels are uint8, CHW per image (channel planes, each row by row), images one after another;
// labels are int32 class indices in 0 .. class_names.size() - 1.
//
// read_label_first_records() reads the common "1 label byte + C*H*W pixel bytes" record format
// (CIFAR-10 binary, and this project's FER2013 binary) with one read per file.
#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "ctnn/core/shape.hpp"

namespace ctnn::data {

// Every failure to load or validate a data set. The message always names the file involved.
class DataError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "Read every record" (the default limit of the loaders).
inline constexpr std::size_t kAllRecords = std::numeric_limits<std::size_t>::max();

// Whether a whole split must hold the data set's published record counts. official (the
// default): a file with another count (an empty, cut or partial copy) is a DataError naming the
// file and the count. any: whatever the files hold (small files made by tests, samples). With a
// limit (a subset asked for), the counts are not checked, only that there are enough records.
enum class RecordCount { official, any };

template <SampleShape S>
struct ImageSet {
  using shape = S;
  static constexpr std::size_t image_size = S::size;  // bytes per image

  std::vector<std::uint8_t> pixels;      // size() * image_size bytes, CHW per image
  std::vector<std::int32_t> labels;      // size() entries
  std::vector<std::string> class_names;  // label i is class_names[i]

  std::size_t size() const noexcept { return labels.size(); }
  bool empty() const noexcept { return labels.empty(); }
  std::size_t num_classes() const noexcept { return class_names.size(); }

  std::span<const std::uint8_t, S::size> image(std::size_t i) const noexcept {
    return std::span<const std::uint8_t, S::size>(pixels.data() + i * image_size, image_size);
  }
  std::span<std::uint8_t, S::size> image(std::size_t i) noexcept {
    return std::span<std::uint8_t, S::size>(pixels.data() + i * image_size, image_size);
  }
  std::int32_t label(std::size_t i) const noexcept { return labels[i]; }

  // Number of images of each class (num_classes() entries).
  std::vector<std::size_t> class_counts() const {
    std::vector<std::size_t> counts(num_classes(), 0);
    for (std::int32_t l : labels)
      if (l >= 0 && static_cast<std::size_t>(l) < counts.size()) ++counts[static_cast<std::size_t>(l)];
    return counts;
  }
};

namespace detail {

inline std::string quoted(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

struct FileCloser {
  void operator()(std::FILE* f) const noexcept { std::fclose(f); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

// Opens a regular file for reading and returns its size; DataError (naming `what` and the
// file) if it is missing, not a regular file or unreadable.
inline FilePtr open_for_reading(const std::filesystem::path& path, std::string_view what,
                                std::uintmax_t& size) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status))
    throw DataError(std::string(what) + " file " + quoted(path) + " does not exist");
  if (!std::filesystem::is_regular_file(status))
    throw DataError(std::string(what) + " file " + quoted(path) + " is not a regular file");
  size = std::filesystem::file_size(path, ec);
  if (ec)
    throw DataError("cannot read the size of " + std::string(what) + " file " + quoted(path) +
                    ": " + ec.message());
  FilePtr f(std::fopen(path.c_str(), "rb"));
  if (!f)
    throw DataError("cannot open " + std::string(what) + " file " + quoted(path) + ": " +
                    std::strerror(errno));
  return f;
}

}  // namespace detail

// Appends up to `limit` records of `path` to `set`, each 1 label byte (0 .. num_classes-1)
// followed by S::size pixel bytes (CHW). Validates the file size (whole records only) and
// every label before keeping anything; on error `set` is left as it was. `what` names the
// format in messages ("CIFAR-10"). Returns the number of records appended.
//
// The file is read with a single fread straight into the pixel array, then the label bytes
// are squeezed out in place (record i moves down by i+1 bytes), so there is no second copy
// of the file and no per-record I/O.
template <SampleShape S>
std::size_t read_label_first_records(const std::filesystem::path& path, std::size_t num_classes,
                                     ImageSet<S>& set, std::size_t limit = kAllRecords,
                                     std::string_view what = "image") {
  constexpr std::size_t kPixels = S::size;
  constexpr std::size_t kRecord = kPixels + 1;
  std::uintmax_t file_bytes = 0;
  detail::FilePtr f = detail::open_for_reading(path, what, file_bytes);

  if (file_bytes == 0) throw DataError(std::string(what) + " file " + detail::quoted(path) + " is empty");
  const std::uintmax_t whole = file_bytes / kRecord;
  const std::uintmax_t partial = file_bytes % kRecord;
  if (partial != 0)
    throw DataError(std::string(what) + " file " + detail::quoted(path) + " is " +
                    std::to_string(file_bytes) + " bytes, not a whole number of " +
                    std::to_string(kRecord) + "-byte records (1 label byte + " +
                    std::to_string(kPixels) + " pixel bytes): it holds " + std::to_string(whole) +
                    " whole records and a partial record of " + std::to_string(partial) +
                    " bytes starting at byte offset " + std::to_string(whole * kRecord) +
                    " (truncated or not a " + std::string(what) + " file?)");
  if (limit != kAllRecords && whole < limit)
    throw DataError(std::string(what) + " file " + detail::quoted(path) + " holds " +
                    std::to_string(whole) + " records, fewer than the " + std::to_string(limit) +
                    " requested");
  const std::size_t n = static_cast<std::size_t>(std::min<std::uintmax_t>(whole, limit));

  const std::size_t old_images = set.size();
  const std::size_t base = old_images * kPixels;
  const std::size_t old_labels = set.labels.size();
  // The raw records need n*kRecord bytes from `base`; after compaction n*kPixels remain.
  set.pixels.resize(base + n * kRecord);
  std::uint8_t* raw = set.pixels.data() + base;
  const std::size_t bytes = n * kRecord;
  if (std::fread(raw, 1, bytes, f.get()) != bytes) {
    const bool eof = std::feof(f.get());
    set.pixels.resize(base);
    throw DataError("cannot read " + std::string(what) + " file " + detail::quoted(path) + ": " +
                    (eof ? std::string("file ended early (changed while reading?)")
                         : std::string(std::strerror(errno))));
  }

  // Validate every label before changing anything.
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint8_t l = raw[i * kRecord];
    if (l >= num_classes) {
      set.pixels.resize(base);
      throw DataError(std::string(what) + " file " + detail::quoted(path) + ": record " +
                      std::to_string(i) + " (byte offset " + std::to_string(i * kRecord) +
                      ") has label " + std::to_string(l) + ", outside 0.." +
                      std::to_string(num_classes - 1));
    }
  }

  set.labels.resize(old_labels + n);
  std::int32_t* labels = set.labels.data() + old_labels;
  for (std::size_t i = 0; i < n; ++i) {
    // Label i sits at i*kRecord, which the move of record i may overwrite: read it first.
    labels[i] = raw[i * kRecord];
    std::memmove(raw + i * kPixels, raw + i * kRecord + 1, kPixels);
  }
  set.pixels.resize(base + n * kPixels);  // shrinking keeps the capacity: no reallocation
  return n;
}

}  // namespace ctnn::data
