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

template <int In, int Out>
using ConvBlock = ctnn::Sequential<ctnn::Conv<In, Out>, ctnn::BN<Out>, ctnn::ReLU, ctnn::Conv<Out, Out>,
                                   ctnn::BN<Out>, ctnn::ReLU, ctnn::MaxPool<2>, ctnn::Dropout<0.25f>>;

// The seed experiment's network (design.md).
using SeedNet = ctnn::Sequential<ConvBlock<3, 32>, ConvBlock<32, 64>, ConvBlock<64, 128>, ctnn::Flatten,
                                 ctnn::Linear<2048, 512>, ctnn::ReLU, ctnn::Dropout<0.5f>, ctnn::Linear<512, 10>>;
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
