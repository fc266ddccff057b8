// libFuzzer target for the FER2013 readers (ctnn/data/fer2013.hpp): the first input byte picks
// what the rest becomes, in a folder of otherwise valid files:
//   0: fer2013.csv, read as every split, whole (published counts and RecordCount::any) and
//      with a limit
//   1: fer2013-index.csv beside a 3-record fer2013-test.bin: the PublicTest / PrivateTest splits
//   2: fer2013-train.bin and fer2013-test.bin (the record reader), whole and with a limit
//   3: fer2013-labels.txt
// Any input must load consistent data or throw ctnn::data::DataError. Build and run: fuzz/run.sh.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include <ctnn/data/fer2013.hpp>

namespace {
namespace fs = std::filesystem;
namespace d = ctnn::data;

void write(const fs::path& p, const std::uint8_t* data, std::size_t size) {
  std::FILE* f = std::fopen(p.c_str(), "wb");
  if (!f) __builtin_trap();
  if (size && std::fwrite(data, 1, size, f) != size) __builtin_trap();
  std::fclose(f);
}
void write(const fs::path& p, const std::string& s) { write(p, reinterpret_cast<const std::uint8_t*>(s.data()), s.size()); }

void check(const d::Fer2013& set) {
  if (set.pixels.size() != set.size() * d::Fer2013::image_size) __builtin_trap();
  if (set.class_names.size() != d::kFer2013NumClasses) __builtin_trap();
  for (auto l : set.labels)
    if (l < 0 || l >= static_cast<int>(d::kFer2013NumClasses)) __builtin_trap();
}

template <class F>
void expect_data_error_or_ok(F&& f) {
  try {
    f();
  } catch (const d::DataError&) {
  }
}

// load(limit, count) whole with the published counts, whole with RecordCount::any, and with a limit.
template <class Load>
void load_three_ways(Load&& load, std::size_t limit) {
  expect_data_error_or_ok([&] { check(load(d::kAllRecords, d::RecordCount::official)); });
  expect_data_error_or_ok([&] { check(load(d::kAllRecords, d::RecordCount::any)); });
  expect_data_error_or_ok([&] {
    const auto set = load(limit, d::RecordCount::official);
    check(set);
    if (set.size() != limit) __builtin_trap();
  });
}

std::string records(int n) {
  std::string r;
  for (int i = 0; i < n; ++i) {
    r.push_back(static_cast<char>(i % 7));
    r.append(d::Fer2013Shape::size, static_cast<char>(i * 40));
  }
  return r;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const fs::path dir = [] {
    const fs::path base = fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    const fs::path p = base / ("ctnn_fuzz_fer2013_" + std::to_string(::getpid()));
    fs::create_directories(p);
    return p;
  }();
  if (size == 0) return 0;
  const std::uint8_t mode = data[0] % 4;
  const std::uint8_t* rest = data + 1;
  const std::size_t n = size - 1;
  const std::size_t limit = 1 + (size % 3);
  const std::string labels = "angry\ndisgust\nfear\nhappy\nsad\nsurprise\nneutral\n";
  const std::string index = std::string(d::kFer2013IndexHeader) +
                            "\nfer2013-train.bin,0,0,Training,0,0\nfer2013-test.bin,0,1,PublicTest,0,0\n"
                            "fer2013-test.bin,1,2,PrivateTest,1,0\nfer2013-test.bin,2,3,PrivateTest,2,0\n";
  write(dir / "fer2013-labels.txt", labels);
  write(dir / "fer2013-index.csv", index);
  write(dir / "fer2013-train.bin", records(1));
  write(dir / "fer2013-test.bin", records(3));
  const d::Fer2013Split splits[] = {d::Fer2013Split::train, d::Fer2013Split::public_test, d::Fer2013Split::private_test,
                                    d::Fer2013Split::test};
  switch (mode) {
    case 0: {
      const fs::path csv = dir / "fer2013.csv";
      write(csv, rest, n);
      for (auto s : splits)
        load_three_ways([&](std::size_t l, d::RecordCount c) { return d::load_fer2013_csv(csv, s, l, c); }, limit);
      break;
    }
    case 1:
      write(dir / "fer2013-index.csv", rest, n);
      for (auto s : splits) expect_data_error_or_ok([&] { check(d::load_fer2013(dir, s, d::kAllRecords, d::RecordCount::any)); });
      break;
    case 2:
      write(dir / "fer2013-train.bin", rest, n);
      write(dir / "fer2013-test.bin", rest, n);
      write(dir / "fer2013-index.csv", std::string(d::kFer2013IndexHeader) + "\n");
      for (auto s : {d::Fer2013Split::train, d::Fer2013Split::test})
        load_three_ways([&](std::size_t l, d::RecordCount c) { return d::load_fer2013(dir, s, l, c); }, limit);
      break;
    default:
      write(dir / "fer2013-labels.txt", rest, n);
      expect_data_error_or_ok([&] { check(d::load_fer2013(dir, d::Fer2013Split::train, d::kAllRecords, d::RecordCount::any)); });
      break;
  }
  return 0;
}
