#pragma once
// A confusion matrix over a run-time number of classes, filled from a network's outputs.
//
//   ctnn::train::ConfusionMatrix cm(test_set.class_names);
//   net.eval();
//   for (auto& batch : test_loader.epoch(0)) cm.add(net.forward(batch.images), batch.labels);
//   cm.accuracy();          // overall, in [0, 1]
//   cm.recall(3);           // per-class accuracy: of the class-3 samples, the share predicted 3
//   std::cout << cm.table();
//
// Rows are the true class, columns the predicted one. A prediction is the arg-max of a row of
// logits, the first one on ties (as CrossEntropyLoss::correct() counts them), so accuracy()
// equals the loss's accuracy over the same batches. Softmax is monotonic, so logits and
// probabilities give the same matrix.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "ctnn/core/tensor.hpp"
#include "ctnn/layers/no_grad.hpp"

namespace ctnn::train {

// The class a row of k logits predicts: its arg-max, the first one on ties (as
// CrossEntropyLoss::correct() counts them).
template <class T>
std::size_t predicted_class(const T* z, std::size_t k) {
  return static_cast<std::size_t>(std::max_element(z, z + k) - z);
}

class ConfusionMatrix {
 public:
  // Classes named "0", "1", ...
  explicit ConfusionMatrix(std::size_t num_classes) : k_(num_classes), counts_(num_classes * num_classes, 0) {
    if (num_classes == 0) throw std::invalid_argument("ConfusionMatrix: num_classes must be positive");
    for (std::size_t c = 0; c < k_; ++c) names_.push_back(std::to_string(c));
  }
  explicit ConfusionMatrix(std::vector<std::string> class_names) : ConfusionMatrix(class_names.size()) {
    names_ = std::move(class_names);
  }

  std::size_t num_classes() const noexcept { return k_; }
  const std::vector<std::string>& class_names() const noexcept { return names_; }

  // One sample.
  void add(std::size_t truth, std::size_t predicted) {
    if (truth >= k_ || predicted >= k_)
      throw std::invalid_argument("ConfusionMatrix::add: class " + std::to_string(std::max(truth, predicted)) +
                                  " is outside 0.." + std::to_string(k_ - 1));
    ++counts_[truth * k_ + predicted];
  }

  // A batch of logits [N, num_classes] (any shape whose size is num_classes) and N labels.
  // Checks everything before counting anything.
  template <class S, class T>
  void add(TensorView<S, T> logits, std::span<const std::int32_t> labels) {
    if (S::size != k_)
      throw std::invalid_argument("ConfusionMatrix::add: the network gives " + std::to_string(S::size) +
                                  " outputs per sample, the matrix has " + std::to_string(k_) + " classes");
    if (labels.size() != logits.batch())
      throw std::invalid_argument("ConfusionMatrix::add: " + std::to_string(logits.batch()) + " rows of logits but " +
                                  std::to_string(labels.size()) + " labels");
    for (std::size_t i = 0; i < labels.size(); ++i)
      if (labels[i] < 0 || static_cast<std::size_t>(labels[i]) >= k_)
        throw std::invalid_argument("ConfusionMatrix::add: label " + std::to_string(labels[i]) + " (sample " +
                                    std::to_string(i) + ") is outside 0.." + std::to_string(k_ - 1));
    for (std::size_t i = 0; i < labels.size(); ++i) {
      ++counts_[static_cast<std::size_t>(labels[i]) * k_ + predicted_class(logits.sample(i), k_)];
    }
  }
  template <class S, class U>
  void add(const Tensor<S, U>& logits, std::span<const std::int32_t> labels) {
    add(TensorView<S, const U>(logits), labels);
  }

  void reset() { std::fill(counts_.begin(), counts_.end(), std::size_t{0}); }

  // Samples of class `truth` predicted as `predicted`.
  std::size_t count(std::size_t truth, std::size_t predicted) const { return counts_.at(truth * k_ + predicted); }
  std::size_t total() const {
    std::size_t n = 0;
    for (std::size_t v : counts_) n += v;
    return n;
  }
  std::size_t correct() const {
    std::size_t n = 0;
    for (std::size_t c = 0; c < k_; ++c) n += counts_[c * k_ + c];
    return n;
  }
  std::size_t support(std::size_t truth) const {  // samples whose true class is `truth`
    std::size_t n = 0;
    for (std::size_t p = 0; p < k_; ++p) n += counts_.at(truth * k_ + p);
    return n;
  }
  std::size_t predicted(std::size_t cls) const {  // samples predicted as `cls`
    std::size_t n = 0;
    for (std::size_t t = 0; t < k_; ++t) n += counts_.at(t * k_ + cls);
    return n;
  }

  // Overall accuracy in [0, 1] (0 with no samples).
  double accuracy() const { return ratio(correct(), total()); }
  // Per-class accuracy (recall): of the samples of class c, the share predicted c; 0 if none.
  double recall(std::size_t c) const { return ratio(count(c, c), support(c)); }
  // Of the samples predicted c, the share that are c; 0 if none.
  double precision(std::size_t c) const { return ratio(count(c, c), predicted(c)); }
  std::vector<double> per_class_accuracy() const {
    std::vector<double> r(k_);
    for (std::size_t c = 0; c < k_; ++c) r[c] = recall(c);
    return r;
  }
  // The mean of the per-class accuracies (balanced accuracy): what a skewed set's overall
  // accuracy hides, e.g. FER2013's rare "disgust".
  double mean_class_accuracy() const {
    double s = 0;
    for (std::size_t c = 0; c < k_; ++c) s += recall(c);
    return s / static_cast<double>(k_);
  }

