// Networks of ResNet-152's length: a flat list of 154 layers and torchvision's ResNet-152
// (a 36-block stage). Compiled with a template depth of 128 (deep_list.cpp) and by nvcc
// (deep_list.cu): Sequential's shape fold and layer storage must not recurse per layer.
#pragma once
#include <cstddef>
#include <type_traits>
#include <utility>

#include "ctnn/layers/activation.hpp"
#include "ctnn/layers/batchnorm.hpp"
#include "ctnn/layers/conv.hpp"
#include "ctnn/layers/flatten.hpp"
#include "ctnn/layers/linear.hpp"
#include "ctnn/layers/pool.hpp"
#include "ctnn/model.hpp"
#include "ctnn/models/resnet.hpp"
#include "ctnn/sequential.hpp"

namespace ctnn_deep {

template <class Indices> struct flat;
template <std::size_t... I> struct flat<std::index_sequence<I...>> {
  // Conv, BN, ReLU, Conv, BN, ReLU, ... between a stem and a head.
  using type = ctnn::Sequential<ctnn::Conv<3, 8>,
                                std::conditional_t<I % 3 == 0, ctnn::Conv<8, 8>,
                                                   std::conditional_t<I % 3 == 1, ctnn::BN<8>, ctnn::ReLU>>...,
                                ctnn::GlobalAvgPool, ctnn::Flatten, ctnn::Linear<8, 10>>;
};
using Flat154 = flat<std::make_index_sequence<150>>::type;
static_assert(Flat154::size == 154);
using FlatInput = ctnn::Input<3, 8, 8>;
static_assert(std::is_same_v<Flat154::output<FlatInput>, ctnn::Features<10>>);
static_assert(Flat154::parameter_count<FlatInput> == 224 + 50 * (584 + 16) + 90);

using ResNet152 = ctnn::models::ResNet152<1000>;
static_assert(ResNet152::parameter_count<ctnn::models::ImageNetInput> == 60'192'808);

// The model types, whose runtimes hold every layer's state: instantiating them is the test.
template <class Backend>
constexpr bool instantiate() {
  return sizeof(ctnn::Model<Flat154, FlatInput, Backend>) > 0 &&
         sizeof(ctnn::Model<ResNet152, ctnn::Input<3, 64, 64>, Backend>) > 0;
}

}  // namespace ctnn_deep
