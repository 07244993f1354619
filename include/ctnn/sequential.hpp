// Sequential<Layers...>: a network as a flat type list. Given an input shape it computes every
// layer's input and output shape at compile time (Boost.Hana folds over the list), reports
// the first layer that can't take its input by name, position and shapes, and runs the
// layers one after another. A Sequential is itself a layer, so blocks nest.
#pragma once
#include <cstddef>  // std::size_t
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>  // std::index_sequence

#include <boost/hana/append.hpp>
#include <boost/hana/at.hpp>
#include <boost/hana/back.hpp>
#include <boost/hana/fold_left.hpp>
#include <boost/hana/length.hpp>
#include <boost/hana/tuple.hpp>
#include <boost/hana/type.hpp>
#include <fmt/core.h>

#include "ctnn/core/error.hpp"    // Error
#include "ctnn/layers/layer.hpp"  // the layer contract

namespace ctnn {

namespace hana = boost::hana;

// An error raised inside a layer at run time, with the layer's path ("3.1") and name.
class LayerError : public Error {
 public:
  LayerError(std::string path, std::string layer, std::string message)
      : Error(fmt::format("layer {} ({}): {}", path, layer, message)),
        path_(std::move(path)), layer_(std::move(layer)), message_(std::move(message)) {}
  const std::string& path() const { return path_; }
  const std::string& layer() const { return layer_; }
  const std::string& message() const { return message_; }

 private:
  std::string path_, layer_, message_;
};

namespace detail {

// Called from a catch block: rethrows the exception in flight as a LayerError naming the
// layer at `index` in its Sequential, whose type name `name` gives. Nested Sequentials
// prepend their own position to the path ("3.1"). Anything not a std::exception passes as is.
[[noreturn]] inline void rethrow_from_layer(std::size_t index, std::string (*name)()) {
  try {
    throw;
  } catch (const LayerError& e) {
    throw LayerError(std::to_string(index) + "." + e.path(), e.layer(), e.message());
  } catch (const std::exception& e) {
    throw LayerError(std::to_string(index), name(), e.what());
  }
}

// The shape after layer L (at 1-based Position) given its input In. With Report, a layer
// that can't take In instantiates its check_input, whose static_assert is the compiler's
// first error; the chain then carries InvalidShape so that no further errors pile up.
template <bool Report, int Position, class L, class In>
constexpr auto next_shape() {
  if constexpr (std::is_same_v<In, InvalidShape>) {
    return hana::type_c<InvalidShape>;
  } else if constexpr (L::template accepts<In>) {
    return hana::type_c<typename L::template output<In>>;
  } else {
    if constexpr (Report) static_cast<void>(sizeof(typename L::template check_input<at_position<Position>, In>));
    return hana::type_c<InvalidShape>;
  }
}

// The input shape, then each layer's output shape, as a plain type list; the fold's state.
// (Appending to a plain pack is much cheaper to compile than hana::append on a hana::tuple.)
template <class... S>
struct ShapeList {
  static constexpr auto types = hana::tuple_t<S...>;
  static constexpr int size = sizeof...(S);
  using last = typename decltype(+hana::back(types))::type;
  template <class Next> using append = ShapeList<S..., Next>;
};

// hana::tuple of hana::type<Shape>: the network input, then each layer's output.
template <bool Report, class In, class... Layers>
constexpr auto shape_chain() {
  using Chain = typename decltype(hana::fold_left(
      hana::tuple_t<Layers...>, hana::type_c<ShapeList<In>>, [](auto list, auto layer) {
        using List = typename decltype(list)::type;
        using L = typename decltype(layer)::type;
        using Next = typename decltype(next_shape<Report, List::size, L, typename List::last>())::type;
        return hana::type_c<typename List::template append<Next>>;
      }))::type;
  return Chain::types;
}

template <bool Report, class In, class... Layers>
using chain_output = typename decltype(+hana::back(shape_chain<Report, In, Layers...>()))::type;

}  // namespace detail

template <class... Layers>
struct Sequential;

template <class L> inline constexpr bool is_sequential = false;
template <class... Layers> inline constexpr bool is_sequential<Sequential<Layers...>> = true;

template <class... Layers>
struct Sequential {
  static_assert(sizeof...(Layers) >= 1, "Sequential<...>: give at least one layer");
  static constexpr std::size_t size = sizeof...(Layers);

  template <std::size_t I>
  using layer = typename decltype(+hana::at_c<I>(hana::tuple_t<Layers...>))::type;

  static std::string name() {
    std::string inner;
    ((inner += (inner.empty() ? "" : ", ") + Layers::name()), ...);
    return "Sequential<" + inner + ">";
  }

