// train_cifar10's parts that do not depend on the network (examples/cifar_run.hpp): the
// training pipelines, the run's identity in a checkpoint, and the lines describing the run.
#include <algorithm>
#include <cstdio>
#include <string>

#include "cifar_run.hpp"

namespace cifar {

namespace {

template <class Pipeline>
Transform erase(Pipeline p) {
  return {[p](const std::uint8_t* src, float* dst, ctnn::Rng& rng, const data::SampleInfo& info) {
    if constexpr (requires { p(src, dst, rng, info); }) p(src, dst, rng, info);
    else p(src, dst, rng);
  }};
}

std::string exact(double v) {  // the exact text of a number (%a)
  char buf[64];
  std::snprintf(buf, sizeof buf, "%a", v);
  return buf;
}

std::string short_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

const char* on_off(bool b) { return b ? "on" : "off"; }

}  // namespace

Transform train_transform(const std::string& augment, const data::Normalize<3>& normalize) {
  using data::Cifar10Shape, data::compose, data::PadMode, data::ToTensor;
  if (augment == "pad-resize")  // the coursework's Pad(4) + Resize(32)
    return erase(compose<Cifar10Shape>(data::Pad<4>{}, data::Resize<32>{}, ToTensor{}, normalize));
  if (augment == "crop-flip")
    return erase(compose<Cifar10Shape>(data::RandomCrop<32, 32, 4>{}, data::RandomHorizontalFlip{}, ToTensor{}, normalize));
  if (augment == "crop-flip-cutout")  // ResNet-9 (Page): reflect-padded crop, flip, Cutout 8x8
    return erase(compose<Cifar10Shape>(data::RandomCrop<32, 32, 4, PadMode::reflect>{}, data::RandomHorizontalFlip{},
                                       ToTensor{}, normalize, data::Cutout{8}));
  if (augment == "flip-translate")  // airbench: alternating flip, reflect-padded 2-pixel translation
    return erase(compose<Cifar10Shape>(data::AlternatingFlip{}, data::RandomCrop<32, 32, 2, PadMode::reflect>{},
                                       ToTensor{}, normalize));
  if (augment == "flip-translate4-cutout12")  // airbench96: the same with translation by up to 4, then Cutout 12 inside
    return erase(compose<Cifar10Shape>(data::AlternatingFlip{}, data::RandomCrop<32, 32, 4, PadMode::reflect>{},
                                       ToTensor{}, normalize, data::Cutout{.size = 12, .inside = true}));
  return erase(compose<Cifar10Shape>(ToTensor{}, normalize));
}

ctnn::train::RunIdentity identity(const Options& o, const presets::Recipe& r) {
  const std::string limit = o.train_limit == data::kAllRecords ? "all" : std::to_string(o.train_limit);
  return {{"model", o.model},
          {"batch-size", std::to_string(r.batch_size)},
          {"lr", exact(r.lr)},
          {"optimizer", r.optimizer},
          {"momentum", exact(r.momentum)},
          {"weight-decay", exact(r.weight_decay)},
          {"augment", r.augment},
          {"normalize", r.normalize},
          {"schedule", r.schedule},
          {"schedule-unit", r.schedule_per_epoch ? "epoch" : "step"},
          {"label-smoothing", exact(r.label_smoothing)},
          {"nesterov", on_off(r.nesterov)},
          {"decay-norm-and-bias", on_off(r.decay_norm_and_bias)},
          {"seed", std::to_string(o.seed)},
          {"train-limit", limit}};
}

#if CTNN_EXAMPLES_MPI
const ctnn::mpi::Communicator*& world() {
  static const ctnn::mpi::Communicator* comm = nullptr;
  return comm;
}
#endif

void print_run(const Options& o, const presets::Recipe& r, std::size_t train_images, std::size_t test_images,
               double load_seconds) {
  std::printf("ctnn train_cifar10: model %s, %d epochs, batch %zu, %s lr %g (schedule %s%s), momentum %g%s, weight decay %g%s\n",
              o.model.c_str(), r.epochs, r.batch_size, r.optimizer.c_str(), r.lr, r.schedule.c_str(),
              r.schedule_per_epoch ? " per epoch" : "", r.momentum,
              (r.optimizer == "sgd" || r.optimizer == "muon") && r.nesterov ? " (Nesterov)" : "", r.weight_decay,
              r.decay_norm_and_bias ? "" : " (not on BatchNorm and bias tensors)");
  std::printf("augment %s, normalize %s, label smoothing %g, test-time augmentation level %d, lookahead %s, seed %llu, "
              "%d threads; %zu train / %zu test images loaded in %.2f s\n",
              r.augment.c_str(), r.normalize.c_str(), r.label_smoothing, r.tta, on_off(r.lookahead),
              static_cast<unsigned long long>(o.seed), ctnn::thread_width(), train_images, test_images, load_seconds);
  if (!r.whiten && !r.dirac && r.norm_bias_lr_scale == 1) return;
  std::string line = "preset recipe: ";
  if (r.whiten)
    line += "layer 0 = patch-whitening conv from the first " + std::to_string(std::min<std::size_t>(5000, train_images)) +
            " training images (frozen; bias trains for " + std::to_string(r.whiten_bias_epochs) + " epochs" +
            (r.whiten_bias_linear ? ", its lr falling linearly to 0" : "") + "); ";
  if (r.dirac) line += "3x3 convs start with dirac_ on their first Cin filters; ";
  if (r.norm_bias_lr_scale != 1)
    line += "BatchNorm biases at lr x " + short_number(r.norm_bias_lr_scale) + ", weight decay / " +
            short_number(r.norm_bias_lr_scale);
  std::printf("%s\n", line.c_str());
}

}  // namespace cifar
