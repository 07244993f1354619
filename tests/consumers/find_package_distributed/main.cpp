// Each rank of an MPI job starts a small model from its own seed; DataParallel's broadcast makes
// every rank hold rank 0's weights, and a sum over the ranks shows they agree. Prints one line.
#include <algorithm>

#include <ctnn/ctnn.hpp>
#include <ctnn/distributed.hpp>
#include <fmt/core.h>

using namespace ctnn;

int main(int argc, char** argv) {
  return distributed::run(argc, argv, [](distributed::Communicator& world) {
    Model<Sequential<Conv<3, 4>, ReLU, Flatten, Linear<4 * 8 * 8, 3>>, Input<3, 8, 8>, Cpu> model(
        static_cast<std::uint64_t>(world.rank()) + 1);
    distributed::DataParallel parallel(world, model);
    const std::vector<float> mine = model.parameters()[0].value->to_vector();
    std::vector<float> total = mine;
    world.sum(total, "the first weight");
    const bool same = std::equal(total.begin(), total.end(), mine.begin(), [&](float sum, float own) {
      return sum == own * static_cast<float>(world.size());
    });
    if (world.rank() == 0) fmt::print("{} ranks hold the same weights: {}\n", world.size(), same ? "yes" : "no");
    return same ? 0 : 1;
  });
}
