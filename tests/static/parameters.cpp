// Parameter counts (PyTorch's: weights and biases, BN's scale and shift, not its running
// statistics) and forward FLOPs, each computed by hand in the comment beside it.
#include "core_only.hpp"

namespace ctnn_static {
using namespace ctnn;

// --- single layers ---------------------------------------------------------------------
// Conv: Out * (In / Groups) * K * K weights + Out biases.
static_assert(Conv<3, 32>::parameter_count<Cifar> == 32 * 3 * 9 + 32);     // 896
static_assert(Conv<3, 32>::parameter_count<Cifar> == 896);
static_assert(Conv<16, 4, 1>::parameter_count<Image<16, 5, 5>> == 68);      // 4*16*1 + 4
static_assert(Conv<8, 16, 3, 1, 1, 4>::parameter_count<Image<8, 4, 4>> == 304);  // 16*(8/4)*9 + 16
static_assert(Conv<8, 8, 3, 1, 1, 8>::parameter_count<Image<8, 4, 4>> == 80);    // depthwise: 8*1*9 + 8
static_assert(BN<32>::parameter_count<Image<32, 8, 8>> == 64);              // scale + shift
static_assert(Linear<512, 10>::parameter_count<Features<512>> == 5130);     // 512*10 + 10
static_assert(ReLU::parameter_count<Features<5>> == 0 && Flatten::parameter_count<Image<1, 2, 2>> == 0);
static_assert(MaxPool<2>::parameter_count<Image<1, 2, 2>> == 0 && GlobalAvgPool::parameter_count<Image<1, 2, 2>> == 0);
static_assert(Dropout<0.5f>::parameter_count<Features<5>> == 0);

// --- the seed network: 1,342,122 ------------------------------------------------------
// ConvBlock<3, 32>:   Conv<3,32> 32*3*9+32 = 896;        BN<32> 64;
//                     Conv<32,32> 32*32*9+32 = 9,248;    BN<32> 64        -> 10,272
// ConvBlock<32, 64>:  Conv<32,64> 64*32*9+64 = 18,496;   BN<64> 128;
//                     Conv<64,64> 64*64*9+64 = 36,928;   BN<64> 128       -> 55,680
// ConvBlock<64, 128>: Conv<64,128> 128*64*9+128 = 73,856; BN<128> 256;
//                     Conv<128,128> 128*128*9+128 = 147,584; BN<128> 256  -> 221,952
// Linear<2048, 512>: 2048*512 + 512 = 1,049,088
// Linear<512, 10>:   512*10 + 10 = 5,130
// Total: 10,272 + 55,680 + 221,952 + 1,049,088 + 5,130 = 1,342,122
static_assert(ConvBlock<3, 32>::parameter_count<Cifar> == 10'272);
static_assert(ConvBlock<32, 64>::parameter_count<Image<32, 16, 16>> == 55'680);
static_assert(ConvBlock<64, 128>::parameter_count<Image<64, 8, 8>> == 221'952);
static_assert(SeedNet::parameter_count<Cifar> == 1'342'122);
// Parameters don't depend on the spatial size (only FLOPs do).
static_assert(ConvBlock<3, 32>::parameter_count<Image<3, 64, 48>> == 10'272);

// --- FLOPs per sample, by ctnn's convention: a multiply-add is 2, a bias add 1 ------------
// Conv<3,32> on 3x32x32: (2 * 27 + 1) per output, 32 * 32 * 32 outputs = 55 * 32,768.
static_assert(Conv<3, 32>::flops<Cifar> == 1'802'240);
// Linear<2048,512>: 2 * 2048 * 512 + 512.
static_assert(Linear<2048, 512>::flops<Features<2048>> == 2'097'664);
// MaxPool<2> on 32x32x32: one op per window element: 32 * 16 * 16 outputs * 4.
static_assert(MaxPool<2>::flops<Image<32, 32, 32>> == 32'768);
static_assert(Flatten::flops<Image<2, 2, 2>> == 0);

}  // namespace ctnn_static
