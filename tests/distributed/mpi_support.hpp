// What the programs run under mpirun share: comparing values across the ranks.
#pragma once
#include <vector>

#include <ctnn/distributed/communicator.hpp>

namespace ctnn_test {

// Every tensor's values one after another.
inline std::vector<float> flatten(const std::vector<std::vector<float>>& tensors) {
  std::vector<float> all;
  for (const auto& t : tensors) all.insert(all.end(), t.begin(), t.end());
  return all;
}

// True on every rank when every rank's values are rank 0's, bit for bit.
inline bool same_on_every_rank(ctnn::distributed::Communicator& world, const std::vector<float>& mine) {
  auto rank0 = mine;
  world.broadcast(rank0, 0, "the test's comparison");
  double differs[] = {rank0 == mine ? 0.0 : 1.0};
  world.sum(differs, "the test's comparison");
  return differs[0] == 0;
}

}  // namespace ctnn_test
