// result: fails
// expect: residual_body_and_shortcut_agree<ctnn::at<ctnn::fixed_string<9>."layer2.0".>, ctnn::Image<128, 16, 16>, ctnn::Image<64, 32, 32> ?>
// expect: error: static assertion failed: Residual: the shortcut's channel count differs from the body's
// expect: the comparison reduces to [^0-9]*64 == 128
// expect-errors: 1
// A block that doubles the channels (and halves the resolution) with an identity shortcut:
// one error at the block's path, showing the body's shape and then the shortcut's.
#include "resnet_blocks.hpp"
using namespace ctnn;
using Net = Sequential<ConvNoBias<3, 64>, Named<"layer1", Sequential<Block<64, 64, 1>>>,
                       Named<"layer2", Sequential<Block<64, 128, 2, Identity>, Block<128, 128, 1>>>, GlobalAvgPool,
                       Flatten, Linear<128, 10>>;
using Out = Net::output<Input<3, 32, 32>>;
