// Layers whose branches all take the same input and are joined:
//
//   Residual<Body, Shortcut = Identity, Post = Identity>   Post(Body(x) + Shortcut(x))
//   Add<Branch...>                                         Branch0(x) + Branch1(x) + ...
//   Concat<Branch...>                                      the branches' channels side by side
//
// plus Identity, the projection shortcut (1x1 convolution without bias, then BN) and
// torchvision's rule for choosing between them (ShortcutFor). Both branches' shapes are
// checked at compile time; a mismatch is one error at the block's path, showing both shapes.
//
// Backward hands one gradient to every branch without copying it (a slice of it, for Concat)
// and sums the branches' input gradients once. Residual with Post = ReLU (or followed by a
// ReLU in a Sequential) runs the add and the ReLU as one pass each way.
//
// Names: Residual's body adds no level to parameter names (torchvision's "layer1.0.conv1"),
// its shortcut is "shortcut" and its Post "post" unless Named otherwise (Named<"downsample",
// ...>); Add's and Concat's branches are keyed by position.
#pragma once
#include <array>
#include <cstddef>  // std::size_t
#include <limits>
#include <string>
#include <type_traits>
#include <utility>  // std::index_sequence

#include "ctnn/core/typelist.hpp"      // nth, Slots
#include "ctnn/layers/activation.hpp"  // ReLU
#include "ctnn/layers/batchnorm.hpp"   // BN, for the projection shortcut
#include "ctnn/layers/composite.hpp"   // Named, key_of, the composite protocol
#include "ctnn/layers/conv.hpp"        // ConvNoBias
#include "ctnn/layers/layer.hpp"
#include "ctnn/sequential.hpp"         // Sequential, report_unless, type_is

