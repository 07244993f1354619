// result: fails
// expect: \(2048 == 1024\)
// The same mistake as linear_feature_mismatch.cpp: the compiler should also show both
// counts. g++ prints "the comparison reduces to '(2048 == 1024)'" only when the
// static_assert's condition is a bare comparison.
#include "seed_net.hpp"
using namespace ctnn;
using Net = Sequential<ConvBlock<3, 32>, ConvBlock<32, 64>, ConvBlock<64, 128>, Flatten, Linear<1024, 512>, ReLU,
                       Dropout<0.5f>, Linear<512, 10>>;
using Out = Net::output<Input<3, 32, 32>>;
