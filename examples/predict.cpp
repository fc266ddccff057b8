// predict: classifies images with a model saved by train_cifar10 --save or train_fer2013 --save
// (or any safetensors file of the same architecture, ctnn or torch names, or a --checkpoint
// file), or evaluates it on the CIFAR-10 or FER2013 test set.
//
//   predict --model seed.safetensors cat.png dog.jpg frog.ppm     # top-3 classes of each image
//   predict --model seed.safetensors --top-k 5 photo.jpg
//   predict --model seed.safetensors --eval data/cifar-10-batches-bin   # accuracy + confusion matrix
//   predict --model fer-fast.safetensors face.jpg                       # a FER2013 model: expressions
//   predict --model fer-fast.safetensors --eval data/fer2013-binary      # PublicTest + PrivateTest
//   predict --model photos.safetensors --eval photos_val      # a train_images model on an image folder
//   predict --model seed.safetensors --eval cifar-test-png     # a CIFAR-10 model on CIFAR-10 as PNGs
//   predict --model seed.safetensors --export-onnx seed.onnx            # the model as ONNX (docs/onnx.md)
//   predict --model seed.safetensors --logits --eval data/cifar-10-batches-bin --test-limit 16
//
// Images (PNG, read with libpng; JPEG, with libjpeg-turbo; binary PGM/PPM; grey or with alpha
// are made RGB; BMP, GIF, TIFF and WebP are refused: convert them to PNG) of any size are
// resized to the network input (32x32) with the bilinear filter of torchvision's
// transforms.Resize((32, 32)) on a PIL image, then normalised as in training (the model file's
// "ctnn.normalize" metadata: cifar or half; --normalize overrides it). A truncated or corrupt
// image is an error naming the file (exit status 1), never classified. FER2013 models
// (1x48x48) read images as grey (PIL's convert('L') formula), resize them to 48x48 the same
// way, and normalise with the mean and std of the training images that train_fer2013 --save
// records ("ctnn.normalize.mean", ".std").
// --logits prints each image's (or test image's) logits in full precision instead.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <array>
#include <type_traits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include <ctnn/ctnn.hpp>
#include <ctnn/data/cifar10.hpp>
#include <ctnn/data/dataloader.hpp>
#include <ctnn/data/fer2013.hpp>
#include <ctnn/data/transforms.hpp>
#include <ctnn/io/image.hpp>
#include <ctnn/io/onnx.hpp>
#include <ctnn/io/image_decode.hpp>
#include <ctnn/io/image_folder.hpp>
#include <ctnn/io/safetensors.hpp>
#include <ctnn/train/confusion.hpp>

#include "fer_models.hpp"
#include "image_models.hpp"
#include "models.hpp"

namespace data = ctnn::data;
namespace fs = std::filesystem;

