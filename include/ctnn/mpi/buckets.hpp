#pragma once
// Gradient buckets for data-parallel training: the network's gradient arena cut at layer
// boundaries into consecutive ranges of about `bucket_bytes`, in reverse layer order (the order
// in which backward finishes them), as PyTorch's DistributedDataParallel does (25 MB buckets
// there; bench/mpi_allreduce.cpp measures the size that pays here). A bucket can be reduced as
// soon as the backward has passed its first layer. Plain arithmetic: no MPI in this header.
#include <cstddef>
#include <vector>

namespace ctnn::mpi {

struct Bucket {
  std::size_t begin, end;  // [begin, end) in the gradient arena (elements)
};

// param_offsets: a network's Net::param_offsets (layer i owns [offsets[i], offsets[i + 1])).
// Buckets come last layer first; each is whole layers, closed once it holds bucket_bytes or
// more; a layer larger than bucket_bytes is a bucket of its own. bucket_bytes 0: one per layer.
template <class Offsets>
std::vector<Bucket> plan_buckets(const Offsets& param_offsets, std::size_t bucket_bytes, std::size_t scalar_bytes) {
  std::vector<Bucket> out;
  const std::size_t layers = param_offsets.size() - 1;
  std::size_t end = param_offsets[layers];
  for (std::size_t i = layers; i-- > 0;) {
    const std::size_t begin = param_offsets[i];
    if (begin == end) continue;
    if ((end - begin) * scalar_bytes >= bucket_bytes) {
      out.push_back({begin, end});
      end = begin;
    }
  }
  if (end > param_offsets[0]) out.push_back({param_offsets[0], end});  // the first layers, under bucket_bytes
  return out;
}

}  // namespace ctnn::mpi
