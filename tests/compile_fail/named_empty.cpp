// result: fails
// expect: error: static assertion failed: Named<"", L>: give a non-empty name
// expect-errors: 1
// An empty name would add no level to paths, silently merging a layer's parameters into its
// parent's names.
#include "ctnn/layers/composite.hpp"
#include "ctnn/layers/conv.hpp"
#include "ctnn/sequential.hpp"
using namespace ctnn;
using Net = Sequential<Named<"", Conv<3, 8>>>;
static_assert(Net::key<0>.length == 0);  // the key, as parameter names and paths use it