namespace {

struct Options {
  std::string model_file;
  std::string arch;
  std::string normalize;
  std::vector<std::string> images;
  std::string eval_dir;
  std::string export_onnx;
  bool logits = false;
  std::size_t top_k = 3;
  std::size_t test_limit = data::kAllRecords;
  int threads = 0;
};

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const auto comma = s.find(',', start);
    out.push_back(s.substr(start, comma - start));
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

// "logits NAME z0 z1 ...", nine significant digits (the float exactly).
void print_logits(const std::string& name, const float* z, std::size_t k) {
  std::printf("logits %s", name.c_str());
  for (std::size_t i = 0; i < k; ++i) std::printf(" %.9g", static_cast<double>(z[i]));
  std::printf("\n");
}

template <class Net>
int run(const Options& o, const ctnn::io::File& file, const std::string& arch) {
  using In = typename Net::in_shape;
  // Grayscale networks are FER2013 models (train_fer2013); colour ones CIFAR-10 models.
  constexpr bool kFaces = In::channels == 1;
  Net net(0);
  // A training checkpoint works too: its optimizer state is ignored.
  const bool checkpoint = file.metadata().count("ctnn.checkpoint") != 0;
  ctnn::io::LoadOptions lo;
  lo.allow_unexpected = checkpoint;
  const auto loaded = ctnn::io::load(net, file, lo);
  net.eval();
  net.set_grad_enabled(false);
  const auto& meta = loaded.metadata;
  const auto meta_or = [&](const char* key, std::string fallback) {
    const auto it = meta.find(key);
    return it == meta.end() ? fallback : it->second;
  };
  data::Normalize<In::channels> norm{};
  std::string normalize;
  std::vector<std::string> classes;
  // train_images models: their own per-channel statistics, class names and fit rule.
  const bool folder_model = arch.rfind("images-", 0) == 0;
  const auto fit = meta_or("ctnn.fit", "stretch") == "crop" ? ctnn::io::Fit::resize_crop : ctnn::io::Fit::resize;
  if (folder_model) {
    const auto numbers = [&](const char* key) {
      const auto it = meta.find(key);
      if (it == meta.end()) throw std::runtime_error("model file '" + o.model_file + "' has no \"" + key + "\" metadata (train_images --save writes it)");
      const auto parts = split_commas(it->second);
      if (parts.size() != In::channels) throw std::runtime_error("model file '" + o.model_file + "': \"" + key + "\" holds " + std::to_string(parts.size()) + " numbers, the input has " + std::to_string(In::channels) + " channels");
      std::array<float, In::channels> v{};
      for (std::size_t c = 0; c < In::channels; ++c) v[c] = fer_presets::metadata_number(o.model_file, key, parts[c], std::string(key).find("std") != std::string::npos);
      return v;
    };
    norm = {numbers("ctnn.normalize.mean"), numbers("ctnn.normalize.std")};
    normalize = "mean " + meta_or("ctnn.normalize.mean", "") + " std " + meta_or("ctnn.normalize.std", "");
  } else if constexpr (kFaces) {
    // FER2013 models are normalised with their own training images' statistics.
    if (!o.normalize.empty())
      throw std::runtime_error("--normalize applies to CIFAR-10 models; '" + o.model_file +
                               "' is a grayscale (FER2013) model, normalised as its metadata says");
    const auto mean = meta.find("ctnn.normalize.mean"), sd = meta.find("ctnn.normalize.std");
    if (mean == meta.end() || sd == meta.end())
      throw std::runtime_error("model file '" + o.model_file +
                               "' has no \"ctnn.normalize.mean\" and \"ctnn.normalize.std\" metadata, which a "
                               "grayscale (FER2013) model needs to normalise its input; train_fer2013 --save writes them");
    norm = {{fer_presets::metadata_number(o.model_file, "ctnn.normalize.mean", mean->second, false)},
            {fer_presets::metadata_number(o.model_file, "ctnn.normalize.std", sd->second, true)}};
    normalize = "mean " + mean->second + " std " + sd->second;
    classes.assign(data::kFer2013ClassNames.begin(), data::kFer2013ClassNames.end());
  } else {
    normalize = !o.normalize.empty() ? o.normalize : meta_or("ctnn.normalize", meta_or("train.normalize", "cifar"));
    if (normalize != "cifar" && normalize != "half")
      throw std::runtime_error("model file '" + o.model_file + "': unknown normalisation '" + normalize +
                               "' (pass --normalize cifar or half)");
    norm = normalize == "half" ? data::kHalfNormalize : data::kCifar10Normalize;
    classes.assign(data::kCifar10ClassNames.begin(), data::kCifar10ClassNames.end());
  }
  if (const auto c = meta.find("ctnn.classes"); c != meta.end()) classes = split_commas(c->second);
  if (folder_model ? (classes.empty() || classes.size() > Net::out_shape::size) : classes.size() != Net::out_shape::size)
    throw std::runtime_error("model file '" + o.model_file + "' names " + std::to_string(classes.size()) +
                             " classes, the network has " + std::to_string(Net::out_shape::size) + " outputs");
  std::printf("%s %s (%s names, normalize %s)\n", checkpoint ? "checkpoint" : "model", o.model_file.c_str(),
              ctnn::io::naming_name(loaded.naming), normalize.c_str());

  if (!o.export_onnx.empty()) {
    ctnn::io::save_onnx(net, o.export_onnx, ctnn::io::onnx_options(norm, classes, arch));
    std::printf("ONNX model written to %s\n", o.export_onnx.c_str());
  }

  const auto to_tensor = data::compose<In>(data::ToTensor{}, norm);

  if (!o.eval_dir.empty()) {
    // A folder of class folders (train_images' layout, read as it trained: ctnn/io/image_folder.hpp),
    // else the model's own test set.
    const bool image_folder = folder_model || !(fs::exists(fs::path(o.eval_dir) / "test_batch.bin") ||
                                                fs::exists(fs::path(o.eval_dir) / "fer2013-test.bin"));
    const auto test = [&] {
      if (image_folder) {
        auto f = ctnn::io::load_image_folder<In>(o.eval_dir, {.fit = fit, .threads = o.threads, .expect_classes = classes});
        std::printf("%s\n", f.report.summary(f.set.num_classes()).c_str());
        if (o.test_limit < f.set.size()) {  // the first N in file order
          f.set.pixels.resize(o.test_limit * In::size);
          f.set.labels.resize(o.test_limit);
        }
        return std::move(f.set);
      }
      if constexpr (kFaces) return data::load_fer2013(o.eval_dir, data::Fer2013Split::test, o.test_limit);
      else if constexpr (std::is_same_v<In, data::Cifar10Shape>) return data::load_cifar10(o.eval_dir, data::Split::test, o.test_limit);
      else throw std::logic_error("unreachable: a " + arch + " model evaluates on image folders only");
    }();
    data::DataLoader loader(test, to_tensor, {.batch_size = 500});
    const std::size_t K = Net::out_shape::size;
    if (o.logits) {
      for (auto& batch : loader.epoch(0)) {
        const auto y = net.forward(batch.images);
        for (std::size_t i = 0; i < batch.size(); ++i) print_logits(std::to_string(batch.indices[i]), y.sample(i), K);
      }
      return 0;
    }
    ctnn::train::ConfusionMatrix cm(classes);
    ctnn::train::for_each_prediction(
        net, loader, [&](const auto& images) -> decltype(auto) { return net.forward(images); },
        [&](std::size_t truth, std::size_t predicted, std::size_t) { cm.add(truth, std::min(predicted, classes.size() - 1)); });
    std::printf("test accuracy %.2f%% (%zu / %zu images of %s)\n\n", 100.0 * cm.accuracy(), cm.correct(), cm.total(),
                o.eval_dir.c_str());
    std::printf("confusion matrix (rows: true class, columns: predicted)\n%11s", "");
    for (std::size_t p = 0; p < classes.size(); ++p) std::printf(" %5.5s", classes[p].c_str());
    std::printf("  accuracy\n");
    for (std::size_t t = 0; t < classes.size(); ++t) {
      std::printf("%-11.11s", classes[t].c_str());
      for (std::size_t p = 0; p < classes.size(); ++p) std::printf(" %5zu", cm.count(t, p));
      std::printf("  %6.2f%%\n", 100.0 * cm.recall(t));
    }
    return 0;
  }

  int status = 0;
  ctnn::Tensor<In> x(1);
  ctnn::Rng unused(0);
  for (const auto& path : o.images) {
    ctnn::io::Image img;
    try {
      img = ctnn::io::read_image(path, In::channels);
    } catch (const ctnn::io::ImageError& e) {
      std::fprintf(stderr, "error: %s\n", e.what());
      status = 1;
      continue;
    }
    const auto chw = ctnn::io::hwc_to_chw(img.pixels.data(), In::channels, img.height, img.width);
    std::vector<std::uint8_t> resized(In::size), scratch;
    if (folder_model) ctnn::io::detail::fit_image<In>(img, fit, resized.data(), scratch);  // as train_images read it
    else ctnn::io::resize_bilinear(chw.data(), In::channels, img.height, img.width, resized.data(), In::height, In::width);
    to_tensor(resized.data(), x.data(), unused);
    const auto y = net.forward(x);
    const std::size_t K = Net::out_shape::size;
    if (o.logits) {
      print_logits(path, y.data(), K);
      continue;
    }
    std::vector<double> prob(K);
    const double mx = *std::max_element(y.data(), y.data() + K);
    double sum = 0;
    for (std::size_t k = 0; k < K; ++k) sum += prob[k] = std::exp(static_cast<double>(y.data()[k]) - mx);
    for (auto& p : prob) p /= sum;
    std::vector<std::size_t> order(K);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return prob[a] > prob[b]; });
    std::printf("%s (%zux%zu)\n", path.c_str(), img.width, img.height);
    for (std::size_t r = 0; r < std::min(o.top_k, classes.size()); ++r)
      std::printf("  %zu. %-12s %.4f\n", r + 1, classes[order[r]].c_str(), prob[order[r]]);
  }
  return status;
}