namespace ctnn {

// Passes its input on: Residual's default shortcut.
struct Identity : ShapePreserving {
  static std::string name() { return "Identity"; }
  template <class In> static constexpr long flops = 0;
  template <class In, class B> using Runtime = PassThrough<B>;
};

// The projection shortcut of a block that changes channels or resolution (torchvision's
// downsample): a 1x1 convolution with the block's stride, without bias, then BN.
template <int In, int Out, int Stride = 1>
using Projection = Sequential<ConvNoBias<In, Out, 1, Stride, 0>, BN<Out>>;

// torchvision's rule: the identity where the block keeps channels and resolution, else a
// projection.
template <int In, int Out, int Stride = 1>
using ShortcutFor = std::conditional_t<In == Out && Stride == 1, Identity, Projection<In, Out, Stride>>;

namespace detail {

// T's name if Named, else Default.
template <class T, fixed_string Default>
constexpr auto key_or() {
  if constexpr (is_named<T>) return T::given_name;
  else return Default;
}

// L's output for In where L accepts it, else InvalidShape: never an error of its own.
template <class L, class In>
constexpr auto output_or_invalid() {
  if constexpr (!std::is_same_v<In, InvalidShape> && L::template accepts<In>) return type_is<typename L::template output<In>>{};
  else return type_is<InvalidShape>{};
}
template <class L, class In>
using output_or_invalid_t = typename decltype(output_or_invalid<L, In>())::type;

struct no_check {};
// L's check_input at Where when Report, else nothing; instantiated by sizeof.
template <bool Report, class L, class Where, class In>
using check_if = std::conditional_t<Report, typename L::template check_input<Where, In>, no_check>;

// The first index in [0, N) whose flag is false, or N.
template <std::size_t N>
constexpr std::size_t first_false(const std::array<bool, N>& flags) {
  for (std::size_t i = 0; i < N; ++i)
    if (!flags[i]) return i;
  return N;
}

// Each check compares two numbers only when the ones before it hold, so the compiler's note
// shows them ("the comparison reduces to '(64 == 128)'") and one mistake is one error.
// In the instantiation line, First is the body (branch 0) and Other the shortcut (branch I).
template <class Where, class First, class Other>
struct residual_body_and_shortcut_agree {
  static constexpr bool same_kind = ImageShape<First> == ImageShape<Other>;
  static_assert(same_kind, "Residual: one branch gives an image and the other flat features");
  static_assert(channels_of<Other> == (same_kind ? channels_of<First> : channels_of<Other>),
                "Residual: the shortcut's channel count differs from the body's (shown as shortcut == body); "
                "a block that changes channels needs a projection shortcut (ShortcutFor<In, Out, Stride>)");
  static constexpr bool channels = same_kind && channels_of<Other> == channels_of<First>;
  static_assert(height_of<Other> == (channels ? height_of<First> : height_of<Other>),
                "Residual: the shortcut's height differs from the body's (shown as shortcut == body); "
                "a strided body needs a shortcut with the same stride (ShortcutFor<In, Out, Stride>)");
  static_assert(width_of<Other> == (channels && height_of<Other> == height_of<First> ? width_of<First> : width_of<Other>),
                "Residual: the shortcut's width differs from the body's (shown as shortcut == body)");
  static_assert(features_of<Other> == (same_kind ? features_of<First> : features_of<Other>),
                "Residual: the shortcut's feature count differs from the body's (shown as shortcut == body)");
};

template <class Where, class First, class Other>
struct add_branches_agree {
  static constexpr bool same_kind = ImageShape<First> == ImageShape<Other>;
  static_assert(same_kind, "Add: one branch gives an image and another flat features");
  static_assert(channels_of<Other> == (same_kind ? channels_of<First> : channels_of<Other>),
                "Add: a branch's channel count differs from branch 0's (shown as branch == branch 0)");
  static constexpr bool channels = same_kind && channels_of<Other> == channels_of<First>;
  static_assert(height_of<Other> == (channels ? height_of<First> : height_of<Other>),
                "Add: a branch's height differs from branch 0's (shown as branch == branch 0)");
  static_assert(width_of<Other> == (channels && height_of<Other> == height_of<First> ? width_of<First> : width_of<Other>),
                "Add: a branch's width differs from branch 0's (shown as branch == branch 0)");
  static_assert(features_of<Other> == (same_kind ? features_of<First> : features_of<Other>),
                "Add: a branch's feature count differs from branch 0's (shown as branch == branch 0)");
};

template <class Where, class First, class Other>
struct concat_branches_agree {
  static constexpr bool images = ImageShape<First> && ImageShape<Other>;
  static_assert(images, "Concat: joins images along their channels, but a branch gives flat features");
  static_assert(height_of<Other> == (images ? height_of<First> : height_of<Other>),
                "Concat: a branch's height differs from branch 0's (shown as branch == branch 0)");
  static_assert(width_of<Other> == (images && height_of<Other> == height_of<First> ? width_of<First> : width_of<Other>),
                "Concat: a branch's width differs from branch 0's (shown as branch == branch 0)");
};

template <class S, class T> inline constexpr bool same_extent = false;
template <int C, int D, int H, int W> inline constexpr bool same_extent<Image<C, H, W>, Image<D, H, W>> = true;

enum class JoinKind { sum, concat };

// What Add, Concat and Residual do at run time: every branch runs on the same input, the
// outputs are joined (summed, with a ReLU after the last add when Relu, or concatenated), and
// backward gives each branch its gradient (the same tensor, or its slice for concat) and sums
// the input gradients once. A failure inside a branch leaves its index in `running`, so the
// composite can name it; failures of the join itself leave `own`.
template <class In, class B, JoinKind Kind, bool Relu, class... Branches>
class JoinRuntime {
 public:
  using Tensor = typename B::Tensor;
  static constexpr std::size_t count = sizeof...(Branches);
  static constexpr std::size_t own = std::numeric_limits<std::size_t>::max();
  static_assert(count >= 2, "a join needs at least two branches");
  static_assert(!(Relu && Kind == JoinKind::concat), "a fused ReLU follows a sum only");

