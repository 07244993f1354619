// result: fails
// expect: Conv<3, 32(, 3, 1, 1, 1(, true)?)?>::check_input<ctnn::at<ctnn::fixed_string<4>."0.0".>, ctnn::Image<1, 32, 32> ?>
// expect-errors: 1
// A grey-scale image into the seed network fails at its very first layer; the 20 layers
// after it must not each add an error of their own.
#include "seed_net.hpp"
using namespace ctnn;
using Net = Sequential<ConvBlock<3, 32>, ConvBlock<32, 64>, ConvBlock<64, 128>, Flatten, Linear<2048, 512>, ReLU,
                       Dropout<0.5f>, Linear<512, 10>>;
using Out = Net::output<Input<1, 32, 32>>;
