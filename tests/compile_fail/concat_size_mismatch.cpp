// result: fails
// expect: concat_branches_agree<ctnn::at<ctnn::fixed_string<2>."1".>, ctnn::Image<8, 16, 16>, ctnn::Image<8, 8, 8> ?>
// expect: error: static assertion failed: Concat: a branch's height differs from branch 0's
// expect-errors: 1
// Inception-style branches that disagree on the resolution (one strided) can't be stacked.
#include "resnet_blocks.hpp"
using namespace ctnn;
using Net = Sequential<Conv<3, 16>, Concat<Conv<16, 8, 1, 1, 0>, Conv<16, 8, 3, 2, 1>>>;
using Out = Net::output<Input<3, 16, 16>>;
