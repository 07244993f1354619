// The layer contract. A layer is a small type whose template arguments are its
// hyper-parameters (Conv<3, 32>); it maps an input shape type to an output shape type at
// compile time and names a run-time class that does the work through its backend:
//
//   struct L {
//     static std::string name();                        // "Conv<3,32,3,1,1>"
//     template <class In> static constexpr bool accepts; // can L take a tensor of shape In?
//     template <class In> using output;                  // the shape L produces (if accepts)
//     template <class Where, class In> struct check_input;  // static_asserts saying why not;
//                                                        // Where = at<"path"> in messages
//     template <class In> static constexpr long parameter_count, flops;  // per sample
//     template <class In, class Backend> class Runtime;  // parameters, buffers, the work
//   };
//
// Runtime<In, B> (In is accepted):
//   void initialize(Rng&);                                   // PyTorch's default init
//   const B::Tensor& forward(const B::Tensor& x, Context<B>&);     // returns its output
//   const B::Tensor* backward(const B::Tensor& dy, Context<B>&, bool want_dx);
//       // gradient of the last forward: parameter gradients are overwritten, and the input
//       // gradient is returned when want_dx (nullptr otherwise, e.g. for the first layer)
//   void collect(ParameterList<B>&, const std::string& prefix);  // parameters and buffers
//
// Fusion (optional): a layer that can absorb the layer after it declares
//   template <class Next> static constexpr bool fuses_with;       // e.g. BN with ReLU
//   template <class In, class B> class FusedRuntime;               // does both
// and Sequential then runs FusedRuntime in its place and PassThrough in the next one's.
//
// The forward's input tensor must stay alive and unchanged until backward: in a Sequential
// it is the previous layer's output, which is.
#pragma once
#include <concepts>  // std::convertible_to
#include <string>

#include "ctnn/core/context.hpp"     // Context
#include "ctnn/core/parameters.hpp"  // ParameterList
#include "ctnn/core/path.hpp"        // at: a layer's path in diagnostics
#include "ctnn/core/shape.hpp"       // Image, Features

namespace ctnn {

// Concept: L is a layer type that can be asked about an input shape.
template <class L, class In>
concept LayerFor = requires {
  { L::name() } -> std::convertible_to<std::string>;
  { L::template accepts<In> } -> std::convertible_to<bool>;
};

// True when the network (or layer) L accepts In; never a hard error, so negative cases can
// be written as static_assert(!accepts<Net, In>).
template <class L, class In>
inline constexpr bool accepts = L::template accepts<In>;

namespace detail {
// Shape facts that are -1 where the shape has no such dimension, so checks can compare them
// without a hard error on the wrong kind of shape.
template <class S> inline constexpr long channels_of = -1;
template <int C, int H, int W> inline constexpr long channels_of<Image<C, H, W>> = C;
template <class S> inline constexpr long height_of = -1;
template <int C, int H, int W> inline constexpr long height_of<Image<C, H, W>> = H;
template <class S> inline constexpr long width_of = -1;
template <int C, int H, int W> inline constexpr long width_of<Image<C, H, W>> = W;
template <class S> inline constexpr long features_of = -1;
template <int N> inline constexpr long features_of<Features<N>> = N;

// Output size of a window of `kernel` moved by `stride` over `extent` padded by `pad` on
// each side (floor mode); below 1 means the window doesn't fit.
constexpr long window_output(long extent, int kernel, int stride, int pad) {
  const long padded = extent + 2L * pad;
  return padded < kernel ? 0 : (padded - kernel) / stride + 1;
}
}  // namespace detail

template <class L, class Next>
concept FusesWith = requires { requires L::template fuses_with<Next>; };

// Stands in for a layer whose work the layer before it does (see fusion above).
template <class B>
struct PassThrough {
  void initialize(Rng&) {}
  const typename B::Tensor& forward(const typename B::Tensor& x, Context<B>&) { return x; }
  const typename B::Tensor* backward(const typename B::Tensor& dy, Context<B>&, bool) { return &dy; }
  void collect(ParameterList<B>&, const std::string&) {}
};

// Layers that keep the shape (ReLU, Dropout) accept any shape.
struct ShapePreserving {
  template <class In> static constexpr bool accepts = Shape<In>;
  template <class In> using output = In;
  template <class Where, class In> struct check_input {
    static_assert(Shape<In>, "ctnn layer: the input is not an Image<C,H,W> or Features<N> shape");
  };
  template <class In> static constexpr long parameter_count = 0;
};

}  // namespace ctnn