  // The matrix with class names, each row's count and recall, then each column's precision:
  //
  //   true \ predicted   angry disgust  ...   total  accuracy
  //   angry                310       2  ...     466    66.52%
  //   ...
  //   precision         58.94%  60.00%  ...
  //   overall accuracy 64.12% (4586 of 7152), mean per-class accuracy 58.31%
  std::string table() const {
    std::size_t name_w = std::string("true \\ predicted").size();
    for (const auto& n : names_) name_w = std::max(name_w, n.size());
    std::size_t col_w = 7;  // fits "100.00%" and counts up to 9,999,999
    for (const auto& n : names_) col_w = std::max(col_w, n.size());
    std::string s;
    auto cell = [&](const std::string& v, std::size_t w) {
      s += std::string(w > v.size() ? w - v.size() : 0, ' ') + v;
    };
    auto pct = [](double v) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.2f%%", 100 * v);
      return std::string(buf);
    };
    s += "true \\ predicted" + std::string(name_w - 16, ' ');
    for (const auto& n : names_) cell(n, col_w + 1);
    cell("total", 9);
    cell("accuracy", 10);
    s += "\n";
    for (std::size_t t = 0; t < k_; ++t) {
      s += names_[t] + std::string(name_w - names_[t].size(), ' ');
      for (std::size_t p = 0; p < k_; ++p) cell(std::to_string(counts_[t * k_ + p]), col_w + 1);
      cell(std::to_string(support(t)), 9);
      cell(pct(recall(t)), 10);
      s += "\n";
    }
    s += "precision" + std::string(name_w - 9, ' ');
    for (std::size_t p = 0; p < k_; ++p) cell(pct(precision(p)), col_w + 1);
    s += "\noverall accuracy " + pct(accuracy()) + " (" + std::to_string(correct()) + " of " +
         std::to_string(total()) + "), mean per-class accuracy " + pct(mean_class_accuracy()) + "\n";
    return s;
  }

 private:
  static double ratio(std::size_t a, std::size_t b) {
    return b ? static_cast<double>(a) / static_cast<double>(b) : 0.0;
  }

  std::size_t k_;
  std::vector<std::size_t> counts_;  // [truth][predicted]
  std::vector<std::string> names_;
};

// Eval-mode pass over a loader that calls record(truth, predicted, index) for every sample: its
// label, the arg-max of its row of logits(images) (the first on ties, as ConfusionMatrix::add)
// and its index in the loader's data set, so that a caller can split the counts by any property
// of the sample (FER2013's PublicTest and PrivateTest parts, say). `logits` is net.forward or a
// TestTimeAugmentation's logits. A record that takes a fourth argument also gets the sample's
// row in its batch, to read other logits of the same batch (a TestTimeAugmentation's
// plain_logits(), say). A label outside 0..outputs-1 throws before its batch is recorded. Leaves
// the network in eval mode.
template <class Net, class Loader, class Logits, class Record>
void for_each_prediction(Net& net, Loader& loader, Logits&& logits, Record&& record, std::uint64_t epoch = 0) {
  constexpr std::size_t k = Net::out_shape::size;
  net.eval();
  NoGrad no_grad(net);
  for (auto& batch : loader.epoch(epoch)) {
    for (std::size_t i = 0; i < batch.size(); ++i)
      if (batch.labels[i] < 0 || static_cast<std::size_t>(batch.labels[i]) >= k)
        throw std::invalid_argument("for_each_prediction: label " + std::to_string(batch.labels[i]) +
                                    " of data-set sample " + std::to_string(batch.indices[i]) + " is outside 0.." +
                                    std::to_string(k - 1) + " (the network has " + std::to_string(k) + " outputs)");
    const auto& y = logits(batch.images);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const auto truth = static_cast<std::size_t>(batch.labels[i]);
      const std::size_t predicted = predicted_class(y.sample(i), k);
      if constexpr (std::is_invocable_v<Record&, std::size_t, std::size_t, std::size_t, std::size_t>)
        record(truth, predicted, batch.indices[i], i);
      else
        record(truth, predicted, batch.indices[i]);
    }
  }
}

// Eval-mode pass over a loader (as ctnn::train::evaluate), counting every prediction.
// Leaves the network in eval mode.
template <class Net, class Loader>
ConfusionMatrix confusion_matrix(Net& net, Loader& loader, std::vector<std::string> class_names,
                                 std::uint64_t epoch = 0) {
  ConfusionMatrix cm(std::move(class_names));
  if (Net::out_shape::size != cm.num_classes())
    throw std::invalid_argument("ConfusionMatrix::add: the network gives " + std::to_string(Net::out_shape::size) +
                                " outputs per sample, the matrix has " + std::to_string(cm.num_classes()) + " classes");
  for_each_prediction(
      net, loader, [&](const auto& images) -> decltype(auto) { return net.forward(images); },
      [&](std::size_t truth, std::size_t predicted, std::size_t) { cm.add(truth, predicted); }, epoch);
  return cm;
}

}  // namespace ctnn::train
