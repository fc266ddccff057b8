// FER2013 readers (binary folder and Kaggle CSV) on small generated files, every error path;
// the real data set (CTNN_FER2013_DIR, skipped when unset); a small network learning FER2013
// above the majority-class rate in seconds; and the face augmentation of data/geometric.hpp.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <type_traits>
#include <vector>

#include <unistd.h>

#include <ctnn/ctnn.hpp>
#include <ctnn/data/dataloader.hpp>
#include <ctnn/data/fer2013.hpp>
#include <ctnn/data/geometric.hpp>
#include <ctnn/data/transforms.hpp>
#include <ctnn/train/confusion.hpp>
#include <ctnn/train/loop.hpp>
#include "support/data.hpp"

namespace data = ctnn::data;
namespace fs = std::filesystem;

static_assert(std::is_same_v<data::Fer2013::shape, ctnn::Shape<1, 48, 48>>);
static_assert(data::kFer2013RecordBytes == 2305);

namespace {

constexpr std::size_t kRecord = data::kFer2013RecordBytes;
constexpr std::size_t kPixels = 2304;

struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() /
           ("ctnn-fer2013-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

void write_text(const fs::path& p, const std::string& s) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  REQUIRE(out);
  out << s;
  REQUIRE(out);
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const data::DataError& e) {
    return e.what();
  } catch (const std::exception& e) {
    FAIL("expected ctnn::data::DataError, got another exception: " << e.what());
  }
  FAIL("expected ctnn::data::DataError, nothing was thrown");
  return {};
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Pixel j of generated image `id`.
std::uint8_t pixel(int id, std::size_t j) { return static_cast<std::uint8_t>((id * 37 + j * 11) % 256); }

std::string record(int label, int id) {
  std::string r(kRecord, '\0');
  r[0] = static_cast<char>(label);
  for (std::size_t j = 0; j < kPixels; ++j) r[1 + j] = static_cast<char>(pixel(id, j));
  return r;
}

const char* const kLabels = "angry\ndisgust\nfear\nhappy\nsad\nsurprise\nneutral\n";

// A fer2013-binary folder: `train` records (label i % 7, id i), `pub` PublicTest and `priv`
// PrivateTest records in fer2013-test.bin (ids 1000 + i), an index and the labels file.
struct BinaryFolder {
  fs::path dir;
  int train, pub, priv;
  BinaryFolder(const fs::path& where, int train_n, int pub_n, int priv_n)
      : dir(where / "fer2013-binary"), train(train_n), pub(pub_n), priv(priv_n) {
    fs::create_directories(dir);
    write_text(dir / "fer2013-labels.txt", kLabels);
    std::string tr, te, index = std::string(data::kFer2013IndexHeader) + "\n";
    for (int i = 0; i < train; ++i) {
      tr += record(i % 7, i);
      index += "fer2013-train.bin," + std::to_string(i) + "," + std::to_string(i) + ",Training," +
               std::to_string(i % 7) + ",0\n";
    }
    for (int i = 0; i < pub + priv; ++i) {
      te += record((i + 3) % 7, 1000 + i);
      index += "fer2013-test.bin," + std::to_string(i) + "," + std::to_string(train + i) + "," +
               (i < pub ? "PublicTest," : "PrivateTest,") + std::to_string((i + 3) % 7) + ",0\n";
    }
    write_text(dir / "fer2013-train.bin", tr);
    write_text(dir / "fer2013-test.bin", te);
    write_text(dir / "fer2013-index.csv", index);
  }
};

// One CSV row: label, the pixels of image `id`, usage.
std::string csv_row(const std::string& label, int id, const std::string& usage, const std::string& eol = "\n") {
  std::string s = label + ",";
  for (std::size_t j = 0; j < kPixels; ++j) s += (j ? " " : "") + std::to_string(pixel(id, j));
  return s + "," + usage + eol;
}

void check_image(const data::Fer2013& set, std::size_t i, int label, int id) {
  CAPTURE(i);
  CHECK(set.label(i) == label);
  bool same = true;
  for (std::size_t j = 0; j < kPixels; ++j) same = same && set.image(i)[j] == pixel(id, j);
  CHECK(same);
}

}  // namespace

// Small generated files: RecordCount::any (the published counts are checked on their own below).
constexpr auto kAny = data::RecordCount::any;

// ---- binary form --------------------------------------------------------------------------

