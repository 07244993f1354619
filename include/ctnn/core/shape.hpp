// Compile-time tensor shapes. The batch size is the only run-time dimension, so every
// layer's input and output sizes are known to the compiler and checked by it.
#pragma once
#include <concepts>  // std::same_as
#include <string>    // shape_name

#include <fmt/core.h>  // shape_name

namespace ctnn {

// A feature map: Channels x Height x Width per sample (NCHW in memory).
template <int Channels, int Height, int Width>
struct Image {
  static_assert(Channels >= 1 && Height >= 1 && Width >= 1,
                "Image<C, H, W>: every dimension must be at least 1");
  static constexpr int channels = Channels;
  static constexpr int height = Height;
  static constexpr int width = Width;
  static constexpr long size = long{Channels} * Height * Width;
};

// A flat feature vector per sample, as Linear consumes and produces.
template <int Count>
struct Features {
  static_assert(Count >= 1, "Features<N>: N must be at least 1");
  static constexpr int features = Count;
  static constexpr long size = Count;
};

// The shape after a shape error: every layer passes it through silently, so the compiler
// reports only the first mismatch in a network instead of a cascade.
struct InvalidShape {
  static constexpr long size = 0;
};

namespace detail {
template <class T> inline constexpr bool is_image = false;
template <int C, int H, int W> inline constexpr bool is_image<Image<C, H, W>> = true;
template <class T> inline constexpr bool is_features = false;
template <int N> inline constexpr bool is_features<Features<N>> = true;

template <int... Dims> struct input_shape {
  static_assert(sizeof...(Dims) == 1 || sizeof...(Dims) == 3,
                "Input<...>: give Input<Channels, Height, Width> for images or Input<Features> "
                "for flat vectors");
  using type = InvalidShape;  // so that the message above is the only error
};
template <int C, int H, int W> struct input_shape<C, H, W> { using type = Image<C, H, W>; };
template <int N> struct input_shape<N> { using type = Features<N>; };
}  // namespace detail

// Concept: a per-sample shape, image or flat.
template <class S> concept ImageShape = detail::is_image<S>;
template <class S> concept FlatShape = detail::is_features<S>;
template <class S> concept Shape = ImageShape<S> || FlatShape<S>;

// The network's input: Input<3, 32, 32> for images, Input<784> for flat vectors.
template <int... Dims> using Input = typename detail::input_shape<Dims...>::type;

// "3x32x32" or "2048": how shapes read in summaries and error messages.
template <Shape S> std::string shape_name() {
  if constexpr (ImageShape<S>) return fmt::format("{}x{}x{}", S::channels, S::height, S::width);
  else return fmt::format("{}", S::features);
}

}  // namespace ctnn
