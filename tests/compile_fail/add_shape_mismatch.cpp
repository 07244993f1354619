// result: fails
// expect: add_branches_agree<ctnn::at<ctnn::fixed_string<2>."1".>, ctnn::Image<16, 8, 8>, ctnn::Image<32, 8, 8> ?>
// expect: error: static assertion failed: Add: a branch's channel count differs from branch 0's
// expect-errors: 1
#include "resnet_blocks.hpp"
using namespace ctnn;
using Net = Sequential<Conv<3, 16>, Add<Conv<16, 16>, Identity, Conv<16, 32>>>;
using Out = Net::output<Input<3, 8, 8>>;
