#pragma once
// A growable, 64-byte aligned array that never shrinks: once a workspace has reached the
// size a batch needs, later batches of that size or smaller allocate nothing.
// Buffers of 2 MiB or more are 2 MiB aligned, rounded up to whole 2 MiB pages and, on Linux,
// marked MADV_HUGEPAGE: with transparent huge pages in `madvise` mode (the common default) the
// activations and Winograd workspaces of a large batch, gigabytes in all, are then mapped with
// 2 MiB pages instead of 4 KiB ones -- far fewer page faults and TLB misses, the same values.
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace ctnn {

inline constexpr std::size_t kAlignment = 64;
inline constexpr std::size_t kHugePage = std::size_t{2} << 20;  // from this size on: huge pages

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
        capacity_(std::exchange(o.capacity_, 0)),
        huge_(std::exchange(o.huge_, false)) {}
  AlignedBuffer& operator=(AlignedBuffer&& o) noexcept {
    if (this != &o) {
      release();
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
      capacity_ = std::exchange(o.capacity_, 0);
      huge_ = std::exchange(o.huge_, false);
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
    const bool huge = n * sizeof(T) >= kHugePage;
    const std::size_t align = huge ? kHugePage : kAlignment;
    const std::size_t bytes = (n * sizeof(T) + align - 1) / align * align;
    T* fresh = static_cast<T*>(::operator new(bytes, std::align_val_t{align}));
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (huge) ::madvise(fresh, bytes, MADV_HUGEPAGE);  // advice only: without THP nothing changes
#endif
    if (size_) std::memcpy(static_cast<void*>(fresh), data_, size_ * sizeof(T));
    release_storage();
    data_ = fresh;
    huge_ = huge;
    capacity_ = bytes / sizeof(T);
  }
  void release_storage() {
    if (data_) ::operator delete(data_, std::align_val_t{huge_ ? kHugePage : kAlignment});
    data_ = nullptr;
    huge_ = false;
  }
  void release() {
    release_storage();
    size_ = capacity_ = 0;
  }

  T* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
  bool huge_ = false;  // allocated 2 MiB aligned (release with that alignment)
};

}  // namespace ctnn
