#pragma once
// Mini-batches of an ImageSet (or of a TensorDataset, data/tensor_dataset.hpp, through a
// TensorCompose, data/tensor_transforms.hpp) through a transform, like torch.utils.data.DataLoader.
//
//   auto train = data::load_cifar10(dir, data::Split::train);
//   auto tf = data::compose<data::Cifar10Shape>(data::RandomCrop<32, 32, 4>{},
//                                               data::RandomHorizontalFlip{}, data::ToTensor{},
//                                               data::kCifar10Normalize);
//   data::DataLoader loader(train, tf, {.batch_size = 128, .shuffle = true, .seed = 1});
//   for (std::uint64_t e = 0; e < epochs; ++e)
//     for (auto& batch : loader.epoch(e)) {
//       batch.images;   // ctnn::Tensor<Shape<3, 32, 32>, float>, batch.size() samples
//       batch.labels;   // std::span<const std::int32_t>, batch.size() labels
//     }
//
// Reproducible and resumable: epoch e's order is a Fisher-Yates shuffle seeded from (seed, e)
// only, and a random transform gets, for each image, an Rng seeded from (seed, e, image index)
// and a SampleInfo{e, image_seed(index)} (for AlternatingFlip), so epoch 7 is the same whether
// or not epochs 0..6 ran before it, whatever the batch size, and with or without prefetching.
//
// Double buffering: with prefetch (the default), a background thread prepares batch b + 1
// while the caller works on batch b. A batch (and the reference the loop gives you) stays
// valid until the loop advances. All buffers are allocated when the loader is built; in steady
// state no batch allocates.
//
// The ImageSet must outlive the loader, and an Epoch must not outlive its loader. One epoch
// at a time per loader (starting a second while the first is alive throws std::logic_error).
#include <algorithm>
#include <array>
#include <condition_variable>
#include <cstddef>
#include <concepts>
#include <cstdint>
#include <exception>
#include <string>
#include <iterator>
#include <mutex>
#include <numeric>
#include <span>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "ctnn/core/random.hpp"
#include "ctnn/core/shape.hpp"
#include "ctnn/core/tensor.hpp"
#include "ctnn/data/image_set.hpp"
#include "ctnn/data/shard.hpp"
#include "ctnn/data/tensor_dataset.hpp"
#include "ctnn/data/transforms.hpp"

namespace ctnn::data {

// The element type a transform reads: T::input_value_type (float for TensorCompose, whose
// loader reads a TensorDataset), else uint8 (an ImageSet's pixels).
namespace detail {
template <class T>
struct input_value {
  using type = std::uint8_t;
};
template <class T>
  requires requires { typename T::input_value_type; }
struct input_value<T> {
  using type = typename T::input_value_type;
};
}  // namespace detail
template <class T>
using input_value_t = typename detail::input_value<T>::type;

// What a DataLoader needs from a transform (ctnn::data::Compose and TensorCompose are): the
// input and output sample shapes, and a const call turning one input sample (uint8 image, or
// floats with input_value_type = float) into output_shape::size floats, t(src, dst, rng) or
// t(src, dst, rng, SampleInfo) (preferred when both exist, for transforms scheduled by epoch
// such as AlternatingFlip).
template <class T>
concept SampleTransform = requires(const T& t, const input_value_t<T>* src, float* dst, Rng& rng, const SampleInfo& info) {
  typename T::input_shape;
  typename T::output_shape;
  requires SampleShape<typename T::input_shape>;
  requires SampleShape<typename T::output_shape>;
  requires requires { t(src, dst, rng, info); } || requires { t(src, dst, rng); };
};

struct LoaderOptions {
  std::size_t batch_size = 32;
  bool shuffle = false;     // as in PyTorch, off unless asked for
  bool drop_last = false;   // drop the last batch if it is smaller than batch_size
  std::uint64_t seed = 0;   // shuffling and random transforms
  bool prefetch = true;     // prepare the next batch in a background thread
  // Data-parallel training (data/shard.hpp): this process's slice of every batch, batch_size
  // being the global batch. Order and augmentation are those of the one-process loader.
  Shard shard{};
};

template <SampleShape S>
struct Batch {
  Tensor<S, float> images;                // size() samples
  std::span<const std::int32_t> labels;   // size() labels, labels[i] belongs to images.sample(i)
  std::span<const std::size_t> indices;   // the images' indices in the ImageSet
  std::uint64_t epoch = 0;
  std::size_t number = 0;                 // 0-based batch number within the epoch
  std::size_t global_size = 0;            // images of the whole batch over every shard (size() unless sharded)

