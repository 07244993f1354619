// result: fails
// expect: Conv<8, 8, 5, 1, 0>::check_input<ctnn::at<ctnn::fixed_string<2>."1".>, ctnn::Image<8, 2, 2> ?>
// expect: error: static assertion failed: Conv: the kernel is larger than the padded input height, so the output height would be below 1
// 6 x 6 -> 2 x 2 after the first unpadded 5 x 5 conv; the second can't fit.
#include "ctnn/layers/conv.hpp"
#include "ctnn/sequential.hpp"
using namespace ctnn;
using Out = Sequential<Conv<3, 8, 5, 1, 0>, Conv<8, 8, 5, 1, 0>>::output<Input<3, 6, 6>>;
