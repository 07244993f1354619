// What Trainer::evaluate measures: mean loss and accuracy, and on request the confusion matrix,
// per-class accuracy and top-k accuracies, with a plain-text report of them.
//
//   const auto e = trainer.evaluate(test_data, {.confusion = true, .top_k = {1, 5}});
//   fmt::print("{}", train::format_evaluation(e, cifar.test.class_names));
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ctnn/core/config.hpp"  // CTNN_INLINE

namespace ctnn::train {

// What evaluate() computes beyond loss and accuracy.
struct EvaluateOptions {
  bool confusion = false;  // the confusion matrix and the accuracy of each class
  std::vector<int> top_k;  // the top-k accuracy for each of these k
};

struct TopK {
  int k = 0;
  double accuracy = 0;  // percent of the samples whose label is among their k highest scores
};

struct Evaluation {
  double loss = 0;      // mean over the samples
  double accuracy = 0;  // percent
  long samples = 0, correct = 0;
  // With EvaluateOptions::confusion or top_k (empty otherwise):
  int classes = 0;                    // the model's outputs per sample
  std::vector<long> confusion;        // classes x classes: [label * classes + predicted class]
  std::vector<double> class_accuracy; // percent of each class's samples predicted right; NaN for none
  std::vector<TopK> top_k;            // in the order asked for

  long confused(int label, int predicted) const {
    return confusion[static_cast<std::size_t>(label) * static_cast<std::size_t>(classes) +
                     static_cast<std::size_t>(predicted)];
  }
};

// The predicted class of one row of scores: the first highest (as the loss counts `correct`).
CTNN_INLINE int predicted_class(std::span<const float> row);

// The confusion matrix and top-k counts of a pass, batch by batch.
class ClassificationCounts {
 public:
  explicit ClassificationCounts(const EvaluateOptions& options) : options_(options) {}

  // `scores`: one row per label, the model's outputs (logits, or anything ordered the same way).
  CTNN_INLINE void add(std::span<const float> scores, std::span<const std::int32_t> labels);

  // Fills e.classes, e.confusion, e.class_accuracy and e.top_k (as asked for).
  CTNN_INLINE void finish(Evaluation& e) const;

  // Data-parallel evaluation: the counts as numbers that add up over the ranks, with `classes`
  // outputs per sample (zeros where this rank saw no batch), and the ranks' sums put back.
  int classes() const { return classes_; }
  CTNN_INLINE std::vector<double> totals(int classes) const;
  CTNN_INLINE void set_totals(int classes, std::span<const double> totals);

 private:
  EvaluateOptions options_;
  int classes_ = 0;
  long samples_ = 0;
  std::vector<long> confusion_, top_k_hits_;
};

// The evaluation as text: loss and accuracy, the top-k accuracies, and the confusion matrix
// with each class's accuracy (rows: labels, named by `class_names` when given; columns:
// predicted classes by number). Fits 80 columns for up to 10 classes of up to 4 digits each.
CTNN_INLINE std::string format_evaluation(const Evaluation& e, std::span<const std::string> class_names = {});

}  // namespace ctnn::train

#ifndef CTNN_SEPARATE_COMPILATION
#include "ctnn/train/metrics.ipp"
#endif