  void initialize(Rng& rng) {
    for_each_slot(branches_, [&]<std::size_t I>(auto& branch) { branch.initialize(rng); });
  }

  template <class Keys>
  void collect(ParameterList<B>& list, const std::string& prefix, const Keys& keys) {
    for_each_slot(branches_, [&]<std::size_t I>(auto& branch) { branch.collect(list, child_prefix(prefix, keys[I])); });
  }

  const Tensor& forward(const Tensor& x, Context<B>& context, std::size_t& running) {
    for_each_slot(branches_, [&]<std::size_t I>(auto& branch) {
      running = I;
      outputs_[I] = &branch.forward(x, context);
    });
    running = own;
    if constexpr (Kind == JoinKind::sum) {
      B::add_forward(adds_[0], *outputs_[0], *outputs_[1], output_, Relu && count == 2);
      for (std::size_t i = 2; i < count; ++i) B::add_forward(adds_[i - 1], output_, *outputs_[i], output_, Relu && i + 1 == count);
    } else {
      B::concat_forward(concat_, outputs_, output_);
    }
    return output_;
  }

  const Tensor* backward(const Tensor& dy, Context<B>& context, bool want_dx, std::size_t& running) {
    running = own;
    std::array<const Tensor*, count> grads;
    if constexpr (Kind == JoinKind::sum) {
      const Tensor* g = &dy;
      if constexpr (Relu) {
        B::add_relu_backward(adds_[count - 2], output_, dy, masked_);
        g = &masked_;
      }
      grads.fill(g);
    } else {
      std::array<Tensor*, count> parts;
      for (std::size_t i = 0; i < count; ++i) parts[i] = &part_grads_[i], grads[i] = &part_grads_[i];
      B::concat_backward(concat_, dy, parts);
    }
    std::array<const Tensor*, count> dx{};
    for_each_slot_reversed(branches_, [&]<std::size_t I>(auto& branch) {
      running = I;
      if (want_dx || trains[I]) dx[I] = branch.backward(*grads[I], context, want_dx);  // else nothing to learn
    });
    running = own;
    if (!want_dx) return nullptr;
    B::add_forward(gradient_adds_[0], *dx[0], *dx[1], input_grad_, false);
    for (std::size_t i = 2; i < count; ++i) B::add_forward(gradient_adds_[i - 1], input_grad_, *dx[i], input_grad_, false);
    return &input_grad_;
  }

  template <std::size_t I>
  auto& branch() { return slot<I>(branches_); }

 private:
  static constexpr std::array<bool, count> trains{(trainable_parameters<Branches, In>() > 0)...};
  Slots<typename Branches::template Runtime<In, B>...> branches_;
  std::array<const Tensor*, count> outputs_{};
  std::array<typename B::AddState, count - 1> adds_, gradient_adds_;
  std::conditional_t<Kind == JoinKind::concat, typename B::ConcatState, no_check> concat_;
  std::conditional_t<Kind == JoinKind::concat, std::array<Tensor, count>, no_check> part_grads_;
  Tensor output_, masked_, input_grad_;
};

// Rethrows the exception in flight naming the child at `running` (or, for the join's own
// failure, as it is: the enclosing composite names this layer).
template <class Keys, class Names>
[[noreturn]] void rethrow_from_join(std::size_t running, std::size_t own, const Keys& keys, const Names& names) {
  if (running == own) throw;
  rethrow_from_child(keys[running], names[running]);
}

// Add and Concat: branches keyed by position, all taking the input.
template <JoinKind Kind, class... Elements>
struct Join {
  static_assert(sizeof...(Elements) >= 2, "Add<...> / Concat<...>: give at least two branches");
  static constexpr std::size_t child_count = sizeof...(Elements);
  template <std::size_t I> using child = unnamed<nth<I, Elements...>>;
  template <std::size_t I> static constexpr auto key = key_of<nth<I, Elements...>, I>();
  template <class In, std::size_t I> using child_input = In;