// train_images' models: "images-<small|medium>-<input>-<head>" (examples/image_models.hpp).
int run_image_model(const Options& o, const ctnn::io::File& file, const std::string& arch) {
  using namespace image_presets;
  const auto is = [&](const char* model, int input, int head) { return arch == model_name(model, input, head); };
  if (is("small", 32, 10)) return run<Small<32, 10>>(o, file, arch);
  if (is("small", 32, 100)) return run<Small<32, 100>>(o, file, arch);
  if (is("small", 64, 10)) return run<Small<64, 10>>(o, file, arch);
  if (is("small", 64, 100)) return run<Small<64, 100>>(o, file, arch);
  if (is("small", 128, 10)) return run<Small<128, 10>>(o, file, arch);
  if (is("small", 128, 100)) return run<Small<128, 100>>(o, file, arch);
  if (is("medium", 32, 10)) return run<Medium<32, 10>>(o, file, arch);
  if (is("medium", 32, 100)) return run<Medium<32, 100>>(o, file, arch);
  if (is("medium", 64, 10)) return run<Medium<64, 10>>(o, file, arch);
  if (is("medium", 64, 100)) return run<Medium<64, 100>>(o, file, arch);
  if (is("medium", 128, 10)) return run<Medium<128, 10>>(o, file, arch);
  if (is("medium", 128, 100)) return run<Medium<128, 100>>(o, file, arch);
  throw std::runtime_error("model file '" + o.model_file + "' is a '" + arch +
                           "' model; train_images makes images-<small|medium>-<32|64|128>-<10|100>");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Classify images with a ctnn model file, or evaluate it on the CIFAR-10 or FER2013 test set."};
  Options o;
  app.add_option("--model", o.model_file, "Model file (safetensors), e.g. from train_cifar10 or train_fer2013 --save")
      ->required()
      ->type_name("FILE");
  app.add_option("images", o.images, "Images to classify (PNG, JPEG, binary PGM/PPM; any size)");
  app.add_option("--eval", o.eval_dir,
                 "Evaluate on the test set in this folder instead: CIFAR-10 (cifar-10-batches-bin) or, for a FER2013 "
                 "model, FER2013's PublicTest + PrivateTest (fer2013-binary); or an image folder, DIR/<class>/<image> "
                 "(a train_images model's always; its classes must be the model's)")
      ->type_name("DIR");
  app.add_option("--export-onnx", o.export_onnx,
                 "Write the model as ONNX to this file (input: pixels / 255, NCHW; the graph normalises them); "
                 "images and --eval are then optional")
      ->type_name("FILE");
  app.add_flag("--logits", o.logits, "Print each image's logits (full precision) instead of the top classes or accuracy");
  app.add_option("--top-k", o.top_k, "Classes to print per image")->check(CLI::Range(1, 1000))->capture_default_str();
  std::vector<std::string> archs = presets::cifar_model_names();
  archs.insert(archs.end(), {"fer2013-fast", "fer2013-strong"});
  std::string arch_list;
  for (const auto& a : archs) arch_list += (arch_list.empty() ? "" : " | ") + a;
  app.add_option("--arch", o.arch,
                 "Architecture: " + arch_list + " (default: the model file's \"ctnn.model\", else the one of seed, "
                 "seed3, seed4 and the FER2013 ones whose tensors the file holds)")
      ->check(CLI::IsMember(archs));
  app.add_option("--normalize", o.normalize,
                 "CIFAR-10 models: cifar | half (default: the model file's \"ctnn.normalize\", else cifar)")
      ->check(CLI::IsMember({"cifar", "half"}));
  app.add_option("--test-limit", o.test_limit, "With --eval: only the first N test images")->check(CLI::Range(1, 10000));
  app.add_option("--threads", o.threads, "Threads (default: OMP_NUM_THREADS or all cores)")->check(CLI::Range(1, 1024));
  CLI11_PARSE(app, argc, argv);
  if (o.images.empty() && o.eval_dir.empty() && o.export_onnx.empty()) {
    std::fprintf(stderr, "error: give images to classify, --eval DIR or --export-onnx FILE\n%s", app.help().c_str());
    return 2;
  }
  try {
    if (o.threads > 0) ctnn::set_num_threads(o.threads);
    const auto file = ctnn::io::File::read(o.model_file);
    std::string arch = o.arch;
    const auto& m = file.metadata();
    if (arch.empty()) arch = m.count("ctnn.model") ? m.at("ctnn.model") : m.count("train.model") ? m.at("train.model") : "";
    if (arch.empty()) {  // no metadata (e.g. written from PyTorch): the preset whose tensors it holds
      ctnn::io::LoadOptions lenient;
      lenient.allow_unexpected = m.count("ctnn.checkpoint") != 0;
      const auto fits = [&](auto net) {
        try {
          ctnn::io::load(net, file, lenient);
          return true;
        } catch (const ctnn::io::Error&) {
          return false;
        }
      };
      arch = fits(presets::Seed(0))            ? "seed"
             : fits(presets::Seed3(0))           ? "seed3"
             : fits(presets::Seed4(0))           ? "seed4"
             : fits(fer_presets::Fast(0))        ? "fer2013-fast"
             : fits(fer_presets::Strong(0))      ? "fer2013-strong"
                                                 : "seed";
    }
    const auto cifar_names = presets::cifar_model_names();
    if (std::find(cifar_names.begin(), cifar_names.end(), arch) != cifar_names.end())
      return presets::with_cifar_network(arch, [&]<class Net>() { return run<Net>(o, file, arch); });
    if (arch == "fer2013-fast") return run<fer_presets::Fast>(o, file, arch);
    if (arch == "fer2013-strong") return run<fer_presets::Strong>(o, file, arch);
    if (arch.rfind("images-", 0) == 0) return run_image_model(o, file, arch);
    throw std::runtime_error("model file '" + o.model_file + "' is a '" + arch + "' model; this program knows: " +
                             [&] {
                               std::string list;
                               for (const auto& a : archs) list += (list.empty() ? "" : ", ") + a;
                               return list;
                             }() + " (pass --arch to override)");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
