#pragma once
// In-memory data of your own, like torch.utils.data.TensorDataset(x, y): samples of one
// compile-time shape with int32 labels, which DataLoader batches, shuffles and prefetches like
// an ImageSet.
//
//   std::vector<float> x = ...;             // n * 3 * 8 * 8 floats, CHW per sample (NCHW)
//   std::vector<std::int32_t> y = ...;      // n labels
//   auto set = data::make_dataset<Shape<3, 8, 8>>(x, y, {"no", "yes"});    // TensorDataset
//   data::DataLoader loader(set, data::tensor_compose<Shape<3, 8, 8>>(data::RandomHorizontalFlip{}),
//                           {.batch_size = 64, .shuffle = true});
//
// make_dataset is keyed on the element type: float data gives a TensorDataset<S> (the
// transforms of data/tensor_transforms.hpp apply), uint8 data an ImageSet<S> (the image
// transforms of data/transforms.hpp: ToTensor, Resize, ...). Both are checked as the file
// readers check theirs: the value count must be labels x S::size, every label in
// 0 .. classes - 1, every float finite; a mismatch is a DataError saying which sample.
// Without class names the classes are "0" .. "max label".
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "ctnn/core/shape.hpp"
#include "ctnn/data/image_set.hpp"

namespace ctnn::data {

template <SampleShape S>
struct TensorDataset {
  using shape = S;
  using value_type = float;
  static constexpr std::size_t sample_size = S::size;

  std::vector<float> values;              // size() * S::size floats, CHW per sample
  std::vector<std::int32_t> labels;       // size() entries
  std::vector<std::string> class_names;   // label i is class_names[i]

  std::size_t size() const noexcept { return labels.size(); }
  bool empty() const noexcept { return labels.empty(); }
  std::size_t num_classes() const noexcept { return class_names.size(); }
  std::span<const float, S::size> sample(std::size_t i) const noexcept {
    return std::span<const float, S::size>(values.data() + i * S::size, S::size);
  }
  std::int32_t label(std::size_t i) const noexcept { return labels[i]; }
};

// The data set a DataLoader reads for samples of shape S stored as T.
template <SampleShape S, class T>
struct dataset_for;
template <SampleShape S>
struct dataset_for<S, std::uint8_t> {
  using type = ImageSet<S>;
};
template <SampleShape S>
struct dataset_for<S, float> {
  using type = TensorDataset<S>;
};
template <SampleShape S, class T>
using dataset_for_t = typename dataset_for<S, T>::type;

namespace detail {
template <SampleShape S>
const std::vector<std::uint8_t>& samples_of(const ImageSet<S>& s) noexcept {
  return s.pixels;
}
template <SampleShape S>
const std::vector<float>& samples_of(const TensorDataset<S>& s) noexcept {
  return s.values;
}
}  // namespace detail

// A checked copy of the caller's arrays (see the top of this file).
template <SampleShape S, class T>
  requires std::is_same_v<T, float> || std::is_same_v<T, std::uint8_t>
dataset_for_t<S, T> make_dataset(std::span<const T> values, std::span<const std::int32_t> labels,
                                 std::vector<std::string> class_names = {}) {
  const std::string where = "make_dataset<Shape<" + std::to_string(S::channels) + ", " + std::to_string(S::height) +
                            ", " + std::to_string(S::width) + ">>: ";
  if (values.size() != labels.size() * S::size)
    throw DataError(where + std::to_string(values.size()) + " values for " + std::to_string(labels.size()) +
                    " labels; expected labels x " + std::to_string(S::size) + " = " +
                    std::to_string(labels.size() * S::size));
  std::int32_t max_label = -1;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0 || (!class_names.empty() && static_cast<std::size_t>(labels[i]) >= class_names.size()))
      throw DataError(where + "sample " + std::to_string(i) + " has label " + std::to_string(labels[i]) +
                      (class_names.empty() ? std::string(", below 0")
                                           : ", outside 0.." + std::to_string(class_names.size() - 1) + " (" +
                                                 std::to_string(class_names.size()) + " class names)"));
    max_label = std::max(max_label, labels[i]);
  }
  if constexpr (std::is_same_v<T, float>)
    for (std::size_t k = 0; k < values.size(); ++k)
      if (!std::isfinite(values[k]))
        throw DataError(where + "sample " + std::to_string(k / S::size) + " holds a non-finite value (" +
                        std::to_string(values[k]) + ") at offset " + std::to_string(k % S::size));
  if (class_names.empty())
    for (std::int32_t c = 0; c <= max_label; ++c) class_names.push_back(std::to_string(c));
  dataset_for_t<S, T> out;
  if constexpr (std::is_same_v<T, float>) out.values.assign(values.begin(), values.end());
  else out.pixels.assign(values.begin(), values.end());
  out.labels.assign(labels.begin(), labels.end());
  out.class_names = std::move(class_names);
  return out;
}
template <SampleShape S, class T>
auto make_dataset(const std::vector<T>& values, const std::vector<std::int32_t>& labels,
                  std::vector<std::string> class_names = {}) {
  return make_dataset<S, T>(std::span<const T>(values), std::span<const std::int32_t>(labels), std::move(class_names));
}

}  // namespace ctnn::data
