// result: fails
// needs: cpu
// expect: Conv<3, 16(, 3, 1, 1, 1(, true)?)?>::check_input<ctnn::at<ctnn::fixed_string<2>."0".>, ctnn::Image<1, 28, 28> ?>
// expect: error: static assertion failed: Conv: the input's channel count differs
// A CIFAR network given MNIST's input shape.
#include "ctnn/ctnn.hpp"
using namespace ctnn;
using Net = Sequential<Conv<3, 16>, BN<16>, ReLU, MaxPool<2>, Flatten, Linear<16 * 16 * 16, 10>>;
int main() { Model<Net, Input<1, 28, 28>, Cpu> model(1); }
