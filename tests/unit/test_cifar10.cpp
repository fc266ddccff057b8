// CIFAR-10 reader: the 500-record sample, the full data set (CTNN_CIFAR10_DIR), and corrupted
// copies written to a temporary folder.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <type_traits>
#include <vector>

#include <unistd.h>

#include "ctnn/data/cifar10.hpp"
#include "support/data.hpp"

namespace data = ctnn::data;
namespace fs = std::filesystem;

static_assert(std::is_base_of_v<std::runtime_error, data::DataError>);
static_assert(std::is_same_v<data::Cifar10::shape, ctnn::Shape<3, 32, 32>>);
static_assert(data::kCifar10RecordBytes == 3073);

namespace {

constexpr std::size_t kRecord = data::kCifar10RecordBytes;

std::vector<char> read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  REQUIRE(in);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& p, const char* data, std::size_t n) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  REQUIRE(out);
  out.write(data, static_cast<std::streamsize>(n));
  REQUIRE(out);
}

void write_text(const fs::path& p, const std::string& s) { write_bytes(p, s.data(), s.size()); }

// Runs f, which must throw DataError, and returns the message.
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

struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() /
           ("ctnn-cifar10-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// Records made here, so that the reader's error handling and folder layout are tested without
// the data set: label i % 10 (a valid label), pixels from a fixed xorshift stream.
constexpr std::size_t kSyntheticRecords = 100;
std::vector<char> synthetic_records(std::size_t n) {
  std::vector<char> out(n * kRecord);
  std::uint32_t x = 2463534242u;
  for (std::size_t i = 0; i < n; ++i) {
    out[i * kRecord] = static_cast<char>((i * 7 + 3) % 10);
    for (std::size_t b = 1; b < kRecord; ++b) {
      x ^= x << 13, x ^= x >> 17, x ^= x << 5;
      out[i * kRecord + b] = static_cast<char>(x & 0xff);
    }
  }
  return out;
}

const char* const kMeta = "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n";

}  // namespace

TEST_CASE("cifar10: the 500-record sample") {
  const auto sample = ctnn::test::cifar10_sample_or_skip();
  if (!sample) return;
  const std::string path = sample->string();
  const auto set = data::load_cifar10_file(path);
  REQUIRE(set.size() == 500);
  CHECK(set.pixels.size() == 500 * 3072);
  CHECK(set.num_classes() == 10);
  CHECK(set.class_names[0] == "airplane");
  CHECK(set.class_names[9] == "truck");
  CHECK(set.class_counts() == std::vector<std::size_t>{57, 41, 51, 49, 40, 48, 54, 47, 57, 56});
  const std::vector<std::int32_t> first(set.labels.begin(), set.labels.begin() + 10);
  CHECK(first == std::vector<std::int32_t>{3, 8, 8, 0, 6, 6, 1, 6, 3, 1});

  // Pixels are the record bytes after the label, in file order (R plane, G plane, B plane).
  const auto raw = read_bytes(path);
  REQUIRE(raw.size() == 500 * kRecord);
  for (std::size_t i : {0u, 1u, 250u, 499u}) {
    CAPTURE(i);
    CHECK(set.label(i) == static_cast<unsigned char>(raw[i * kRecord]));
    CHECK(std::equal(set.image(i).begin(), set.image(i).end(),
                     reinterpret_cast<const std::uint8_t*>(raw.data()) + i * kRecord + 1));
  }

  // A limit keeps the first records.
  const auto head = data::load_cifar10_file(path, 10);
  REQUIRE(head.size() == 10);
  CHECK(std::equal(head.pixels.begin(), head.pixels.end(), set.pixels.begin()));
  CHECK(std::equal(head.labels.begin(), head.labels.end(), set.labels.begin()));
  CHECK(data::load_cifar10_file(path, 500).size() == 500);
  const auto msg = error_of([&] { data::load_cifar10_file(path, 501); });
  CHECK(contains(msg, path));
  CHECK(contains(msg, "500 records"));
  CHECK(contains(msg, "501"));
}

