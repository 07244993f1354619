// result: fails
// expect: Linear<1024, 512>::check_input<ctnn::at<ctnn::fixed_string<2>."4".>, ctnn::Features<2048> ?>
// expect: error: static assertion failed: Linear: the incoming feature count differs from Linear's first template argument \(In\)
// expect-errors: 1
// The classic: three blocks leave 128 x 4 x 4 = 2048 features, not 1024.
#include "seed_net.hpp"
using namespace ctnn;
using Net = Sequential<ConvBlock<3, 32>, ConvBlock<32, 64>, ConvBlock<64, 128>, Flatten, Linear<1024, 512>, ReLU,
                       Dropout<0.5f>, Linear<512, 10>>;
using Out = Net::output<Input<3, 32, 32>>;