  template <class In> using first_output = output_or_invalid_t<child<0>, In>;

  // Concat's output: branch 0's height and width, every branch's channels.
  template <class In>
  static constexpr auto joined_output() {
    if constexpr (!accepts<In>) {
      return type_is<InvalidShape>{};
    } else if constexpr (Kind == JoinKind::sum) {
      return type_is<first_output<In>>{};
    } else {
      using First = first_output<In>;
      constexpr int channels = (0 + ... + static_cast<int>(channels_of<output_or_invalid_t<unnamed<Elements>, In>>));
      return type_is<Image<channels, First::height, First::width>>{};
    }
  }

  template <class In>
  static constexpr bool branch_agrees(auto branch) {
    using L = typename decltype(branch)::type;
    if constexpr (!L::template accepts<In>) {
      return false;
    } else if constexpr (Kind == JoinKind::sum) {
      return std::is_same_v<typename L::template output<In>, first_output<In>>;
    } else {
      return same_extent<typename L::template output<In>, first_output<In>>;
    }
  }

  template <class In>
  static constexpr bool accepts = (branch_agrees<In>(type_is<unnamed<Elements>>{}) && ...);
  template <class In>
  using output = typename decltype(report_unless<accepts<In>, Join, at_root, In,
                                                 typename decltype(joined_output<In>())::type>())::type;

  // The first branch that can't take the input, or else the first whose output doesn't
  // agree with branch 0's, is the one error.
  template <class Where, class In>
  struct check_input {
    static constexpr std::size_t failing =
        first_false<child_count>({unnamed<Elements>::template accepts<In>...});
    static_assert(sizeof(check_if<(failing < child_count), child<(failing < child_count ? failing : 0)>,
                                  at_child<Where, key<(failing < child_count ? failing : 0)>>, In>) > 0);
    static constexpr std::size_t disagreeing =
        failing < child_count ? child_count : first_false<child_count>({branch_agrees<In>(type_is<unnamed<Elements>>{})...});
    using other = output_or_invalid_t<child<(disagreeing < child_count ? disagreeing : 0)>, In>;
    using agree = std::conditional_t<Kind == JoinKind::sum, add_branches_agree<Where, first_output<In>, other>,
                                     concat_branches_agree<Where, first_output<In>, other>>;
    static_assert(sizeof(std::conditional_t<(disagreeing < child_count), agree, no_check>) > 0);
  };

  template <class In>
  static constexpr long parameter_count = (0L + ... + unnamed<Elements>::template parameter_count<In>);
  // Summing N outputs takes N - 1 additions an element; concatenation only moves data.
  template <class In>
  static constexpr long join_flops = Kind == JoinKind::sum ? (child_count - 1) * output<In>::size : 0;
  template <class In>
  static constexpr long flops = (0L + ... + unnamed<Elements>::template flops<In>) + join_flops<In>;

  template <class In, class B>
  class Runtime {
   public:
    using Tensor = typename B::Tensor;
    void initialize(Rng& rng) { join_.initialize(rng); }
    void collect(ParameterList<B>& list, const std::string& prefix) { join_.collect(list, prefix, child_keys<Join>); }
    const Tensor& forward(const Tensor& x, Context<B>& context) {
      std::size_t running = 0;
      try {
        return join_.forward(x, context, running);
      } catch (...) {
        rethrow_from_join(running, join_.own, child_keys<Join>, child_names<Join>);
      }
    }
    const Tensor* backward(const Tensor& dy, Context<B>& context, bool want_dx) {
      std::size_t running = 0;
      try {
        return join_.backward(dy, context, want_dx, running);
      } catch (...) {
        rethrow_from_join(running, join_.own, child_keys<Join>, child_names<Join>);
      }
    }
    template <std::size_t I> auto& branch() { return join_.template branch<I>(); }