TEST_CASE("cifar10: the full training and test sets (CTNN_CIFAR10_DIR)") {
  const auto found = ctnn::test::cifar10_dir_or_skip();
  if (!found) return;
  const fs::path dir = *found;
  const auto t0 = std::chrono::steady_clock::now();
  const auto train = data::load_cifar10(dir, data::Split::train);
  const auto t1 = std::chrono::steady_clock::now();
  const auto test = data::load_cifar10(dir, data::Split::test);
  const auto t2 = std::chrono::steady_clock::now();
  MESSAGE("loaded 50,000 + 10,000 CIFAR-10 images in "
          << std::chrono::duration<double, std::milli>(t1 - t0).count() << " + "
          << std::chrono::duration<double, std::milli>(t2 - t1).count() << " ms");

  REQUIRE(train.size() == 50000);
  REQUIRE(test.size() == 10000);
  CHECK(train.pixels.size() == 50000u * 3072u);
  CHECK(train.class_names ==
        std::vector<std::string>(data::kCifar10ClassNames.begin(), data::kCifar10ClassNames.end()));
  CHECK(train.class_counts() == std::vector<std::size_t>(10, 5000));
  CHECK(test.class_counts() == std::vector<std::size_t>(10, 1000));
  const std::vector<std::int32_t> first(train.labels.begin(), train.labels.begin() + 10);
  CHECK(first == std::vector<std::int32_t>{6, 9, 9, 4, 1, 1, 2, 7, 8, 3});

  // Train is data_batch_1..5 in order: the per-class counts of the first and last 10,000.
  data::Cifar10 b1, b5;
  b1.class_names = b5.class_names = train.class_names;
  b1.labels.assign(train.labels.begin(), train.labels.begin() + 10000);
  b5.labels.assign(train.labels.end() - 10000, train.labels.end());
  CHECK(b1.class_counts() == std::vector<std::size_t>{1005, 974, 1032, 1016, 999, 937, 1030, 1001, 1025, 981});
  CHECK(b5.class_counts() == std::vector<std::size_t>{1014, 1014, 952, 1016, 997, 1025, 980, 977, 1003, 1022});
  // ... and image 20,000 is the first record of data_batch_3.
  const auto raw3 = read_bytes(dir / "data_batch_3.bin");
  CHECK(train.label(20000) == static_cast<unsigned char>(raw3[0]));
  CHECK(std::equal(train.image(20000).begin(), train.image(20000).end(),
                   reinterpret_cast<const std::uint8_t*>(raw3.data()) + 1));

  // The sample is the head of test_batch.bin.
  const auto head = data::load_cifar10_file(*ctnn::test::cifar10_sample_or_skip());
  REQUIRE(head.size() == ctnn::test::kCifar10SampleRecords);
  CHECK(std::equal(head.pixels.begin(), head.pixels.end(), test.pixels.begin()));
  CHECK(std::equal(head.labels.begin(), head.labels.end(), test.labels.begin()));

  // A limit reads only what it needs, across file boundaries.
  const auto part = data::load_cifar10(dir, data::Split::train, 12345);
  REQUIRE(part.size() == 12345);
  CHECK(std::equal(part.pixels.begin(), part.pixels.end(), train.pixels.begin()));
  CHECK(std::equal(part.labels.begin(), part.labels.end(), train.labels.begin()));
  CHECK(data::load_cifar10(dir, data::Split::test, 10000).size() == 10000);
  const auto msg = error_of([&] { data::load_cifar10(dir, data::Split::test, 10001); });
  CHECK(contains(msg, dir.string()));
  CHECK(contains(msg, "10000 records"));
}

