// A small conv net on the Cpu backend: one forward pass, then its output shape.
#include <cmath>
#include <vector>

#include <ctnn/ctnn.hpp>
#include <fmt/core.h>

using namespace ctnn;
using Net = Sequential<Conv<3, 8>, BN<8>, ReLU, MaxPool<2>, Flatten, Linear<8 * 8 * 8, 10>>;

int main() {
  Model<Net, Input<3, 16, 16>, Cpu> model(7);
  const long batch = 4;
  std::vector<float> x(batch * 3 * 16 * 16);
  Rng rng(1);
  for (auto& v : x) v = rng.uniform(-1, 1);
  const std::vector<float> y = model.predict(x, batch);
  for (float v : y)
    if (!std::isfinite(v)) return 1;
  // The compile-time output shape and the run-time values must agree.
  if (static_cast<long>(y.size()) != batch * decltype(model)::OutputShape::size) return 1;
  fmt::print("output {} x {} ({} values)\n", batch, shape_name<decltype(model)::OutputShape>(), y.size());
}