TEST_CASE("fer2013 binary: splits, limits and class names from a generated folder") {
  TempDir tmp;
  BinaryFolder f(tmp.path, 10, 4, 3);
  const auto train = data::load_fer2013(f.dir, data::Fer2013Split::train, data::kAllRecords, kAny);
  REQUIRE(train.size() == 10);
  CHECK(train.pixels.size() == 10 * kPixels);
  CHECK(train.class_names == std::vector<std::string>(data::kFer2013ClassNames.begin(), data::kFer2013ClassNames.end()));
  for (int i = 0; i < 10; ++i) check_image(train, static_cast<std::size_t>(i), i % 7, i);

  const auto pub = data::load_fer2013(f.dir, data::Fer2013Split::public_test, data::kAllRecords, kAny);
  REQUIRE(pub.size() == 4);
  for (int i = 0; i < 4; ++i) check_image(pub, static_cast<std::size_t>(i), (i + 3) % 7, 1000 + i);
  const auto priv = data::load_fer2013(f.dir, data::Fer2013Split::private_test, data::kAllRecords, kAny);
  REQUIRE(priv.size() == 3);
  for (int i = 0; i < 3; ++i) check_image(priv, static_cast<std::size_t>(i), (i + 4 + 3) % 7, 1004 + i);
  const auto test = data::load_fer2013(f.dir, data::Fer2013Split::test, data::kAllRecords, kAny);
  REQUIRE(test.size() == 7);
  for (int i = 0; i < 7; ++i) check_image(test, static_cast<std::size_t>(i), (i + 3) % 7, 1000 + i);

  // Limits keep the head of the split.
  CHECK(data::load_fer2013(f.dir, data::Fer2013Split::train, 3).size() == 3);
  const auto priv2 = data::load_fer2013(f.dir, data::Fer2013Split::private_test, 2);
  REQUIRE(priv2.size() == 2);
  check_image(priv2, 0, 0, 1004);
  CHECK(data::load_fer2013(f.dir, data::Fer2013Split::public_test, 4).size() == 4);
  auto msg = error_of([&] { data::load_fer2013(f.dir, data::Fer2013Split::private_test, 4); });
  CHECK(contains(msg, "private_test"));
  CHECK(contains(msg, "3 records, fewer than the 4 requested"));
  msg = error_of([&] { data::load_fer2013(f.dir, data::Fer2013Split::train, 11); });
  CHECK(contains(msg, (f.dir / "fer2013-train.bin").string()));

  // The index is not needed for train and test; CRLF label files are fine.
  fs::remove(f.dir / "fer2013-index.csv");
  write_text(f.dir / "fer2013-labels.txt", "angry\r\ndisgust\r\nfear\r\nhappy\r\nsad\r\nsurprise\r\nneutral\r\n\r\n");
  CHECK(data::load_fer2013(f.dir, data::Fer2013Split::train, data::kAllRecords, kAny).size() == 10);
  CHECK(data::load_fer2013(f.dir, data::Fer2013Split::test, data::kAllRecords, kAny).class_names[6] == "neutral");
}

