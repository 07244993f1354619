// result: fails
// expect: Conv<8, 4(, 3, 1, 1, 1(, true)?)?>::check_input<ctnn::at<ctnn::fixed_string<6>."1.1.0".>, ctnn::Image<16, 8, 8> ?>
// expect-errors: 1
// A branch of an Add that can't take the input: the error is that branch's own, at its path.
#include "resnet_blocks.hpp"
using namespace ctnn;
using Net = Sequential<Conv<3, 16>, Add<Conv<16, 16>, Sequential<Conv<8, 4>>, Identity>>;
using Out = Net::output<Input<3, 8, 8>>;
