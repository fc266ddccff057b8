#pragma once
// Data-parallel sharding: which part of every batch a process trains on. With N processes
// (ctnn/mpi/), each batch of the one-process order is cut into N consecutive slices, process r
// taking slice r, so the N processes together see the same images in the same steps as one
// process does (DataLoader's LoaderOptions::shard).
#include <algorithm>
#include <cstddef>
#include <stdexcept>
#include <string>

namespace ctnn::data {

struct Shard {
  std::size_t rank = 0;   // this process, 0 .. count-1
  std::size_t count = 1;  // processes sharing every batch
};

struct Slice {
  std::size_t begin = 0;  // the first image of the batch that is this process's
  std::size_t size = 0;
};

// The slice of a batch of n images that shard.rank trains on: n / count each, the first
// n % count processes one more (a full batch divides evenly: check_global_batch).
inline Slice shard_slice(std::size_t n, const Shard& shard) {
  const std::size_t base = n / shard.count, extra = n % shard.count;
  return {shard.rank * base + std::min(shard.rank, extra), base + (shard.rank < extra ? 1 : 0)};
}

// A shard is valid and the global batch size divides by its count; else an error saying so.
inline void check_global_batch(std::size_t batch_size, const Shard& shard) {
  if (shard.count == 0 || shard.rank >= shard.count)
    throw std::invalid_argument("ctnn::data::Shard: rank " + std::to_string(shard.rank) + " is not below count " +
                                std::to_string(shard.count));
  if (batch_size % shard.count != 0)
    throw std::invalid_argument("ctnn: the global batch size " + std::to_string(batch_size) +
                                " does not divide by the " + std::to_string(shard.count) +
                                " processes (each trains on batch size / processes images of every batch); "
                                "choose a batch size that is a multiple of the process count");
}

}  // namespace ctnn::data
