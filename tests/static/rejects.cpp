// Negative shape facts: networks that must not accept their input. accepts<> never fails
// hard, so each case is a plain static_assert(!...), and a wrong answer fails this build.
#include "core_only.hpp"

namespace ctnn_static {
using namespace ctnn;

// Each layer's own rejection, beside a near miss it accepts (so the test can't pass by
// rejecting everything).
static_assert(!accepts<Conv<3, 32>, Image<4, 32, 32>> && accepts<Conv<3, 32>, Image<3, 32, 32>>);
static_assert(!accepts<Conv<3, 32>, Features<3072>>);
static_assert(!accepts<BN<16>, Image<8, 4, 4>> && accepts<BN<16>, Image<16, 4, 4>>);
static_assert(!accepts<BN<16>, Features<16>>);
static_assert(!accepts<Linear<1024, 512>, Features<2048>> && accepts<Linear<2048, 512>, Features<2048>>);
static_assert(!accepts<Linear<2048, 10>, Image<128, 4, 4>>);  // no implicit flatten
static_assert(!accepts<Flatten, Features<10>> && accepts<Flatten, Image<1, 1, 10>>);
static_assert(!accepts<MaxPool<2>, Features<10>> && !accepts<GlobalAvgPool, Features<10>>);

// Dimensions that would shrink below 1: kernel 5 without padding needs at least 5.
static_assert(!accepts<Conv<3, 8, 5, 1, 0>, Image<3, 4, 4>> && accepts<Conv<3, 8, 5, 1, 0>, Image<3, 5, 5>>);
static_assert(!accepts<Conv<3, 8, 5, 1, 0>, Image<3, 5, 4>>);  // only the width is too small
static_assert(!accepts<Conv<3, 8, 5, 1, 1>, Image<3, 2, 2>> && accepts<Conv<3, 8, 5, 1, 1>, Image<3, 3, 3>>);
static_assert(!accepts<MaxPool<2>, Image<3, 1, 1>> && accepts<MaxPool<2>, Image<3, 2, 2>>);
static_assert(!accepts<AvgPool<3, 1>, Image<3, 2, 5>>);

// --- the same mistakes inside networks ----------------------------------------------------
static_assert(!accepts<Sequential<Conv<3, 16>, ReLU, Conv<8, 32>>, Cifar>);   // 16 arrive, 8 expected
static_assert(!accepts<Sequential<Conv<3, 16>, BN<32>>, Cifar>);
static_assert(!accepts<Sequential<Conv<3, 8>, Flatten, Linear<1024, 10>>, Cifar>);  // 8*32*32 = 8192
static_assert(!accepts<Sequential<Conv<3, 8>, Linear<8192, 10>>, Cifar>);          // no Flatten
static_assert(!accepts<Sequential<Conv<3, 8>, Flatten, Flatten>, Cifar>);
// 32 -> 8 -> 2 -> below 1 after the third MaxPool<4>.
static_assert(accepts<Sequential<MaxPool<4>, MaxPool<4>>, Cifar>);
static_assert(!accepts<Sequential<MaxPool<4>, MaxPool<4>, MaxPool<4>>, Cifar>);
// The seed network: wrong input channels, wrong input size, and the classic Linear<1024, 512>.
static_assert(!accepts<SeedNet, Image<1, 32, 32>>);
static_assert(!accepts<SeedNet, Image<3, 28, 28>>);  // 28 -> 14 -> 7 -> 3: 128*3*3 = 1152 != 2048
static_assert(!accepts<SeedNet, Features<3072>>);
using BadSeed = Sequential<ConvBlock<3, 32>, ConvBlock<32, 64>, ConvBlock<64, 128>, Flatten, Linear<1024, 512>, ReLU,
                           Dropout<0.5f>, Linear<512, 10>>;
static_assert(!accepts<BadSeed, Cifar>);
// A mismatch deep inside a nested block is seen from the outermost Sequential.
static_assert(!accepts<Sequential<ConvBlock<3, 16>, Sequential<Conv<16, 32>, BN<16>>>, Cifar>);
static_assert(!accepts<Sequential<Sequential<Sequential<Conv<3, 4>>>, Conv<5, 4>>, Cifar>);

}  // namespace ctnn_static
