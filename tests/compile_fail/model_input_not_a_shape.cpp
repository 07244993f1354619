// result: fails
// needs: cpu
// expect: error: static assertion failed: Model<Net, In, Backend>: In must be a shape such as Input<3, 32, 32> or Input<784>
#include "ctnn/ctnn.hpp"
using namespace ctnn;
using Net = Sequential<Conv<3, 16>, ReLU>;
int main() { Model<Net, float, Cpu> model(1); }
