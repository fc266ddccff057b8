#pragma once
// torchvision.datasets.ImageFolder: a folder of class folders of images, decoded once into an
// ImageSet of the network's input shape, so that epochs cost no decoding.
//
//   root/cat/0001.png  root/cat/0002.jpg  root/dog/a/b.jpeg ...
//   auto folder = ctnn::io::load_image_folder<ctnn::Shape<3, 64, 64>>("root");
//   folder.set;          // ImageSet<Shape<3, 64, 64>>: uint8 CHW pixels, labels, class_names
//   folder.files[i];     // the file image i came from (torchvision's samples[i][0])
//   folder.report;       // counts, ignored files, skipped images; .summary() says it in words
//
// The rules, torchvision's where it has one:
//   - Classes are the sub-folders of root, sorted by name (byte order, as Python's sorted());
//     label i is class_names[i]. Entries whose name starts with '.' (.ipynb_checkpoints, .DS_Store)
//     are ignored, unlike torchvision, and counted.
//   - Each class folder is searched recursively (symbolic links followed); images are ordered
//     by (folder path, file name), as torchvision's sorted(os.walk(...)) then sorted(fnames).
//   - Images are the files ending in .png, .jpg or .jpeg (any case); the format is then told by
//     the bytes (a PNG named .jpg is read as PNG). Other files are ignored and counted by
//     extension in the report.
//   - Each image is decoded (io/image_decode.hpp), converted to the shape's channel count as PIL's
//     convert('RGB') / convert('L') do (grey -> RGB replicates, RGB -> grey is PIL's luma,
//     alpha is dropped), then brought to H x W by ImageFolderOptions::fit, with Pillow's
//     bilinear filter exactly as data::Resize (torchvision's Resize on PIL images):
//       Fit::resize_crop (default): torchvision's Compose([Resize(S), CenterCrop(S)]) for square
//         S x S inputs: the shorter edge becomes S (the other floor(S * long / short)), then the
//         centre S x S is cut (offsets round((size - S) / 2), as CenterCrop). For H != W: the
//         smallest resize that covers H x W (one edge exact, the other floored), then the
//         centre H x W. Keeps the aspect ratio; loses the borders of elongated images.
//       Fit::resize: Resize((H, W)): stretched to H x W, nothing cut.
//     An image already H x W is kept byte for byte in both modes.
//   - Unreadable or corrupt images: OnBadImage::error (default) throws ImageError naming the file
//     and what is wrong; OnBadImage::skip leaves them out and lists them (file and reason) in
//     report.skipped. Either way a class folder with no image, a class whose images were all
//     skipped, and a root with no class folder are errors (DataError naming the folder).
//   - Decoding runs on `threads` threads (default: ctnn::num_threads(), that is OMP_NUM_THREADS
//     or all cores); the result does not depend on the thread count.
//
// Needs libpng and libjpeg (see io/image_decode.hpp); not included by <ctnn/ctnn.hpp>.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <map>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "ctnn/core/shape.hpp"
#include "ctnn/core/threads.hpp"
#include "ctnn/data/image_set.hpp"
#include "ctnn/io/image.hpp"
#include "ctnn/io/image_decode.hpp"

namespace ctnn::io {

// How an image of another size is brought to the network's H x W (see the top of this file).
enum class Fit {
  resize_crop,  // Resize(S) then CenterCrop(S): aspect ratio kept, borders cut
  resize,       // Resize((H, W)): stretched
};

enum class OnBadImage {
  error,  // the first unreadable image (in file order) is an ImageError naming it
  skip,   // left out, listed in ImageFolderReport::skipped
};

struct ImageFolderOptions {
  Fit fit = Fit::resize_crop;
  OnBadImage on_bad_image = OnBadImage::error;
  int threads = 0;      // 0: ctnn::num_threads()
  ImageLimits limits{};  // larger images are refused before decoding
  // Non-empty: the classes the folder must have, in this order (a validation folder read with
  // the training folder's class_names): a missing or extra class is a DataError.
  std::vector<std::string> expect_classes{};
};

struct SkippedImage {
  std::filesystem::path file;
  std::string reason;  // the ImageError's message
};

struct ImageFolderReport {
  std::filesystem::path root;
  std::size_t images = 0;                           // images kept
  std::map<std::string, std::size_t> ignored;       // other files, by lower-case extension ("" none)
  std::size_t hidden = 0;                           // ignored entries whose name starts with '.'
  std::vector<SkippedImage> skipped;                // OnBadImage::skip only
  std::size_t resized = 0;                          // images not already H x W
  double seconds = 0;                               // listing + decoding
  int threads = 1;

