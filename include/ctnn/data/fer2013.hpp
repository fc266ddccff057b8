#pragma once
// FER2013 facial expressions: 48x48 grayscale faces, 7 classes (0 angry, 1 disgust, 2 fear,
// 3 happy, 4 sad, 5 surprise, 6 neutral). Two forms are read:
//
// (a) This project's binary form, the folder fer2013-binary/ (scripts/get-fer2013.sh makes it):
//       fer2013-train.bin    the Training rows, records of 2305 bytes: 1 label byte (0-6), then
//                            the 48x48 pixels row by row (the CIFAR-10 record layout)
//       fer2013-test.bin     the PublicTest rows, then the PrivateTest rows, same records
//       fer2013-labels.txt   the class names in label order, one per line
//       fer2013-index.csv    one line per record: file,record,csv_row,usage,label,label_order_ambiguous;
//                            it says where PublicTest ends in fer2013-test.bin
// (b) The Kaggle challenge's fer2013.csv: header "emotion,pixels,Usage", then one row per image:
//     the label, 2304 space-separated pixel values 0-255, and Training, PublicTest or PrivateTest.
//
//   auto train = ctnn::data::load_fer2013("data/fer2013-binary", ctnn::data::Fer2013Split::train);
//   auto test  = ctnn::data::load_fer2013_csv("fer2013.csv", ctnn::data::Fer2013Split::test);
//   // train.image(i) is 1*48*48 uint8, train.label(i) in 0..6, train.class_names has 7 names
//
// Splits: train, public_test, private_test, and test = public_test followed by private_test
// (the order of fer2013-test.bin). `limit` keeps the first `limit` images of the split.
//
// Every failure throws ctnn::data::DataError naming the file and, for a bad record or row, the
// record or line, its byte offset or field, and what was expected. Nothing is kept from a file
// that fails.
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

using Fer2013Shape = Shape<1, 48, 48>;
using Fer2013 = ImageSet<Fer2013Shape>;

inline constexpr std::size_t kFer2013NumClasses = 7;
inline constexpr std::size_t kFer2013RecordBytes = 1 + Fer2013Shape::size;  // 2305
// The published record counts. The binary form of this project's archive leaves out the rows
// without an image in the FER+ release (fer2013-missing.csv): 28,558 train, 7,152 test (3,579
// PublicTest + 3,573 PrivateTest). Made from Kaggle's fer2013.csv (get-fer2013.sh --csv), it
// holds every row: 28,709 train, 7,178 test (3,589 + 3,589), as fer2013.csv itself does.
inline constexpr std::size_t kFer2013TrainRecords = 28558, kFer2013TestRecords = 7152;
inline constexpr std::size_t kFer2013CsvTrainRows = 28709, kFer2013CsvPublicRows = 3589, kFer2013CsvPrivateRows = 3589;
// The coding of the original fer2013.csv (and of fer2013-labels.txt).
inline constexpr std::array<std::string_view, kFer2013NumClasses> kFer2013ClassNames = {
    "angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"};
inline constexpr std::string_view kFer2013CsvHeader = "emotion,pixels,Usage";
inline constexpr std::string_view kFer2013IndexHeader = "file,record,csv_row,usage,label,label_order_ambiguous";

enum class Fer2013Split { train, public_test, private_test, test };

inline std::string_view fer2013_split_name(Fer2013Split s) {
  switch (s) {
    case Fer2013Split::train: return "train";
    case Fer2013Split::public_test: return "public_test";
    case Fer2013Split::private_test: return "private_test";
    case Fer2013Split::test: return "test";
  }
  return "?";
}

namespace detail {

inline std::string fer_at_line(const std::filesystem::path& path, std::size_t line, std::size_t offset) {
  return "'" + path.string() + "': line " + std::to_string(line) + " (byte offset " + std::to_string(offset) + ")";
}

// At most `max` bytes of `text` for a message, control bytes written as \xNN (a NUL would end
// the message early), "..." when cut.
inline std::string excerpt(std::string_view text, std::size_t max = 40) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < text.size() && i < max; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f) out += std::string("\\x") + kHex[c >> 4] + kHex[c & 15];
    else out += static_cast<char>(c);
  }
  if (text.size() > max) out += "...";
  return out;
}

// Reads a text file as lines with their byte offsets; '\r' before '\n' is dropped.
struct TextLine {
  std::string text;
  std::size_t number = 0;  // 1-based
  std::size_t offset = 0;  // of the line's first byte
};