TEST_CASE("fer2013 binary: every bad input is a DataError naming the file and the place") {
  TempDir tmp;
  BinaryFolder f(tmp.path, 6, 3, 2);
  const auto train_bin = (f.dir / "fer2013-train.bin").string();
  const auto test_bin = (f.dir / "fer2013-test.bin").string();
  const auto index = (f.dir / "fer2013-index.csv").string();
  const auto load = [&](data::Fer2013Split s) { return [&f, s] { data::load_fer2013(f.dir, s, data::kAllRecords, kAny); }; };

  SUBCASE("missing folder points at scripts/get-fer2013.sh") {
    const auto msg = error_of([&] { data::load_fer2013(tmp.path / "absent", data::Fer2013Split::train, data::kAllRecords, kAny); });
    CHECK(contains(msg, (tmp.path / "absent").string()));
    CHECK(contains(msg, "scripts/get-fer2013.sh"));
  }
  SUBCASE("missing, empty, truncated and mislabelled data files") {
    fs::remove(train_bin);
    auto msg = error_of(load(data::Fer2013Split::train));
    CHECK(contains(msg, train_bin));
    CHECK(contains(msg, "does not exist"));
    write_text(train_bin, "");
    msg = error_of(load(data::Fer2013Split::train));
    CHECK(contains(msg, train_bin));
    CHECK(contains(msg, "empty"));

    write_text(train_bin, record(1, 0) + record(2, 1) + record(3, 2).substr(0, 100));
    msg = error_of(load(data::Fer2013Split::train));
    INFO(msg);
    CHECK(contains(msg, train_bin));
    CHECK(contains(msg, "2305-byte records"));
    CHECK(contains(msg, "2 whole records"));
    CHECK(contains(msg, "partial record of 100 bytes starting at byte offset 4610"));
    // Partial records are found before the index is consulted.
    write_text(test_bin, record(1, 0) + "xyz");
    msg = error_of(load(data::Fer2013Split::public_test));
    CHECK(contains(msg, test_bin));
    CHECK(contains(msg, "partial record of 3 bytes"));

    write_text(train_bin, record(1, 0) + record(2, 1) + record(7, 2) + record(0, 3));
    msg = error_of(load(data::Fer2013Split::train));
    INFO(msg);
    CHECK(contains(msg, train_bin));
    CHECK(contains(msg, "record 2 (byte offset 4610) has label 7, outside 0..6"));
    CHECK(data::load_fer2013(f.dir, data::Fer2013Split::train, 2).size() == 2);  // stops before it
  }
  SUBCASE("missing or malformed fer2013-labels.txt") {
    const auto labels = (f.dir / "fer2013-labels.txt").string();
    fs::remove(labels);
    auto msg = error_of(load(data::Fer2013Split::test));
    CHECK(contains(msg, labels));
    CHECK(contains(msg, "does not exist"));
    write_text(labels, "angry\ndisgust\nfear\nhappy\nsad\nsurprise\n");
    msg = error_of(load(data::Fer2013Split::test));
    CHECK(contains(msg, labels));
    CHECK(contains(msg, "6 class names, expected 7"));
    write_text(labels, "angry\n\nfear\nhappy\nsad\nsurprise\nneutral\n");
    msg = error_of(load(data::Fer2013Split::test));
    CHECK(contains(msg, "line 2 is blank"));
  }
  SUBCASE("missing or malformed fer2013-index.csv") {
    const std::string head = std::string(data::kFer2013IndexHeader) + "\n";
    const std::string train_rows =
        "fer2013-train.bin,0,0,Training,0,0\nfer2013-train.bin,1,1,Training,1,0\n";
    fs::remove(index);
    auto msg = error_of(load(data::Fer2013Split::public_test));
    CHECK(contains(msg, index));
    CHECK(contains(msg, "does not exist"));

    struct Case {
      std::string text, expect;
    };
    const std::vector<Case> cases = {
        {"file,record\n", "line 1 is 'file,record', expected the header"},
        {"", "line 1 is '', expected the header"},
        {head + train_rows + "fer2013-test.bin,0,2,PublicTest,0\n", "line 4 (byte offset 124) has 5 fields, expected 6"},
        {head + "fer2013-train.bin,x,0,Training,0,0\n", "line 2 (byte offset 54), field 'record': 'x' is not a record number"},
        {head + "fer2013-train.bin,1,0,Training,0,0\n", "fer2013-train.bin record 1, expected record 0"},
        {head + "fer2013-train.bin,0,0,PublicTest,0,0\n", "field 'usage': 'PublicTest' for a fer2013-train.bin record, expected Training"},
        {head + "fer2013-test.bin,0,0,PublicTest,0,0\nfer2013-test.bin,2,0,PublicTest,0,0\n",
         "line 3 (byte offset 90): fer2013-test.bin record 2, expected record 1"},
        {head + "fer2013-test.bin,0,0,Training,0,0\n", "'Training' for a fer2013-test.bin record, expected PublicTest or PrivateTest"},
        {head + "fer2013-test.bin,0,0,PrivateTest,0,0\nfer2013-test.bin,1,0,PublicTest,0,0\n",
         "line 3 (byte offset 91): a PublicTest record after PrivateTest ones"},
        {head + "fer2013-valid.bin,0,0,PublicTest,0,0\n", "field 'file': 'fer2013-valid.bin', expected fer2013-train.bin or fer2013-test.bin"},
        {head + "fer2013-test.bin,0,0,PublicTest,0,0\n\nfer2013-test.bin,1,0,PublicTest,0,0\n",
         "line 3 (byte offset 90) is blank but more rows follow"},
        {head + train_rows + "fer2013-test.bin,0,2,PublicTest,0,0\n",
         "lists 1 fer2013-test.bin records, but that file holds 5"},
    };
    for (const auto& c : cases) {
      CAPTURE(c.text);
      write_text(index, c.text);
      msg = error_of(load(data::Fer2013Split::private_test));
      INFO(msg);
      CHECK(contains(msg, index));
      CHECK(contains(msg, c.expect));
    }
    // train and test do not read the index at all.
    CHECK(data::load_fer2013(f.dir, data::Fer2013Split::test, data::kAllRecords, kAny).size() == 5);
  }
}

