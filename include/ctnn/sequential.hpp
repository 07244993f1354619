// Sequential<Layers...>: a network as a flat type list. Given an input shape it computes every
// layer's input and output shape at compile time, reports the first layer that can't take its
// input by path and shapes, and runs the layers one after another. A Sequential is itself a
// layer (a composite, layers/composite.hpp), so blocks nest.
//
// Compile cost grows linearly with the list: the shape fold is a fold expression that carries
// the last shape directly, and the layers are stored in a flat aggregate, so no template
// recursion deepens with the length (a ResNet-152-length list compiles at -ftemplate-depth=128).
#pragma once
#include <array>
#include <cstddef>  // std::size_t
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>  // std::index_sequence

#include <fmt/core.h>

#include "ctnn/core/error.hpp"        // Error
#include "ctnn/core/typelist.hpp"     // nth, Slots
#include "ctnn/layers/composite.hpp"  // Named, key_of, LayerError, the composite protocol
#include "ctnn/layers/layer.hpp"      // the layer contract

namespace ctnn {

namespace detail {

template <class T>
struct type_is {
  using type = T;
};

// The shape after list element E (at Index in the composite at Where) given its input In.
// With Report, an element that can't take In instantiates its check_input, whose
// static_assert is the compiler's first error; the chain then carries InvalidShape so that no
// further errors pile up.
template <bool Report, class Where, std::size_t Index, class E, class In>
constexpr auto next_shape() {
  using L = unnamed<E>;
  if constexpr (std::is_same_v<In, InvalidShape>) {
    return type_is<InvalidShape>{};
  } else if constexpr (L::template accepts<In>) {
    return type_is<typename L::template output<In>>{};
  } else {
    if constexpr (Report)
      static_cast<void>(sizeof(typename L::template check_input<at_child<Where, key_of<E, Index>()>, In>));
    return type_is<InvalidShape>{};
  }
}

// The fold's state: the last shape, and every shape so far (the input, then each output).
template <bool Report, class Where, class Last, class... Shapes>
struct Chain {
  using last = Last;
  template <std::size_t I> using shape = nth<I, Shapes...>;
  template <class E, class Next = typename decltype(next_shape<Report, Where, sizeof...(Shapes) - 1, E, Last>())::type>
  using then = Chain<Report, Where, Next, Shapes..., Next>;
};

template <class E>
struct Step {};

// (Chain + Step<A>) + Step<B> ...: each step is its own instantiation, not nested in the last.
template <bool R, class W, class Last, class... S, class E>
auto operator+(Chain<R, W, Last, S...>, Step<E>) -> typename Chain<R, W, Last, S...>::template then<E>;

template <bool Report, class Where, class In, class... Elements>
using chain_of = decltype((Chain<Report, Where, In, In>{} + ... + Step<Elements>{}));

// Result when Accepted, else (having reported why L can't take In, at Where) InvalidShape.
template <bool Accepted, class L, class Where, class In, class Result>
constexpr auto report_unless() {
  if constexpr (Accepted) {
    return type_is<Result>{};
  } else {
    static_cast<void>(sizeof(typename L::template check_input<Where, In>));
    return type_is<InvalidShape>{};
  }
}

// L's output for In, or (having reported why) InvalidShape.
template <class L, class Where, class In>
constexpr auto checked_output() {
  if constexpr (L::template accepts<In>) return type_is<typename L::template output<In>>{};
  else return report_unless<false, L, Where, In, InvalidShape>();
}

}  // namespace detail

template <class... Layers>
struct Sequential {
  static_assert(sizeof...(Layers) >= 1, "Sequential<...>: give at least one layer");
  static constexpr std::size_t size = sizeof...(Layers);

  // --- the composite protocol --------------------------------------------------------------
  static constexpr std::size_t child_count = size;
  template <std::size_t I> using child = unnamed<detail::nth<I, Layers...>>;
  template <std::size_t I> static constexpr auto key = key_of<detail::nth<I, Layers...>, I>();
  template <std::size_t I> using layer = child<I>;

