// result: fails
// expect: Conv<8, 32(, 3, 1, 1, 1(, true)?)?>::check_input<ctnn::at<ctnn::fixed_string<2>."2".>, ctnn::Image<16, 32, 32> ?>
// expect: error: static assertion failed: Conv: the input's channel count differs from Conv's first template argument \(In\)
// expect-errors: 1
// The first Conv makes 16 channels; the third layer expects 8.
#include "ctnn/layers/activation.hpp"
#include "ctnn/layers/conv.hpp"
#include "ctnn/sequential.hpp"
using namespace ctnn;
using Out = Sequential<Conv<3, 16>, ReLU, Conv<8, 32>>::output<Input<3, 32, 32>>;