// ---- Kaggle CSV ---------------------------------------------------------------------------

TEST_CASE("fer2013 csv: splits, limits, and tolerated variants (CRLF, BOM, quotes, trailing blank lines)") {
  TempDir tmp;
  const auto p = tmp.path / "fer2013.csv";
  // Usages interleaved on purpose: test = all PublicTest rows, then all PrivateTest rows.
  const std::string body = csv_row("0", 0, "Training") + csv_row("6", 1, "PrivateTest") + csv_row("3", 2, "PublicTest") +
                           csv_row("2", 3, "Training") + csv_row("5", 4, "PublicTest") + csv_row("4", 5, "PrivateTest");
  for (const std::string& text : {std::string(data::kFer2013CsvHeader) + "\n" + body,
                                  "\xEF\xBB\xBF" + std::string(data::kFer2013CsvHeader) + "\r\n" +
                                      csv_row("0", 0, "Training", "\r\n") + csv_row("6", 1, "PrivateTest", "\r\n") +
                                      csv_row("3", 2, "PublicTest", "\r\n") + csv_row("2", 3, "Training", "\r\n") +
                                      csv_row("5", 4, "PublicTest", "\r\n") + csv_row("4", 5, "PrivateTest", "\r\n") +
                                      "\r\n\n",
                                  std::string(data::kFer2013CsvHeader) + "\n" + body.substr(0, body.size() - 1)}) {
    write_text(p, text);
    const auto train = data::load_fer2013_csv(p, data::Fer2013Split::train, data::kAllRecords, kAny);
    REQUIRE(train.size() == 2);
    CHECK(train.class_names ==
          std::vector<std::string>(data::kFer2013ClassNames.begin(), data::kFer2013ClassNames.end()));
    check_image(train, 0, 0, 0);
    check_image(train, 1, 2, 3);
    const auto pub = data::load_fer2013_csv(p, data::Fer2013Split::public_test, data::kAllRecords, kAny);
    REQUIRE(pub.size() == 2);
    check_image(pub, 1, 5, 4);
    const auto priv = data::load_fer2013_csv(p, data::Fer2013Split::private_test, data::kAllRecords, kAny);
    REQUIRE(priv.size() == 2);
    check_image(priv, 0, 6, 1);
    const auto test = data::load_fer2013_csv(p, data::Fer2013Split::test, data::kAllRecords, kAny);
    REQUIRE(test.size() == 4);
    check_image(test, 0, 3, 2);
    check_image(test, 1, 5, 4);
    check_image(test, 2, 6, 1);
    check_image(test, 3, 4, 5);
    const auto test3 = data::load_fer2013_csv(p, data::Fer2013Split::test, 3);
    REQUIRE(test3.size() == 3);
    check_image(test3, 2, 6, 1);
    CHECK(data::load_fer2013_csv(p, data::Fer2013Split::train, 1).size() == 1);
    const auto msg = error_of([&] { data::load_fer2013_csv(p, data::Fer2013Split::train, 3); });
    CHECK(contains(msg, p.string()));
    CHECK(contains(msg, "2 rows, fewer than the 3 requested"));
  }
  // Quoted pixels, as some CSV writers emit them.
  std::string quoted = csv_row("1", 9, "Training");
  quoted.insert(2, "\"");
  quoted.insert(quoted.rfind(','), "\"");
  write_text(p, std::string(data::kFer2013CsvHeader) + "\n" + quoted);
  const auto q = data::load_fer2013_csv(p, data::Fer2013Split::train, data::kAllRecords, kAny);
  REQUIRE(q.size() == 1);
  check_image(q, 0, 1, 9);
}