  std::size_t size() const noexcept { return images.batch(); }
};

namespace detail {
inline std::uint64_t mix64(std::uint64_t z) noexcept {  // splitmix64's finaliser
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
inline constexpr std::uint64_t kShuffleDomain = 0x53687566666C6521ull;  // separate streams for
inline constexpr std::uint64_t kSampleDomain = 0x53616D706C652121ull;   // order and augmentation
inline constexpr std::uint64_t kImageDomain = 0x496D616765212121ull;    // and per-image, all epochs
}  // namespace detail

template <SampleTransform Transform>
class DataLoader {
 public:
  using transform_type = Transform;
  using input_shape = typename Transform::input_shape;
  using input_value_type = input_value_t<Transform>;
  // ImageSet<input_shape> for uint8 transforms, TensorDataset<input_shape> for float ones.
  using dataset_type = dataset_for_t<input_shape, input_value_type>;
  using shape = typename Transform::output_shape;
  using batch_type = Batch<shape>;

  DataLoader(const dataset_type& set, Transform transform, LoaderOptions options = {})
      : set_(&set), transform_(std::move(transform)), opt_(options), order_(set.size()) {
    if (opt_.batch_size == 0) throw std::invalid_argument("ctnn::data::DataLoader: batch_size must be positive");
    if (detail::samples_of(set).size() != set.size() * input_shape::size)
      throw std::invalid_argument("ctnn::data::DataLoader: the data set holds " +
                                  std::to_string(detail::samples_of(set).size()) + " values for " +
                                  std::to_string(set.size()) + " labels (expected " +
                                  std::to_string(set.size() * input_shape::size) + ")");
    check_global_batch(opt_.batch_size, opt_.shard);
    if (const std::size_t last = set.size() % opt_.batch_size; !opt_.drop_last && last != 0 && last < opt_.shard.count)
      throw std::invalid_argument("ctnn::data::DataLoader: the last batch holds " + std::to_string(last) +
                                  " images, fewer than the " + std::to_string(opt_.shard.count) +
                                  " processes sharing it; set drop_last or another batch size");
    const std::size_t global_cap = std::min(opt_.batch_size, std::max<std::size_t>(set.size(), 1));
    const std::size_t cap = (global_cap + opt_.shard.count - 1) / opt_.shard.count;
    for (auto& s : slots_) {
      s.batch.images.resize(cap);
      s.labels.reserve(cap);
      s.indices.reserve(cap);
    }
  }
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;
  ~DataLoader() {
    if (worker_.joinable()) {
      {
        std::lock_guard lk(m_);
        stop_ = true;
      }
      cv_.notify_all();
      worker_.join();
    }
  }

  // Batches per epoch (len(loader) in PyTorch).
  std::size_t size() const noexcept {
    const std::size_t n = set_->size(), b = opt_.batch_size;
    return opt_.drop_last ? n / b : (n + b - 1) / b;
  }
  std::size_t batch_size() const noexcept { return opt_.batch_size; }
  const LoaderOptions& options() const noexcept { return opt_; }
  const dataset_type& dataset() const noexcept { return *set_; }
  const Transform& transform() const noexcept { return transform_; }

  // The order in which epoch `e` visits the images (identity without shuffle).
  void order(std::uint64_t e, std::span<std::size_t> out) const {
    if (out.size() != set_->size())
      throw std::invalid_argument("ctnn::data::DataLoader::order: span size differs from the dataset size");
    std::iota(out.begin(), out.end(), std::size_t{0});
    if (!opt_.shuffle || out.size() < 2) return;
    Rng rng(detail::mix64(opt_.seed ^ detail::mix64(e ^ detail::kShuffleDomain)));
    for (std::size_t i = out.size() - 1; i > 0; --i) std::swap(out[i], out[rng.below(i + 1)]);
  }
  std::vector<std::size_t> order(std::uint64_t e) const {
    std::vector<std::size_t> v(set_->size());
    order(e, v);
    return v;
  }

