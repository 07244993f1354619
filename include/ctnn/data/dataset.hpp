// ctnn/data/dataset.hpp — an in-memory image classification data set (uint8 images + labels).
#pragma once

#include <cstddef>  // std::size_t
#include <cstdint>  // std::uint8_t, std::int32_t
#include <span>     // std::span
#include <string>   // std::string
#include <vector>   // std::vector

namespace ctnn::data {

// Channels, height and width of one image.
struct ImageShape {
  int channels = 0, height = 0, width = 0;
  constexpr std::size_t size() const noexcept {
    return static_cast<std::size_t>(channels) * static_cast<std::size_t>(height) *
           static_cast<std::size_t>(width);
  }
  friend constexpr bool operator==(const ImageShape&, const ImageShape&) = default;
};

// Images stored planar (CHW, the CIFAR layout: all of R, then G, then B, each row-major) as uint8,
// one after the other. labels[i] is image i's class, in [0, class_names.size()).
// For CIFAR-100, labels are the fine labels and coarse_labels the 20 superclasses.
struct Dataset {
  ImageShape shape{3, 32, 32};
  std::vector<std::uint8_t> pixels;        // size() * shape.size() bytes
  std::vector<std::int32_t> labels;        // size() entries
  std::vector<std::string> class_names;
  std::vector<std::int32_t> coarse_labels;  // CIFAR-100 only; empty otherwise
  std::vector<std::string> coarse_class_names;

  std::size_t size() const noexcept { return labels.size(); }
  bool empty() const noexcept { return labels.empty(); }
  std::span<const std::uint8_t> image(std::size_t i) const noexcept {
    return {pixels.data() + i * shape.size(), shape.size()};
  }
};

}  // namespace ctnn::data
