// Writes the seed corpora for the fuzz targets (fuzz/run.sh calls it):
//   make_seeds DIR  ->  DIR/safetensors/*.safetensors  and  DIR/cifar10/*
// Valid inputs for the networks in fuzz_safetensors.cpp (ctnn and torch names, without
// num_batches_tracked, a checkpoint) and small CIFAR-10 files, so the fuzzer starts from
// inputs that reach the deep code paths.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <ctnn/data/cifar10.hpp>
#include <ctnn/io/checkpoint.hpp>
#include <ctnn/io/safetensors.hpp>
#include <ctnn/layers/batchnorm.hpp>
#include <ctnn/layers/conv.hpp>
#include <ctnn/layers/linear.hpp>
#include <ctnn/layers/relu.hpp>
#include <ctnn/layers/sequential.hpp>
#include <ctnn/optim/adam.hpp>

using Tiny = ctnn::Sequential<ctnn::Input<1, 4, 4>, ctnn::Conv<1, 2, 3>, ctnn::BatchNorm, ctnn::ReLU,
                              ctnn::Linear<3>>;

static void write(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary) << bytes;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds DIR\n");
    return 2;
  }
  namespace fs = std::filesystem;
  const fs::path dir = argv[1];
  fs::create_directories(dir / "safetensors");
  fs::create_directories(dir / "cifar10");
  Tiny net(1);
  ctnn::io::SaveOptions o;
  write(dir / "safetensors/tiny_ctnn.safetensors", ctnn::io::to_bytes(net, o));
  o.naming = ctnn::io::Naming::torch;
  write(dir / "safetensors/tiny_torch.safetensors", ctnn::io::to_bytes(net, o));
  o.naming = ctnn::io::Naming::ctnn;
  o.num_batches_tracked = false;
  write(dir / "safetensors/tiny_no_nbt.safetensors", ctnn::io::to_bytes(net, o));
  ctnn::Adam<float> adam(net.parameters());
  write(dir / "safetensors/tiny_checkpoint.safetensors", ctnn::io::checkpoint_bytes(net, adam, {}));
  write(dir / "safetensors/empty.safetensors", ctnn::io::Writer().bytes());

  std::string records;
  for (int r = 0; r < 2; ++r) {
    records.push_back(static_cast<char>(r * 7));
    for (std::size_t i = 0; i < ctnn::data::Cifar10Shape::size; ++i) records.push_back(static_cast<char>(i * 31 + r));
  }
  write(dir / "cifar10/two_records.bin", records);
  std::string meta;
  for (auto name : ctnn::data::kCifar10ClassNames) meta += std::string(name) + "\n";
  write(dir / "cifar10/batches.meta.txt", meta + "\n");
  std::printf("seeds written to %s\n", dir.c_str());
  return 0;
}