  // The seed of the Rng a random transform gets for image `index` in epoch `e`.
  std::uint64_t sample_seed(std::uint64_t e, std::size_t index) const noexcept {
    return detail::mix64(detail::mix64(opt_.seed ^ detail::kSampleDomain) ^
                         detail::mix64(e ^ detail::mix64(index)));
  }

  // SampleInfo::image_seed of image `index`: the same in every epoch (AlternatingFlip's coin).
  std::uint64_t image_seed(std::size_t index) const noexcept {
    return detail::mix64(detail::mix64(opt_.seed ^ detail::kImageDomain) ^ detail::mix64(index));
  }

  class Epoch;
  // One pass over the data: `for (auto& batch : loader.epoch(e))`.
  Epoch epoch(std::uint64_t e) { return Epoch(*this, e); }

  class Epoch {
   public:
    class iterator {
     public:
      using value_type = batch_type;
      using difference_type = std::ptrdiff_t;
      iterator() = default;
      batch_type& operator*() const { return *current_; }
      batch_type* operator->() const { return current_; }
      iterator& operator++() {
        current_ = ep_->advance();
        return *this;
      }
      void operator++(int) { ++*this; }
      bool operator==(std::default_sentinel_t) const noexcept { return current_ == nullptr; }

     private:
      friend class Epoch;
      explicit iterator(Epoch* ep, batch_type* b) : ep_(ep), current_(b) {}
      Epoch* ep_ = nullptr;
      batch_type* current_ = nullptr;
    };

    Epoch(const Epoch&) = delete;
    Epoch& operator=(const Epoch&) = delete;
    ~Epoch() { loader_.end_epoch(); }

    // Starts the pass (waits for the first batch). Call once.
    iterator begin() {
      if (started_) throw std::logic_error("ctnn::data::DataLoader::Epoch::begin() called twice");
      started_ = true;
      return iterator(this, num_batches_ ? loader_.acquire(0) : nullptr);
    }
    std::default_sentinel_t end() const noexcept { return {}; }
    std::size_t size() const noexcept { return num_batches_; }
    std::uint64_t index() const noexcept { return epoch_; }

   private:
    friend class DataLoader;
    Epoch(DataLoader& loader, std::uint64_t e) : loader_(loader), epoch_(e), num_batches_(loader.size()) {
      loader_.begin_epoch(e);
    }
    batch_type* advance() {
      loader_.release(current_);
      if (++current_ >= num_batches_) return nullptr;
      return loader_.acquire(current_);
    }
    DataLoader& loader_;
    std::uint64_t epoch_;
    std::size_t num_batches_;
    std::size_t current_ = 0;
    bool started_ = false;
  };

 private:
  // Transforms that say `static constexpr bool random = false` skip the per-image reseeding.
  static constexpr bool kRandom = [] {
    if constexpr (requires { { Transform::random } -> std::convertible_to<bool>; }) return bool(Transform::random);
    else return true;
  }();
  static constexpr bool kTakesInfo = requires(const Transform& t, const input_value_type* src, float* dst, Rng& rng,
                                              const SampleInfo& info) { t(src, dst, rng, info); };

  struct Slot {
    batch_type batch;
    std::vector<std::int32_t> labels;
    std::vector<std::size_t> indices;
  };

