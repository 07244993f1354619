// result: fails
// expect: BN<64>::check_input<ctnn::at<ctnn::fixed_string<13>."layer2.1.bn2".>, ctnn::Image<128, 16, 16> ?>
// expect: error: static assertion failed: BN: the input's channel count differs from BN's template argument
// expect-errors: 1
// A wrong layer inside a residual body, two levels down: the error names its full path
// (the body adds no level, as in torchvision's names).
#include "resnet_blocks.hpp"
using namespace ctnn;
using Net = Sequential<ConvNoBias<3, 64>, Named<"layer1", Sequential<Block<64, 64, 1>>>,
                       Named<"layer2", Sequential<Block<64, 128, 2>, Block<128, 128, 1, Identity, 64>>>>;
using Out = Net::output<Input<3, 32, 32>>;
