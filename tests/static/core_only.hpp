// The headers a backend-free program uses: layers, Sequential and Model. Everything in
// tests/static includes only this, and the target links only ctnn::ctnn.
#pragma once
#include <type_traits>  // std::is_same_v

#include "ctnn/core/shape.hpp"
#include "ctnn/layers/activation.hpp"
#include "ctnn/layers/batchnorm.hpp"
#include "ctnn/layers/branches.hpp"
#include "ctnn/layers/conv.hpp"
#include "ctnn/layers/dropout.hpp"
#include "ctnn/layers/flatten.hpp"
#include "ctnn/layers/linear.hpp"
#include "ctnn/layers/pool.hpp"
#include "ctnn/model.hpp"
#include "ctnn/models/resnet.hpp"
#include "ctnn/models/seed.hpp"
#include "ctnn/sequential.hpp"

// oneDNN's include guard: if any core header pulled in the backend, this catches it.
#ifdef ONEAPI_DNNL_DNNL_HPP
#error "a ctnn core header includes oneDNN; the core must stay backend-free"
#endif

namespace ctnn_static {

// The seed experiment's network (design.md, models/seed.hpp).
template <int In, int Out>
using ConvBlock = ctnn::models::SeedBlock<In, Out>;
using ctnn::models::SeedNet;
using Cifar = ctnn::Input<3, 32, 32>;

template <class A, class B>
inline constexpr bool same = std::is_same_v<A, B>;

// A backend that has types and no functions: the layers and Model name only the backend's
// types until something runs, so a Model's runtime can be instantiated here without oneDNN.
struct TypesOnlyBackend {
  struct Tensor {};
  struct Buffer {
    explicit Buffer(std::size_t) {}
  };
  struct ConvState {};
  struct BatchNormState {};
  struct ReluState {};
  struct PoolState {};
  struct DropoutState {};
  struct FlattenState {};
  struct LinearState {};
  struct AddState {};
  struct ConcatState {};
};

}  // namespace ctnn_static