TEST_CASE("fer2013 csv: every bad row is a DataError naming the file, line, offset and field") {
  TempDir tmp;
  const auto p = tmp.path / "fer2013.csv";
  const std::string head = std::string(data::kFer2013CsvHeader) + "\n";  // 21 bytes
  const std::string good = csv_row("0", 0, "Training");
  const std::size_t line3 = head.size() + good.size();  // byte offset of line 3
  const auto at3 = "line 3 (byte offset " + std::to_string(line3) + ")";
  const auto run = [&](const std::string& text, data::Fer2013Split split = data::Fer2013Split::train) {
    write_text(p, text);
    return error_of([&] { data::load_fer2013_csv(p, split, data::kAllRecords, kAny); });
  };
  std::string pixels_of_good = good.substr(2, good.rfind(',') - 2);

  SUBCASE("missing and empty files, bad header") {
    auto msg = error_of([&] { data::load_fer2013_csv(tmp.path / "none.csv", data::Fer2013Split::train, data::kAllRecords, kAny); });
    CHECK(contains(msg, (tmp.path / "none.csv").string()));
    CHECK(contains(msg, "does not exist"));
    msg = run("");
    CHECK(contains(msg, p.string()));
    CHECK(contains(msg, "is empty"));
    msg = run("emotion,Usage,pixels\n" + good);
    CHECK(contains(msg, p.string()));
    CHECK(contains(msg, "line 1 is 'emotion,Usage,pixels', expected the header 'emotion,pixels,Usage'"));
  }
  SUBCASE("field count") {
    auto msg = run(head + good + "0," + pixels_of_good + "\n");
    INFO(msg);
    CHECK(contains(msg, p.string()));
    CHECK(contains(msg, at3 + " has 2 comma-separated fields, expected 3"));
    msg = run(head + good + "0," + pixels_of_good + ",Training,extra\n");
    CHECK(contains(msg, at3 + " has 4 comma-separated fields"));
  }
  SUBCASE("emotion: not a number, out of range") {
    auto msg = run(head + good + csv_row("x", 1, "Training"));
    INFO(msg);
    CHECK(contains(msg, at3 + ", field 'emotion': 'x' is not a label (expected an integer 0..6)"));
    msg = run(head + good + csv_row("", 1, "Training"));
    CHECK(contains(msg, "field 'emotion': '' is not a label"));
    msg = run(head + good + csv_row("7", 1, "Training"));
    CHECK(contains(msg, at3 + ", field 'emotion': label 7 is outside 0..6"));
    msg = run(head + good + csv_row("-1", 1, "Training"));
    CHECK(contains(msg, "'-1' is not a label"));
  }
  SUBCASE("pixels: count, non-numeric, above 255") {
    std::string short_row = good.substr(0, good.rfind(' ')) + ",Training\n";  // 2303 values
    auto msg = run(head + good + short_row);
    INFO(msg);
    CHECK(contains(msg, at3 + ", field 'pixels' (byte offset " + std::to_string(line3 + 2) +
                            ") holds 2303 values, expected 2304 (48x48)"));
    msg = run(head + good + "0," + pixels_of_good + " 7,Training\n");
    CHECK(contains(msg, "holds 2305 values, expected 2304"));
    msg = run(head + good + "0,,Training\n");
    CHECK(contains(msg, "holds 0 values"));

    std::string bad = good;  // value 3 becomes "1a": offset of value 3 in the row
    const std::size_t v3 = bad.find(' ', bad.find(' ') + 1) + 1;
    bad.replace(v3, bad.find(' ', v3) - v3, "1a");
    msg = run(head + good + bad);
    CHECK(contains(msg, at3 + ", field 'pixels', value 3 (byte offset " + std::to_string(line3 + v3) +
                            "): '1a' is not a number (expected integers 0..255 separated by spaces)"));
    bad = good;
    bad.replace(v3, bad.find(' ', v3) - v3, "-4");
    msg = run(head + good + bad);
    CHECK(contains(msg, "value 3 (byte offset " + std::to_string(line3 + v3) + "): '-4' is not a number"));
    bad = good;
    bad.replace(v3, bad.find(' ', v3) - v3, "256");
    msg = run(head + good + bad);
    CHECK(contains(msg, at3 + ", field 'pixels', value 3 (byte offset " + std::to_string(line3 + v3) +
                            "): 256 is above 255"));
    bad = good;
    bad.replace(v3, bad.find(' ', v3) - v3, "99999999999999999999999");
    msg = run(head + good + bad);
    CHECK(contains(msg, "): 99999999999999999999... is above 255"));
    bad = good;
    bad.replace(v3 - 1, 1, "\t");
    msg = run(head + good + bad);
    CHECK(contains(msg, "\\x09"));
    CHECK(contains(msg, "is not a number"));
  }
  SUBCASE("Usage") {
    auto msg = run(head + good + csv_row("1", 1, "Validation"));
    INFO(msg);
    CHECK(contains(msg, at3 + ", field 'Usage' (byte offset "));
    CHECK(contains(msg, "'Validation', expected Training, PublicTest or PrivateTest"));
    msg = run(head + good + csv_row("1", 1, "training"));
    CHECK(contains(msg, "'training', expected Training"));
  }
  SUBCASE("rows of other splits are checked too; a blank line inside the file") {
    auto msg = run(head + good + csv_row("9", 1, "PrivateTest"), data::Fer2013Split::train);
    CHECK(contains(msg, "label 9 is outside 0..6"));
    msg = run(head + good + "\n" + good);
    CHECK(contains(msg, at3 + " is blank but more rows follow"));
    // A limit reached before the bad row reads fine (as the binary reader does).
    write_text(p, head + good + csv_row("9", 1, "Training"));
    CHECK(data::load_fer2013_csv(p, data::Fer2013Split::train, 1).size() == 1);
  }
  SUBCASE("binary junk") {
    std::string junk(5000, '\0');
    for (std::size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<char>((i * 131) % 256);
    auto msg = run(head + junk);
    CHECK(contains(msg, p.string()));
    msg = run(junk);
    INFO(msg);
    CHECK(contains(msg, "expected the header"));
    CHECK(contains(msg, "line 1 is '\\x00"));  // control bytes are spelled out, not cut off
  }
}

// ---- the real data set ----------------------------------------------------------------------

namespace {
// The unpacked fer2013-binary folder, or "" (the test then skips): FER2013 is optional.
fs::path fer_dir() { return ctnn::test::fer2013_dir_or_skip().value_or(fs::path{}); }
}  // namespace

TEST_CASE("fer2013: a whole split must have a published record count, unless a subset is asked for") {
  TempDir tmp;
  BinaryFolder f(tmp.path, 10, 4, 3);
  auto msg = error_of([&] { data::load_fer2013(f.dir, data::Fer2013Split::train); });
  CHECK(contains(msg, (f.dir / "fer2013-train.bin").string()));
  CHECK(contains(msg, "holds 10 records (23050 bytes), not a published count (28558 in this project's archive, 28709"));
  msg = error_of([&] { data::load_fer2013(f.dir, data::Fer2013Split::public_test); });
  CHECK(contains(msg, "fer2013-test.bin' holds 7 records"));
  CHECK(contains(msg, "7152"));
  write_text(f.dir / "fer2013-test.bin", "");
  msg = error_of([&] { data::load_fer2013(f.dir, data::Fer2013Split::test); });
  CHECK(contains(msg, "fer2013-test.bin' holds 0 records (0 bytes)"));
  CHECK(data::load_fer2013(f.dir, data::Fer2013Split::train, 10).size() == 10);  // a subset: accepted

  const fs::path p = tmp.path / "fer2013.csv";
  write_text(p, std::string(data::kFer2013CsvHeader) + "\n" + csv_row("3", 1, "Training") + csv_row("4", 2, "PublicTest"));
  msg = error_of([&] { data::load_fer2013_csv(p, data::Fer2013Split::train); });
  CHECK(contains(msg, p.string()));
  CHECK(contains(msg, "the train split holds 1 rows, not the published 28709"));
  msg = error_of([&] { data::load_fer2013_csv(p, data::Fer2013Split::private_test); });
  CHECK(contains(msg, "the private_test split holds 0 rows, not the published 3589"));
  CHECK(data::load_fer2013_csv(p, data::Fer2013Split::public_test, 1).size() == 1);
}

TEST_CASE("fer2013: the real data set has the published counts (CTNN_FER2013_DIR)") {
  const fs::path dir = fer_dir();
  if (dir.empty()) return;
  const auto t0 = std::chrono::steady_clock::now();
  const auto train = data::load_fer2013(dir, data::Fer2013Split::train);
  const auto pub = data::load_fer2013(dir, data::Fer2013Split::public_test);
  const auto priv = data::load_fer2013(dir, data::Fer2013Split::private_test);
  const auto test = data::load_fer2013(dir, data::Fer2013Split::test);
  MESSAGE("loaded the FER2013 splits in "
          << std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() << " ms");
  CHECK(train.class_names == std::vector<std::string>(data::kFer2013ClassNames.begin(), data::kFer2013ClassNames.end()));
  REQUIRE(train.size() == 28558);
  REQUIRE(pub.size() == 3579);
  REQUIRE(priv.size() == 3573);
  REQUIRE(test.size() == 7152);
  CHECK(train.class_counts() == std::vector<std::size_t>{3969, 435, 4079, 7186, 4796, 3161, 4932});
  CHECK(pub.class_counts() == std::vector<std::size_t>{466, 56, 496, 891, 652, 414, 604});
  CHECK(priv.class_counts() == std::vector<std::size_t>{489, 55, 527, 876, 588, 414, 624});
  // test = public then private.
  CHECK(std::equal(pub.labels.begin(), pub.labels.end(), test.labels.begin()));
  CHECK(std::equal(priv.labels.begin(), priv.labels.end(), test.labels.begin() + 3579));
  CHECK(std::equal(priv.pixels.begin(), priv.pixels.end(), test.pixels.begin() + 3579 * kPixels));
  // The published head of fer2013.csv: labels 0 0 2 4 6, pixels 70 80 82 72 58 58 60 63 54 58.
  CHECK(std::vector<std::int32_t>(train.labels.begin(), train.labels.begin() + 5) ==
        std::vector<std::int32_t>{0, 0, 2, 4, 6});
  CHECK(std::vector<std::uint8_t>(train.pixels.begin(), train.pixels.begin() + 10) ==
        std::vector<std::uint8_t>{70, 80, 82, 72, 58, 58, 60, 63, 54, 58});
  // A slice across the boundary.
  const auto head = data::load_fer2013(dir, data::Fer2013Split::private_test, 100);
  CHECK(std::equal(head.pixels.begin(), head.pixels.end(), priv.pixels.begin()));
}

TEST_CASE("fer2013: a small network learns above the majority-class rate in seconds (CTNN_FER2013_DIR)") {
  const fs::path dir = fer_dir();
  if (dir.empty()) return;
  using namespace ctnn;
  using Net = Sequential<Input<1, 48, 48>,                                    //
                         Conv<1, 16, 3>, BatchNorm, ReLU, MaxPool<2>,         // 24x24
                         Conv<16, 32, 3>, BatchNorm, ReLU, MaxPool<2>,        // 12x12
                         Conv<32, 64, 3>, BatchNorm, ReLU, MaxPool<2>,        // 6x6
                         Linear<7>>;
  const auto train_set = data::load_fer2013(dir, data::Fer2013Split::train, 3000);
  const auto test_set = data::load_fer2013(dir, data::Fer2013Split::public_test, 1000);
  const auto counts = test_set.class_counts();
  const double majority = static_cast<double>(*std::max_element(counts.begin(), counts.end())) / 1000.0;
  const data::Normalize<1> norm{{0.5f}, {0.25f}};
  const auto tf = data::compose<data::Fer2013Shape>(data::ToTensor{}, norm);
  data::DataLoader train_loader(train_set, tf, {.batch_size = 32, .shuffle = true, .seed = 1});
  data::DataLoader test_loader(test_set, tf, {.batch_size = 250});
  Net net(1);
  Adam opt{net.parameters(), {.lr = 1e-3}};
  const auto t0 = std::chrono::steady_clock::now();
  train::PassResult tr;
  for (std::uint64_t e = 0; e < 3; ++e) tr = train::train_epoch(net, opt, train_loader, e);
  const auto te = train::evaluate(net, test_loader);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto cm = train::confusion_matrix(net, test_loader, test_set.class_names);
  MESSAGE("3 epochs on 3,000 FER2013 images in " << seconds << " s (" << tr.images_per_second()
                                                 << " img/s): train loss " << tr.loss << ", test acc " << te.accuracy
                                                 << " (majority class " << majority << ")\n"
                                                 << cm.table());
  CHECK(te.samples == 1000);
  CHECK(cm.total() == 1000);
  CHECK(cm.accuracy() == doctest::Approx(te.accuracy));
  CHECK(te.accuracy > majority + 0.08);  // measured: 0.388 against 0.226
}

// ---- face augmentation (data/geometric.hpp) -------------------------------------------------

TEST_CASE("geometric: rotate_scale is exact for the identity and quarter/half turns, and samples bilinearly") {
  using S = ctnn::Shape<2, 6, 6>;
  std::vector<std::uint8_t> src(S::size), dst(S::size);
  for (std::size_t i = 0; i < S::size; ++i) src[i] = static_cast<std::uint8_t>(i * 3 + 1);
  const auto px = [](const std::vector<std::uint8_t>& v, std::size_t c, std::size_t y, std::size_t x) {
    return v[(c * 6 + y) * 6 + x];
  };
  constexpr double kPi = 3.14159265358979323846;

  data::rotate_scale<S>(src.data(), dst.data(), 0, 1, 0);
  CHECK(dst == src);
  data::rotate_scale<S>(src.data(), dst.data(), kPi, 1, 0);  // half turn: (y, x) <- (5-y, 5-x)
  bool ok = true;
  for (std::size_t c = 0; c < 2; ++c)
    for (std::size_t y = 0; y < 6; ++y)
      for (std::size_t x = 0; x < 6; ++x) ok = ok && px(dst, c, y, x) == px(src, c, 5 - y, 5 - x);
  CHECK(ok);
  // A quarter turn counter-clockwise (as displayed): the right edge's middle goes to the top.
  data::rotate_scale<S>(src.data(), dst.data(), kPi / 2, 1, 0);
  ok = true;
  for (std::size_t y = 0; y < 6; ++y)
    for (std::size_t x = 0; x < 6; ++x) ok = ok && px(dst, 0, y, x) == px(src, 0, x, 5 - y);
  CHECK(ok);
  // Shrinking by half leaves fill at the corners and keeps the centre's average.
  data::rotate_scale<S>(src.data(), dst.data(), 0, 0.5, 7);
  CHECK(px(dst, 0, 0, 0) == 7);
  CHECK(px(dst, 1, 5, 5) == 7);
  // Enlarging by 2: output (2,2) and (3,3) sample the input at 2.25 and 2.75.
  data::rotate_scale<S>(src.data(), dst.data(), 0, 2, 0);
  const double expect = 0.5625 * px(src, 0, 2, 2) + 0.1875 * px(src, 0, 2, 3) + 0.1875 * px(src, 0, 3, 2) +
                        0.0625 * px(src, 0, 3, 3);
  CHECK(px(dst, 0, 2, 2) == static_cast<int>(std::lround(expect)));
  // Nonsense parameters copy instead of misbehaving.
  data::rotate_scale<S>(src.data(), dst.data(), 0.3, 0, 0);
  CHECK(dst == src);
  data::rotate_scale<S>(src.data(), dst.data(), 1e300, 1, 0);
  CHECK(dst.size() == S::size);
}

TEST_CASE("geometric: RandomRotateScale in a pipeline is reproducible and stays within its range") {
  using S = data::Fer2013Shape;
  std::vector<std::uint8_t> img(S::size);
  for (std::size_t i = 0; i < S::size; ++i) img[i] = static_cast<std::uint8_t>(100 + (i % 48));
  const auto tf = data::compose<S>(data::RandomRotateScale{.degrees = 15, .scale_min = 0.9, .scale_max = 1.1},
                                   data::RandomCrop<48, 48, 4>{}, data::RandomHorizontalFlip{}, data::ToTensor{});
  static_assert(decltype(tf)::random);
  std::vector<float> a(S::size), b(S::size);
  ctnn::Rng r1(5), r2(5);
  tf(img.data(), a.data(), r1);
  tf(img.data(), b.data(), r2);
  CHECK(a == b);
  // Zero range is the identity.
  const auto none = data::compose<S>(data::RandomRotateScale{.degrees = 0, .scale_min = 1, .scale_max = 1},
                                     data::ToTensor{});
  none(img.data(), a.data(), r1);
  bool same = true;
  for (std::size_t i = 0; i < S::size; ++i) same = same && a[i] == static_cast<float>(img[i]) / 255.0f;
  CHECK(same);
  // A small turn keeps the centre pixel's neighbourhood (values within the source range).
  std::vector<std::uint8_t> out(S::size);
  const auto rot = data::compose<S>(data::RandomRotateScale{.degrees = 10, .scale_min = 0.95, .scale_max = 1.05},
                                    data::ToTensor{});
  rot.apply_image(img.data(), out.data(), r1);
  const std::uint8_t centre = out[24 * 48 + 24];
  CHECK(centre >= 100);
  CHECK(centre <= 147);
}
