// Paths to a layer inside a network, as compile-time strings: "layer2.0.conv1". Every place
// that names a layer uses the same path: parameter names ("layer2.0.conv1.weight", PyTorch's
// state_dict keys), summaries, run-time LayerErrors and compile-time shape errors, which show
// it as the first template argument of the failing layer's check_input:
//   check_input<ctnn::at<ctnn::fixed_string<15>{"layer2.0.conv1"}>, ctnn::Image<64, 16, 16>>
// A path is made of keys, one per level: a child's position in its parent (counting from 0,
// as nn.Sequential) or the name given with Named<"conv1", ...>. An empty key adds no level
// (Residual's body: its children sit directly under the block, as in torchvision).
#pragma once
#include <cstddef>  // std::size_t
#include <string>

namespace ctnn {

// A string usable as a template argument: Named<"layer1", ...>. N counts the terminating 0.
template <std::size_t N>
struct fixed_string {
  char text[N] = {};
  constexpr fixed_string() = default;
  constexpr fixed_string(const char (&s)[N]) {
    for (std::size_t i = 0; i < N; ++i) text[i] = s[i];
  }
  static constexpr std::size_t length = N - 1;
  constexpr bool empty() const { return N == 1; }
  std::string str() const { return std::string(text, length); }
};

// A layer's place in the network in compile-time diagnostics (see above).
template <fixed_string Path>
struct at {
  static constexpr auto path = Path;
};

namespace detail {

constexpr std::size_t decimal_digits(std::size_t n) { return n < 10 ? 1 : 1 + decimal_digits(n / 10); }

// The decimal spelling of N as a key: "0", "12".
template <std::size_t N>
constexpr fixed_string<decimal_digits(N) + 1> index_key() {
  fixed_string<decimal_digits(N) + 1> key;
  std::size_t n = N;
  for (std::size_t i = decimal_digits(N); i-- > 0; n /= 10) key.text[i] = static_cast<char>('0' + n % 10);
  return key;
}

// "a" + "b" -> "a.b"; an empty side adds no dot.
template <fixed_string A, fixed_string B>
constexpr auto join_path() {
  if constexpr (A.empty()) {
    return B;
  } else if constexpr (B.empty()) {
    return A;
  } else {
    fixed_string<A.length + B.length + 2> out;
    for (std::size_t i = 0; i < A.length; ++i) out.text[i] = A.text[i];
    out.text[A.length] = '.';
    for (std::size_t i = 0; i < B.length; ++i) out.text[A.length + 1 + i] = B.text[i];
    return out;
  }
}

// The run-time counterpart for names built while walking a network: "a" + "b" -> "a.b".
inline std::string join_path(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  return a + "." + b;
}

}  // namespace detail

// The path of child `Key` of the layer at `Where`.
template <class Where, fixed_string Key>
using at_child = at<detail::join_path<Where::path, Key>()>;

// The network itself: the root of every path.
using at_root = at<fixed_string<1>{}>;

}  // namespace ctnn
