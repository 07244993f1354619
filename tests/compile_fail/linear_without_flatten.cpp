// result: fails
// expect: Linear<8192, 10>::check_input<ctnn::at<ctnn::fixed_string<2>."2".>, ctnn::Image<8, 32, 32> ?>
// expect: error: static assertion failed: Linear: expects flat Features but receives an Image; put Flatten before it
// expect-errors: 1
#include "ctnn/layers/activation.hpp"
#include "ctnn/layers/conv.hpp"
#include "ctnn/layers/linear.hpp"
#include "ctnn/sequential.hpp"
using namespace ctnn;
using Out = Sequential<Conv<3, 8>, ReLU, Linear<8 * 32 * 32, 10>>::output<Input<3, 32, 32>>;