   private:
    JoinRuntime<In, B, Kind, false, unnamed<Elements>...> join_;
  };
};

}  // namespace detail

template <class... Branches>
struct Add : detail::Join<detail::JoinKind::sum, Branches...> {
  static std::string name() {
    std::string inner;
    ((inner += (inner.empty() ? "" : ", ") + unnamed<Branches>::name()), ...);
    return "Add<" + inner + ">";
  }
  static std::string join_name() { return "Add"; }
};

template <class... Branches>
struct Concat : detail::Join<detail::JoinKind::concat, Branches...> {
  static std::string name() {
    std::string inner;
    ((inner += (inner.empty() ? "" : ", ") + unnamed<Branches>::name()), ...);
    return "Concat<" + inner + ">";
  }
  static std::string join_name() { return "Concat"; }
};

template <class Body, class Shortcut = Identity, class Post = Identity>
struct Residual {
  using BodyLayer = unnamed<Body>;
  using ShortcutLayer = unnamed<Shortcut>;
  using PostLayer = unnamed<Post>;
  // Post = ReLU is fused into the add; Post = Identity is nothing. Neither is a child.
  static constexpr bool post_fused = std::is_same_v<PostLayer, ReLU>;
  static constexpr bool has_post = !post_fused && !std::is_same_v<PostLayer, Identity>;
  static constexpr bool has_shortcut = !std::is_same_v<ShortcutLayer, Identity>;

  static std::string name() {
    std::string text = "Residual<" + BodyLayer::name();
    if constexpr (has_shortcut || has_post || post_fused) text += ", " + ShortcutLayer::name();
    if constexpr (has_post || post_fused) text += ", " + PostLayer::name();
    return text + ">";
  }

  // --- the composite protocol: body, then the shortcut and Post where they do something ----
  // Roles: 0 body, 1 shortcut, 2 post.
  template <int Role>
  static constexpr auto role_key() {
    if constexpr (Role == 0) return detail::key_or<Body, "">();
    else if constexpr (Role == 1) return detail::key_or<Shortcut, "shortcut">();
    else return detail::key_or<Post, "post">();
  }
  static constexpr std::size_t child_count = 1 + has_shortcut + has_post;
  template <std::size_t I> static constexpr int role = I == 0 ? 0 : (I == 1 && has_shortcut ? 1 : 2);
  template <std::size_t I> using child = detail::nth<role<I>, BodyLayer, ShortcutLayer, PostLayer>;
  template <std::size_t I> static constexpr auto key = role_key<role<I>>();
  template <class In> using sum_shape = detail::output_or_invalid_t<BodyLayer, In>;
  template <class In, std::size_t I> using child_input = std::conditional_t<role<I> == 2, sum_shape<In>, In>;

  template <class In>
  static constexpr bool accepts = [] {
    using BodyOut = detail::output_or_invalid_t<BodyLayer, In>;
    using ShortcutOut = detail::output_or_invalid_t<ShortcutLayer, In>;
    if constexpr (std::is_same_v<BodyOut, InvalidShape> || !std::is_same_v<BodyOut, ShortcutOut>) return false;
    else return PostLayer::template accepts<BodyOut>;
  }();
  template <class In>
  using output = typename decltype(detail::report_unless<accepts<In>, Residual, at_root, In,
                                                         detail::output_or_invalid_t<PostLayer, sum_shape<In>>>())::type;

