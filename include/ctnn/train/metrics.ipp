// Definitions for metrics.hpp (inline, or compiled once with CTNN_SEPARATE_COMPILATION).
#pragma once
#include <algorithm>  // std::max_element, std::max
#include <cmath>      // std::isnan
#include <limits>

#include <fmt/format.h>

#include "ctnn/core/error.hpp"  // Error
#include "ctnn/train/metrics.hpp"

namespace ctnn::train {

CTNN_INLINE int predicted_class(std::span<const float> row) {
  return static_cast<int>(std::max_element(row.begin(), row.end()) - row.begin());
}

CTNN_INLINE void ClassificationCounts::add(std::span<const float> scores, std::span<const std::int32_t> labels) {
  if (labels.empty()) return;
  if (scores.size() % labels.size() != 0)
    throw Error(fmt::format("evaluate: {} scores don't divide into rows for {} labels", scores.size(), labels.size()));
  const int classes = static_cast<int>(scores.size() / labels.size());
  if (classes_ == 0) {
    classes_ = classes;
    confusion_.assign(static_cast<std::size_t>(classes) * static_cast<std::size_t>(classes), 0);
    top_k_hits_.assign(options_.top_k.size(), 0);
  } else if (classes != classes_) {
    throw Error(fmt::format("evaluate: a batch has {} scores per sample after batches with {}", classes, classes_));
  }
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const int label = labels[i];
    if (label < 0 || label >= classes)
      throw Error(fmt::format("evaluate: label {} is outside the model's {} classes", label, classes));
    const std::span<const float> row = scores.subspan(i * static_cast<std::size_t>(classes), static_cast<std::size_t>(classes));
    confusion_[static_cast<std::size_t>(label) * static_cast<std::size_t>(classes) +
               static_cast<std::size_t>(predicted_class(row))] += 1;
    // The label's rank, ties broken as predicted_class breaks them: the classes that score
    // higher, and the earlier ones that score the same.
    int rank = 0;
    for (int j = 0; j < classes; ++j) {
      const float s = row[static_cast<std::size_t>(j)], mine = row[static_cast<std::size_t>(label)];
      rank += s > mine || (s == mine && j < label);
    }
    for (std::size_t t = 0; t < options_.top_k.size(); ++t) top_k_hits_[t] += rank < options_.top_k[t];
  }
  samples_ += static_cast<long>(labels.size());
}

// [samples, top-k hits..., confusion (classes x classes)...]
CTNN_INLINE std::vector<double> ClassificationCounts::totals(int classes) const {
  if (classes_ != 0 && classes_ != classes)
    throw Error(fmt::format("evaluate: this rank's model has {} outputs, another rank's {}", classes_, classes));
  const std::size_t cells = static_cast<std::size_t>(classes) * static_cast<std::size_t>(classes);
  std::vector<double> t(1 + options_.top_k.size() + cells, 0.0);
  if (classes_ == 0) return t;
  t[0] = static_cast<double>(samples_);
  std::copy(top_k_hits_.begin(), top_k_hits_.end(), t.begin() + 1);
  std::copy(confusion_.begin(), confusion_.end(), t.begin() + 1 + static_cast<std::ptrdiff_t>(top_k_hits_.size()));
  return t;
}

CTNN_INLINE void ClassificationCounts::set_totals(int classes, std::span<const double> t) {
  const std::size_t cells = static_cast<std::size_t>(classes) * static_cast<std::size_t>(classes);
  if (t.size() != 1 + options_.top_k.size() + cells)
    throw Error(fmt::format("evaluate: {} totals for {} classes and {} top-k accuracies", t.size(), classes,
                            options_.top_k.size()));
  classes_ = classes;
  samples_ = static_cast<long>(t[0]);
  top_k_hits_.assign(options_.top_k.size(), 0);
  confusion_.assign(cells, 0);
  for (std::size_t i = 0; i < top_k_hits_.size(); ++i) top_k_hits_[i] = static_cast<long>(t[1 + i]);
  for (std::size_t i = 0; i < cells; ++i) confusion_[i] = static_cast<long>(t[1 + top_k_hits_.size() + i]);
}

CTNN_INLINE void ClassificationCounts::finish(Evaluation& e) const {
  e.classes = classes_;
  e.top_k.clear();
  for (std::size_t t = 0; t < options_.top_k.size(); ++t)
    e.top_k.push_back({options_.top_k[t], samples_ > 0 && !top_k_hits_.empty()
                                              ? 100.0 * static_cast<double>(top_k_hits_[t]) / static_cast<double>(samples_)
                                              : 0.0});
  if (!options_.confusion) {
    e.confusion.clear(), e.class_accuracy.clear();
    return;
  }
  e.confusion = confusion_;
  e.class_accuracy.assign(static_cast<std::size_t>(classes_), std::numeric_limits<double>::quiet_NaN());
  for (int c = 0; c < classes_; ++c) {
    long row = 0;
    for (int p = 0; p < classes_; ++p) row += e.confused(c, p);
    if (row > 0) e.class_accuracy[static_cast<std::size_t>(c)] = 100.0 * static_cast<double>(e.confused(c, c)) / static_cast<double>(row);
  }
}

CTNN_INLINE std::string format_evaluation(const Evaluation& e, std::span<const std::string> class_names) {
  std::string out = fmt::format("{} samples, loss {:.4f}, accuracy {:.2f}%", e.samples, e.loss, e.accuracy);
  for (const auto& t : e.top_k) out += fmt::format(", top-{} {:.2f}%", t.k, t.accuracy);
  out += "\n";
  if (e.confusion.empty()) return out;
  // Row labels: "3 cat" (number and name, names cut to 10 characters).
  auto label = [&](int c) {
    const std::string name = static_cast<std::size_t>(c) < class_names.size() ? class_names[static_cast<std::size_t>(c)] : "";
    return fmt::format("{} {}", c, name.substr(0, 10));
  };
  std::size_t label_width = 5;
  long largest = 0;
  for (int c = 0; c < e.classes; ++c) label_width = std::max(label_width, label(c).size());
  for (const long n : e.confusion) largest = std::max(largest, n);
  const int cell = std::max(3, static_cast<int>(fmt::format("{}", largest).size())) + 1;
  out += "confusion matrix (rows: labels, columns: predictions), accuracy per class:\n";
  out += fmt::format("{:<{}}", "", label_width);
  for (int p = 0; p < e.classes; ++p) out += fmt::format("{:>{}}", p, cell);
  out += "  accuracy\n";
  for (int c = 0; c < e.classes; ++c) {
    out += fmt::format("{:<{}}", label(c), label_width);
    for (int p = 0; p < e.classes; ++p) out += fmt::format("{:>{}}", e.confused(c, p), cell);
    const double a = e.class_accuracy[static_cast<std::size_t>(c)];
    out += std::isnan(a) ? std::string("         -\n") : fmt::format("  {:>7.2f}%\n", a);
  }
  return out;
}

}  // namespace ctnn::train