TEST_CASE("cifar10: corrupted files are rejected with messages naming the file") {
  const auto raw = synthetic_records(kSyntheticRecords);
  TempDir tmp;

  SUBCASE("truncated: size not a whole number of records") {
    const auto p = tmp.path / "truncated.bin";
    write_bytes(p, raw.data(), 10 * kRecord + 100);
    const auto msg = error_of([&] { data::load_cifar10_file(p); });
    INFO(msg);
    CHECK(contains(msg, p.string()));
    CHECK(contains(msg, "30830 bytes"));      // the size
    CHECK(contains(msg, "3073-byte records"));  // the record size
    CHECK(contains(msg, "10 whole records"));
    CHECK(contains(msg, "100 bytes starting at byte offset 30730"));  // where the partial record starts
  }
  SUBCASE("a label outside 0..9") {
    auto bad = raw;
    bad.resize(20 * kRecord);
    bad[13 * kRecord] = 10;
    const auto p = tmp.path / "bad_label.bin";
    write_bytes(p, bad.data(), bad.size());
    const auto msg = error_of([&] { data::load_cifar10_file(p); });
    INFO(msg);
    CHECK(contains(msg, p.string()));
    CHECK(contains(msg, "record 13"));
    CHECK(contains(msg, "byte offset 39949"));
    CHECK(contains(msg, "label 10"));
    CHECK(contains(msg, "0..9"));
    // A limit that stops before the bad record reads fine.
    CHECK(data::load_cifar10_file(p, 13).size() == 13);
  }
  SUBCASE("missing and empty files") {
    const auto missing = tmp.path / "nope.bin";
    auto msg = error_of([&] { data::load_cifar10_file(missing); });
    CHECK(contains(msg, missing.string()));
    CHECK(contains(msg, "does not exist"));
    const auto empty = tmp.path / "empty.bin";
    write_bytes(empty, raw.data(), 0);
    msg = error_of([&] { data::load_cifar10_file(empty); });
    CHECK(contains(msg, empty.string()));
    CHECK(contains(msg, "empty"));
    msg = error_of([&] { data::load_cifar10_file(tmp.path); });
    CHECK(contains(msg, "not a regular file"));
  }
}

