// Positive shape facts: each layer's output shape type, worked out by hand from PyTorch's
// formula out = floor((in + 2 * pad - kernel) / stride) + 1.
#include "core_only.hpp"

namespace ctnn_static {
using namespace ctnn;

// --- Input -----------------------------------------------------------------------------
static_assert(same<Input<3, 32, 32>, Image<3, 32, 32>>);
static_assert(same<Input<784>, Features<784>>);

// --- Conv ------------------------------------------------------------------------------
// Default kernel 3, stride 1, pad 1 keeps H and W: (32 + 2 - 3) / 1 + 1 = 32.
static_assert(same<Conv<3, 32>::output<Image<3, 32, 32>>, Image<32, 32, 32>>);
// Stride 2, pad 1: (32 + 2 - 3) / 2 + 1 = 15 + 1 = 16; odd 33: (33 + 2 - 3) / 2 + 1 = 17.
static_assert(same<Conv<3, 8, 3, 2, 1>::output<Image<3, 32, 32>>, Image<8, 16, 16>>);
static_assert(same<Conv<3, 8, 3, 2, 1>::output<Image<3, 33, 33>>, Image<8, 17, 17>>);
// Pad 0, kernel 5: 32 - 5 + 1 = 28; non-square 7 x 9 with kernel 3: 5 x 7.
static_assert(same<Conv<3, 8, 5, 1, 0>::output<Image<3, 32, 32>>, Image<8, 28, 28>>);
static_assert(same<Conv<1, 4, 3, 1, 0>::output<Image<1, 7, 9>>, Image<4, 5, 7>>);
// Kernel 1 defaults to pad 0 (1 / 2): a pointwise conv keeps the size.
static_assert(same<Conv<16, 4, 1>::output<Image<16, 5, 5>>, Image<4, 5, 5>>);
// Even kernel 4 defaults to pad 2, as Conv2d(padding=2): 32 + 4 - 4 + 1 = 33.
static_assert(same<Conv<3, 8, 4>::output<Image<3, 32, 32>>, Image<8, 33, 33>>);
// Stride 2, kernel 3, pad 0 on 8: floor(5 / 2) + 1 = 3 (the last row is dropped).
static_assert(same<Conv<3, 8, 3, 2, 0>::output<Image<3, 8, 8>>, Image<8, 3, 3>>);
// The kernel exactly covers the input: 1 x 1 out.
static_assert(same<Conv<3, 8, 5, 1, 0>::output<Image<3, 5, 5>>, Image<8, 1, 1>>);
// Grouped and depthwise: the shape rule is the same as for Groups == 1.
static_assert(same<Conv<8, 16, 3, 1, 1, 4>::output<Image<8, 10, 10>>, Image<16, 10, 10>>);
static_assert(same<Conv<8, 8, 3, 2, 1, 8>::output<Image<8, 10, 10>>, Image<8, 5, 5>>);

// --- pooling (no padding, floor mode) ----------------------------------------------------
static_assert(same<MaxPool<2>::output<Image<32, 32, 32>>, Image<32, 16, 16>>);
// Odd sizes floor: 7 / 2 = 3, 9 / 2 = 4.
static_assert(same<MaxPool<2>::output<Image<5, 7, 9>>, Image<5, 3, 4>>);
// Overlapping windows (kernel 3, stride 2): (7 - 3) / 2 + 1 = 3; (8 - 3) / 2 + 1 = 3.
static_assert(same<MaxPool<3, 2>::output<Image<4, 7, 8>>, Image<4, 3, 3>>);
static_assert(same<AvgPool<3, 1>::output<Image<2, 5, 5>>, Image<2, 3, 3>>);
static_assert(same<AvgPool<2>::output<Image<6, 4, 6>>, Image<6, 2, 3>>);
// A window as large as the input gives 1 x 1.
static_assert(same<MaxPool<4>::output<Image<3, 4, 4>>, Image<3, 1, 1>>);
// GlobalAvgPool: C x H x W to C x 1 x 1, on any size, square or not.
static_assert(same<GlobalAvgPool::output<Image<64, 7, 5>>, Image<64, 1, 1>>);
static_assert(same<GlobalAvgPool::output<Image<3, 1, 1>>, Image<3, 1, 1>>);

// --- BN, ReLU, Dropout keep the shape; Flatten and Linear -------------------------------
static_assert(same<BN<16>::output<Image<16, 3, 5>>, Image<16, 3, 5>>);
static_assert(same<ReLU::output<Image<2, 3, 4>>, Image<2, 3, 4>>);
static_assert(same<ReLU::output<Features<7>>, Features<7>>);
static_assert(same<Dropout<0.5f>::output<Features<7>>, Features<7>>);
static_assert(same<Flatten::output<Image<128, 4, 4>>, Features<2048>>);
static_assert(same<Flatten::output<Image<3, 5, 7>>, Features<105>>);
static_assert(same<Linear<2048, 512>::output<Features<2048>>, Features<512>>);

// --- Sequential ------------------------------------------------------------------------
static_assert(same<Sequential<Conv<3, 32>, MaxPool<2>>::output<Input<3, 32, 32>>, Image<32, 16, 16>>);
static_assert(same<Sequential<ReLU>::output<Input<10>>, Features<10>>);
// Each ConvBlock halves H and W: 32 -> 16 -> 8 -> 4, so Flatten sees 128 x 4 x 4 = 2048.
static_assert(same<ConvBlock<3, 32>::output<Cifar>, Image<32, 16, 16>>);
static_assert(same<SeedNet::output<Cifar>, Features<10>>);
static_assert(same<SeedNet::shape_at<Cifar, 0>, Image<3, 32, 32>>);
static_assert(same<SeedNet::shape_at<Cifar, 1>, Image<32, 16, 16>>);
static_assert(same<SeedNet::shape_at<Cifar, 3>, Image<128, 4, 4>>);
static_assert(same<SeedNet::shape_at<Cifar, 4>, Features<2048>>);
static_assert(same<SeedNet::shape_at<Cifar, SeedNet::size>, Features<10>>);
static_assert(SeedNet::size == 8 && ConvBlock<3, 32>::size == 8);
static_assert(same<SeedNet::layer<4>, Linear<2048, 512>>);
static_assert(same<SeedNet::layer<0>::layer<1>, BN<32>>);
static_assert(accepts<SeedNet, Cifar>);

// Nesting: a Sequential of one Sequential is the same network; deeper nesting too.
using Inner = Sequential<Conv<3, 8>, ReLU, MaxPool<2>>;
static_assert(same<Sequential<Inner>::output<Image<3, 8, 8>>, Inner::output<Image<3, 8, 8>>>);
static_assert(same<Sequential<Sequential<Inner, Sequential<Conv<8, 4, 3, 2, 1>>>, GlobalAvgPool, Flatten>::output<
                       Image<3, 8, 8>>,
                   Features<4>>);  // 8 -> pool 4 -> stride-2 conv 2 -> GAP 1
// A CIFAR-size MobileNet-style stack: depthwise 3x3 stride 2, then pointwise 1x1.
using Depthwise = Sequential<Conv<16, 16, 3, 2, 1, 16>, BN<16>, ReLU, Conv<16, 32, 1>, BN<32>, ReLU>;
static_assert(same<Sequential<Conv<3, 16>, Depthwise, GlobalAvgPool, Flatten, Linear<32, 10>>::output<Cifar>,
                   Features<10>>);
// A flat MLP on MNIST-sized vectors.
static_assert(same<Sequential<Linear<784, 128>, ReLU, Dropout<0.2f>, Linear<128, 10>>::output<Input<784>>,
                   Features<10>>);

}  // namespace ctnn_static
