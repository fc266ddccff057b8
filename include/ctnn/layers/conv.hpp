#pragma once
// Conv<In, Out, K, Stride = 1, Pad = K / 2, Groups = 1, Bias = true>:
// torch.nn.Conv2d(In, Out, K, stride=Stride, padding=Pad, groups=Groups, bias=Bias), arguments in
// PyTorch's order. Note the default padding keeps the size for odd K ("same"), where PyTorch's
// default is 0. DepthwiseConv<C, K, Stride, Pad> is Conv<C, C, K, Stride, Pad, C>.
// Groups = 1 runs as im2col + GEMM (kernels/conv.hpp) or, for 3x3 stride-1 convolutions, as
// Winograd F(2x2, 3x3) or F(4x4, 3x3) (kernels/winograd.hpp), chosen per layer shape by
// kernels/winograd_select.hpp (set_algorithm, set_conv_algorithm, CTNN_CONV); Groups > 1 as
// direct loops (kernels/grouped_conv.hpp).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <mutex>
#include <vector>

#include "ctnn/core/aligned_buffer.hpp"
#include "ctnn/core/parameter.hpp"
#include "ctnn/core/threads.hpp"
#include "ctnn/kernels/conv.hpp"
#include "ctnn/kernels/elementwise.hpp"
#include "ctnn/kernels/grouped_conv.hpp"
#include "ctnn/kernels/winograd_backward.hpp"
#include "ctnn/kernels/winograd_select.hpp"
#include "ctnn/layers/layer.hpp"

namespace ctnn {

namespace detail {
// ConvAlgorithm::benchmark's timing outputs, one buffer per element type for the whole process.
template <class T>
struct BenchmarkScratch {
  static inline std::mutex mutex;
  static inline AlignedBuffer<T> buffer;
};
}  // namespace detail

template <class T, class In, std::size_t Cin, std::size_t Cout, std::size_t K, std::size_t Stride,
          std::size_t Pad, std::size_t Groups, bool Bias, std::size_t Position>
class ConvLayer {
  static_assert(error::Conv_at_layer<Position>::template expects_input_channels<Cin>::template but_receives<In::channels>::ok);
  static_assert(error::Conv_at_layer<Position>::template has_kernel<K>::template larger_than_its_padded_input<
                In::height + 2 * Pad, In::width + 2 * Pad>::ok);

 public:
  using in_shape = In;
  using out_shape = Shape<Cout, window_out(In::height, K, Stride, Pad), window_out(In::width, K, Stride, Pad)>;
  static constexpr kernels::ConvGeometry geometry{Cin, Cout, K, Stride, Pad, In::height, In::width,
                                                  out_shape::height, out_shape::width};
  static constexpr std::size_t group_in = Cin / Groups;
  static constexpr std::size_t weight_size = Cout * group_in * K * K;
  static constexpr std::size_t param_count = weight_size + (Bias ? Cout : 0);
  static constexpr std::size_t buffer_count = 0;
  static constexpr const char* kind_name = "Conv";

  void attach(T* params, T* grads, T*) {
    weight_ = params;
    dweight_ = grads;
    if constexpr (Bias) {
      bias_ = params + weight_size;
      dbias_ = grads + weight_size;
    }
  }

