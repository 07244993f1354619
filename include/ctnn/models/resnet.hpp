// ResNets as torchvision defines them (torchvision.models.resnet18 ... resnet152), with
// torchvision's parameter names (its state_dict keys, BN's num_batches_tracked included), so
// its weights load strictly by name: "conv1.weight", "layer2.0.downsample.0.weight", "fc.bias".
//
//   ResNet18<Classes = 1000>, ResNet34, ResNet50, ResNet101, ResNet152   ImageNet stem:
//       7x7/2 convolution, BN, ReLU, 3x3/2 max pooling (padding 1); for 224x224 inputs, or any
//       size >= 32 (the head's global average pooling takes any resolution)
//   CifarResNet18<Classes = 10>, CifarResNet34                       CIFAR stem: a 3x3/1
//       convolution, no pooling, for 32x32 inputs (the common CIFAR variant, He et al. 2016's
//       ImageNet blocks on a small stem)
//
// Blocks: BasicBlock (two 3x3 convolutions) and Bottleneck (1x1, 3x3 with the stride, 1x1 to
// four times the width: torchvision's "ResNet v1.5"). Each block's shortcut is the identity
// where it keeps channels and resolution and a 1x1 projection with BN otherwise (ShortcutFor).
// Parameters start from PyTorch's layer defaults, not torchvision's Kaiming-normal scheme.
#pragma once
#include <cstddef>  // std::size_t
#include <utility>  // std::index_sequence

#include "ctnn/layers/activation.hpp"
#include "ctnn/layers/batchnorm.hpp"
#include "ctnn/layers/branches.hpp"
#include "ctnn/layers/conv.hpp"
#include "ctnn/layers/flatten.hpp"
#include "ctnn/layers/linear.hpp"
#include "ctnn/layers/pool.hpp"
#include "ctnn/sequential.hpp"

namespace ctnn::models {

template <int In, int Out, int Stride = 1>
using BasicBlock = Residual<Sequential<Named<"conv1", ConvNoBias<In, Out, 3, Stride, 1>>, Named<"bn1", BN<Out>>,
                                       Named<"relu", ReLU>, Named<"conv2", ConvNoBias<Out, Out, 3, 1, 1>>,
                                       Named<"bn2", BN<Out>>>,
                            Named<"downsample", ShortcutFor<In, Out, Stride>>, ReLU>;

template <int In, int Width, int Stride = 1>
using Bottleneck =
    Residual<Sequential<Named<"conv1", ConvNoBias<In, Width, 1, 1, 0>>, Named<"bn1", BN<Width>>, Named<"relu", ReLU>,
                        Named<"conv2", ConvNoBias<Width, Width, 3, Stride, 1>>, Named<"bn2", BN<Width>>, ReLU,
                        Named<"conv3", ConvNoBias<Width, 4 * Width, 1, 1, 0>>, Named<"bn3", BN<4 * Width>>>,
             Named<"downsample", ShortcutFor<In, 4 * Width, Stride>>, ReLU>;

namespace detail {
template <template <int, int, int> class Block, int In, int Width, int Stride, int Expansion, class Rest>
struct stage;
template <template <int, int, int> class Block, int In, int Width, int Stride, int Expansion, std::size_t... I>
struct stage<Block, In, Width, Stride, Expansion, std::index_sequence<I...>> {
  using type = Sequential<Block<In, Width, Stride>, ctnn::detail::repeated<I, Block<Width * Expansion, Width, 1>>...>;
};
}  // namespace detail

// Blocks blocks, keyed 0 .. Blocks - 1; the first changes channels and resolution (Stride).
template <template <int, int, int> class Block, int In, int Width, int Blocks, int Stride, int Expansion>
using Stage = typename detail::stage<Block, In, Width, Stride, Expansion, std::make_index_sequence<Blocks - 1>>::type;

// Four stages of widths 64, 128, 256, 512 (times Expansion at the output), global average
// pooling and the classifier, after Stem's layers.
template <template <int, int, int> class Block, int Expansion, int B1, int B2, int B3, int B4, int Classes,
          class... Stem>
using ResNet = Sequential<Stem..., Named<"layer1", Stage<Block, 64, 64, B1, 1, Expansion>>,
                          Named<"layer2", Stage<Block, 64 * Expansion, 128, B2, 2, Expansion>>,
                          Named<"layer3", Stage<Block, 128 * Expansion, 256, B3, 2, Expansion>>,
                          Named<"layer4", Stage<Block, 256 * Expansion, 512, B4, 2, Expansion>>,
                          Named<"avgpool", GlobalAvgPool>, Flatten, Named<"fc", Linear<512 * Expansion, Classes>>>;

template <template <int, int, int> class Block, int Expansion, int B1, int B2, int B3, int B4, int Classes>
using ImageNetResNet = ResNet<Block, Expansion, B1, B2, B3, B4, Classes, Named<"conv1", ConvNoBias<3, 64, 7, 2, 3>>,
                              Named<"bn1", BN<64>>, Named<"relu", ReLU>, Named<"maxpool", MaxPool<3, 2, 1>>>;

template <template <int, int, int> class Block, int Expansion, int B1, int B2, int B3, int B4, int Classes>
using CifarResNet = ResNet<Block, Expansion, B1, B2, B3, B4, Classes, Named<"conv1", ConvNoBias<3, 64, 3, 1, 1>>,
                           Named<"bn1", BN<64>>, Named<"relu", ReLU>>;

template <int Classes = 1000> using ResNet18 = ImageNetResNet<BasicBlock, 1, 2, 2, 2, 2, Classes>;
template <int Classes = 1000> using ResNet34 = ImageNetResNet<BasicBlock, 1, 3, 4, 6, 3, Classes>;
template <int Classes = 1000> using ResNet50 = ImageNetResNet<Bottleneck, 4, 3, 4, 6, 3, Classes>;
template <int Classes = 1000> using ResNet101 = ImageNetResNet<Bottleneck, 4, 3, 4, 23, 3, Classes>;
template <int Classes = 1000> using ResNet152 = ImageNetResNet<Bottleneck, 4, 3, 8, 36, 3, Classes>;

template <int Classes = 10> using CifarResNet18 = CifarResNet<BasicBlock, 1, 2, 2, 2, 2, Classes>;
template <int Classes = 10> using CifarResNet34 = CifarResNet<BasicBlock, 1, 3, 4, 6, 3, Classes>;

using ImageNetInput = Input<3, 224, 224>;
using CifarInput = Input<3, 32, 32>;

}  // namespace ctnn::models