  static std::string name() {
    std::string inner;
    ((inner += (inner.empty() ? "" : ", ") + unnamed<Layers>::name()), ...);
    return "Sequential<" + inner + ">";
  }

  template <class In> using chain = detail::chain_of<false, at_root, In, Layers...>;

  template <class In>
  static constexpr bool accepts = !std::is_same_v<typename chain<In>::last, InvalidShape>;
  template <class In>
  using output =
      typename decltype(detail::report_unless<accepts<In>, Sequential, at_root, In, typename chain<In>::last>())::type;
  // Reached from an enclosing composite: reports the inner layer that fails, by its full path.
  template <class Where, class In>
  struct check_input {
    static_assert(sizeof(detail::chain_of<true, Where, In, Layers...>) > 0);
  };

  // The shape entering layer I (I == size: the output).
  template <class In, std::size_t I> using shape_at = typename chain<In>::template shape<I>;
  template <class In, std::size_t I> using child_input = shape_at<In, I>;

  template <class In>
  static constexpr long parameter_count = [] {
    return []<std::size_t... I>(std::index_sequence<I...>) {
      return (0L + ... + child<I>::template parameter_count<shape_at<In, I>>);
    }(std::index_sequence_for<Layers...>{});
  }();
  template <class In>
  static constexpr long flops = [] {
    return []<std::size_t... I>(std::index_sequence<I...>) {
      return (0L + ... + child<I>::template flops<shape_at<In, I>>);
    }(std::index_sequence_for<Layers...>{});
  }();

  // Layer I fuses with layer I + 1 when it says it can (see layers/layer.hpp).
  template <std::size_t I>
  static constexpr bool fuses_next = [] {
    if constexpr (I + 1 < size) return FusesWith<child<I>, child<I + 1>>;
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
      if constexpr (fuses_previous<I>) return detail::type_is<PassThrough<B>>{};
      else if constexpr (fuses_next<I>) return detail::type_is<typename child<I>::template FusedRuntime<shape_at<In, I>, B>>{};
      else return detail::type_is<typename child<I>::template Runtime<shape_at<In, I>, B>>{};
    }
    template <class Indices> struct runtimes;
    template <std::size_t... I> struct runtimes<std::index_sequence<I...>> {
      using type = detail::Slots<typename decltype(runtime_for<I>())::type...>;
    };

    // Which layers have trainable parameters, and whether any layer before each one has.
    static constexpr auto trains = []<std::size_t... I>(std::index_sequence<I...>) {
      return std::array<bool, size>{(detail::trainable_parameters<child<I>, shape_at<In, I>>() > 0)...};
    }(std::index_sequence_for<Layers...>{});
    static constexpr auto trains_before = [] {
      std::array<bool, size> before{};
      for (std::size_t i = 1; i < size; ++i) before[i] = before[i - 1] || trains[i - 1];
      return before;
    }();

   public:
    using Tensor = typename B::Tensor;

    void initialize(Rng& rng) {
      detail::for_each_slot(layers_, [&]<std::size_t I>(auto& layer) { layer.initialize(rng); });
    }

    const Tensor& forward(const Tensor& x, Context<B>& context) {
      const Tensor* current = &x;
      std::size_t running = 0;
      try {
        detail::for_each_slot(layers_, [&]<std::size_t I>(auto& layer) {
          running = I;
          current = &layer.forward(*current, context);
        });
      } catch (...) {
        detail::rethrow_from_child(keys[running], names[running]);
      }
      return *current;
    }

