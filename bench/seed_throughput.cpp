// Train-step and inference throughput of the seed network on the CPU backend (throughput.hpp
// says what is measured and printed); ../shared/peers/seed_torch.py is the PyTorch side.
#include "seed_net.hpp"
#include "throughput.hpp"

int main(int, char** argv) { return bench::run_throughput<bench::SeedNet, ctnn::Input<3, 32, 32>, 10>(argv); }