  std::size_t ignored_files() const {
    std::size_t n = 0;
    for (const auto& [ext, count] : ignored) n += count;
    return n;
  }
  // "50000 images in 10 classes from 'root' in 3.2 s (2 threads); ignored 3 files (2 .txt, 1 .bmp); ..."
  std::string summary(std::size_t classes) const {
    char head[160];
    std::snprintf(head, sizeof head, "%zu images in %zu classes from '%s' in %.2f s (%d threads)", images, classes,
                  root.string().c_str(), seconds, threads);
    std::string s = head;
    if (resized > 0) s += "; " + std::to_string(resized) + " resized";
    if (!ignored.empty()) {
      s += "; ignored " + std::to_string(ignored_files()) + " non-image files (";
      bool first = true;
      for (const auto& [ext, count] : ignored) {
        s += (first ? "" : ", ") + std::to_string(count) + " " + (ext.empty() ? "without extension" : ext);
        first = false;
      }
      s += ")";
    }
    if (hidden > 0) s += "; ignored " + std::to_string(hidden) + " hidden entries";
    if (!skipped.empty()) {
      s += "; skipped " + std::to_string(skipped.size()) + " unreadable images:";
      for (const auto& k : skipped) s += "\n  " + k.reason;
    }
    return s;
  }
};

template <SampleShape S>
struct ImageFolder {
  data::ImageSet<S> set;
  std::vector<std::filesystem::path> files;  // files[i]: image i's file
  ImageFolderReport report;
};

namespace detail {

inline bool is_image_extension(const std::string& lower_ext) {
  return lower_ext == ".png" || lower_ext == ".jpg" || lower_ext == ".jpeg";
}

inline std::string lower(std::string s) {
  for (auto& ch : s)
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  return s;
}

struct FolderListing {
  std::vector<std::string> classes;
  std::vector<std::filesystem::path> files;
  std::vector<std::int32_t> labels;
};

// The images of one class folder, in torchvision's order; other files counted in `report`.
inline std::vector<std::filesystem::path> list_class(const std::filesystem::path& dir, ImageFolderReport& report) {
  namespace fs = std::filesystem;
  std::vector<std::pair<std::string, std::string>> found;  // (folder, file name)
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::follow_directory_symlink, ec), end;
  if (ec) throw data::DataError("cannot list class folder '" + dir.string() + "': " + ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) throw data::DataError("cannot list class folder '" + dir.string() + "': " + ec.message());
    const fs::path& p = it->path();
    const std::string name = p.filename().string();
    if (!name.empty() && name[0] == '.') {
      ++report.hidden;
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (it->is_directory(ec)) continue;
    const std::string ext = lower(p.extension().string());
    if (is_image_extension(ext)) found.emplace_back(p.parent_path().string(), name);
    else ++report.ignored[ext];
  }
  std::sort(found.begin(), found.end());
  std::vector<fs::path> files;
  files.reserve(found.size());
  for (const auto& [folder, name] : found) files.push_back(fs::path(folder) / name);
  return files;
}

inline FolderListing list_folder(const std::filesystem::path& root, const ImageFolderOptions& o,
                                 ImageFolderReport& report) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(root, ec))
    throw data::DataError("image folder '" + root.string() + "' " +
                          (fs::exists(root, ec) ? "is not a folder" : "does not exist"));
  FolderListing l;
  for (const auto& e : fs::directory_iterator(root, ec)) {
    const std::string name = e.path().filename().string();
    if (!name.empty() && name[0] == '.') ++report.hidden;
    else if (e.is_directory(ec)) l.classes.push_back(name);
    else ++report.ignored[lower(e.path().extension().string())];
  }
  if (ec) throw data::DataError("cannot list image folder '" + root.string() + "': " + ec.message());
  std::sort(l.classes.begin(), l.classes.end());
  if (l.classes.empty())
    throw data::DataError("image folder '" + root.string() +
                          "' holds no class folders (expected root/<class>/<image>.png|.jpg)");
  if (!o.expect_classes.empty() && l.classes != o.expect_classes) {
    std::string have, want;
    for (const auto& c : l.classes) have += (have.empty() ? "" : ", ") + c;
    for (const auto& c : o.expect_classes) want += (want.empty() ? "" : ", ") + c;
    throw data::DataError("image folder '" + root.string() + "' has the classes [" + have + "], expected [" + want +
                          "] (the training folder's)");
  }
  for (std::size_t c = 0; c < l.classes.size(); ++c) {
    const auto before = report.ignored_files();
    auto files = list_class(root / l.classes[c], report);
    if (files.empty())
      throw data::DataError("class folder '" + (root / l.classes[c]).string() + "' holds no PNG or JPEG image" +
                            (report.ignored_files() > before
                                 ? " (" + std::to_string(report.ignored_files() - before) + " other files ignored)"
                                 : std::string()));
    for (auto& f : files) {
      l.files.push_back(std::move(f));
      l.labels.push_back(static_cast<std::int32_t>(c));
    }
  }
  return l;
}

// Python's round(d / 2) (half to even), torchvision's CenterCrop offset.
inline std::size_t centre_offset(std::size_t d) {
  const std::size_t half = d / 2;
  return (d % 2 == 0 || half % 2 == 0) ? half : half + 1;
}

