// result: fails
// needs: cpu
// expect: Conv<3, 8>
// expect: error: static assertion failed: Conv: the input's channel count differs
// A single layer as the whole network (not wrapped in Sequential) must be checked too.
#include "ctnn/ctnn.hpp"
using namespace ctnn;
int main() { Model<Conv<3, 8>, Input<1, 28, 28>, Cpu> model(1); }
