// ConfusionMatrix: counting from logits, per-class accuracy, the printed table, bad input.
#include <doctest/doctest.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <ctnn/core/tensor.hpp>
#include <ctnn/train/confusion.hpp>

using ctnn::train::ConfusionMatrix;

namespace {
using Logits3 = ctnn::Tensor<ctnn::Shape<3, 1, 1>, float>;

Logits3 logits(const std::vector<std::vector<float>>& rows) {
  Logits3 t(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i)
    for (std::size_t c = 0; c < 3; ++c) t.sample(i)[c] = rows[i][c];
  return t;
}
}  // namespace

TEST_CASE("confusion: counts arg-max predictions per true class; accuracy, recall, precision") {
  ConfusionMatrix cm(std::vector<std::string>{"cat", "dog", "bird"});
  CHECK(cm.num_classes() == 3);
  CHECK(cm.total() == 0);
  CHECK(cm.accuracy() == 0);   // no samples: 0, not NaN
  CHECK(cm.recall(1) == 0);

  // Predictions: 0, 1, 2, 1, 0 (ties go to the first class, as CrossEntropyLoss counts them).
  const auto z = logits({{3, 1, 0}, {0, 2, 1}, {-1, -2, 5}, {1, 1.5f, 1}, {2, 2, 2}});
  const std::vector<std::int32_t> labels{0, 1, 1, 2, 2};
  cm.add(z, labels);
  CHECK(cm.total() == 5);
  CHECK(cm.count(0, 0) == 1);
  CHECK(cm.count(1, 1) == 1);
  CHECK(cm.count(1, 2) == 1);
  CHECK(cm.count(2, 1) == 1);
  CHECK(cm.count(2, 0) == 1);
  CHECK(cm.correct() == 2);
  CHECK(cm.accuracy() == doctest::Approx(0.4));
  CHECK(cm.support(2) == 2);
  CHECK(cm.predicted(1) == 2);
  CHECK(cm.recall(0) == doctest::Approx(1.0));
  CHECK(cm.recall(1) == doctest::Approx(0.5));
  CHECK(cm.recall(2) == doctest::Approx(0.0));
  CHECK(cm.per_class_accuracy() == std::vector<double>{1.0, 0.5, 0.0});
  CHECK(cm.mean_class_accuracy() == doctest::Approx(0.5));
  CHECK(cm.precision(0) == doctest::Approx(0.5));
  CHECK(cm.precision(1) == doctest::Approx(0.5));
  CHECK(cm.precision(2) == doctest::Approx(0.0));

  // Views and single samples count the same way; reset empties it.
  cm.add(ctnn::TensorView<ctnn::Shape<3, 1, 1>, const float>(z), labels);
  cm.add(2, 2);
  CHECK(cm.total() == 11);
  CHECK(cm.count(2, 2) == 1);
  cm.reset();
  CHECK(cm.total() == 0);
  CHECK(ConfusionMatrix(4).class_names() == std::vector<std::string>{"0", "1", "2", "3"});
}

TEST_CASE("confusion: the table names the classes, shows counts, totals, recall and precision") {
  ConfusionMatrix cm(std::vector<std::string>{"angry", "surprise"});
  for (int i = 0; i < 3; ++i) cm.add(0, 0);
  cm.add(0, 1);
  cm.add(1, 1);
  const std::string t = cm.table();
  INFO(t);
  CHECK(t ==
        "true \\ predicted    angry surprise    total  accuracy\n"
        "angry                   3        1        4    75.00%\n"
        "surprise                0        1        1   100.00%\n"
        "precision         100.00%   50.00%\n"
        "overall accuracy 80.00% (4 of 5), mean per-class accuracy 87.50%\n");
}

TEST_CASE("confusion: bad input is rejected before anything is counted") {
  CHECK_THROWS_AS(ConfusionMatrix(0), std::invalid_argument);
  CHECK_THROWS_AS(ConfusionMatrix(std::vector<std::string>{}), std::invalid_argument);
  ConfusionMatrix cm(3);
  CHECK_THROWS_WITH(cm.add(3, 0), doctest::Contains("class 3 is outside 0..2"));
  const auto z = logits({{1, 0, 0}, {0, 1, 0}});
  CHECK_THROWS_WITH(cm.add(z, std::vector<std::int32_t>{0}), doctest::Contains("2 rows of logits but 1 labels"));
  CHECK_THROWS_WITH(cm.add(z, std::vector<std::int32_t>{0, 3}), doctest::Contains("label 3 (sample 1) is outside 0..2"));
  CHECK_THROWS_WITH(cm.add(z, std::vector<std::int32_t>{0, -1}), doctest::Contains("label -1"));
  CHECK(cm.total() == 0);
  ConfusionMatrix four(4);
  CHECK_THROWS_WITH(four.add(z, std::vector<std::int32_t>{0, 1}),
                    doctest::Contains("the network gives 3 outputs per sample, the matrix has 4 classes"));
}