class LineReader {
 public:
  LineReader(const std::filesystem::path& path, std::string_view what) : path_(path) {
    std::uintmax_t bytes = 0;
    open_for_reading(path, what, bytes);  // existence, type, readability, with clear messages
    size_ = bytes;
    in_.open(path, std::ios::binary);
    if (!in_) throw DataError("cannot open " + std::string(what) + " file " + quoted(path));
  }
  std::uintmax_t size() const { return size_; }
  // False at the end of the file.
  bool next(TextLine& line) {
    line.offset = offset_;
    if (!std::getline(in_, line.text)) return false;
    line.number = ++number_;
    offset_ += line.text.size() + (in_.eof() ? 0 : 1);
    if (!line.text.empty() && line.text.back() == '\r') line.text.pop_back();
    return true;
  }

 private:
  std::filesystem::path path_;
  std::ifstream in_;
  std::uintmax_t size_ = 0;
  std::size_t number_ = 0, offset_ = 0;
};

}  // namespace detail

// Class names from fer2013-labels.txt: one per line, trailing whitespace and '\r' ignored,
// trailing blank lines tolerated. Exactly 7 non-empty names are required.
inline std::vector<std::string> read_fer2013_labels(const std::filesystem::path& path) {
  detail::LineReader reader(path, "FER2013 class-name");
  std::vector<std::string> lines;
  for (detail::TextLine l; reader.next(l);) {
    while (!l.text.empty() && (l.text.back() == ' ' || l.text.back() == '\t')) l.text.pop_back();
    lines.push_back(std::move(l.text));
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  for (std::size_t i = 0; i < lines.size(); ++i)
    if (lines[i].empty())
      throw DataError("FER2013 class-name file " + detail::quoted(path) + ": line " + std::to_string(i + 1) +
                      " is blank (expected one class name per line)");
  if (lines.size() != kFer2013NumClasses)
    throw DataError("FER2013 class-name file " + detail::quoted(path) + " lists " + std::to_string(lines.size()) +
                    " class names, expected " + std::to_string(kFer2013NumClasses) +
                    " (angry, disgust, fear, happy, sad, surprise, neutral)");
  return lines;
}

// The number of PublicTest records at the start of fer2013-test.bin, from fer2013-index.csv.
// Checks the index: its header, 6 fields per line, a known file name, records numbered 0, 1, ...
// within each file, Usage Training for the train file, and all PublicTest records of the test
// file before all PrivateTest ones. `test_records` is the record count of fer2013-test.bin,
// which the index must match.
inline std::size_t fer2013_public_test_records(const std::filesystem::path& index_path, std::size_t test_records) {
  detail::LineReader reader(index_path, "FER2013 index");
  detail::TextLine l;
  if (!reader.next(l) || l.text != kFer2013IndexHeader)
    throw DataError("FER2013 index file " + detail::quoted(index_path) + ": line 1 is '" + detail::excerpt(l.text, 80) +
                    "', expected the header '" + std::string(kFer2013IndexHeader) + "'");
  std::size_t train_rows = 0, public_rows = 0, private_rows = 0;
  bool blank_seen = false;
  std::size_t blank_line = 0, blank_offset = 0;
  while (reader.next(l)) {
    if (l.text.empty()) {
      if (!blank_seen) blank_line = l.number, blank_offset = l.offset;
      blank_seen = true;
      continue;
    }
    const auto where = [&] { return "FER2013 index file " + detail::fer_at_line(index_path, l.number, l.offset); };
    if (blank_seen)
      throw DataError("FER2013 index file " + detail::fer_at_line(index_path, blank_line, blank_offset) +
                      " is blank but more rows follow (expected one record per line)");
    std::vector<std::string_view> f;
    std::string_view rest = l.text;
    for (std::size_t comma; (comma = rest.find(',')) != std::string_view::npos; rest.remove_prefix(comma + 1))
      f.push_back(rest.substr(0, comma));
    f.push_back(rest);
    if (f.size() != 6)
      throw DataError(where() + " has " + std::to_string(f.size()) + " fields, expected 6 (" +
                      std::string(kFer2013IndexHeader) + ")");
    std::size_t record = 0;
    const bool numeric = !f[1].empty() && f[1].size() <= 9 &&
                         std::all_of(f[1].begin(), f[1].end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!numeric)
      throw DataError(where() + ", field 'record': '" + detail::excerpt(f[1]) + "' is not a record number");
    for (char c : f[1]) record = record * 10 + static_cast<std::size_t>(c - '0');
    if (f[0] == "fer2013-train.bin") {
      if (f[3] != "Training")
        throw DataError(where() + ", field 'usage': '" + detail::excerpt(f[3]) +
                        "' for a fer2013-train.bin record, expected Training");
      if (record != train_rows)
        throw DataError(where() + ": fer2013-train.bin record " + std::to_string(record) + ", expected record " +
                        std::to_string(train_rows) + " (records listed in order)");
      ++train_rows;
    } else if (f[0] == "fer2013-test.bin") {
      const std::size_t expected = public_rows + private_rows;
      if (record != expected)
        throw DataError(where() + ": fer2013-test.bin record " + std::to_string(record) + ", expected record " +
                        std::to_string(expected) + " (records listed in order)");
      if (f[3] == "PublicTest") {
        if (private_rows > 0)
          throw DataError(where() + ": a PublicTest record after PrivateTest ones (fer2013-test.bin must hold "
                                    "all PublicTest records first)");
        ++public_rows;
      } else if (f[3] == "PrivateTest") {
        ++private_rows;
      } else {
        throw DataError(where() + ", field 'usage': '" + detail::excerpt(f[3]) +
                        "' for a fer2013-test.bin record, expected PublicTest or PrivateTest");
      }
    } else {
      throw DataError(where() + ", field 'file': '" + detail::excerpt(f[0]) +
                      "', expected fer2013-train.bin or fer2013-test.bin");
    }
  }
  if (public_rows + private_rows != test_records)
    throw DataError("FER2013 index file " + detail::quoted(index_path) + " lists " +
                    std::to_string(public_rows + private_rows) + " fer2013-test.bin records, but that file holds " +
                    std::to_string(test_records) + " (index and data from different copies?)");
  return public_rows;
}

// A split from the unpacked fer2013-binary folder. train reads fer2013-train.bin; the test
// splits read fer2013-test.bin, with the PublicTest/PrivateTest boundary taken from
// fer2013-index.csv (needed for public_test and private_test only).
//
// Without a limit, the file read must hold a published record count (kFer2013TrainRecords or
// kFer2013CsvTrainRows for fer2013-train.bin, kFer2013TestRecords or the CSV's 7,178 for
// fer2013-test.bin) unless `count` is RecordCount::any.
inline Fer2013 load_fer2013(const std::filesystem::path& dir, Fer2013Split split, std::size_t limit = kAllRecords,
                            RecordCount count = RecordCount::official) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw DataError("FER2013 folder " + detail::quoted(dir) +
                    " does not exist or is not a folder; run scripts/get-fer2013.sh --from "
                    "fer2013-binary.tar.xz (or --csv fer2013.csv) to make data/fer2013-binary");
  Fer2013 set;
  set.class_names = read_fer2013_labels(dir / "fer2013-labels.txt");
  const fs::path file = dir / (split == Fer2013Split::train ? "fer2013-train.bin" : "fer2013-test.bin");
  std::uintmax_t bytes = 0;
  detail::open_for_reading(file, "FER2013", bytes);
  const std::size_t records = static_cast<std::size_t>(bytes / kFer2013RecordBytes);
  if (count == RecordCount::official && limit == kAllRecords && bytes % kFer2013RecordBytes == 0) {
    const bool train = split == Fer2013Split::train;
    const std::size_t ours = train ? kFer2013TrainRecords : kFer2013TestRecords;
    const std::size_t kaggle = train ? kFer2013CsvTrainRows : kFer2013CsvPublicRows + kFer2013CsvPrivateRows;
    if (records != ours && records != kaggle)
      throw DataError("FER2013 file " + detail::quoted(file) + " holds " + std::to_string(records) + " records (" +
                      std::to_string(bytes) + " bytes), not a published count (" + std::to_string(ours) +
                      " in this project's archive, " + std::to_string(kaggle) +
                      " made from Kaggle's fer2013.csv): a damaged or partial copy? Run scripts/get-fer2013.sh "
                      "again, or ask for a subset (a limit; the trainers' --train-limit / --test-limit)");
  }

  // [first, last) records of the file make the split.
  std::size_t first = 0, last = records;
  if (split == Fer2013Split::public_test || split == Fer2013Split::private_test) {
    if (bytes % kFer2013RecordBytes != 0) {  // say what is wrong with the data file first
      Fer2013 probe;
      read_label_first_records(file, kFer2013NumClasses, probe, kAllRecords, "FER2013");
    }
    const std::size_t pub = fer2013_public_test_records(dir / "fer2013-index.csv", records);
    if (split == Fer2013Split::public_test) last = pub;
    else first = pub;
  }
  const std::size_t available = last - first;
  if (limit != kAllRecords && available < limit)
    throw DataError("FER2013 " + std::string(fer2013_split_name(split)) + " split in " + detail::quoted(file) +
                    " holds " + std::to_string(available) + " records, fewer than the " + std::to_string(limit) +
                    " requested");
  const std::size_t wanted = std::min(available, limit);
  const std::size_t to_read = first + wanted;
  set.pixels.reserve(to_read * kFer2013RecordBytes);  // room for the in-place label squeeze
  set.labels.reserve(to_read);
  if (to_read > 0)
    read_label_first_records(file, kFer2013NumClasses, set, to_read == records ? kAllRecords : to_read, "FER2013");
  else if (bytes == 0)
    throw DataError("FER2013 file " + detail::quoted(file) + " is empty");
  if (first > 0) {  // drop the PublicTest records before PrivateTest
    set.pixels.erase(set.pixels.begin(), set.pixels.begin() + static_cast<std::ptrdiff_t>(first * Fer2013::image_size));
    set.labels.erase(set.labels.begin(), set.labels.begin() + static_cast<std::ptrdiff_t>(first));
  }
  return set;
}

