// The compile-time-geometry im2col/col2im agree exactly with the run-time reference versions.
#include <doctest/doctest.h>

#include <vector>

#include <ctnn/core/random.hpp>
#include <ctnn/kernels/conv.hpp>

using namespace ctnn::kernels;

template <ConvGeometry G>
void expect_same_transforms() {
  ctnn::Rng rng(G.cin * 31 + G.k);
  std::vector<float> x(G.in_size()), ref_col(G.col_size()), col(G.col_size()), ref_dx(G.in_size()), dx(G.in_size());
  for (auto& v : x) v = static_cast<float>(rng.normal());
  im2col(x.data(), G, ref_col.data());
  im2col<G>(x.data(), col.data());
  CHECK(col == ref_col);
  for (auto& v : ref_col) v = static_cast<float>(rng.normal());
  col2im(ref_col.data(), G, ref_dx.data());
  col2im<G>(ref_col.data(), dx.data());
  CHECK(dx == ref_dx);
}

TEST_CASE("kernels: im2col and col2im with fixed geometry match the reference, all strides and paddings") {
  expect_same_transforms<ConvGeometry{16, 32, 5, 1, 2, 16, 16, 16, 16}>();
  expect_same_transforms<ConvGeometry{3, 16, 5, 1, 2, 32, 32, 32, 32}>();
  expect_same_transforms<ConvGeometry{2, 5, 5, 2, 0, 11, 10, 4, 3}>();
  expect_same_transforms<ConvGeometry{5, 4, 4, 2, 1, 10, 10, 5, 5}>();
  expect_same_transforms<ConvGeometry{3, 6, 3, 2, 1, 9, 9, 5, 5}>();
  expect_same_transforms<ConvGeometry{4, 4, 3, 1, 0, 7, 5, 5, 3}>();
  // A plane too large for the stack copy takes the run-time path.
  expect_same_transforms<ConvGeometry{1, 1, 3, 1, 1, 130, 130, 130, 130}>();
}