  template <class In>
  static constexpr bool accepts = !std::is_same_v<detail::chain_output<false, In, Layers...>, InvalidShape>;
  template <class In>
  using output = detail::chain_output<true, In, Layers...>;
  // Reached from an enclosing Sequential: reports the inner layer that fails.
  template <class Where, class In>
  struct check_input {
    static_assert(sizeof(detail::chain_output<true, In, Layers...>) > 0);
  };

  // The shape entering layer I (I == size: the output).
  template <class In, std::size_t I>
  using shape_at = typename decltype(+hana::at_c<I>(detail::shape_chain<true, In, Layers...>()))::type;

  template <class In>
  static constexpr long parameter_count = [] {
    return []<std::size_t... I>(std::index_sequence<I...>) {
      return (0L + ... + layer<I>::template parameter_count<shape_at<In, I>>);
    }(std::index_sequence_for<Layers...>{});
  }();
  template <class In>
  static constexpr long flops = [] {
    return []<std::size_t... I>(std::index_sequence<I...>) {
      return (0L + ... + layer<I>::template flops<shape_at<In, I>>);
    }(std::index_sequence_for<Layers...>{});
  }();

  // Layer I fuses with layer I + 1 when it says it can (see layers/layer.hpp).
  template <std::size_t I>
  static constexpr bool fuses_next = [] {
    if constexpr (I + 1 < size) return FusesWith<layer<I>, layer<I + 1>>;
    else return false;
  }();

  template <std::size_t I>
  static constexpr bool fuses_previous = [] {
    if constexpr (I > 0) return fuses_next<I - 1>;
    else return false;
  }();

  template <class In, class B>
  class Runtime {
    template <std::size_t I>
    static constexpr auto runtime_for() {
      if constexpr (fuses_previous<I>) return hana::type_c<PassThrough<B>>;
      else if constexpr (fuses_next<I>) return hana::type_c<typename layer<I>::template FusedRuntime<shape_at<In, I>, B>>;
      else return hana::type_c<typename layer<I>::template Runtime<shape_at<In, I>, B>>;
    }
    template <class Indices> struct runtimes;
    template <std::size_t... I> struct runtimes<std::index_sequence<I...>> {
      using type = std::tuple<typename decltype(runtime_for<I>())::type...>;
    };

   public:
    using Tensor = typename B::Tensor;

    void initialize(Rng& rng) {
      std::apply([&](auto&... layers) { (layers.initialize(rng), ...); }, layers_);
    }

    const Tensor& forward(const Tensor& x, Context<B>& context) {
      const Tensor* current = &x;
      std::size_t running = 0;
      try {
        each([&]<std::size_t I>(auto& layer) {
          running = I;
          current = &layer.forward(*current, context);
        });
      } catch (...) {
        detail::rethrow_from_layer(running, layer_names[running]);
      }
      return *current;
    }

    // Runs the layers' backward in reverse; the first layer computes its input gradient
    // only when want_dx (a network's input rarely needs one).
    const Tensor* backward(const Tensor& dy, Context<B>& context, bool want_dx) {
      const Tensor* gradient = &dy;
      std::size_t running = size - 1;
      try {
        each_reversed([&]<std::size_t I>(auto& layer) {
          running = I;
          gradient = layer.backward(*gradient, context, I > 0 || want_dx);
        });
      } catch (...) {
        detail::rethrow_from_layer(running, layer_names[running]);
      }
      return gradient;
    }

    // Names are "<position>.<name>", counting from 0, as PyTorch's nn.Sequential.
    void collect(ParameterList<B>& list, const std::string& prefix) {
      each([&]<std::size_t I>(auto& layer) { layer.collect(list, prefix + std::to_string(I) + "."); });
    }

    template <std::size_t I>
    auto& get() { return std::get<I>(layers_); }

   private:
    template <class F>
    void each(F&& f) {
      [&]<std::size_t... I>(std::index_sequence<I...>) {
        (f.template operator()<I>(std::get<I>(layers_)), ...);
      }(std::index_sequence_for<Layers...>{});
    }
    template <class F>
    void each_reversed(F&& f) {
      [&]<std::size_t... I>(std::index_sequence<I...>) {
        (f.template operator()<size - 1 - I>(std::get<size - 1 - I>(layers_)), ...);
      }(std::index_sequence_for<Layers...>{});
    }
    // Failures inside a layer come out naming its path and type (see rethrow_from_layer).
    // One handler per pass rather than one per layer keeps the generated code small.
    static constexpr std::string (*layer_names[])() = {&Layers::name...};

    typename runtimes<std::index_sequence_for<Layers...>>::type layers_;
  };
};

}  // namespace ctnn
