#pragma once
// What every layer shares: the run-time context, and the compile-time checks whose type names
// read as the error sentence (g++ prints them in its "required from" lines).
//
// A layer is written by the user as a *spec* (e.g. Conv<3, 16, 5>), a type holding only
// hyper-parameters. Sequential binds each spec to the shape it receives:
//     typename Spec::template bind<T, InShape, Position>
// is the concrete layer: it owns its caches, points into the network's parameter arena, and
// declares out_shape. Position counts layers from 1, after Input.
#include <cstddef>

#include "ctnn/core/precision.hpp"
#include "ctnn/core/random.hpp"
#include "ctnn/core/shape.hpp"

namespace ctnn {

enum class Mode { train, eval };

class BatchNormSync;  // layers/batchnorm.hpp: BatchNorm statistics shared across processes

struct Context {
  Mode mode = Mode::train;
  Rng* rng = nullptr;  // for stochastic layers (Dropout)
  // The GEMMs' precision in Conv (Groups = 1) and Linear (core/precision.hpp); every other layer,
  // BatchNorm's statistics and the loss compute in fp32 whatever it is.
  Precision precision = Precision::fp32;
  // When set, BatchNorm in train mode combines its statistics with other processes' through it
  // (SyncBatchNorm; Sequential::set_batchnorm_sync).
  BatchNormSync* batchnorm_sync = nullptr;
  // Whether a backward may follow the forward (torch.set_grad_enabled; Sequential::set_grad_enabled,
  // NoGrad). In eval mode without it, Chain runs inference-only fusions (a BatchNorm folded into the
  // Conv before it), so the activations a backward needs are not kept.
  bool grad = true;
};

// What a layer without trainable parameters or saved state declares (ReLU, pooling, ...).
template <class T>
struct NoParameters {
  static constexpr std::size_t param_count = 0;
  static constexpr std::size_t buffer_count = 0;
  void attach(T*, T*, T*) {}
  void reset_parameters(Rng&) {}
  template <class F>
  static void describe(F&&) {}
  template <class F>
  static void describe_buffers(F&&) {}
};

namespace error {
// Each check is a chain of names so that the compiler's instantiation line says, e.g.
//   ctnn::error::Conv_at_layer<5>::expects_input_channels<16>::but_receives<32>
template <std::size_t Position>
struct Conv_at_layer {
  template <std::size_t Expected>
  struct expects_input_channels {
    template <std::size_t Received>
    struct but_receives {
      static_assert(Expected == Received,
                    "ctnn: a Conv layer's input channel count does not match the channels the "
                    "previous layer produces; the 'Conv_at_layer<P>::expects_input_channels<E>::"
                    "but_receives<R>' line names the layer position P and both counts");
      static constexpr bool ok = true;
    };
  };
  template <std::size_t Kernel>
  struct has_kernel {
    template <std::size_t PaddedHeight, std::size_t PaddedWidth>
    struct larger_than_its_padded_input {
      static_assert(Kernel <= PaddedHeight && Kernel <= PaddedWidth,
                    "ctnn: a Conv kernel is larger than its padded input; the "
                    "'Conv_at_layer<P>::has_kernel<K>::larger_than_its_padded_input<H, W>' line "
                    "names the layer position and sizes");
      static constexpr bool ok = true;
    };
  };
};

template <std::size_t Position>
struct Pool_at_layer {
  template <std::size_t Window>
  struct has_window {
    template <std::size_t Height, std::size_t Width>
    struct larger_than_its_input {
      static_assert(Window <= Height && Window <= Width,
                    "ctnn: a pooling window is larger than its input; the "
                    "'Pool_at_layer<P>::has_window<K>::larger_than_its_input<H, W>' line names "
                    "the layer position and sizes");
      static constexpr bool ok = true;
    };
  };
};
}  // namespace error

}  // namespace ctnn