  // One error: the body's, else the shortcut's, else the branches' disagreement, else Post's.
  template <class Where, class In>
  struct check_input {
    static constexpr bool body_ok = BodyLayer::template accepts<In>;
    static_assert(sizeof(detail::check_if<!body_ok, BodyLayer, at_child<Where, role_key<0>()>, In>) > 0);
    static constexpr bool shortcut_ok = ShortcutLayer::template accepts<In>;
    static_assert(sizeof(detail::check_if<body_ok && !shortcut_ok, ShortcutLayer, at_child<Where, role_key<1>()>, In>) > 0);
    using body_out = detail::output_or_invalid_t<BodyLayer, In>;
    using shortcut_out = detail::output_or_invalid_t<ShortcutLayer, In>;
    static constexpr bool agree = std::is_same_v<body_out, shortcut_out>;
    static_assert(sizeof(std::conditional_t<body_ok && shortcut_ok && !agree,
                                            detail::residual_body_and_shortcut_agree<Where, body_out, shortcut_out>, detail::no_check>) > 0);
    static_assert(sizeof(detail::check_if<body_ok && shortcut_ok && agree && !PostLayer::template accepts<body_out>,
                                          PostLayer, at_child<Where, role_key<2>()>, body_out>) > 0);
  };

  template <class In>
  static constexpr long parameter_count = BodyLayer::template parameter_count<In> +
                                          ShortcutLayer::template parameter_count<In> +
                                          PostLayer::template parameter_count<sum_shape<In>>;
  template <class In>
  static constexpr long join_flops = sum_shape<In>::size * (post_fused ? 2 : 1);
  template <class In>
  static constexpr long flops = BodyLayer::template flops<In> + ShortcutLayer::template flops<In> + join_flops<In> +
                                (has_post ? PostLayer::template flops<sum_shape<In>> : 0);
  static std::string join_name() { return post_fused ? "Add+ReLU" : "Add"; }

  // A ReLU right after a Residual without Post joins its add (see Sequential's fusion).
  template <class Next>
  static constexpr bool fuses_with = !has_post && !post_fused && std::is_same_v<Next, ReLU>;

  template <class In, class B, bool FusedRelu = false>
  class Runtime {
    static constexpr bool relu = post_fused || FusedRelu;
    static constexpr std::size_t post_index = 2;
    static constexpr auto body_key = role_key<0>();
    static constexpr auto shortcut_key = role_key<1>();
    static constexpr auto post_key = role_key<2>();
    // By role, for names and errors: the join's branches are 0 and 1.
    static constexpr std::array<const char*, 3> keys{body_key.text, shortcut_key.text, post_key.text};
    static constexpr std::array<std::string (*)(), 3> names{&BodyLayer::name, &ShortcutLayer::name, &PostLayer::name};

   public:
    using Tensor = typename B::Tensor;

    void initialize(Rng& rng) {
      join_.initialize(rng);
      if constexpr (has_post) post_.initialize(rng);
    }

    void collect(ParameterList<B>& list, const std::string& prefix) {
      join_.collect(list, prefix, keys);
      if constexpr (has_post) post_.collect(list, detail::child_prefix(prefix, keys[post_index]));
    }

    const Tensor& forward(const Tensor& x, Context<B>& context) {
      std::size_t running = 0;
      try {
        const Tensor& sum = join_.forward(x, context, running);
        if constexpr (!has_post) {
          return sum;
        } else {
          running = post_index;
          return post_.forward(sum, context);
        }
      } catch (...) {
        detail::rethrow_from_join(running, join_.own, keys, names);
      }
    }

    const Tensor* backward(const Tensor& dy, Context<B>& context, bool want_dx) {
      std::size_t running = 0;
      try {
        const Tensor* g = &dy;
        if constexpr (has_post) {
          running = post_index;
          g = post_.backward(dy, context, true);
        }
        return join_.backward(*g, context, want_dx, running);
      } catch (...) {
        detail::rethrow_from_join(running, join_.own, keys, names);
      }
    }

    auto& body() { return join_.template branch<0>(); }
    auto& shortcut() { return join_.template branch<1>(); }

   private:
    detail::JoinRuntime<In, B, detail::JoinKind::sum, relu, BodyLayer, ShortcutLayer> join_;
    std::conditional_t<has_post, typename PostLayer::template Runtime<sum_shape<In>, B>, detail::no_check> post_;
  };

  template <class In, class B>
  using FusedRuntime = Runtime<In, B, true>;
};

}  // namespace ctnn
