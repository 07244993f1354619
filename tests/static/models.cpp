// The model zoo's compile-time facts: torchvision's parameter counts (sum of p.numel() over
// model.parameters() in torchvision 0.14), output shapes, and a residual network's runtime
// instantiated on a types-only backend.
#include "core_only.hpp"

namespace ctnn_static {

using namespace ctnn::models;

static_assert(ResNet18<1000>::parameter_count<ImageNetInput> == 11'689'512);
static_assert(ResNet34<1000>::parameter_count<ImageNetInput> == 21'797'672);
static_assert(ResNet50<1000>::parameter_count<ImageNetInput> == 25'557'032);
static_assert(ResNet101<1000>::parameter_count<ImageNetInput> == 44'549'160);
static_assert(ResNet152<1000>::parameter_count<ImageNetInput> == 60'192'808);
// The common CIFAR variant (3x3 stem, no max pooling): 11,173,962 with 10 classes.
static_assert(CifarResNet18<10>::parameter_count<CifarInput> == 11'173'962);
// Six convolutions (287,008 weights and biases), six BNs (896), two linear layers (1,054,218).
static_assert(SeedNet::parameter_count<SeedInput> == 1'342'122);

// ImageNet: 224 -> 112 (conv1) -> 56 (maxpool) -> 56, 28, 14, 7 (layer1..4) -> 1000 classes.
static_assert(same<ResNet18<1000>::shape_at<ImageNetInput, 4>, ctnn::Image<64, 56, 56>>);
static_assert(same<ResNet18<1000>::output<ImageNetInput>, ctnn::Features<1000>>);
static_assert(same<ResNet50<10>::output<ctnn::Input<3, 64, 64>>, ctnn::Features<10>>);
static_assert(same<CifarResNet18<10>::shape_at<CifarInput, 7>, ctnn::Image<512, 4, 4>>);  // into avgpool
// 1.82 G multiply-adds for ResNet-18 at 224x224 (the commonly quoted figure), as two FLOPs each.
static_assert(ResNet18<1000>::flops<ImageNetInput> / 100'000'000 == 36);

// Identity shortcuts where a block keeps its shape, projections where it doesn't.
static_assert(same<ctnn::ShortcutFor<64, 64, 1>, ctnn::Identity>);
static_assert(same<ctnn::ShortcutFor<64, 128, 2>, ctnn::Projection<64, 128, 2>>);
static_assert(same<ctnn::ShortcutFor<64, 64, 2>, ctnn::Projection<64, 64, 2>>);

// Shape errors in branches are reported, not hard errors, when only asked about.
static_assert(!ctnn::accepts<ctnn::Residual<ctnn::Conv<8, 16>>, ctnn::Image<8, 4, 4>>);
static_assert(!ctnn::accepts<ctnn::Concat<ctnn::Conv<8, 4>, ctnn::MaxPool<2>>, ctnn::Image<8, 4, 4>>);
static_assert(ctnn::accepts<ctnn::Concat<ctnn::Conv<8, 4>, ctnn::Identity>, ctnn::Image<8, 4, 4>>);
static_assert(same<ctnn::Concat<ctnn::Conv<8, 4>, ctnn::Identity>::output<ctnn::Image<8, 4, 4>>, ctnn::Image<12, 4, 4>>);

// Repeat<N, Block> is N copies in one flat list, keyed by position.
static_assert(same<ctnn::Repeat<3, ctnn::Conv<8, 8>>, ctnn::Sequential<ctnn::Conv<8, 8>, ctnn::Conv<8, 8>, ctnn::Conv<8, 8>>>);
static_assert(ctnn::Repeat<3, ctnn::Conv<8, 8>>::parameter_count<ctnn::Image<8, 4, 4>> == 3 * (8 * 8 * 9 + 8));
// A stage: the first block changes channels and stride, the rest keep them.
static_assert(same<Stage<BasicBlock, 64, 128, 3, 2, 1>::child<0>, BasicBlock<64, 128, 2>>);
static_assert(same<Stage<BasicBlock, 64, 128, 3, 2, 1>::child<2>, BasicBlock<128, 128, 1>>);
static_assert(Stage<Bottleneck, 256, 128, 4, 2, 4>::size == 4);

using ResNetModel = ctnn::Model<ResNet18<1000>, ImageNetInput, TypesOnlyBackend>;
static_assert(ResNetModel::parameter_count == 11'689'512);
static_assert(sizeof(ResNetModel) > 0);

}  // namespace ctnn_static
