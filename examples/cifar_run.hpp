#pragma once
// train_cifar10's run of one preset network over the library trainer (ctnn::train::Trainer):
// the data, the recipe's initialisation (whitening, dirac), its optimizer and parameter groups,
// the Trainer, and the saved model. run_model<Net> is compiled once per preset, each in a
// translation unit of its own (cifar_model_*.cpp), so that rebuilding train_cifar10.cpp (the
// command line) compiles no network.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include <ctnn/ctnn.hpp>
#include <ctnn/data/cifar10.hpp>
#include <ctnn/data/dataloader.hpp>
#include <ctnn/data/transforms.hpp>
#include <ctnn/optim/param_groups.hpp>
#include <ctnn/train/init.hpp>
#include <ctnn/train/trainer.hpp>
#if CTNN_EXAMPLES_MPI
#include <ctnn/mpi/ddp_strategy.hpp>
#endif

#include "models.hpp"
#include "trainer_options.hpp"

namespace cifar {

namespace data = ctnn::data;

// The command line: the run options, the recipe options (unset: the preset's) and CIFAR-10's own.
struct Options : trainer::RunOptions {
  std::string data_dir = "data/cifar-10-batches-bin";
  std::string model = "seed";
  trainer::RecipeFlags flags;
  std::optional<std::string> normalize, lookahead, decay_norm_and_bias;  // on | off; unset: the preset's
  bool torch_names = false;
  std::string plot_dir, sweep, sweep_dir;
  std::string sync_bn = "off";  // on | off: SyncBatchNorm under mpirun
};

#if CTNN_EXAMPLES_MPI
// The processes of `mpirun -np N train_cifar10 ...` (null when started alone); set by main.
const ctnn::mpi::Communicator*& world();  // cifar_common.cpp
#endif
// This process's shard of every batch (one process: the whole batch).
inline data::Shard shard() {
#if CTNN_EXAMPLES_MPI
  if (const auto* comm = world()) return ctnn::mpi::shard_of(*comm);
#endif
  return {};
}

// The preset's recipe with the options the user set put in.
inline presets::Recipe resolve(const Options& o, presets::Recipe r) {
  r = trainer::apply_flags(r, o.flags);
  if (o.normalize) r.normalize = *o.normalize;
  if (o.lookahead) r.lookahead = *o.lookahead == "on";
  if (o.decay_norm_and_bias) r.decay_norm_and_bias = *o.decay_norm_and_bias == "on";
  return r;
}

// The training pipeline named by --augment, seen through a function (built once, whatever the network).
struct Transform {
  using input_shape = data::Cifar10Shape;
  using output_shape = data::Cifar10Shape;
  std::function<void(const std::uint8_t*, float*, ctnn::Rng&, const data::SampleInfo&)> apply;
  void operator()(const std::uint8_t* src, float* dst, ctnn::Rng& rng, const data::SampleInfo& info) const {
    apply(src, dst, rng, info);
  }
};
Transform train_transform(const std::string& augment, const data::Normalize<3>& normalize);  // cifar_common.cpp
using TrainLoader = data::DataLoader<Transform>;
using TestLoader = data::DataLoader<decltype(data::compose<data::Cifar10Shape>(data::ToTensor{}, data::kCifar10Normalize))>;

// The options that decide the trajectory: a resumed run must have the same (model first: the
// likeliest mix-up).
ctnn::train::RunIdentity identity(const Options& o, const presets::Recipe& r);  // cifar_common.cpp
// The two lines describing the run.
void print_run(const Options& o, const presets::Recipe& r, std::size_t train_images, std::size_t test_images,
               double load_seconds);

template <class Net>
int run_model(const Options& o, const presets::Recipe& r);

// airbench94_muon's optimizer (docs/muon.md) on the airbench network: every trainable filter on Muon
// at the recipe's lr, momentum and (decoupled) weight decay; the BatchNorm biases, the whitening bias
// and the head on Nesterov SGD at airbench94_muon_groups' lr and weight decay for this batch size,
// scaled like Muon's when --lr changes it. The head's are converted for ctnn's logits (v / 9) x,
// where airbench94_muon computes (w / 256) x with w of std 1: v = 9 w / 256 is the same function
// (v starts at std 0.035, torch's default init), and SGD on v is SGD on w with lr x (9/256)^2 and
// weight decay x (256/9)^2. Calls train(optimizer, the whitening bias's group).
template <class Net, class Train>
int with_muon(const presets::Recipe& r, Net& net, Train&& train) {
  auto params = net.parameters();
  params.erase(params.begin());  // 0.weight: frozen
  const auto whiten_bias = params.front();
  params.erase(params.begin());
  const double lr_scale = r.lr / ctnn::airbench94_muon_options().lr;
  constexpr double head = 9.0 / 256;
  ctnn::MuonGroupOptions g = ctnn::airbench94_muon_groups(r.batch_size);
  g.lr = r.lr;
  g.weight_decay = r.weight_decay;
  g.aux_lr *= lr_scale;
  g.head_lr = *g.head_lr * head * head * lr_scale;
  g.head_weight_decay = *g.head_weight_decay / (head * head);
  auto groups = ctnn::muon_groups(params, g);
  groups.push_back({{whiten_bias}, false, g.aux_lr, g.aux_weight_decay, "whiten_bias"});
  const std::size_t whiten_group = groups.size() - 1;
  ctnn::MuonOptions mo = ctnn::airbench94_muon_options();
  mo.lr = r.lr;
  mo.momentum = r.momentum;
  mo.nesterov = r.nesterov;
  mo.weight_decay = r.weight_decay;
  ctnn::Muon opt{std::move(groups), mo};
  std::printf("muon groups:");
  for (const auto& group : opt.param_groups())
    std::printf(" %s (%zu tensors, lr %g, weight decay %g)", group.name.c_str(), group.end - group.begin, group.lr,
                group.weight_decay);
  std::printf("; Muon: %d Newton-Schulz steps, filters renormalised; SGD: momentum %g (Nesterov)\n", mo.ns_steps,
              mo.aux.momentum);
  return train(opt, std::optional<std::size_t>(whiten_group));
}

// The optimizer of the recipe, with SGD's parameter groups (decay on BatchNorm and bias tensors or
// not, the BatchNorm biases' lr scale, a whitening layer's weight left out and its bias in a group
// of its own); calls train(optimizer, the group frozen later if any).
template <class Net, class Train>
int with_optimizer(const Options& o, const presets::Recipe& r, Net& net, Train&& train) {
  if (r.optimizer == "sgd") {
    auto params = net.parameters();
    std::optional<ctnn::ParamRef<float>> whiten_bias;
    if (r.whiten) {
      params.erase(params.begin());  // 0.weight: frozen
      whiten_bias = params.front();  // 0.bias
      params.erase(params.begin());
    }
    const bool decay_all = r.decay_norm_and_bias;
    auto groups = ctnn::decay_groups(params, {.lr = r.lr, .weight_decay = r.weight_decay, .decay_biases = decay_all,
                                              .decay_norm_weights = decay_all, .decay_norm_biases = decay_all,
                                              .norm_bias_lr_scale = r.norm_bias_lr_scale});
    std::optional<std::size_t> frozen_later;
    if (whiten_bias) {
      groups.push_back({{*whiten_bias}, r.lr, decay_all ? r.weight_decay : 0.0, "whiten_bias"});
      frozen_later = groups.size() - 1;
    }
    ctnn::SGD opt{std::move(groups), {.lr = r.lr, .momentum = r.momentum, .weight_decay = r.weight_decay,
                                      .nesterov = r.nesterov}};
    return train(opt, frozen_later);
  }
  if (r.optimizer == "muon") {
    if (!r.whiten)
      throw std::runtime_error("--optimizer muon is airbench94_muon's recipe, for --model airbench_muon or airbench; "
                               "for other networks use ctnn::Muon and ctnn::muon_groups in your own program "
                               "(docs/library.md, \"Muon\")");
    return with_muon(r, net, train);
  }
  if (r.whiten)
    throw std::runtime_error("--model " + o.model +
                             " trains with --optimizer sgd or muon only (its whitening layer is frozen through parameter "
                             "groups)");
  if (r.optimizer == "adamw") {
    ctnn::AdamW opt{net.parameters(), {.lr = r.lr, .weight_decay = r.weight_decay}};
    return train(opt, std::nullopt);
  }
  ctnn::Adam opt{net.parameters(), {.lr = r.lr, .weight_decay = r.weight_decay}};
  return train(opt, std::nullopt);
}

// The recipe's initialisation of a fresh run: dirac_ 3x3 convs, the patch-whitening layer 0
// computed from the first 5,000 training images as the network sees them.
template <class Net>
void init_recipe(Net& net, const presets::Recipe& r, const data::Cifar10& train_set, const data::Normalize<3>& normalize) {
  if (r.dirac)
    for (auto& p : net.parameters())
      if (p.dims.size() == 4 && p.dims[2] == 3 && p.dims[3] == 3) ctnn::init::dirac_init(p);
  if (!r.whiten) return;
  const std::size_t n = std::min<std::size_t>(5000, train_set.size());
  const auto to_tensor = data::compose<data::Cifar10Shape>(data::ToTensor{}, normalize);
  std::vector<float> images(n * data::Cifar10Shape::size);
  ctnn::Rng unused(0);
  for (std::size_t i = 0; i < n; ++i)
    to_tensor(train_set.image(i).data(), images.data() + i * data::Cifar10Shape::size, unused);
  auto params = net.parameters();
  ctnn::init::whitening_init(params.front(), images.data(), n, 3, 32, 32);
}

// Trains and saves; the exit status: 0, 2 (no data), 3 (diverged), 130 (interrupted).
template <class Net>
int train_and_save(const Options& o, const presets::Recipe& r, Net& net, ctnn::train::Trainer<Net>& trainer,
                   TrainLoader& train_loader, TestLoader& test_loader,
                   const data::Cifar10& train_set, const data::Normalize<3>& normalize) {
  try {
    if (trainer.fit(train_loader, test_loader).interrupted()) return 130;
  } catch (const ctnn::train::DivergedError& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    const auto file = trainer.checkpoint_file();
    if (!file.empty())
      std::fprintf(stderr, "%s was not written after the divergence%s\n", file.string().c_str(),
                   std::filesystem::exists(file) ? " (it holds the last checkpoint written before the divergence)" : "");
    if (!o.save.empty()) std::fprintf(stderr, "no model saved to %s\n", o.save.c_str());
    return 3;
  }
  if (!trainer.root()) return 0;  // data-parallel: process 0 saves
  if (!o.save.empty()) {
    ctnn::io::SaveOptions so;
    so.naming = o.torch_names ? ctnn::io::Naming::torch : ctnn::io::Naming::ctnn;
    std::string classes;
    for (const auto& n : train_set.class_names) classes += (classes.empty() ? "" : ",") + n;
    so.metadata = {{"ctnn.model", o.model}, {"ctnn.normalize", r.normalize}, {"ctnn.input", "3x32x32"},
                   {"ctnn.classes", classes}, {"ctnn.epochs", std::to_string(r.epochs)}};
    trainer.save_model(o.save, so);
    std::printf("model saved to %s (%s names)\n", o.save.c_str(), o.torch_names ? "torch" : "ctnn");
  }
  trainer::save_onnx(o, net, normalize, train_set.class_names, o.model);
  return 0;
}

template <class Net>
int run_model(const Options& o, const presets::Recipe& r) {
  const std::filesystem::path dir(o.data_dir);
  if (!std::filesystem::is_directory(dir)) {
    std::fprintf(stderr,
                 "error: CIFAR-10 not found: '%s' is not a folder.\n"
                 "Get it with\n"
                 "  scripts/get-cifar10.sh                      # downloads and checks the official archive\n"
                 "  scripts/get-cifar10.sh --from ARCHIVE       # or unpacks a local cifar-10-binary.tar.gz/.tar.xz\n"
                 "then pass --data data/cifar-10-batches-bin (the default).\n",
                 o.data_dir.c_str());
    return 2;
  }
  trainer::apply_threads(o);
  trainer::apply_conv_algorithm(o, r.winograd_gradients);
  const auto t_load = std::chrono::steady_clock::now();
  const auto train_set = data::load_cifar10(dir, data::Split::train, o.train_limit);
  const auto test_set = data::load_cifar10(dir, data::Split::test, o.test_limit);
  const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count();

  Net net(o.seed);
  net.set_precision(trainer::resolve_precision(o, presets::cifar_preset(o.model).speed_run));
  const data::Shard sh = shard();
  data::check_global_batch(r.batch_size, sh);  // before the run is described
  print_run(o, r, train_set.size(), test_set.size(), load_s);
  if (sh.count > 1)
    std::printf("data-parallel: %zu processes of %d threads, %zu of each global batch of %zu per process, "
                "BatchNorm statistics %s\n",
                sh.count, ctnn::thread_width(), r.batch_size / sh.count, r.batch_size,
                o.sync_bn == "on" ? "of the global batch (--sync-bn on)" : "per process (--sync-bn off)");
  trainer::print_precision(net.precision());
  std::printf("%s", Net::summary().c_str());
  const auto& normalize = r.normalize == "half" ? data::kHalfNormalize : data::kCifar10Normalize;
  if (o.flags.resume_dir.empty()) init_recipe(net, r, train_set, normalize);

  TrainLoader train_loader(train_set, train_transform(r.augment, normalize),
                                {.batch_size = r.batch_size, .shuffle = true, .drop_last = r.drop_last, .seed = o.seed,
                                 .prefetch = o.prefetch, .shard = sh});
  // 500 test images a batch, or the multiple of the process count below it
  TestLoader test_loader(test_set, data::compose<data::Cifar10Shape>(data::ToTensor{}, normalize),
                         {.batch_size = 500 - 500 % sh.count, .shuffle = false, .prefetch = o.prefetch, .shard = sh});
  if (train_loader.size() == 0)
    throw std::runtime_error("no full training batch: " + std::to_string(train_set.size()) +
                             " training images and --batch-size " + std::to_string(r.batch_size) +
                             ", and this preset's recipe drops the last partial batch; use a smaller --batch-size");
  auto topts = trainer::trainer_options(o, o.flags, r, static_cast<long long>(train_loader.size()));
  topts.identity = identity(o, r);
  if (r.lookahead) topts.lookahead = ctnn::train::LookaheadOptions{.k = 5};
  if (r.tta > 0) topts.tta_level = r.tta;
  return with_optimizer(o, r, net, [&](auto& optimizer, std::optional<std::size_t> frozen_later) {
    ctnn::train::TrainerCallbacks<float> cb;
    // The whitening bias (after the schedule): lr 0 after some epochs (airbench), or falling linearly
    // from its base lr to 0 over them (airbench94_muon: initial_lr x (1 - step / its steps)).
    if (frozen_later)
      cb.before_step = [&, g = *frozen_later](const ctnn::train::StepInfo<float>& s) {
        auto& group = s.optimizer.param_groups()[g];
        bool frozen = false;
        if (r.whiten_bias_linear) {
          const double steps = static_cast<double>(r.whiten_bias_epochs) * static_cast<double>(s.batches);
          group.lr = group.base_lr * std::max(0.0, 1.0 - static_cast<double>(s.steps_done) / steps);
          frozen = static_cast<double>(s.steps_done) >= steps;
        } else if (s.epoch > r.whiten_bias_epochs) {
          group.lr = 0;
          frozen = true;
        }
        // Once the whitening layer stops training (its weight never trains), the backward stops at
        // the first layer after it with parameters, as PyTorch's does with requires_grad off: the
        // same weights, without the input gradient of that layer and the backward of those before.
        net.set_frozen_prefix(frozen ? Net::next_layer_with_parameters(0) : 0);
      };
#if CTNN_EXAMPLES_MPI
    std::optional<ctnn::mpi::DdpStrategy<Net>> ddp;  // broadcasts process 0's weights
    if (const auto* comm = world()) {
      ddp.emplace(*comm, net, ctnn::mpi::DataParallelOptions{.sync_batchnorm = o.sync_bn == "on"});
      topts.strategy = &*ddp;
    }
#endif
    ctnn::train::Trainer<Net> trainer(net, optimizer, topts, std::move(cb));
    return train_and_save(o, r, net, trainer, train_loader, test_loader, train_set, normalize);
  });
}

}  // namespace cifar

// Compiled in cifar_model_*.cpp, one translation unit per preset.
extern template int cifar::run_model<presets::Seed>(const cifar::Options&, const presets::Recipe&);
extern template int cifar::run_model<presets::Seed3>(const cifar::Options&, const presets::Recipe&);
extern template int cifar::run_model<presets::Seed4>(const cifar::Options&, const presets::Recipe&);
extern template int cifar::run_model<presets::Airbench>(const cifar::Options&, const presets::Recipe&);
extern template int cifar::run_model<presets::ResNet9>(const cifar::Options&, const presets::Recipe&);
