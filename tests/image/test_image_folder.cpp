// ctnn/io/image_folder.hpp (torchvision's ImageFolder) on folders of images made here: PNG and
// JPEG, several sizes, grey and colour, a corrupt file, an empty class folder, non-image files;
// the resize rules against the compile-time torchvision-exact transforms; ctnn/data/split.hpp;
// and CIFAR-10 written out as PNGs reads back as the binary reader's pixels and labels.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <ctnn/data/cifar10.hpp>
#include <ctnn/data/split.hpp>
#include <ctnn/data/transforms.hpp>
#include <ctnn/io/image_folder.hpp>

#include "support/data.hpp"
#include "support/image_encode.hpp"

namespace fs = std::filesystem;
namespace io = ctnn::io;
namespace data = ctnn::data;
using ctnn::Shape;
using ctnn::test::Bytes;
using ctnn::test::encode_jpeg;
using ctnn::test::encode_png;

namespace {

struct Folder {
  fs::path root;
  explicit Folder(const std::string& name)
      : root(fs::temp_directory_path() / ("ctnn-folder-test-" + name + "-" + std::to_string(::getpid()))) {
    fs::remove_all(root);
    fs::create_directories(root);
  }
  ~Folder() {
    std::error_code ec;
    fs::remove_all(root, ec);
  }
  fs::path write(const std::string& rel, const Bytes& b) const {
    const fs::path p = root / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    return p;
  }
};

// A w x h test pattern with c interleaved channels.
Bytes pattern(unsigned w, unsigned h, unsigned c, unsigned salt = 0) {
  Bytes p(std::size_t{w} * h * c);
  for (std::size_t i = 0; i < p.size(); ++i) p[i] = static_cast<std::uint8_t>((i * 37 + i / c * 11 + salt * 101) % 256);
  return p;
}

Bytes hwc_to_chw(const Bytes& hwc, std::size_t c, std::size_t h, std::size_t w) { return io::hwc_to_chw(hwc.data(), c, h, w); }

// image i of a set as a vector
template <class S>
Bytes image_of(const data::ImageSet<S>& set, std::size_t i) {
  const auto s = set.image(i);
  return Bytes(s.begin(), s.end());
}

// The torchvision-exact compile-time pipeline's image ops on one CHW image of shape In.
template <class In, class... Ops>
Bytes through(const Bytes& chw, Ops... ops) {
  const auto tf = data::compose<In>(ops..., data::ToTensor{});
  Bytes out(decltype(tf)::output_shape::size);
  ctnn::Rng rng(0);
  tf.apply_image(chw.data(), out.data(), rng);
  return out;
}

// A small mixed folder: cat holds an exact-size RGB PNG, a wide grey PNG and a JPEG; dog holds a
// tall RGBA PNG in a sub-folder and a grey JPEG; plus non-image and hidden files.
struct MixedFolder : Folder {
  Bytes cat_rgb = pattern(32, 32, 3, 1), cat_wide = pattern(40, 20, 1, 2), dog_tall = pattern(24, 50, 4, 3);
  Bytes cat_jpeg = encode_jpeg(pattern(64, 48, 3, 4), 64, 48, 3, 95), dog_jpeg = encode_jpeg(pattern(33, 33, 1, 5), 33, 33, 1, 95);
  MixedFolder() : Folder("mixed") {
    write("cat/b_exact.png", encode_png(cat_rgb, 32, 32, PNG_COLOR_TYPE_RGB));
    write("cat/a_wide.PNG", encode_png(cat_wide, 40, 20, PNG_COLOR_TYPE_GRAY));
    write("cat/c_photo.jpg", cat_jpeg);
    write("cat/notes.txt", Bytes{'h', 'i'});
    write("dog/sub/tall.png", encode_png(dog_tall, 24, 50, PNG_COLOR_TYPE_RGB_ALPHA));
    write("dog/grey.jpeg", dog_jpeg);
    write("dog/.DS_Store", Bytes{0});
    write("README.md", Bytes{'x'});
    fs::create_directories(root / ".ipynb_checkpoints");
  }
};

std::string message_of(auto&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  FAIL("no exception");
  return {};
}
bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("image folder: classes sorted, files in torchvision's order, non-image and hidden files ignored and counted") {
  const MixedFolder f;
  const auto r = io::load_image_folder<Shape<3, 32, 32>>(f.root);
  CHECK(r.set.class_names == std::vector<std::string>{"cat", "dog"});
  REQUIRE(r.set.size() == 5);
  CHECK(r.set.labels == std::vector<std::int32_t>{0, 0, 0, 1, 1});
  // (folder, name): cat/a_wide.PNG, cat/b_exact.png, cat/c_photo.jpg, dog/grey.jpeg, dog/sub/tall.png
  CHECK(r.files[0].filename() == "a_wide.PNG");
  CHECK(r.files[1].filename() == "b_exact.png");
  CHECK(r.files[2].filename() == "c_photo.jpg");
  CHECK(r.files[3].filename() == "grey.jpeg");
  CHECK(r.files[4] == f.root / "dog" / "sub" / "tall.png");
  CHECK(r.report.images == 5);
  CHECK(r.report.ignored_files() == 2);  // notes.txt, README.md
  CHECK(r.report.ignored.at(".txt") == 1);
  CHECK(r.report.ignored.at(".md") == 1);
  CHECK(r.report.hidden == 2);  // .DS_Store, .ipynb_checkpoints
  CHECK(r.report.resized == 4);
  CHECK(r.report.skipped.empty());
  const std::string s = r.report.summary(r.set.num_classes());
  CHECK(contains(s, "5 images in 2 classes"));
  CHECK(contains(s, "1 .txt"));
}

TEST_CASE("image folder: pixels equal the decoded image through torchvision's Resize(S) + CenterCrop(S), exactly") {
  const MixedFolder f;
  const auto r = io::load_image_folder<Shape<3, 32, 32>>(f.root);
  // An image of the input size is kept byte for byte.
  CHECK(image_of(r.set, 1) == hwc_to_chw(f.cat_rgb, 3, 32, 32));
  // Grey 40x20 -> RGB (replicated) -> shorter edge 32 (64x32) -> centre 32x32.
  Bytes grey3;
  for (auto v : f.cat_wide) grey3.insert(grey3.end(), {v, v, v});
  CHECK(image_of(r.set, 0) ==
        through<Shape<3, 20, 40>>(hwc_to_chw(grey3, 3, 20, 40), data::Resize<32>{}, data::CenterCrop<32>{}));
  // RGBA 24x50: alpha dropped, 32x66, centre crop (offset round(34 / 2) = 17).
  Bytes rgb;
  for (std::size_t i = 0; i < f.dog_tall.size(); i += 4) rgb.insert(rgb.end(), f.dog_tall.begin() + i, f.dog_tall.begin() + i + 3);
  CHECK(image_of(r.set, 4) ==
        through<Shape<3, 50, 24>>(hwc_to_chw(rgb, 3, 50, 24), data::Resize<32>{}, data::CenterCrop<32>{}));
  // JPEG: what the decoder gives, through the same rule.
  const auto jpeg = io::decode_image(f.cat_jpeg, 3, "c_photo.jpg");
  CHECK(image_of(r.set, 2) ==
        through<Shape<3, 48, 64>>(hwc_to_chw(jpeg.pixels, 3, 48, 64), data::Resize<32>{}, data::CenterCrop<32>{}));
}

TEST_CASE("image folder: Fit::resize is Resize((H, W)), a grey network gets PIL's convert('L'), any thread count gives the same bytes") {
  const MixedFolder f;
  const auto stretched = io::load_image_folder<Shape<3, 32, 32>>(f.root, {.fit = io::Fit::resize});
  const auto jpeg = io::decode_image(f.cat_jpeg, 3, "c_photo.jpg");
  CHECK(image_of(stretched.set, 2) == through<Shape<3, 48, 64>>(hwc_to_chw(jpeg.pixels, 3, 48, 64), data::Resize<32, 32>{}));

  const auto grey = io::load_image_folder<Shape<1, 32, 32>>(f.root);
  Bytes luma(32 * 32);
  for (std::size_t i = 0; i < luma.size(); ++i) {
    const std::uint32_t r = f.cat_rgb[3 * i], g = f.cat_rgb[3 * i + 1], b = f.cat_rgb[3 * i + 2];
    luma[i] = static_cast<std::uint8_t>((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16);
  }
  CHECK(image_of(grey.set, 1) == luma);

  // A non-square input: the smallest cover of 24 x 40, then the centre.
  const auto wide = io::load_image_folder<Shape<3, 24, 40>>(f.root);
  CHECK(image_of(wide.set, 1) ==
        through<Shape<3, 32, 32>>(hwc_to_chw(f.cat_rgb, 3, 32, 32), data::Resize<40, 40>{}, data::CenterCrop<24, 40>{}));

  const auto one = io::load_image_folder<Shape<3, 32, 32>>(f.root, {.threads = 1});
  const auto two = io::load_image_folder<Shape<3, 32, 32>>(f.root, {.threads = 2});
  CHECK(one.set.pixels == two.set.pixels);
  CHECK(one.set.labels == two.set.labels);
  CHECK(one.report.threads == 1);
  CHECK(two.report.threads == 2);
}

TEST_CASE("image folder: a corrupt image is an error naming it, or skipped and listed when asked") {
  MixedFolder f;
  Bytes cut = encode_png(pattern(30, 30, 3), 30, 30, PNG_COLOR_TYPE_RGB);
  cut.resize(cut.size() / 2);
  const auto bad = f.write("dog/broken.png", cut);
  f.write("cat/not_really.jpg", Bytes{'n', 'o', 't', ' ', 'a', 'n', ' ', 'i', 'm', 'a', 'g', 'e'});
  const std::string e = message_of([&] { io::load_image_folder<Shape<3, 32, 32>>(f.root); });
  CHECK(contains(e, "not_really.jpg"));  // the first in file order
  CHECK(contains(e, "not a PNG, JPEG"));

  const auto r = io::load_image_folder<Shape<3, 32, 32>>(f.root, {.on_bad_image = io::OnBadImage::skip});
  CHECK(r.set.size() == 5);
  REQUIRE(r.report.skipped.size() == 2);
  CHECK(r.report.skipped[0].file.filename() == "not_really.jpg");
  CHECK(r.report.skipped[1].file == bad);
  CHECK(contains(r.report.skipped[1].reason, "truncated"));
  CHECK(r.set.labels == std::vector<std::int32_t>{0, 0, 0, 1, 1});
  CHECK(contains(r.report.summary(2), "skipped 2 unreadable images"));
}

TEST_CASE("image folder: an empty class folder, a class of only other files, no class folders: errors naming the folder") {
  {
    MixedFolder f;
    fs::create_directories(f.root / "empty");
    const std::string e = message_of([&] { io::load_image_folder<Shape<3, 32, 32>>(f.root); });
    CHECK(contains(e, (f.root / "empty").string()));
    CHECK(contains(e, "holds no PNG or JPEG image"));
  }
  {
    MixedFolder f;
    f.write("texts/a.txt", Bytes{'a'});
    f.write("texts/b.bmp", Bytes{'B', 'M'});
    const std::string e = message_of([&] { io::load_image_folder<Shape<3, 32, 32>>(f.root); });
    CHECK(contains(e, "texts"));
    CHECK(contains(e, "2 other files ignored"));
  }
  {
    const Folder f("flat");
    f.write("a.png", encode_png(pattern(4, 4, 3), 4, 4, PNG_COLOR_TYPE_RGB));
    CHECK(contains(message_of([&] { io::load_image_folder<Shape<3, 32, 32>>(f.root); }), "holds no class folders"));
    CHECK(contains(message_of([&] { io::load_image_folder<Shape<3, 32, 32>>(f.root / "nope"); }), "does not exist"));
  }
  {
    MixedFolder f;
    Bytes cut = encode_png(pattern(8, 8, 3), 8, 8, PNG_COLOR_TYPE_RGB);
    cut.resize(20);
    f.write("bird/x.png", cut);
    CHECK(contains(message_of([&] {
                     io::load_image_folder<Shape<3, 32, 32>>(f.root, {.on_bad_image = io::OnBadImage::skip});
                   }),
                   "every image is unreadable"));
  }
  {
    const MixedFolder f;
    const std::string e = message_of(
        [&] { io::load_image_folder<Shape<3, 32, 32>>(f.root, {.expect_classes = {"cat", "dog", "frog"}}); });
    CHECK(contains(e, "expected [cat, dog, frog]"));
  }
}

TEST_CASE("train_val_split: stratified, disjoint, seeded, order kept") {
  data::ImageSet<Shape<1, 1, 1>> set;
  set.class_names = {"a", "b", "c"};
  for (std::size_t i = 0; i < 103; ++i) {
    set.labels.push_back(i < 60 ? 0 : (i < 100 ? 1 : 2));
    set.pixels.push_back(static_cast<std::uint8_t>(i));
  }
  const auto p = data::train_val_split(set, 0.25, 7);
  CHECK(p.val.size() == 15 + 10 + 1);  // round(0.25 n) per class, at least 1 when n >= 2
  CHECK(p.train.size() + p.val.size() == set.size());
  CHECK(p.train.class_names == set.class_names);
  std::set<std::size_t> all(p.train_indices.begin(), p.train_indices.end());
  all.insert(p.val_indices.begin(), p.val_indices.end());
  CHECK(all.size() == set.size());
  CHECK(std::is_sorted(p.val_indices.begin(), p.val_indices.end()));
  for (std::size_t i = 0; i < p.val.size(); ++i) {
    CHECK(p.val.pixels[i] == set.pixels[p.val_indices[i]]);
    CHECK(p.val.labels[i] == set.labels[p.val_indices[i]]);
  }
  CHECK(data::train_val_split(set, 0.25, 7).val_indices == p.val_indices);
  CHECK(data::train_val_split(set, 0.25, 8).val_indices != p.val_indices);
  CHECK_THROWS_AS(data::train_val_split(set, 1.0, 7), std::invalid_argument);
}

TEST_CASE("image folder: the CIFAR-10 test batch written as 10,000 PNGs reads back as the binary reader's pixels and labels") {
  const auto dir = ctnn::test::cifar10_dir_or_skip();
  if (!dir) return;
  const auto test = data::load_cifar10(*dir, data::Split::test);  // all 10,000
  const Folder f("cifar");
  for (std::size_t i = 0; i < test.size(); ++i) {
    const auto chw = test.image(i);
    Bytes hwc(chw.size());
    for (std::size_t c = 0; c < 3; ++c)
      for (std::size_t p = 0; p < 1024; ++p) hwc[p * 3 + c] = chw[c * 1024 + p];
    char name[32];
    std::snprintf(name, sizeof name, "%05zu.png", i);
    f.write(test.class_names[static_cast<std::size_t>(test.labels[i])] + "/" + name, encode_png(hwc, 32, 32, PNG_COLOR_TYPE_RGB));
  }
  const auto r = io::load_image_folder<data::Cifar10Shape>(f.root);
  REQUIRE(r.set.size() == test.size());
  CHECK(r.set.class_names == test.class_names);  // CIFAR-10's names are in alphabetical order
  CHECK(r.report.resized == 0);
  std::size_t same = 0;
  for (std::size_t k = 0; k < r.set.size(); ++k) {
    const std::size_t i = std::stoul(r.files[k].stem().string());
    same += r.set.labels[k] == test.labels[i] && image_of(r.set, k) == image_of(test, i);
  }
  CHECK(same == test.size());
}
