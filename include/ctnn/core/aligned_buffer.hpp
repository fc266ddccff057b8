#pragma once
// A growable, 64-byte aligned array that never shrinks: once a workspace has reached the
// size a batch needs, later batches of that size or smaller allocate nothing.
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

namespace ctnn {

inline constexpr std::size_t kAlignment = 64;

template <class T>
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(std::size_t n) { resize(n); }
  AlignedBuffer(const AlignedBuffer& o) { assign(o.data_, o.size_); }
  AlignedBuffer& operator=(const AlignedBuffer& o) {
    if (this != &o) assign(o.data_, o.size_);
    return *this;
  }
  AlignedBuffer(AlignedBuffer&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)),
        size_(std::exchange(o.size_, 0)),
        capacity_(std::exchange(o.capacity_, 0)) {}
  AlignedBuffer& operator=(AlignedBuffer&& o) noexcept {
    if (this != &o) {
      release();
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
      capacity_ = std::exchange(o.capacity_, 0);
    }
    return *this;
  }
  ~AlignedBuffer() { release(); }

  // New elements are zero; existing contents are kept.
  void resize(std::size_t n) {
    if (n > capacity_) grow(n);
    if (n > size_) std::memset(static_cast<void*>(data_ + size_), 0, (n - size_) * sizeof(T));
    size_ = n;
  }
  void zero() {
    if (size_) std::memset(static_cast<void*>(data_), 0, size_ * sizeof(T));
  }

  T* data() noexcept { return data_; }
  const T* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return capacity_; }
  T& operator[](std::size_t i) noexcept { return data_[i]; }
  const T& operator[](std::size_t i) const noexcept { return data_[i]; }
  T* begin() noexcept { return data_; }
  T* end() noexcept { return data_ + size_; }
  const T* begin() const noexcept { return data_; }
  const T* end() const noexcept { return data_ + size_; }

 private:
  void assign(const T* src, std::size_t n) {
    size_ = 0;
    resize(n);
    if (n) std::memcpy(static_cast<void*>(data_), src, n * sizeof(T));
  }
  void grow(std::size_t n) {
    std::size_t bytes = (n * sizeof(T) + kAlignment - 1) / kAlignment * kAlignment;
    T* fresh = static_cast<T*>(::operator new(bytes, std::align_val_t{kAlignment}));
    if (size_) std::memcpy(static_cast<void*>(fresh), data_, size_ * sizeof(T));
    release_storage();
    data_ = fresh;
    capacity_ = bytes / sizeof(T);
  }
  void release_storage() {
    if (data_) ::operator delete(data_, std::align_val_t{kAlignment});
    data_ = nullptr;
  }
  void release() {
    release_storage();
    size_ = capacity_ = 0;
  }

  T* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

}  // namespace ctnn
