// libFuzzer target for the safetensors loader (ctnn/io/safetensors.hpp, ctnn/io/checkpoint.hpp).
// Any input must either load or throw ctnn::io::Error: no crash, no out-of-bounds read (ASan),
// no undefined behaviour (UBSan), no other exception. Build and run: fuzz/run.sh.
//
// The networks are small so that valid files are small (the seed corpus has some) and the
// fuzzer reaches the matching and copying code, not only the header parser.
#include <cstddef>
#include <cstdint>
#include <span>

// Not <ctnn/ctnn.hpp>: clang 14 rejects Dropout's `double` template parameter (a C++20 feature it
// does not implement yet), so only the layers used here are included.
#include <ctnn/layers/batchnorm.hpp>
#include <ctnn/layers/conv.hpp>
#include <ctnn/layers/linear.hpp>
#include <ctnn/layers/relu.hpp>
#include <ctnn/layers/sequential.hpp>
#include <ctnn/optim/adam.hpp>
#include <ctnn/io/checkpoint.hpp>
#include <ctnn/io/safetensors.hpp>

namespace {
using Tiny = ctnn::Sequential<ctnn::Input<1, 4, 4>, ctnn::Conv<1, 2, 3>, ctnn::BatchNorm, ctnn::ReLU,
                              ctnn::Linear<3>>;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Tiny net(1);
  static ctnn::Adam<float> adam(net.parameters());
  const std::span<const std::uint8_t> bytes(data, size);
  try {
    const auto file = ctnn::io::File::parse(bytes, "fuzz");
    // Touch every byte every entry claims, so ASan sees any range outside the input.
    unsigned sum = 0;
    for (const auto& e : file.tensors())
      for (std::uint8_t b : file.data(e)) sum += b;
    for (const auto& [k, v] : file.metadata()) sum += static_cast<unsigned>(k.size() + v.size());
    (void)sum;
    try {
      ctnn::io::load(net, file);
    } catch (const ctnn::io::Error&) {
    }
    try {
      ctnn::io::load_checkpoint(file, net, adam);
    } catch (const ctnn::io::Error&) {
    }
  } catch (const ctnn::io::Error&) {
  }
  return 0;
}
