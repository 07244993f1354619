// result: compiles
// needs: cpu
// The harness's check for the cases that build a Model on the Cpu backend.
#include "ctnn/ctnn.hpp"
using namespace ctnn;
using Net = Sequential<Conv<3, 16>, BN<16>, ReLU, MaxPool<2>, Flatten, Linear<16 * 16 * 16, 10>>;
int main() {
  Model<Net, Input<3, 32, 32>, Cpu> model(1);
  return Model<Net, Input<3, 32, 32>, Cpu>::parameter_count > 0 ? 0 : 1;
}