    // Runs the layers up to and including the one at `path` (keys joined with dots, as
    // parameter names are: "layer3", "layer3.1") and returns its output: the features a
    // network computes at that point. A path into a nested Sequential recurses; one that
    // names nothing, points inside another kind of composite, or names a layer that runs fused
    // with the next one (its output alone is never computed) is an error.
    const Tensor& forward_until(const Tensor& x, Context<B>& context, std::string_view path) {
      const Tensor* current = &x;
      const Tensor* found = nullptr;
      std::size_t running = 0;
      bool in_layer = false;  // failures of a layer name it; a wrong path is the caller's
      try {
        detail::for_each_slot(layers_, [&]<std::size_t I>(auto& layer) {
          if (found) return;
          running = I;
          const std::string_view key = keys[I];
          const bool here = path == key;
          const bool inside = path.size() > key.size() && path.starts_with(key) && path[key.size()] == '.';
          if (here && fuses_next<I>)
            throw Error(fmt::format("features at \"{}\": this layer runs fused with the next one ({}), so its own "
                                    "output is never computed; ask for the next layer's path", path,
                                    child<I + (I + 1 < size ? 1 : 0)>::name()));
          if constexpr (requires { layer.forward_until(*current, context, path); }) {
            if (inside) {
              found = &layer.forward_until(*current, context, path.substr(key.size() + 1));
              return;
            }
          } else if (inside) {
            throw Error(fmt::format("features at \"{}\": \"{}\" is a {}, which can't stop inside", path, key,
                                    child<I>::name()));
          }
          in_layer = true;
          current = &layer.forward(*current, context);
          in_layer = false;
          if (here) found = current;
        });
      } catch (const LayerError&) {
        detail::rethrow_from_child(keys[running], names[running]);
      } catch (...) {
        if (in_layer) detail::rethrow_from_child(keys[running], names[running]);
        throw;
      }
      if (!found) {
        std::string known;
        for (const char* key : keys) known += (known.empty() ? "" : ", ") + std::string(key);
        throw Error(fmt::format("features at \"{}\": no layer has this path here (this Sequential's keys: {})", path,
                                known));
      }
      return *found;
    }

    // Runs the layers' backward in reverse. A layer computes its input gradient when the
    // caller wants one (want_dx) or a layer before it trains; one that trains nothing and
    // owes no gradient is skipped, so a frozen prefix (or a network's first layer) costs
    // nothing. Returns the input gradient when want_dx, else nullptr.
    const Tensor* backward(const Tensor& dy, Context<B>& context, bool want_dx) {
      const Tensor* gradient = &dy;
      std::size_t running = size - 1;
      try {
        detail::for_each_slot_reversed(layers_, [&]<std::size_t I>(auto& layer) {
          running = I;
          const bool dx_needed = want_dx || trains_before[I];
          if (!trains[I] && !dx_needed) gradient = nullptr;
          else gradient = layer.backward(*gradient, context, dx_needed);
          if (trains[I] && context.on_gradients) report_gradients(layer, context);
        });
      } catch (...) {
        detail::rethrow_from_child(keys[running], names[running]);
      }
      return gradient;
    }

    // Names are "<key>.<name>": the position in the list, counting from 0 as PyTorch's
    // nn.Sequential does, or the name Named gave.
    void collect(ParameterList<B>& list, const std::string& prefix) {
      detail::for_each_slot(layers_, [&]<std::size_t I>(auto& layer) {
        layer.collect(list, detail::child_prefix(prefix, keys[I]));
      });
    }

    template <std::size_t I>
    auto& get() { return detail::slot<I>(layers_); }

   private:
    // Tells data-parallel training (Context::on_gradients) that `layer`'s gradients are final.
    template <class L>
    static void report_gradients(L& layer, Context<B>& context) {
      ParameterList<B> done;
      layer.collect(done, "");
      if (!done.empty()) context.on_gradients(done);
    }

    // Failures inside a layer come out naming its path and type (see rethrow_from_child).
    // One handler per pass rather than one per layer keeps the generated code small.
    static constexpr const auto& keys = detail::child_keys<Sequential>;
    static constexpr const auto& names = detail::child_names<Sequential>;

    typename runtimes<std::index_sequence_for<Layers...>>::type layers_;
  };
};

// N copies of Block in a row, keyed 0 .. N-1: Repeat<3, Block> is Sequential<Block, Block, Block>.
namespace detail {
template <std::size_t, class T> using repeated = T;
template <class Block, class Indices> struct repeat;
template <class Block, std::size_t... I> struct repeat<Block, std::index_sequence<I...>> {
  using type = Sequential<repeated<I, Block>...>;
};
}  // namespace detail
template <int N, class Block>
  requires(N >= 1)
using Repeat = typename detail::repeat<Block, std::make_index_sequence<N>>::type;

}  // namespace ctnn
