// result: fails
// expect: BN<32>::check_input<ctnn::at<ctnn::fixed_string<2>."1".>, ctnn::Image<16, 32, 32> ?>
// expect: error: static assertion failed: BN: the input's channel count differs from BN's template argument
// expect-errors: 1
#include "ctnn/layers/activation.hpp"
#include "ctnn/layers/batchnorm.hpp"
#include "ctnn/layers/conv.hpp"
#include "ctnn/sequential.hpp"
using namespace ctnn;
using Out = Sequential<Conv<3, 16>, BN<32>, ReLU>::output<Input<3, 32, 32>>;
