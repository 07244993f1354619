// result: fails
// expect: MaxPool<4>.*::check_input<ctnn::at<ctnn::fixed_string<2>."2".>, ctnn::Image<3, 2, 2> ?>
// expect: error: static assertion failed: pooling: the window is taller than the input, so the output height would be below 1
// 32 -> 8 -> 2, and a 4 x 4 window doesn't fit in 2 x 2.
#include "ctnn/layers/pool.hpp"
#include "ctnn/sequential.hpp"
using namespace ctnn;
using Out = Sequential<MaxPool<4>, MaxPool<4>, MaxPool<4>>::output<Input<3, 32, 32>>;
