// ctnn/data/subset.hpp — parts of a data set: a seeded, stratified labelled fraction (semi-
// supervised training with 10 % of the labels), a subset by index, and a class filter with
// relabelling (a transfer task: classes 0-4, then 5-9).
//
//   auto split = data::stratified_split(splits.train, 0.1, /*seed=*/1);
//   data::Dataset labelled = data::subset(splits.train, split.chosen);   // 10 % of every class
//   data::Dataset first_five = data::select_classes(splits.train, {0, 1, 2, 3, 4});
#pragma once

#include <algorithm>  // std::find, std::max
#include <cmath>      // std::llround, std::isfinite
#include <cstddef>    // std::size_t
#include <cstdint>    // std::int32_t, std::uint64_t
#include <stdexcept>  // std::invalid_argument
#include <utility>    // std::swap
#include <vector>     // std::vector

#include <fmt/core.h>  // fmt::format

#include "ctnn/data/dataset.hpp"     // Dataset
#include "ctnn/data/detail/rng.hpp"  // Rng, detail::mix_seed

namespace ctnn::data {

// The images of `d` at `indices`, in that order, with their labels (and coarse labels).
inline Dataset subset(const Dataset& d, const std::vector<std::size_t>& indices) {
  Dataset out;
  out.shape = d.shape;
  out.class_names = d.class_names;
  out.coarse_class_names = d.coarse_class_names;
  out.pixels.reserve(indices.size() * d.shape.size());
  out.labels.reserve(indices.size());
  for (const std::size_t i : indices) {
    if (i >= d.size())
      throw std::invalid_argument(fmt::format("subset: index {} of a data set of {} images", i, d.size()));
    const auto px = d.image(i);
    out.pixels.insert(out.pixels.end(), px.begin(), px.end());
    out.labels.push_back(d.labels[i]);
    if (!d.coarse_labels.empty()) out.coarse_labels.push_back(d.coarse_labels[i]);
  }
  return out;
}

// A stratified split: `chosen` holds round(fraction x n_c) images of every class c (at least
// one), `rest` the others; both ascending, disjoint, together every index once.
struct StratifiedSplit {
  std::vector<std::size_t> chosen, rest;
};

// Which images of each class are chosen is a seeded shuffle of that class's images (its own
// generator, from seed and class), so the split depends only on (labels, fraction, seed), and a
// larger fraction with the same seed chooses a superset. The classes are those of class_names
// (or, without names, 0 .. the largest label); every one must have an image. fraction is in
// (0, 1].
inline StratifiedSplit stratified_split(const Dataset& d, double fraction, std::uint64_t seed) {
  if (!(fraction > 0.0 && fraction <= 1.0))
    throw std::invalid_argument(fmt::format("stratified_split: fraction {} is not in (0, 1]", fraction));
  std::int32_t classes = static_cast<std::int32_t>(d.class_names.size());
  for (const auto l : d.labels) {
    if (l < 0 || (!d.class_names.empty() && l >= classes))
      throw std::invalid_argument(fmt::format("stratified_split: label {} is outside the {} classes", l, classes));
    if (d.class_names.empty()) classes = std::max(classes, l + 1);
  }
  std::vector<std::vector<std::size_t>> by_class(static_cast<std::size_t>(classes));
  for (std::size_t i = 0; i < d.size(); ++i) by_class[static_cast<std::size_t>(d.labels[i])].push_back(i);
  StratifiedSplit split;
  std::vector<bool> taken(d.size(), false);
  for (std::int32_t c = 0; c < classes; ++c) {
    auto& members = by_class[static_cast<std::size_t>(c)];
    if (members.empty())
      throw std::invalid_argument(fmt::format(
          "stratified_split: class {}{} has no images", c,
          d.class_names.empty() ? "" : fmt::format(" ('{}')", d.class_names[static_cast<std::size_t>(c)])));
    Rng rng{detail::mix_seed(seed, static_cast<std::uint64_t>(c), 0x57a7ull)};
    for (std::size_t i = members.size(); i > 1; --i)  // Fisher-Yates
      std::swap(members[i - 1], members[static_cast<std::size_t>(rng.uniform_int(0, static_cast<int>(i - 1)))]);
    const auto want = std::max<long long>(1, std::llround(fraction * static_cast<double>(members.size())));
    for (std::size_t i = 0; i < static_cast<std::size_t>(want); ++i) taken[members[i]] = true;
  }
  for (std::size_t i = 0; i < d.size(); ++i) (taken[i] ? split.chosen : split.rest).push_back(i);
  return split;
}

// The stratified `fraction` of `d` (stratified_split's chosen images), in data set order.
inline Dataset labelled_fraction(const Dataset& d, double fraction, std::uint64_t seed) {
  return subset(d, stratified_split(d, fraction, seed).chosen);
}

// The images of `d` whose label is one of `classes`, relabelled by position in the list
// (classes {5, 7} -> labels 0 and 1), with class_names to match. Each class must be a class of
// `d`, listed once, and have an image.
inline Dataset select_classes(const Dataset& d, const std::vector<std::int32_t>& classes) {
  if (classes.empty()) throw std::invalid_argument("select_classes: no classes listed");
  const auto known = static_cast<std::int32_t>(d.class_names.size());
  std::vector<std::int32_t> relabel;  // old label -> new, -1 for dropped
  for (std::size_t n = 0; n < classes.size(); ++n) {
    const std::int32_t c = classes[n];
    if (c < 0 || (known > 0 && c >= known))
      throw std::invalid_argument(fmt::format("select_classes: class {} is not one of the {} classes", c, known));
    if (std::find(classes.begin(), classes.begin() + static_cast<std::ptrdiff_t>(n), c) !=
        classes.begin() + static_cast<std::ptrdiff_t>(n))
      throw std::invalid_argument(fmt::format("select_classes: class {} is listed twice", c));
    if (relabel.size() <= static_cast<std::size_t>(c)) relabel.resize(static_cast<std::size_t>(c) + 1, -1);
    relabel[static_cast<std::size_t>(c)] = static_cast<std::int32_t>(n);
  }
  std::vector<std::size_t> keep;
  std::vector<std::size_t> count(classes.size(), 0);
  for (std::size_t i = 0; i < d.size(); ++i) {
    const auto l = static_cast<std::size_t>(d.labels[i]);
    if (l < relabel.size() && relabel[l] >= 0) {
      keep.push_back(i);
      ++count[static_cast<std::size_t>(relabel[l])];
    }
  }
  for (std::size_t n = 0; n < classes.size(); ++n)
    if (count[n] == 0) throw std::invalid_argument(fmt::format("select_classes: class {} has no images", classes[n]));
  Dataset out = subset(d, keep);
  for (auto& l : out.labels) l = relabel[static_cast<std::size_t>(l)];
  out.class_names.clear();
  for (const auto c : classes)
    out.class_names.push_back(known > 0 ? d.class_names[static_cast<std::size_t>(c)] : fmt::format("class{}", c));
  return out;
}

}  // namespace ctnn::data