  void fill(std::uint64_t e, std::span<const std::size_t> ord, std::size_t b, batch_type& out,
            std::vector<std::int32_t>& labels, std::vector<std::size_t>& indices) const {
    const std::size_t global = std::min(opt_.batch_size, ord.size() - b * opt_.batch_size);
    const Slice slice = shard_slice(global, opt_.shard);
    const std::size_t first = b * opt_.batch_size + slice.begin, n = slice.size;
    out.images.resize(n);
    labels.resize(n);
    indices.resize(n);
    Rng rng(0);  // reseeded per image, so results don't depend on which thread made the batch
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t idx = ord[first + i];
      indices[i] = idx;
      labels[i] = set_->labels[idx];
      if constexpr (kRandom) rng.reseed(sample_seed(e, idx));
      const input_value_type* src = detail::samples_of(*set_).data() + idx * input_shape::size;
      if constexpr (kTakesInfo) transform_(src, out.images.sample(i), rng, SampleInfo{e, image_seed(idx)});
      else transform_(src, out.images.sample(i), rng);
    }
    out.labels = std::span<const std::int32_t>(labels.data(), n);
    out.indices = std::span<const std::size_t>(indices.data(), n);
    out.epoch = e;
    out.number = b;
    out.global_size = global;
  }
  void fill_slot(std::size_t b, Slot& s) { fill(epoch_, order_, b, s.batch, s.labels, s.indices); }

  void begin_epoch(std::uint64_t e) {
    std::unique_lock lk(m_);
    if (in_epoch_)
      throw std::logic_error("ctnn::data::DataLoader: an epoch is already running on this loader "
                             "(finish or destroy it before starting another)");
    in_epoch_ = true;
    lk.unlock();
    // The worker is idle here (not active, not busy), so order_ and epoch_ are ours.
    epoch_ = e;
    order(e, order_);
    if (!opt_.prefetch) return;
    if (!worker_.joinable()) {
      try {
        worker_ = std::thread([this] { work(); });
      } catch (...) {
        lk.lock();
        in_epoch_ = false;
        throw;
      }
    }
    lk.lock();
    prepared_ = released_ = 0;
    num_batches_ = size();
    error_ = nullptr;
    active_ = true;
    lk.unlock();
    cv_.notify_all();
  }

  void end_epoch() {
    std::unique_lock lk(m_);
    active_ = false;
    cv_.wait(lk, [&] { return !busy_; });
    in_epoch_ = false;
  }

  batch_type* acquire(std::size_t b) {
    if (!opt_.prefetch) {
      fill_slot(b, slots_[0]);
      return &slots_[0].batch;
    }
    std::unique_lock lk(m_);
    cv_.wait(lk, [&] { return prepared_ > b || error_; });
    if (error_) std::rethrow_exception(error_);
    return &slots_[b % 2].batch;
  }

  void release(std::size_t b) {
    if (!opt_.prefetch) return;
    {
      std::lock_guard lk(m_);
      released_ = b + 1;
    }
    cv_.notify_all();
  }

  void work() {
    std::unique_lock lk(m_);
    for (;;) {
      cv_.wait(lk, [&] {
        return stop_ || (active_ && !error_ && prepared_ < num_batches_ && prepared_ < released_ + 2);
      });
      if (stop_) return;
      const std::size_t b = prepared_;
      busy_ = true;
      lk.unlock();
      std::exception_ptr err;
      try {
        fill_slot(b, slots_[b % 2]);
      } catch (...) {
        err = std::current_exception();
      }
      lk.lock();
      busy_ = false;
      if (err) error_ = err;
      else prepared_ = b + 1;
      cv_.notify_all();
    }
  }

  const dataset_type* set_;
  Transform transform_;
  LoaderOptions opt_;
  std::vector<std::size_t> order_;
  std::uint64_t epoch_ = 0;
  std::array<Slot, 2> slots_;

  // Shared with the worker, guarded by m_.
  std::mutex m_;
  std::condition_variable cv_;
  std::thread worker_;
  bool in_epoch_ = false;
  bool active_ = false;
  bool busy_ = false;
  bool stop_ = false;
  std::size_t prepared_ = 0;     // batches 0 .. prepared_-1 of this epoch are ready
  std::size_t released_ = 0;     // the caller is done with batches 0 .. released_-1
  std::size_t num_batches_ = 0;
  std::exception_ptr error_;
};

template <SampleTransform Transform, SampleShape S>
DataLoader(const ImageSet<S>&, Transform, LoaderOptions = {}) -> DataLoader<Transform>;
template <SampleTransform Transform, SampleShape S>
DataLoader(const TensorDataset<S>&, Transform, LoaderOptions = {}) -> DataLoader<Transform>;

}  // namespace ctnn::data