TEST_CASE("cifar10: folder layout, batches.meta.txt and the train/test splits") {
  const auto raw = synthetic_records(kSyntheticRecords);
  TempDir tmp;
  const fs::path dir = tmp.path / "cifar-10-batches-bin";
  fs::create_directories(dir);
  // data_batch_k.bin gets records [10k, 10k + 3 + k) of the sample; test_batch.bin records 0..4.
  auto write_batches = [&] {
    for (int k = 1; k <= 5; ++k)
      write_bytes(dir / ("data_batch_" + std::to_string(k) + ".bin"), raw.data() + 10 * k * kRecord,
                  (3 + k) * kRecord);
    write_bytes(dir / "test_batch.bin", raw.data(), 5 * kRecord);
  };
  write_batches();
  // These files are small: RecordCount::any (the official counts are checked below).
  constexpr auto kAnyCount = data::RecordCount::any;

  SUBCASE("meta without, and with, a trailing blank line; CRLF") {
    for (const std::string& meta : {std::string("airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck"),
                                   std::string(kMeta) + "\n",
                                   std::string("airplane\r\nautomobile\r\nbird\r\ncat\r\ndeer\r\ndog\r\nfrog\r\nhorse\r\nship\r\ntruck\r\n\r\n")}) {
      write_text(dir / "batches.meta.txt", meta);
      const auto train = data::load_cifar10(dir, data::Split::train, data::kAllRecords, kAnyCount);
      CHECK(train.class_names ==
            std::vector<std::string>(data::kCifar10ClassNames.begin(), data::kCifar10ClassNames.end()));
      REQUIRE(train.size() == 4 + 5 + 6 + 7 + 8);
      // Concatenated in order data_batch_1 .. data_batch_5.
      std::size_t at = 0;
      for (int k = 1; k <= 5; ++k)
        for (int r = 0; r < 3 + k; ++r, ++at) {
          const std::size_t rec = static_cast<std::size_t>(10 * k + r);
          CHECK(train.label(at) == static_cast<unsigned char>(raw[rec * kRecord]));
          CHECK(std::equal(train.image(at).begin(), train.image(at).end(),
                           reinterpret_cast<const std::uint8_t*>(raw.data()) + rec * kRecord + 1));
        }
      const auto test = data::load_cifar10(dir, data::Split::test, data::kAllRecords, kAnyCount);
      CHECK(test.size() == 5);
      CHECK(test.label(0) == static_cast<unsigned char>(raw[0]));
      CHECK(data::load_cifar10(dir, data::Split::train, 6).size() == 6);
    }
  }
  SUBCASE("missing or malformed meta") {
    auto msg = error_of([&] { data::load_cifar10(dir, data::Split::train, data::kAllRecords, kAnyCount); });
    CHECK(contains(msg, (dir / "batches.meta.txt").string()));
    CHECK(contains(msg, "does not exist"));
    write_text(dir / "batches.meta.txt", "airplane\nautomobile\nbird\n");
    msg = error_of([&] { data::load_cifar10(dir, data::Split::test, data::kAllRecords, kAnyCount); });
    CHECK(contains(msg, "batches.meta.txt"));
    CHECK(contains(msg, "3 class names, expected 10"));
    write_text(dir / "batches.meta.txt", "airplane\n\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n");
    msg = error_of([&] { data::load_cifar10(dir, data::Split::test, data::kAllRecords, kAnyCount); });
    CHECK(contains(msg, "line 2 is blank"));
  }
  SUBCASE("a missing, truncated or mislabelled batch file") {
    write_text(dir / "batches.meta.txt", kMeta);
    fs::remove(dir / "data_batch_4.bin");
    auto msg = error_of([&] { data::load_cifar10(dir, data::Split::train, data::kAllRecords, kAnyCount); });
    CHECK(contains(msg, (dir / "data_batch_4.bin").string()));
    CHECK(contains(msg, "does not exist"));
    CHECK(data::load_cifar10(dir, data::Split::test, data::kAllRecords, kAnyCount).size() == 5);  // test does not need it

    write_batches();
    write_bytes(dir / "data_batch_2.bin", raw.data(), 2 * kRecord + 5);
    msg = error_of([&] { data::load_cifar10(dir, data::Split::train, data::kAllRecords, kAnyCount); });
    CHECK(contains(msg, (dir / "data_batch_2.bin").string()));
    CHECK(contains(msg, "partial record of 5 bytes"));

    write_batches();
    auto bad = std::vector<char>(raw.begin(), raw.begin() + 4 * kRecord);
    bad[2 * kRecord] = static_cast<char>(200);
    write_bytes(dir / "data_batch_3.bin", bad.data(), bad.size());
    msg = error_of([&] { data::load_cifar10(dir, data::Split::train, data::kAllRecords, kAnyCount); });
    CHECK(contains(msg, (dir / "data_batch_3.bin").string()));
    CHECK(contains(msg, "record 2 (byte offset 6146) has label 200"));

    write_batches();
    msg = error_of([&] { data::load_cifar10(dir, data::Split::train, 31); });
    CHECK(contains(msg, dir.string()));
    CHECK(contains(msg, "30 records, fewer than the 31 requested"));
  }
  SUBCASE("the official 10,000 records per file, unless a subset is asked for") {
    write_text(dir / "batches.meta.txt", kMeta);
    auto msg = error_of([&] { data::load_cifar10(dir, data::Split::test); });
    CHECK(contains(msg, (dir / "test_batch.bin").string()));
    CHECK(contains(msg, "holds 5 records (15365 bytes), not the official 10000"));
    CHECK(contains(msg, "--test-limit"));
    write_bytes(dir / "test_batch.bin", raw.data(), 0);  // empty: was "0 test images", 0.00 %
    msg = error_of([&] { data::load_cifar10(dir, data::Split::test); });
    CHECK(contains(msg, "test_batch.bin' holds 0 records (0 bytes)"));
    msg = error_of([&] { data::load_cifar10(dir, data::Split::train); });
    CHECK(contains(msg, (dir / "data_batch_1.bin").string()));
    CHECK(contains(msg, "holds 4 records"));
    // A subset asked for: the counts are not checked, only that there are enough records.
    CHECK(data::load_cifar10(dir, data::Split::train, 30).size() == 30);
    msg = error_of([&] { data::load_cifar10(dir, data::Split::test, 1); });
    CHECK(contains(msg, "0 records, fewer than the 1 requested"));
  }
  SUBCASE("a missing folder points at scripts/get-cifar10.sh") {
    const auto msg = error_of([&] { data::load_cifar10(tmp.path / "absent", data::Split::train); });
    CHECK(contains(msg, (tmp.path / "absent").string()));
    CHECK(contains(msg, "scripts/get-cifar10.sh"));
  }
}
