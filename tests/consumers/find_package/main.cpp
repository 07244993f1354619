// A small conv net on the Cpu backend: one forward pass, then its output shape. Before it, the
// "no data" error must name a download script that is installed under this prefix.
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include <ctnn/ctnn.hpp>
#include <ctnn/data/cifar.hpp>
#include <fmt/core.h>

using namespace ctnn;
using Net = Sequential<Conv<3, 8>, BN<8>, ReLU, MaxPool<2>, Flatten, Linear<8 * 8 * 8, 10>>;

// The script `cmake -DDEST=<folder> -P SCRIPT` names in the error for a missing folder.
std::string fetch_script_named() {
  try {
    data::cifar10::load("/nonexistent/cifar-10-batches-bin");
  } catch (const data::DataError& e) {
    const std::string text = e.what();
    const auto start = text.find("-P ");
    const auto end = text.find('`', start);
    if (start != std::string::npos && end != std::string::npos) return text.substr(start + 3, end - start - 3);
    fmt::print("the error names no script: {}\n", text);
  }
  return {};
}

int main() {
  const std::string script = fetch_script_named();
  if (!std::filesystem::exists(script) || !script.starts_with(CTNN_CONSUMER_PREFIX)) {
    fmt::print("the missing-data error points to '{}', which isn't an installed file under {}\n", script,
               CTNN_CONSUMER_PREFIX);
    return 1;
  }
  fmt::print("fetch script: {}\n", script);
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
