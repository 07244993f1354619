// Pooling: MaxPool<K, S, P> and AvgPool<K, S, P> (square windows, padding P on each side,
// floor mode, as PyTorch's MaxPool2d / AvgPool2d; AvgPool counts the padding in its divisor,
// PyTorch's default count_include_pad=True), and GlobalAvgPool (C x H x W to C x 1 x 1,
// PyTorch's AdaptiveAvgPool2d(1)). The ImageNet ResNet stem's pool is MaxPool<3, 2, 1>.
#pragma once
#include <string>

#include <fmt/core.h>

#include "ctnn/core/op_specs.hpp"  // PoolSpec
#include "ctnn/layers/layer.hpp"   // the layer contract

namespace ctnn {

namespace detail {

// Shared by every pooling layer: the window's size, stride and padding come from the derived
// type through Geometry<In> (kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w).
template <class Derived, PoolKind Kind, template <class> class Geometry>
struct PoolLayer {
  template <class In> static constexpr long out_height =
      window_output(height_of<In>, Geometry<In>::kernel_h, Geometry<In>::stride_h, Geometry<In>::pad_h);
  template <class In> static constexpr long out_width =
      window_output(width_of<In>, Geometry<In>::kernel_w, Geometry<In>::stride_w, Geometry<In>::pad_w);

  template <class In>
  static constexpr bool accepts = ImageShape<In> && out_height<In> >= 1 && out_width<In> >= 1;
  template <class In>
  using output = Image<static_cast<int>(channels_of<In>), static_cast<int>(out_height<In>),
                       static_cast<int>(out_width<In>)>;

  template <class Where, class In>
  struct check_input {
    static constexpr bool image = ImageShape<In>;
    static_assert(image, "pooling: expects an image input (Image<C, H, W>) but does not receive one");
    static_assert(out_height<In> >= (image ? 1 : out_height<In>),
                  "pooling: the window is taller than the input, so the output height would be below 1");
    static_assert(out_width<In> >= (image && out_height<In> >= 1 ? 1 : out_width<In>),
                  "pooling: the window is wider than the input, so the output width would be below 1");
  };

  template <class In> static constexpr long parameter_count = 0;
  // One comparison or addition per window element and output.
  template <class In>
  static constexpr long flops = channels_of<In> * out_height<In> * out_width<In> * Geometry<In>::kernel_h *
                                Geometry<In>::kernel_w;

  template <class In, class B>
  class Runtime {
   public:
    using G = Geometry<In>;
    static constexpr PoolSpec spec{Kind, In::channels, G::kernel_h, G::kernel_w, G::stride_h, G::stride_w,
                                   In::height, In::width, static_cast<int>(out_height<In>),
                                   static_cast<int>(out_width<In>), G::pad_h, G::pad_w};
    using Tensor = typename B::Tensor;
    void initialize(Rng&) {}
    const Tensor& forward(const Tensor& x, Context<B>& context) {
      B::pool_forward(state_, spec, x, output_, context.mode);
      return output_;
    }
    const Tensor* backward(const Tensor& dy, Context<B>&, bool want_dx) {
      if (!want_dx) return nullptr;
      B::pool_backward(state_, spec, dy, input_grad_);
      return &input_grad_;
    }
    void collect(ParameterList<B>&, const std::string&) {}

   private:
    typename B::PoolState state_;
    Tensor output_, input_grad_;
  };
};

template <int K, int S, int P> struct SquareWindow {
  template <class In> struct geometry {
    static constexpr int kernel_h = K, kernel_w = K, stride_h = S, stride_w = S, pad_h = P, pad_w = P;
  };
};

template <class In> struct WholeImage {
  static constexpr int kernel_h = static_cast<int>(height_of<In>), kernel_w = static_cast<int>(width_of<In>);
  static constexpr int stride_h = kernel_h > 0 ? kernel_h : 1, stride_w = kernel_w > 0 ? kernel_w : 1;
  static constexpr int pad_h = 0, pad_w = 0;
};

// "MaxPool<3,2>", or with padding "MaxPool<3,2,1>".
inline std::string pool_name(const char* kind, int kernel, int stride, int pad) {
  return pad == 0 ? fmt::format("{}<{},{}>", kind, kernel, stride) : fmt::format("{}<{},{},{}>", kind, kernel, stride, pad);
}

}  // namespace detail

// PyTorch's limit on the padding (at most half the window) keeps every window over at least
// one real element, so a max is always defined.
template <int Kernel, int Stride = Kernel, int Pad = 0>
struct MaxPool : detail::PoolLayer<MaxPool<Kernel, Stride, Pad>, PoolKind::max,
                                   detail::SquareWindow<Kernel, Stride, Pad>::template geometry> {
  static_assert(Kernel >= 1 && Stride >= 1, "MaxPool<Kernel, Stride, Pad>: Kernel and Stride must be at least 1");
  static_assert(Pad >= 0 && 2 * Pad <= Kernel, "MaxPool<Kernel, Stride, Pad>: Pad must be in [0, Kernel / 2]");
  static std::string name() { return detail::pool_name("MaxPool", Kernel, Stride, Pad); }
};

template <int Kernel, int Stride = Kernel, int Pad = 0>
struct AvgPool : detail::PoolLayer<AvgPool<Kernel, Stride, Pad>, PoolKind::average,
                                   detail::SquareWindow<Kernel, Stride, Pad>::template geometry> {
  static_assert(Kernel >= 1 && Stride >= 1, "AvgPool<Kernel, Stride, Pad>: Kernel and Stride must be at least 1");
  static_assert(Pad >= 0 && 2 * Pad <= Kernel, "AvgPool<Kernel, Stride, Pad>: Pad must be in [0, Kernel / 2]");
  static std::string name() { return detail::pool_name("AvgPool", Kernel, Stride, Pad); }
};

struct GlobalAvgPool : detail::PoolLayer<GlobalAvgPool, PoolKind::average, detail::WholeImage> {
  static std::string name() { return "GlobalAvgPool"; }
};

}  // namespace ctnn
