// result: compiles
// The harness's own check: a correct network with the same flags and headers as the failing
// cases compiles, so their failures come from the shape checks, not from the setup.
#include "ctnn/layers/activation.hpp"
#include "ctnn/layers/conv.hpp"
#include "ctnn/layers/flatten.hpp"
#include "ctnn/layers/linear.hpp"
#include "ctnn/layers/pool.hpp"
#include "ctnn/sequential.hpp"
using namespace ctnn;
using Net = Sequential<Conv<3, 16>, ReLU, MaxPool<2>, Flatten, Linear<16 * 16 * 16, 10>>;
using Out = Net::output<Input<3, 32, 32>>;
static_assert(std::is_same_v<Out, Features<10>>);
