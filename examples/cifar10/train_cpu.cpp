// The cifar10 example's network and training on the CPU (oneDNN): the translation unit that
// compiles the network. The data pipeline and the command line compile in main.cpp and
// options.cpp.
#include <ctnn/backend/cpu.hpp>

#include "experiment.hpp"

namespace cifar10_example {

int train_on_cpu(const Options& o, const RunData& d) { return train_seed<ctnn::Cpu>(o, d); }

}  // namespace cifar10_example
