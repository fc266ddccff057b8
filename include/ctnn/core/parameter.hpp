#pragma once
// What optimizers and serializers see of a network: named views of its tensors.
#include <array>
#include <cstddef>
#include <string>
#include <vector>

namespace ctnn {

// Optimizer recipes treat these differently (e.g. no weight decay on norms and biases). The last
// two are buffers' roles: BatchNorm's running statistics, which serializers key on (a PyTorch
// BatchNorm also has num_batches_tracked beside its running_mean) instead of on the printed name.
enum class ParamKind { weight, bias, norm_weight, norm_bias, running_mean, running_var };

template <class T>
struct ParamRef {
  std::string name;             // PyTorch state_dict style: "<layer index>.<tensor>"
  ParamKind kind;
  T* value;
  T* grad;
  std::size_t size;
  std::vector<std::size_t> dims;  // PyTorch's shape for this tensor
};

// Non-trainable state saved with a model (BatchNorm running statistics).
template <class T>
struct BufferRef {
  std::string name;
  T* value;
  std::size_t size;
  std::vector<std::size_t> dims;
  ParamKind kind;  // running_mean, running_var, or norm_weight for a frozen BatchNorm weight
};

template <class T>
using Parameters = std::vector<ParamRef<T>>;

// A layer reports each of its tensors through this, without allocating per call.
struct TensorInfo {
  const char* name;
  ParamKind kind;
  std::size_t offset;  // into the layer's slice of the parameter (or buffer) arena
  std::size_t size;
  std::array<std::size_t, 4> dims;
  int ndim;
};

}  // namespace ctnn