// A split read straight from the Kaggle fer2013.csv. The class names are the standard ones.
// Every row read is checked (header, 3 fields, label 0-6, exactly 2304 integer pixels 0-255,
// Usage Training/PublicTest/PrivateTest); with a limit, reading stops once the split has
// `limit` images. test = all PublicTest rows, then all PrivateTest rows, each in file order.
//
// Without a limit, the split must have Kaggle's published row count (28,709 Training, 3,589
// PublicTest, 3,589 PrivateTest) unless `count` is RecordCount::any.
inline Fer2013 load_fer2013_csv(const std::filesystem::path& path, Fer2013Split split,
                                std::size_t limit = kAllRecords, RecordCount count = RecordCount::official) {
  constexpr std::size_t kPixels = Fer2013Shape::size;
  detail::LineReader reader(path, "FER2013 CSV");
  detail::TextLine l;
  if (!reader.next(l))
    throw DataError("FER2013 CSV file " + detail::quoted(path) + " is empty (expected the header '" +
                    std::string(kFer2013CsvHeader) + "' and one row per image)");
  std::string_view header = l.text;
  if (header.starts_with("\xEF\xBB\xBF")) header.remove_prefix(3);  // a UTF-8 byte-order mark
  if (header != kFer2013CsvHeader)
    throw DataError("FER2013 CSV file " + detail::quoted(path) + ": line 1 is '" + detail::excerpt(header, 80) +
                    "', expected the header '" + std::string(kFer2013CsvHeader) + "'");

  Fer2013 set, private_set;  // private_set: the PrivateTest rows of the test split
  set.class_names.assign(kFer2013ClassNames.begin(), kFer2013ClassNames.end());
  std::array<std::uint8_t, kPixels> image{};
  bool blank_seen = false;
  std::size_t blank_line = 0, blank_offset = 0;
  // For the test split `set` holds the PublicTest rows while reading: once they reach the
  // limit, no PrivateTest row can be among the first `limit` images.
  while ((limit == kAllRecords || set.size() < limit) && reader.next(l)) {
    const std::string& s = l.text;
    if (s.empty()) {
      if (!blank_seen) blank_line = l.number, blank_offset = l.offset;
      blank_seen = true;
      continue;
    }
    const auto where = [&] { return "FER2013 CSV file " + detail::fer_at_line(path, l.number, l.offset); };
    if (blank_seen)
      throw DataError("FER2013 CSV file " + detail::fer_at_line(path, blank_line, blank_offset) +
                      " is blank but more rows follow (expected one image per line)");
    const std::size_t c1 = s.find(','), c2 = s.rfind(',');
    const std::size_t fields = 1 + static_cast<std::size_t>(std::count(s.begin(), s.end(), ','));
    if (fields != 3)
      throw DataError(where() + " has " + std::to_string(fields) + " comma-separated fields, expected 3 (" +
                      std::string(kFer2013CsvHeader) + ")");

    // emotion
    const std::string_view emotion(s.data(), c1);
    if (emotion.empty() || emotion.size() > 3 ||
        !std::all_of(emotion.begin(), emotion.end(), [](char c) { return c >= '0' && c <= '9'; }))
      throw DataError(where() + ", field 'emotion': '" + detail::excerpt(emotion, 20) +
                      "' is not a label (expected an integer 0.." + std::to_string(kFer2013NumClasses - 1) + ")");
    int label = 0;
    for (char c : emotion) label = label * 10 + (c - '0');
    if (label >= static_cast<int>(kFer2013NumClasses))
      throw DataError(where() + ", field 'emotion': label " + std::to_string(label) + " is outside 0.." +
                      std::to_string(kFer2013NumClasses - 1));

    // Usage
    const std::string_view usage(s.data() + c2 + 1, s.size() - c2 - 1);
    Fer2013* into = nullptr;
    if (usage == "Training") {
      if (split == Fer2013Split::train) into = &set;
    } else if (usage == "PublicTest") {
      if (split == Fer2013Split::public_test || split == Fer2013Split::test) into = &set;
    } else if (usage == "PrivateTest") {
      if (split == Fer2013Split::private_test) into = &set;
      else if (split == Fer2013Split::test) into = &private_set;
    } else {
      throw DataError(where() + ", field 'Usage' (byte offset " + std::to_string(l.offset + c2 + 1) + "): '" +
                      detail::excerpt(usage) + "', expected Training, PublicTest or PrivateTest");
    }

    // pixels: integers 0-255 separated by spaces, optionally in double quotes.
    std::size_t b = c1 + 1, e = c2;
    if (e > b + 1 && s[b] == '"' && s[e - 1] == '"') ++b, --e;
    std::size_t count = 0;
    for (std::size_t i = b; i < e;) {
      if (s[i] == ' ') {
        ++i;
        continue;
      }
      std::size_t j = i;
      unsigned value = 0;
      while (j < e && s[j] >= '0' && s[j] <= '9') {
        value = std::min(value * 10 + static_cast<unsigned>(s[j] - '0'), 1000u);
        ++j;
      }
      if (j == i || (j < e && s[j] != ' ')) {
        std::size_t k = j;
        while (k < e && s[k] != ' ') ++k;
        const auto token = detail::excerpt(std::string_view(s).substr(i, k - i), 20);
        throw DataError(where() + ", field 'pixels', value " + std::to_string(count + 1) + " (byte offset " +
                        std::to_string(l.offset + i) + "): '" + token +
                        "' is not a number (expected integers 0..255 separated by spaces)");
      }
      if (value > 255) {
        const auto token = detail::excerpt(std::string_view(s).substr(i, j - i), 20);
        throw DataError(where() + ", field 'pixels', value " + std::to_string(count + 1) + " (byte offset " +
                        std::to_string(l.offset + i) + "): " + token + " is above 255");
      }
      if (count < kPixels) image[count] = static_cast<std::uint8_t>(value);
      ++count;
      i = j;
    }
    if (count != kPixels)
      throw DataError(where() + ", field 'pixels' (byte offset " + std::to_string(l.offset + c1 + 1) + ") holds " +
                      std::to_string(count) + " values, expected " + std::to_string(kPixels) + " (48x48)");
    if (into) {
      into->pixels.insert(into->pixels.end(), image.begin(), image.end());
      into->labels.push_back(label);
    }
  }
  set.pixels.insert(set.pixels.end(), private_set.pixels.begin(), private_set.pixels.end());
  set.labels.insert(set.labels.end(), private_set.labels.begin(), private_set.labels.end());
  if (limit == kAllRecords && count == RecordCount::official) {
    const std::size_t expected = split == Fer2013Split::train          ? kFer2013CsvTrainRows
                                 : split == Fer2013Split::public_test  ? kFer2013CsvPublicRows
                                 : split == Fer2013Split::private_test ? kFer2013CsvPrivateRows
                                                                       : kFer2013CsvPublicRows + kFer2013CsvPrivateRows;
    if (set.size() != expected)
      throw DataError("FER2013 CSV file " + detail::quoted(path) + ": the " + std::string(fer2013_split_name(split)) +
                      " split holds " + std::to_string(set.size()) + " rows, not the published " +
                      std::to_string(expected) + " of fer2013.csv: a cut or edited copy? Ask for a subset (a "
                      "limit; the trainers' --train-limit / --test-limit) to use it anyway");
  }
  if (limit != kAllRecords) {
    if (set.size() < limit)
      throw DataError("FER2013 " + std::string(fer2013_split_name(split)) + " split in " + detail::quoted(path) +
                      " holds " + std::to_string(set.size()) + " rows, fewer than the " + std::to_string(limit) +
                      " requested");
    set.labels.resize(limit);
    set.pixels.resize(limit * Fer2013::image_size);
  }
  return set;
}

}  // namespace ctnn::data
