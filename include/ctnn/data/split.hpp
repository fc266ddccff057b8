#pragma once
// A deterministic, seeded train / validation split of a labelled set, stratified by class.
//
//   auto parts = ctnn::data::train_val_split(folder.set, 0.1, /*seed=*/1);
//   parts.train, parts.val;                  // ImageSet<S> (or TensorDataset<S>), same class_names
//   parts.train_indices[i], parts.val_indices[j];  // where each image came from in the input
//
// Each class is split on its own: of its n images, round(fraction * n) (at least 1, at most
// n - 1, when n >= 2; a class of one image stays in train) go to validation, chosen by a
// Fisher-Yates shuffle seeded from (seed, class). Both parts keep the input's order. So the
// class proportions are the same in both parts (unlike torch.utils.data.random_split, which is
// not stratified), and the split depends on the seed and the labels only: the same folder
// and seed give the same split on any machine and thread count.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "ctnn/core/random.hpp"

namespace ctnn::data {

template <class Set>
struct SplitSets {
  Set train, val;
  std::vector<std::size_t> train_indices, val_indices;
};

namespace detail {

// The samples `which` of `set`, in that order (any set with pixels or values, labels and class_names).
template <class Set>
Set subset(const Set& set, const std::vector<std::size_t>& which) {
  Set out;
  out.class_names = set.class_names;
  auto& dst = [&]() -> auto& {
    if constexpr (requires { out.pixels; }) return out.pixels;
    else return out.values;
  }();
  const auto& src = [&]() -> const auto& {
    if constexpr (requires { set.pixels; }) return set.pixels;
    else return set.values;
  }();
  constexpr std::size_t n = Set::shape::size;
  dst.resize(which.size() * n);
  out.labels.resize(which.size());
  for (std::size_t i = 0; i < which.size(); ++i) {
    std::copy_n(src.begin() + static_cast<std::ptrdiff_t>(which[i] * n), n, dst.begin() + static_cast<std::ptrdiff_t>(i * n));
    out.labels[i] = set.labels[which[i]];
  }
  return out;
}

}  // namespace detail

template <class Set>
SplitSets<Set> train_val_split(const Set& set, double val_fraction, std::uint64_t seed) {
  if (!(val_fraction > 0.0 && val_fraction < 1.0))
    throw std::invalid_argument("ctnn::data::train_val_split: the validation fraction must be in (0, 1), got " +
                                std::to_string(val_fraction));
  const std::size_t classes = set.class_names.size();
  std::vector<std::vector<std::size_t>> members(classes);
  for (std::size_t i = 0; i < set.labels.size(); ++i) {
    const auto l = set.labels[i];
    if (l < 0 || static_cast<std::size_t>(l) >= classes)
      throw std::invalid_argument("ctnn::data::train_val_split: sample " + std::to_string(i) + " has label " +
                                  std::to_string(l) + ", outside 0.." + std::to_string(classes) + " - 1");
    members[static_cast<std::size_t>(l)].push_back(i);
  }
  std::vector<char> to_val(set.labels.size(), 0);
  for (std::size_t c = 0; c < classes; ++c) {
    auto& m = members[c];
    if (m.size() < 2) continue;
    const auto want = static_cast<std::size_t>(std::llround(val_fraction * static_cast<double>(m.size())));
    const std::size_t k = std::clamp<std::size_t>(want, 1, m.size() - 1);
    Rng rng(seed * 0x9E3779B97F4A7C15ull + c + 1);
    for (std::size_t i = m.size() - 1; i > 0; --i) std::swap(m[i], m[rng.below(i + 1)]);
    for (std::size_t i = 0; i < k; ++i) to_val[m[i]] = 1;
  }
  SplitSets<Set> out;
  for (std::size_t i = 0; i < to_val.size(); ++i) (to_val[i] ? out.val_indices : out.train_indices).push_back(i);
  out.train = detail::subset(set, out.train_indices);
  out.val = detail::subset(set, out.val_indices);
  return out;
}

}  // namespace ctnn::data
