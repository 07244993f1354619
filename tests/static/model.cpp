// Model's compile-time facts with a backend that has types and no functions: the layers and
// Model name only the backend's types until something runs, so no oneDNN is needed here.
#include "core_only.hpp"

namespace ctnn_static {

using SeedModel = ctnn::Model<SeedNet, Cifar, TypesOnlyBackend>;
static_assert(same<SeedModel::OutputShape, ctnn::Features<10>>);
static_assert(same<SeedModel::InputShape, ctnn::Image<3, 32, 32>>);
static_assert(SeedModel::parameter_count == 1'342'122);  // see parameters.cpp
static_assert(SeedModel::flops_per_sample == SeedNet::flops<Cifar>);

using Mlp = ctnn::Model<ctnn::Sequential<ctnn::Linear<784, 100>, ctnn::ReLU, ctnn::Linear<100, 10>>,
                        ctnn::Input<784>, TypesOnlyBackend>;
static_assert(same<Mlp::OutputShape, ctnn::Features<10>>);
static_assert(Mlp::parameter_count == 784 * 100 + 100 + 100 * 10 + 10);  // 79,510

}  // namespace ctnn_static
