#pragma once
// A batch of samples of one compile-time shape.
//
// Layout: NCHW, row-major, contiguous. Chosen because (1) it is PyTorch's layout, so golden
// vectors and safetensors weights are used byte for byte with no transposition; (2) with
// im2col, conv forward for one sample is a single GEMM W[Cout, Cin*K*K] x col[Cin*K*K, H*W]
// whose result is already that sample's NCHW output; (3) per-channel work (BatchNorm,
// pooling) streams over contiguous H*W planes.
#include <cassert>
#include <cstddef>
#include <span>
#include <type_traits>

#include "ctnn/core/aligned_buffer.hpp"
#include "ctnn/core/shape.hpp"

namespace ctnn {

template <class S, class T = float>
class Tensor {
 public:
  using shape = S;
  using value_type = T;
  static constexpr std::size_t sample_size = S::size;

  Tensor() = default;
  explicit Tensor(std::size_t batch) { resize(batch); }

  // Growing allocates; shrinking or regrowing to an earlier size does not.
  void resize(std::size_t batch) {
    buffer_.resize(batch * sample_size);
    batch_ = batch;
  }

  std::size_t batch() const noexcept { return batch_; }
  std::size_t size() const noexcept { return batch_ * sample_size; }
  T* data() noexcept { return buffer_.data(); }
  const T* data() const noexcept { return buffer_.data(); }
  T* sample(std::size_t n) noexcept { return data() + n * sample_size; }
  const T* sample(std::size_t n) const noexcept { return data() + n * sample_size; }
  std::span<T> span() noexcept { return {data(), size()}; }
  std::span<const T> span() const noexcept { return {data(), size()}; }

  T& operator()(std::size_t n, std::size_t c, std::size_t h, std::size_t w) noexcept {
    return data()[((n * S::channels + c) * S::height + h) * S::width + w];
  }
  const T& operator()(std::size_t n, std::size_t c, std::size_t h, std::size_t w) const noexcept {
    return data()[((n * S::channels + c) * S::height + h) * S::width + w];
  }
  T& operator[](std::size_t i) noexcept { return data()[i]; }
  const T& operator[](std::size_t i) const noexcept { return data()[i]; }

  void zero() { buffer_.zero(); }

 private:
  AlignedBuffer<T> buffer_;
  std::size_t batch_ = 0;
};

// A non-owning view of a batch: what layers hand each other and what forward() returns.
template <class S, class T = const float>
struct TensorView {
  using shape = S;
  static constexpr std::size_t sample_size = S::size;
  T* ptr = nullptr;
  std::size_t n = 0;

  TensorView() = default;
  TensorView(T* p, std::size_t batch) : ptr(p), n(batch) {}
  template <class U>
    requires std::is_convertible_v<U*, T*>
  TensorView(Tensor<S, U>& t) : ptr(t.data()), n(t.batch()) {}
  template <class U>
    requires std::is_convertible_v<const U*, T*>
  TensorView(const Tensor<S, U>& t) : ptr(t.data()), n(t.batch()) {}
  template <class U>
    requires std::is_convertible_v<U*, T*>
  TensorView(TensorView<S, U> v) : ptr(v.ptr), n(v.n) {}

  T* data() const noexcept { return ptr; }
  std::size_t batch() const noexcept { return n; }
  std::size_t size() const noexcept { return n * sample_size; }
  T* sample(std::size_t i) const noexcept { return ptr + i * sample_size; }
  T& operator[](std::size_t i) const noexcept { return ptr[i]; }
  T& operator()(std::size_t b, std::size_t c, std::size_t h, std::size_t w) const noexcept {
    return ptr[((b * S::channels + c) * S::height + h) * S::width + w];
  }
  std::span<T> span() const noexcept { return {ptr, size()}; }
};

}  // namespace ctnn
