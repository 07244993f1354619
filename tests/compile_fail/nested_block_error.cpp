// result: fails
// expect: BN<16>::check_input<ctnn::at<ctnn::fixed_string<4>."1.1".>, ctnn::Image<32, 16, 16> ?>
// expect: error: static assertion failed: BN: the input's channel count differs from BN's template argument
// expect-errors: 1
// A block alias with a bug (BN<In> where BN<Out> was meant), used as the network's second
// block: the error names the layer inside the block and its position there.
#include "seed_net.hpp"
using namespace ctnn;
template <int In, int Out>
using BadBlock = Sequential<Conv<In, Out>, BN<In>, ReLU>;
using Out = Sequential<ConvBlock<3, 16>, BadBlock<16, 32>, GlobalAvgPool, Flatten, Linear<32, 10>>::output<
    Input<3, 32, 32>>;
