// Frozen<L>: L with its parameters fixed, as a pretrained feature extractor is used:
//
//   using Net = Sequential<Frozen<Backbone>, Named<"fc", Linear<512, 10>>>;
//
// - Its parameters are listed as buffers (no gradient): optimizers skip them, checkpoints keep
//   them, and the names are L's own (Frozen adds no level), so pretrained weights load as is.
// - It runs in eval mode whatever the model's mode: BN normalises with its running statistics
//   and leaves them unchanged, Dropout passes its input on. (PyTorch's requires_grad = False
//   does neither: its BN layers keep updating their statistics in train mode, pytorch #86590.)
// - Backward runs only when something before it needs the input gradient; a frozen prefix of
//   a network runs no backward at all (Sequential skips every layer that neither trains nor
//   feeds a gradient to one that does; see detail::trainable_parameters).
#pragma once
#include <string>

#include "ctnn/core/context.hpp"      // Context, Mode
#include "ctnn/layers/composite.hpp"  // the composite protocol, unnamed
#include "ctnn/layers/layer.hpp"

namespace ctnn {

template <class L>
struct Frozen {
  using Inner = unnamed<L>;
  static constexpr bool frozen = true;  // see detail::trainable_parameters
  static std::string name() { return "Frozen<" + Inner::name() + ">"; }

  // --- the composite protocol: one child, adding no level to paths -------------------------
  static constexpr std::size_t child_count = 1;
  template <std::size_t> using child = Inner;
  template <std::size_t> static constexpr fixed_string<1> key{};
  template <class In, std::size_t> using child_input = In;

  template <class In> static constexpr bool accepts = Inner::template accepts<In>;
  template <class In> using output = typename Inner::template output<In>;
  template <class Where, class In> using check_input = typename Inner::template check_input<Where, In>;
  template <class In> static constexpr long parameter_count = Inner::template parameter_count<In>;
  template <class In> static constexpr long flops = Inner::template flops<In>;

  template <class In, class B>
  class Runtime {
   public:
    using Tensor = typename B::Tensor;

    void initialize(Rng& rng) { inner_.initialize(rng); }

    const Tensor& forward(const Tensor& x, Context<B>& context) {
      const EvalScope eval(context);
      return inner_.forward(x, context);
    }

    // Only the input gradient is of use; the inner layers' parameter gradients, which they
    // compute along the way, are never handed to an optimizer.
    const Tensor* backward(const Tensor& dy, Context<B>& context, bool want_dx) {
      if (!want_dx) return nullptr;
      const EvalScope eval(context);
      return inner_.backward(dy, context, true);
    }

    void collect(ParameterList<B>& list, const std::string& prefix) {
      const std::size_t first = list.size();
      inner_.collect(list, prefix);
      for (std::size_t i = first; i < list.size(); ++i) list[i].grad = nullptr;
    }

    auto& inner() { return inner_; }

   private:
    // Eval mode, and no BN re-estimation pass, for the scope; the caller's settings after.
    struct EvalScope {
      Context<B>& context;
      Mode mode;
      long statistics_batch;
      explicit EvalScope(Context<B>& c) : context(c), mode(c.mode), statistics_batch(c.statistics_batch) {
        c.mode = Mode::eval;
        c.statistics_batch = 0;
      }
      ~EvalScope() { context.mode = mode, context.statistics_batch = statistics_batch; }
    };

    typename Inner::template Runtime<In, B> inner_;
  };
};

}  // namespace ctnn
