// Type-list tools whose compile cost doesn't grow with the list's length the way recursion
// does: the I-th type of a pack and a flat aggregate of values, both by pack expansion over an
// index sequence (std::tuple nests one base class per element, so a 150-layer network needs
// a template depth above 150 and nvcc gives up with "excessive recursion").
#pragma once
#include <cstddef>  // std::size_t
#include <utility>  // std::index_sequence

namespace ctnn::detail {

// --- the I-th type of a pack ------------------------------------------------------------------
template <std::size_t I, class T>
struct Indexed {
  using type = T;
};
template <class Indices, class... T>
struct IndexedPack;
template <std::size_t... I, class... T>
struct IndexedPack<std::index_sequence<I...>, T...> : Indexed<I, T>... {};
// Overload resolution picks the one base whose index is I.
template <std::size_t I, class T>
Indexed<I, T> pick(const Indexed<I, T>&);

template <std::size_t I, class... T>
using nth = typename decltype(pick<I>(IndexedPack<std::index_sequence_for<T...>, T...>{}))::type;

// --- a flat aggregate: one member per type, reached by index -----------------------------------
template <std::size_t I, class T>
struct Slot {
  T value;
};
template <class Indices, class... T>
struct SlotsOf;
template <std::size_t... I, class... T>
struct SlotsOf<std::index_sequence<I...>, T...> : Slot<I, T>... {
  static constexpr std::size_t size = sizeof...(T);
};
template <class... T>
using Slots = SlotsOf<std::index_sequence_for<T...>, T...>;

template <std::size_t I, class T>
T& slot(Slot<I, T>& s) {
  return s.value;
}
template <std::size_t I, class T>
const T& slot(const Slot<I, T>& s) {
  return s.value;
}

// Calls f.template operator()<I>(element I) for every element in order, or in reverse.
template <class S, class F>
void for_each_slot(S& slots, F&& f) {
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (f.template operator()<I>(slot<I>(slots)), ...);
  }(std::make_index_sequence<S::size>{});
}
template <class S, class F>
void for_each_slot_reversed(S& slots, F&& f) {
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (f.template operator()<S::size - 1 - I>(slot<S::size - 1 - I>(slots)), ...);
  }(std::make_index_sequence<S::size>{});
}

}  // namespace ctnn::detail
