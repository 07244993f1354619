// result: fails
// expect: residual_body_and_shortcut_agree<ctnn::at<ctnn::fixed_string<9>."layer2.0".>, ctnn::Image<128, 16, 16>, ctnn::Image<128, 32, 32> ?>
// expect: error: static assertion failed: Residual: the shortcut's height differs from the body's
// expect: the comparison reduces to [^0-9]*32 == 16
// expect-errors: 1
// A projection shortcut without the body's stride: channels agree, resolutions don't.
#include "resnet_blocks.hpp"
using namespace ctnn;
using Net = Sequential<ConvNoBias<3, 64>, Named<"layer1", Sequential<Block<64, 64, 1>>>,
                       Named<"layer2", Sequential<Block<64, 128, 2, Projection<64, 128, 1>>>>>;
using Out = Net::output<Input<3, 32, 32>>;
