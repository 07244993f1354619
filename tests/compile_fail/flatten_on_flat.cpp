// result: fails
// expect: Flatten::check_input<ctnn::at<ctnn::fixed_string<2>."2".>, ctnn::Features<8192> ?>
// expect: error: static assertion failed: Flatten: expects an image input \(Image<C, H, W>\). its input is already flat
// expect-errors: 1
#include "ctnn/layers/conv.hpp"
#include "ctnn/layers/flatten.hpp"
#include "ctnn/sequential.hpp"
using namespace ctnn;
using Out = Sequential<Conv<3, 8>, Flatten, Flatten>::output<Input<3, 32, 32>>;