  // PyTorch's default: kaiming_uniform(a=sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in)), same bias bound.
  void reset_parameters(Rng& rng) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(group_in * K * K));
    for (std::size_t i = 0; i < weight_size; ++i) weight_[i] = static_cast<T>(rng.uniform(-bound, bound));
    if constexpr (Bias)
      for (std::size_t i = 0; i < Cout; ++i) bias_[i] = static_cast<T>(rng.uniform(-bound, bound));
  }

  template <class F>
  static void describe(F&& f) {
    f(TensorInfo{"weight", ParamKind::weight, 0, weight_size, {Cout, group_in, K, K}, 4});
    if constexpr (Bias) f(TensorInfo{"bias", ParamKind::bias, weight_size, Cout, {Cout, 0, 0, 0}, 1});
  }
  template <class F>
  static void describe_buffers(F&&) {}

  // The algorithm of this layer (Groups = 1): automatic (the default) follows the process-wide
  // choice, then the measured rule (kernels/winograd_select.hpp).
  void set_algorithm(ConvAlgorithm a) { algorithm_ = a; }
  ConvAlgorithm algorithm() const { return algorithm_; }

  void forward(const T* x, T* y, std::size_t n, Context& ctx) { forward_with<false, false>(x, y, n, ctx, {}); }

  // Inference only (eval mode without gradients; layers/chain.hpp calls it for a Conv followed by a
  // BatchNorm, a ReLU or a 2x2 max pool): the convolution, then the per-channel affine
  // y = scale * y + shift (none when scale is null), max(0, y) with Relu and the 2x2, stride-2 max pool
  // with Pool, in the pass that writes the GEMM's output (kernels::ConvEpilogue).
  // scale, shift: [Cout]; y: [n, out_shape], or [n, Cout, Ho/2, Wo/2] with Pool.
  static constexpr bool folds_affine = true;
  template <bool Relu, bool Pool>
  void forward_fused(const T* x, T* y, std::size_t n, Context& ctx, const T* scale, const T* shift) {
    forward_with<Relu, Pool>(x, y, n, ctx, {scale, shift});
  }

  void backward(const T* x, const T*, const T* dy, T* dx, std::size_t n, Context& ctx) {
    if constexpr (Groups > 1) {
      kernels::grouped_conv2d_backward(x, weight_, dy, dx, dweight_, dbias(), n, geometry, Groups);
    } else {
      run_backward(reserve(ctx.precision, n, nullptr, true), x, dy, dx, dweight_, dbias(), n);
    }
  }

 private:
  // Without a bias the kernels add zeros and write a gradient nobody reads (looked up on use,
  // not cached as a pointer, so moving the network keeps it valid).
  const T* bias() const { return Bias ? bias_ : zero_bias_; }
  T* dbias() { return Bias ? dbias_ : unused_dbias_; }

  // Pool through a full-size staging buffer where the GEMM epilogue cannot pool (Groups > 1, Winograd).
  template <bool Relu, bool Pool>
  void forward_with(const T* x, T* y, std::size_t n, Context& ctx, const kernels::ConvEpilogue<T>& epi) {
    constexpr std::size_t plane = out_shape::height * out_shape::width;
    T* out = y;
    if constexpr (Pool) {
      if (pool_stage_.size() < n * out_shape::size) pool_stage_.resize(n * out_shape::size);
      out = pool_stage_.data();
    }
    if constexpr (Groups > 1) {
      kernels::grouped_conv2d_forward(x, weight_, bias(), out, n, geometry, Groups);
      if (epi.scale || Relu) {
#pragma omp parallel for schedule(static)
        for (std::size_t p = 0; p < n * Cout; ++p) epi.template apply<Relu>(out + p * plane, plane, p % Cout);
      }
    } else {
      const ConvAlgorithm a = reserve(ctx.precision, n, x, ctx.grad);
      if (run_forward<Relu, Pool>(a, x, y, out, n, epi)) return;
    }
    if constexpr (Pool) {
      constexpr std::size_t pooled = (out_shape::height / 2) * (out_shape::width / 2);
#pragma omp parallel for schedule(static)
      for (std::size_t p = 0; p < n * Cout; ++p)
        kernels::maxpool2x2_plane<Relu>(out + p * plane, out_shape::height, out_shape::width, y + p * pooled);
    }
  }

  // Workspaces depend on the thread counts, not the batch: grown once, then reused. Scratch and
  // GEMM plans are per running thread; the weight-gradient partials per slot, one per thread of
  // the width (core/threads.hpp), which is what keeps results independent of the active count.
  // The plans take the context's precision for im2col, fp32 for Winograd (forward, weight- and
  // input-gradient GEMMs alike; kernels::winograd_gemm_precision), unless the Winograd gradients are
  // set to bf16 (set_winograd_gradient_precision; kernels::conv_gradient_precision).
  // col_ and partial_ hold the scratch and the partials of the algorithm that runs (the larger of
  // the two when both have run); wino_u_ Winograd's transformed filters. Returns the algorithm.
  // n, the batch, goes to the rule (a small batch runs im2col; kernels/winograd_select.hpp).
  // With ConvAlgorithm::benchmark, the forward (x given) looks the choice up or times it (benchmark());
  // the backward runs what its forward ran.
  ConvAlgorithm reserve(Precision precision, std::size_t n, const T* x, bool grad) {
    ConvAlgorithm a = kernels::resolve_conv_algorithm<geometry>(algorithm_, precision, n);
    if constexpr (kernels::winograd_applies<geometry>) {
      if (a == ConvAlgorithm::benchmark) {
        if (x) benchmarked_ = benchmark(precision, n, x, grad);
        a = benchmarked_;
      }
    }
    grow(a, precision);
    return a;
  }

  void grow(ConvAlgorithm a, Precision precision) {
    const auto threads = static_cast<std::size_t>(std::max(num_threads(), thread_width()));
    const auto slots = static_cast<std::size_t>(thread_width());
    std::size_t scratch = kernels::conv_scratch_per_thread<geometry>, partial = weight_size + Cout, filter = 0;
    if constexpr (kernels::winograd_applies<geometry>) {
      if (a != ConvAlgorithm::im2col) {
        using F2 = kernels::WinogradShape<geometry, 2>;
        using F4 = kernels::WinogradShape<geometry, 4>;
        const bool f2 = a == ConvAlgorithm::winograd_f2;
        scratch = f2 ? F2::scratch : F4::scratch;
        partial = f2 ? F2::partial : F4::partial;
        filter = f2 ? F2::filter_buffer : F4::filter_buffer;
      }
    }
    if (scratch && col_.size() < threads * scratch) col_.resize(threads * scratch);
    if (partial_.size() < slots * partial) partial_.resize(slots * partial);
    if (wino_u_.size() < filter) wino_u_.resize(filter);
    if (plans_.size() < threads) plans_.resize(threads);
    const Precision forward = kernels::winograd_gemm_precision(a, precision);  // Winograd: fp32
    const Precision gradients = kernels::conv_gradient_precision(a, precision, winograd_gradient_precision());
    for (auto& p : plans_) {
      p.forward.set_precision(forward);
      p.weight_grad.set_precision(gradients);
      p.input_grad.set_precision(gradients);
    }
  }

  // The forward by algorithm a. im2col writes y itself (pooled in its epilogue with Pool) and returns
  // true; Winograd writes the unpooled out ([n, out_shape]; y itself without Pool) and returns false.
  template <bool Relu, bool Pool>
  bool run_forward(ConvAlgorithm a, const T* x, T* y, T* out, std::size_t n, const kernels::ConvEpilogue<T>& epi) {
    if constexpr (kernels::winograd_applies<geometry>) {
      if (a == ConvAlgorithm::winograd_f2) {
        kernels::winograd_forward<geometry, 2, Relu>(x, weight_, bias(), out, n, wino_u_.data(), col_.data(),
                                                     plans_.data(), epi);
        return false;
      }
      if (a == ConvAlgorithm::winograd_f4) {
        kernels::winograd_forward<geometry, 4, Relu>(x, weight_, bias(), out, n, wino_u_.data(), col_.data(),
                                                     plans_.data(), epi);
        return false;
      }
    }
    kernels::conv2d_forward<geometry, Relu, Pool>(x, weight_, bias(), y, n, col_.data(), plans_.data(), epi);
    return true;
  }

  // The gradients by algorithm a: dw, db accumulate, dx (if not null) is overwritten.
  void run_backward(ConvAlgorithm a, const T* x, const T* dy, T* dx, T* dw, T* db, std::size_t n) {
    const auto slots = static_cast<std::size_t>(thread_width());
    if constexpr (kernels::winograd_applies<geometry>) {
      if (a == ConvAlgorithm::winograd_f2)
        return kernels::winograd_backward<geometry, 2>(x, weight_, dy, dx, dw, db, n, wino_u_.data(), col_.data(),
                                                       partial_.data(), plans_.data(), slots);
      if (a == ConvAlgorithm::winograd_f4)
        return kernels::winograd_backward<geometry, 4>(x, weight_, dy, dx, dw, db, n, wino_u_.data(), col_.data(),
                                                       partial_.data(), plans_.data(), slots);
    }
    kernels::conv2d_backward<geometry>(x, weight_, dy, dx, dw, db, n, col_.data(), partial_.data(), plans_.data(), slots);
  }

  // ConvAlgorithm::benchmark: the stored choice for this shape, batch, mode and precision, else the fastest
  // of im2col (in the network's precision), F2 and F4 (in fp32) on this input: the forward, and with grad a
  // backward of the output as dy, into the process's timing scratch (the layer's gradients are not
  // touched), best of 2 timed runs after a warm-up.
  ConvAlgorithm benchmark(Precision precision, std::size_t n, const T* x, bool grad) {
    using Store = kernels::BenchmarkedAlgorithms<geometry>;
    if (auto chosen = Store::find(n, grad, precision)) return *chosen;
    constexpr ConvAlgorithm candidates[] = {ConvAlgorithm::im2col, ConvAlgorithm::winograd_f2,
                                            ConvAlgorithm::winograd_f4};
    // One scratch for every layer of the process, grown to the largest timing so far and kept, so that
    // a later, smaller batch (an epoch's last) times its choice without allocating.
    using Scratch = detail::BenchmarkScratch<T>;
    std::lock_guard<std::mutex> lock(Scratch::mutex);
    AlignedBuffer<T>& scratch = Scratch::buffer;
    const std::size_t y_size = n * out_shape::size, dx_size = n * in_shape::size;
    if (scratch.size() < y_size + dx_size + weight_size + Cout) scratch.resize(y_size + dx_size + weight_size + Cout);
    T* const y = scratch.data();
    T* const dx = y + y_size;
    T* const dw = dx + dx_size;
    double ms[3];
    for (int c = 0; c < 3; ++c) {
      const ConvAlgorithm a = candidates[c];
      grow(a, precision);
      ms[c] = 1e300;
      for (int rep = 0; rep < 3; ++rep) {
        const auto start = std::chrono::steady_clock::now();
        run_forward<false, false>(a, x, y, y, n, {});
        if (grad) run_backward(a, x, y, dx, dw, dw + weight_size, n);
        const std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - start;
        if (rep > 0) ms[c] = std::min(ms[c], took.count());
      }
    }
    const int best = static_cast<int>(std::min_element(ms, ms + 3) - ms);
    Store::store(n, grad, candidates[best], precision);
    if (ctnn::detail::process_conv_notes().load())
      std::fprintf(stderr, "ctnn: Conv %zu->%zu 3x3 pad %zu on %zux%zu, batch %zu, %s%s: im2col %.2f ms, winograd_f2 %.2f ms, "
                   "winograd_f4 %.2f ms: %s\n", Cin, Cout, Pad, in_shape::height, in_shape::width, n,
                   grad ? "forward + backward" : "forward",
                   precision == Precision::bf16 ? ", im2col in bf16, Winograd in fp32" : "", ms[0], ms[1], ms[2],
                   conv_algorithm_name(candidates[best]));
    return candidates[best];
  }

  T* weight_ = nullptr;
  T* bias_ = nullptr;
  T* dweight_ = nullptr;
  T* dbias_ = nullptr;
  T zero_bias_[Bias ? 1 : Cout]{};
  T unused_dbias_[Bias ? 1 : Cout]{};
  AlignedBuffer<T> pool_stage_;  // forward_fused's unpooled output where the epilogue cannot pool
  AlignedBuffer<T> col_;
  AlignedBuffer<T> partial_;
  AlignedBuffer<T> wino_u_;
  ConvAlgorithm algorithm_ = ConvAlgorithm::automatic;
  ConvAlgorithm benchmarked_ = ConvAlgorithm::im2col;  // what the last benchmark-mode forward ran
  std::vector<kernels::ConvThreadPlans<T>> plans_;
};

template <std::size_t In, std::size_t Out, std::size_t K, std::size_t Stride = 1, std::size_t Pad = K / 2,
          std::size_t Groups = 1, bool Bias = true>
struct Conv {
  static_assert(In > 0 && Out > 0 && K > 0 && Stride > 0 && Groups > 0,
                "ctnn::Conv<In, Out, K, Stride, Pad, Groups>: In, Out, K, Stride and Groups must be positive");
  static_assert(In % Groups == 0 && Out % Groups == 0,
                "ctnn::Conv<In, Out, K, Stride, Pad, Groups>: In and Out must both be multiples of Groups");
  template <class T, class InShape, std::size_t Position>
  using bind = ConvLayer<T, InShape, In, Out, K, Stride, Pad, Groups, Bias, Position>;
};

template <std::size_t C, std::size_t K, std::size_t Stride = 1, std::size_t Pad = K / 2, bool Bias = true>
using DepthwiseConv = Conv<C, C, K, Stride, Pad, C, Bias>;

}  // namespace ctnn