// Decoded image (HWC, S::channels) -> S (CHW) by `fit`. Returns whether it was resized.
template <SampleShape S>
bool fit_image(const Image& img, Fit fit, std::uint8_t* dst, std::vector<std::uint8_t>& scratch) {
  constexpr std::size_t C = S::channels, H = S::height, W = S::width;
  const std::size_t h = img.height, w = img.width;
  std::vector<std::uint8_t> chw = hwc_to_chw(img.pixels.data(), C, h, w);
  if (h == H && w == W) {
    std::copy(chw.begin(), chw.end(), dst);
    return false;
  }
  if (fit == Fit::resize) {
    resize_bilinear(chw.data(), C, h, w, dst, H, W);
    return true;
  }
  // The smallest size covering H x W with the aspect ratio kept (torchvision's Resize(S) for H == W).
  std::size_t rh, rw;
  if (H * w >= W * h) {  // H / h >= W / w: the height is the binding edge
    rh = H;
    rw = std::max(W, H * w / h);
  } else {
    rw = W;
    rh = std::max(H, W * h / w);
  }
  scratch.resize(C * rh * rw);
  resize_bilinear(chw.data(), C, h, w, scratch.data(), rh, rw);
  const std::size_t top = centre_offset(rh - H), left = centre_offset(rw - W);
  for (std::size_t c = 0; c < C; ++c)
    for (std::size_t y = 0; y < H; ++y)
      std::copy_n(scratch.data() + (c * rh + top + y) * rw + left, W, dst + (c * H + y) * W);
  return true;
}

}  // namespace detail

// Reads root/<class>/**/<image> into memory (see the top of this file).
template <SampleShape S>
ImageFolder<S> load_image_folder(const std::filesystem::path& root, const ImageFolderOptions& o = {}) {
  static_assert(S::channels == 1 || S::channels == 3, "ctnn::io::load_image_folder: images are grey (1) or RGB (3)");
  const auto t0 = std::chrono::steady_clock::now();
  ImageFolder<S> out;
  ImageFolderReport& report = out.report;
  report.root = root;
  detail::FolderListing l = detail::list_folder(root, o, report);
  const std::size_t n = l.files.size();

  std::vector<std::uint8_t> pixels(n * S::size);
  std::vector<std::string> errors(n);  // non-empty: that image failed
  std::vector<char> resized(n, 0);
  std::atomic<std::size_t> next{0};
  std::atomic<bool> stop{false};
  std::exception_ptr fatal;  // anything but an ImageError (out of memory, ...)
  std::atomic<bool> has_fatal{false};
  const auto work = [&] {
    std::vector<std::uint8_t> scratch;
    for (std::size_t i; !stop.load(std::memory_order_relaxed) && (i = next.fetch_add(1)) < n;) {
      try {
        const Image img = read_image(l.files[i], S::channels, o.limits);
        resized[i] = detail::fit_image<S>(img, o.fit, pixels.data() + i * S::size, scratch);
      } catch (const ImageError& e) {
        errors[i] = e.what();
        if (o.on_bad_image == OnBadImage::error) stop = true;
      } catch (...) {
        if (!has_fatal.exchange(true)) fatal = std::current_exception();
        stop = true;
      }
    }
  };
  const int threads = static_cast<int>(
      std::clamp<std::size_t>(o.threads > 0 ? static_cast<std::size_t>(o.threads) : static_cast<std::size_t>(num_threads()),
                              1, std::max<std::size_t>(n, 1)));
  report.threads = threads;
  {
    std::vector<std::jthread> pool;
    for (int t = 1; t < threads; ++t) pool.emplace_back(work);
    work();
  }
  if (fatal) std::rethrow_exception(fatal);

  std::vector<std::size_t> kept_per_class(l.classes.size(), 0);
  std::size_t kept = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!errors[i].empty()) {
      if (o.on_bad_image == OnBadImage::error)
        throw ImageError(errors[i] + " (in image folder '" + root.string() + "'; OnBadImage::skip, train_images --skip-bad-images, leaves unreadable files out)");
      report.skipped.push_back({l.files[i], errors[i]});
      continue;
    }
    if (kept != i) std::copy_n(pixels.data() + i * S::size, S::size, pixels.data() + kept * S::size);
    l.files[kept] = l.files[i];
    l.labels[kept] = l.labels[i];
    report.resized += resized[i] ? 1 : 0;
    ++kept_per_class[static_cast<std::size_t>(l.labels[i])];
    ++kept;
  }
  for (std::size_t c = 0; c < l.classes.size(); ++c)
    if (kept_per_class[c] == 0)
      throw data::DataError("class folder '" + (root / l.classes[c]).string() +
                            "': every image is unreadable (all were skipped)");
  pixels.resize(kept * S::size);
  l.files.resize(kept);
  l.labels.resize(kept);
  out.set.pixels = std::move(pixels);
  out.set.labels = std::move(l.labels);
  out.set.class_names = std::move(l.classes);
  out.files = std::move(l.files);
  report.images = kept;
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace ctnn::io
