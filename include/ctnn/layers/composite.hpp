// The composite protocol: layers made of other layers (Sequential, Residual, Add, Concat).
// Besides the layer contract (layer.hpp), a composite C declares its children, and everything
// that walks a network (parameter names, summaries, run-time LayerErrors, compile-time shape
// errors) goes through these declarations instead of knowing each combinator:
//
//   static constexpr std::size_t child_count;
//   template <std::size_t I> using child;                  // child I's layer type
//   template <std::size_t I> static constexpr auto key;    // its key in paths (core/path.hpp)
//   template <class In, std::size_t I> using child_input;  // the shape it receives when C gets In
//
// and optionally, for work the composite does itself after its children (a Residual's add):
//   static std::string join_name();  template <class In> static constexpr long join_flops;
//
// Named<"conv1", L> is L with a key of its own: its parent uses "conv1" instead of L's position.
#pragma once
#include <array>
#include <concepts>  // std::convertible_to
#include <cstddef>   // std::size_t
#include <exception>
#include <string>
#include <type_traits>
#include <utility>  // std::index_sequence
#include <vector>

#include <fmt/core.h>

#include "ctnn/core/error.hpp"    // Error
#include "ctnn/core/path.hpp"     // fixed_string, at, index_key, join_path
#include "ctnn/layers/layer.hpp"  // the layer contract

namespace ctnn {

// L under the name Name in its parent: Named<"layer1", Sequential<...>>. In every other
// respect it is L.
template <fixed_string Name, class L>
struct Named : L {
  static_assert(!Name.empty(), "Named<\"\", L>: give a non-empty name");
  static constexpr auto given_name = Name;
};

namespace detail {
template <class T> struct unnamed_impl { using type = T; };
template <fixed_string Name, class L> struct unnamed_impl<Named<Name, L>> { using type = L; };
template <class T> inline constexpr bool is_named = false;
template <fixed_string Name, class L> inline constexpr bool is_named<Named<Name, L>> = true;
}  // namespace detail

// The layer behind a list element, without its Named wrapper.
template <class T>
using unnamed = typename detail::unnamed_impl<T>::type;

// The key of list element T at position I: its name if Named, else its position.
template <class T, std::size_t I>
constexpr auto key_of() {
  if constexpr (detail::is_named<T>) return T::given_name;
  else return detail::index_key<I>();
}

template <class L>
concept Composite = requires {
  { L::child_count } -> std::convertible_to<std::size_t>;
};

template <class L>
concept HasJoin = requires { { L::join_name() } -> std::convertible_to<std::string>; };

// An error raised inside a layer at run time, with the layer's path ("layer2.0.conv1") and name.
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

// Called from a catch block in a composite: rethrows the exception in flight as a LayerError
// naming the child with key `key` (whose type name `name` gives). A LayerError from deeper
// down gets the key prepended to its path; anything not a std::exception passes as is.
[[noreturn]] inline void rethrow_from_child(const char* key, std::string (*name)()) {
  try {
    throw;
  } catch (const LayerError& e) {
    throw LayerError(join_path(key, e.path()), e.layer(), e.message());
  } catch (const std::exception& e) {
    throw LayerError(key, name(), e.what());
  }
}

// The parameter-name prefix of a child: "layer1." + "0" -> "layer1.0."; an empty key adds none.
inline std::string child_prefix(const std::string& prefix, const char* key) {
  return *key ? prefix + key + "." : prefix;
}

// The run-time spellings of a composite's keys, in child order.
template <Composite C>
inline constexpr auto child_keys = []<std::size_t... I>(std::index_sequence<I...>) {
  return std::array<const char*, C::child_count>{C::template key<I>.text...};
}(std::make_index_sequence<C::child_count>{});

// The type names of a composite's children, for LayerErrors.
template <Composite C>
inline constexpr auto child_names = []<std::size_t... I>(std::index_sequence<I...>) {
  return std::array<std::string (*)(), C::child_count>{&C::template child<I>::name...};
}(std::make_index_sequence<C::child_count>{});

}  // namespace detail

// A layer whose parameters don't train (Frozen<L>) declares `static constexpr bool frozen = true`.
template <class L>
concept FrozenLayer = requires { requires L::frozen; };

namespace detail {

// The parameters of L (receiving In) that an optimizer updates: all of a leaf's, none of a
// frozen layer's, and a composite's children's. Backward skips what trains nothing and feeds
// no gradient to anything that does.
template <class L, class In>
constexpr long trainable_parameters() {
  if constexpr (FrozenLayer<L>) {
    return 0;
  } else if constexpr (Composite<L>) {
    return []<std::size_t... I>(std::index_sequence<I...>) {
      return (0L + ... + trainable_parameters<typename L::template child<I>, typename L::template child_input<In, I>>());
    }(std::make_index_sequence<L::child_count>{});
  } else {
    return L::template parameter_count<In>;
  }
}

}  // namespace detail

// One row of a model summary.
struct SummaryRow {
  std::string path;    // "layer2.0.conv1", as the parameters are named
  std::string layer;   // "Conv<32,64,3,1,1>"
  std::string output;  // "64x16x16"
  long parameters;
  long flops;          // forward, per sample
};

namespace detail {

// Appends the rows of layer L (at `path`, receiving In): one per leaf, plus one for a
// composite's own join after its children.
template <class L, class In>
void summarize(std::vector<SummaryRow>& rows, const std::string& path) {
  if constexpr (Composite<L>) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (summarize<typename L::template child<I>, typename L::template child_input<In, I>>(
           rows, join_path(path, L::template key<I>.str())),
       ...);
    }(std::make_index_sequence<L::child_count>{});
    if constexpr (HasJoin<L>)
      rows.push_back({path, L::join_name(), shape_name<typename L::template output<In>>(), 0,
                      L::template join_flops<In>});
  } else {
    rows.push_back({path, L::name(), shape_name<typename L::template output<In>>(),
                    L::template parameter_count<In>, L::template flops<In>});
  }
}

}  // namespace detail

}  // namespace ctnn
