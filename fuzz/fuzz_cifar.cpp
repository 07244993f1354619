// libFuzzer target for the CIFAR parsers. The first byte picks the parser; the rest is the
// file's contents. Anything but a clean parse or a DataError is a bug: a crash, an ASan/UBSan
// report, another exception type, or a parse whose result disagrees with the input size.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "ctnn/data/cifar.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ctnn::data;
  if (size == 0) return 0;
  const std::uint8_t which = data[0] % 4;
  const std::span<const std::uint8_t> body(data + 1, size - 1);
  try {
    Dataset d;
    switch (which) {
      case 0:
        cifar10::parse(body, "fuzz.bin", d);
        if (d.size() * cifar10::record_bytes != body.size() || d.pixels.size() != d.size() * 3072)
          __builtin_trap();
        for (auto l : d.labels)
          if (l < 0 || l >= 10) __builtin_trap();
        break;
      case 1:
        cifar100::parse(body, "fuzz.bin", d);
        if (d.size() * cifar100::record_bytes != body.size() || d.coarse_labels.size() != d.size())
          __builtin_trap();
        for (std::size_t i = 0; i < d.size(); ++i)
          if (d.labels[i] >= 100 || d.coarse_labels[i] >= 20) __builtin_trap();
        break;
      default: {
        // Label-names files, expecting 10 (CIFAR-10) or 100 (CIFAR-100) names.
        const std::string_view text(reinterpret_cast<const char*>(body.data()), body.size());
        const int expected = which == 2 ? 10 : 100;
        if (static_cast<int>(parse_label_names(text, "fuzz.txt", expected).size()) != expected)
          __builtin_trap();
      }
    }
  } catch (const DataError&) {
  }
  return 0;
}
