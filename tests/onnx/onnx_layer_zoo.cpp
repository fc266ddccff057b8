// onnx_layer_zoo OUT_DIR: the network with every layer kind ctnn has (support/layer_zoo.hpp),
// with random parameters and running statistics, written as OUT_DIR/zoo.onnx with a
// non-trivial input normalisation, plus OUT_DIR/zoo_input.bin (float32 pixels / 255, NCHW)
// and OUT_DIR/zoo_logits.txt (ctnn's eval-mode logits for them, as predict --logits prints).
// tests/onnx/check_onnx.py then runs zoo.onnx in OpenCV / ONNX Runtime and compares.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <ctnn/ctnn.hpp>
#include <ctnn/data/transforms.hpp>
#include <ctnn/io/onnx.hpp>

#include "support/layer_zoo.hpp"

using namespace ctnn;

using Zoo = ctnn::testing::LayerZoo;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: onnx_layer_zoo OUT_DIR\n");
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir);
  const data::Normalize<3> norm{{0.45f, 0.5f, 0.55f}, {0.2f, 0.25f, 0.3f}};
  constexpr std::size_t n = 8;
  using In = Zoo::in_shape;

  Zoo net(11);
  Rng rng(5);
  for (auto& p : net.parameters())  // BatchNorm weights away from 1, biases away from 0
    for (std::size_t i = 0; i < p.size; ++i)
      if (p.kind == ParamKind::norm_weight) p.value[i] = static_cast<float>(rng.uniform(0.5, 1.5));
      else if (p.kind == ParamKind::norm_bias) p.value[i] = static_cast<float>(rng.uniform(-0.5, 0.5));
  for (auto& b : net.buffers())
    if (b.name.ends_with(".weight"))  // the frozen BatchNorm weight
      for (std::size_t i = 0; i < b.size; ++i) b.value[i] = static_cast<float>(rng.uniform(0.5, 1.5));

  // Pixels / 255 as the ONNX graph takes them, and normalised as ctnn's ToTensor + Normalize do.
  const auto pixels = [&](std::size_t count) {
    std::vector<float> raw(count * In::size), x(raw.size());
    for (std::size_t i = 0; i < raw.size(); ++i) {
      raw[i] = static_cast<float>(rng.below(256)) / 255.0f;
      const std::size_t c = i / In::plane % In::channels;
      x[i] = (raw[i] - norm.mean[c]) / norm.std[c];
    }
    return std::pair{raw, x};
  };
  // Train-mode passes give the running statistics non-trivial values.
  net.train();
  for (int step = 0; step < 4; ++step) {
    const auto [raw, x] = pixels(16);
    net.forward(TensorView<In, const float>(x.data(), 16));
  }
  net.eval();
  const auto [raw, x] = pixels(n);
  const auto y = net.forward(TensorView<In, const float>(x.data(), n));

  io::save_onnx(net, dir / "zoo.onnx", io::onnx_options(norm, {"a", "b", "c", "d"}, "layer-zoo"));
  std::ofstream(dir / "zoo_input.bin", std::ios::binary)
      .write(reinterpret_cast<const char*>(raw.data()), static_cast<std::streamsize>(raw.size() * sizeof(float)));
  std::FILE* out = std::fopen((dir / "zoo_logits.txt").c_str(), "w");
  if (!out) return 1;
  for (std::size_t i = 0; i < n; ++i) {
    std::fprintf(out, "logits %zu", i);
    for (std::size_t k = 0; k < Zoo::out_shape::size; ++k) std::fprintf(out, " %.9g", static_cast<double>(y.sample(i)[k]));
    std::fprintf(out, "\n");
  }
  std::fclose(out);
  std::printf("wrote %s (%zu images)\n", (dir / "zoo.onnx").c_str(), n);
  return 0;
}
