// A small MLP on the Cpu backend: one training step, then its output shape.
#include <cmath>
#include <cstdint>
#include <vector>

#include <ctnn/ctnn.hpp>
#include <fmt/core.h>

using namespace ctnn;
using Net = Sequential<Linear<20, 16>, ReLU, Dropout<0.1f>, Linear<16, 3>>;

int main() {
  Model<Net, Input<20>, Cpu> model(3);
  const long batch = 5;
  std::vector<float> x(batch * 20);
  Rng rng(2);
  for (auto& v : x) v = rng.uniform(-1, 1);
  const std::vector<std::int32_t> labels{0, 1, 2, 0, 1};
  loss::CrossEntropy<Cpu> loss;
  optim::Adam adam(model.parameters(), {.lr = 1e-2f});
  const auto result = loss.forward(model.forward(x, batch), labels);
  model.backward(loss.gradient());
  adam.step();
  if (!std::isfinite(result.loss)) return 1;
  const std::vector<float> y = model.predict(x, batch);
  if (static_cast<long>(y.size()) != batch * decltype(model)::OutputShape::size) return 1;
  fmt::print("output {} x {} ({} values)\n", batch, shape_name<decltype(model)::OutputShape>(), y.size());
}
