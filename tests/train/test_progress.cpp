// Progress output and evaluation reports without a model: the bar fits any terminal width, the
// width is read from the terminal (a pseudo-terminal here) and follows a resize, the epoch
// summary wraps at field boundaries, the plot's epoch ticks are whole numbers, and the
// confusion matrix and top-k counts agree with an independent computation.
#include <algorithm>
#include <cstdint>
#include <cstdlib>  // setenv, unsetenv
#include <fcntl.h>  // O_RDWR, O_NOCTTY
#include <limits>
#include <numeric>  // std::iota
#include <sstream>
#include <string>
#include <sys/ioctl.h>
#include <unistd.h>  // close
#include <vector>

#include <catch2/catch.hpp>
#include <ctnn/core/rng.hpp>
#include <ctnn/train/metrics.hpp>
#include <ctnn/train/plot.hpp>
#include <ctnn/train/progress.hpp>

using namespace ctnn;

namespace {
std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}
}  // namespace

TEST_CASE("the progress bar fits the terminal width and keeps the most useful fields", "[progress]") {
  const train::BarState typical{3, 50, false, 151, 391, 1.2345, 55.12, 1210, 19};
  const train::BarState huge{99999, 100000, true, 123456, 9999999, 12345.6789, 100, 1.5e7, 1e7};
  // The text after the bar (or after "epoch i/n" without one).
  auto fields_of = [](const std::string& line, const std::string& head) {
    const auto bar_end = line.find("] ");
    if (bar_end != std::string::npos) return line.substr(bar_end + 2);
    return line.size() > head.size() + 1 ? line.substr(head.size() + 1) : std::string();
  };
  for (const auto& s : {typical, huge}) {
    const std::string head = s.testing ? "epoch 99999/100000 test" : "epoch 3/50";
    const auto all_fields = fields_of(train::render_bar(s, 1000), head);
    for (int columns = 1; columns <= 250; ++columns) {
      INFO("columns " << columns);
      const auto line = train::render_bar(s, columns);
      CHECK(static_cast<int>(line.size()) <= std::max(columns - 1, 1));
      if (line.size() <= head.size()) continue;  // only the head fits (cut)
      // Whole fields only: the first few of the widest line's, none cut.
      const auto fields = fields_of(line, head);
      CHECK_THAT(all_fields, Catch::StartsWith(fields));
      CHECK((fields.size() == all_fields.size() || all_fields[fields.size()] == ' '));
    }
  }
  // The widths the issue names, on the typical line.
  const auto narrow = train::render_bar(typical, 40), usual = train::render_bar(typical, 80),
             wide = train::render_bar(typical, 200);
  CHECK(narrow.size() <= 39);
  CHECK(usual.size() <= 79);
  CHECK(wide.size() <= 199);
  CHECK_THAT(narrow, Catch::StartsWith("epoch 3/50") && Catch::Contains("151/391"));
  CHECK_THAT(usual, Catch::Contains("[") && Catch::Contains("loss 1.2345") && Catch::Contains("acc 55.12%") &&
                        Catch::Contains("ETA 0:19"));
  CHECK_THAT(wide, Catch::Contains("1210 img/s") && Catch::Contains("ETA 0:19"));
  // The bar is filled in proportion: 151 of 391 batches.
  const auto open = wide.find('['), close = wide.find(']');
  REQUIRE(close > open);
  const auto inner = wide.substr(open + 1, close - open - 1);
  CHECK(std::count(inner.begin(), inner.end(), '=') == static_cast<long>(inner.size() * 151 / 391));
  CHECK_THAT(train::render_bar(huge, 80), Catch::StartsWith("epoch 99999/100000 test"));
}

TEST_CASE("the epoch summary wraps where a field ends, within the width", "[progress]") {
  const std::vector<std::string> fields = {"epoch 3/50: train loss 1.2664", "train accuracy 54.67%",
                                           "test loss 1.1336", "test accuracy 59.62%", "lr 0.001",
                                           "39.9 s (1254 img/s)"};
  std::string joined;
  for (const auto& f : fields) joined += (joined.empty() ? "" : ", ") + f;
  CHECK(train::wrap_fields(fields, 200) == joined + "\n");  // one line where it fits
  for (const int columns : {40, 60, 80}) {
    const auto text = train::wrap_fields(fields, columns);
    std::string rejoined;
    for (const auto& line : lines_of(text)) {
      CHECK(static_cast<int>(line.size()) <= columns - 1);
      rejoined += (rejoined.empty() ? "" : " ") + (line.starts_with("  ") ? line.substr(2) : line);
    }
    CHECK(rejoined == joined);  // nothing lost, nothing cut inside a field
  }
}

TEST_CASE("the terminal width comes from the terminal, follows a resize, else from $COLUMNS", "[progress]") {
  const int master = ::posix_openpt(O_RDWR | O_NOCTTY);
  REQUIRE(master >= 0);
  REQUIRE(::grantpt(master) == 0);
  REQUIRE(::unlockpt(master) == 0);
  std::FILE* terminal = std::fopen(::ptsname(master), "w");
  REQUIRE(terminal);
  auto resize = [&](unsigned short columns) {
    winsize size{};
    size.ws_row = 24, size.ws_col = columns;
    REQUIRE(::ioctl(master, TIOCSWINSZ, &size) == 0);
  };
  ::setenv("COLUMNS", "123", 1);
  resize(57);
  CHECK(train::terminal_columns(terminal) == 57);  // the terminal's own width wins
  resize(33);
  CHECK(train::terminal_columns(terminal) == 33);
  std::fclose(terminal);
  ::close(master);
  std::FILE* file = std::tmpfile();
  CHECK(train::terminal_columns(file) == 123);
  ::unsetenv("COLUMNS");
  CHECK(train::terminal_columns(file) == 80);
  std::fclose(file);
}

TEST_CASE("the accuracy plot's epoch ticks are whole numbers, at most 10 of them", "[progress][plot]") {
  const std::vector<int> steps = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000};
  for (int epochs = 1; epochs <= 5000; ++epochs) {
    INFO("epochs " << epochs);
    const int step = train::epoch_tick_step(epochs);
    const auto at = std::find(steps.begin(), steps.end(), step);
    REQUIRE(at != steps.end());
    CHECK((epochs + step - 1) / step <= 10);                           // at most 10 ticks
    if (at != steps.begin()) CHECK((epochs + *(at - 1) - 1) / *(at - 1) > 10);  // the next smaller step gives more
  }
  train::History h;
  for (int e = 1; e <= 7; ++e) h.epochs.push_back({.epoch = e, .test_accuracy = 10.0 * e});
  CHECK_THAT(train::gnuplot_script(h, "x.png"), Catch::Contains("set xtics 1\n") && Catch::Contains("set xrange [0.5:7.5]"));
}

TEST_CASE("confusion matrix and top-k counts match a sort-based computation", "[metrics]") {
  constexpr int classes = 7, samples = 500;
  Rng rng(3);
  std::vector<float> scores(static_cast<std::size_t>(samples) * classes);
  std::vector<std::int32_t> labels(samples);
  for (auto& l : labels) l = static_cast<std::int32_t>(rng.next_u64() % classes);
  // Coarse scores, so that ties are common and the tie rule matters.
  for (auto& s : scores) s = static_cast<float>(rng.next_u64() % 4);
  train::EvaluateOptions options{.confusion = true, .top_k = {1, 2, 5, 7}};
  train::ClassificationCounts counts(options);
  for (int first = 0; first < samples; first += 64) {  // in batches, the last one short
    const int n = std::min(64, samples - first);
    counts.add(std::span(scores).subspan(static_cast<std::size_t>(first) * classes, static_cast<std::size_t>(n) * classes),
               std::span(labels).subspan(static_cast<std::size_t>(first), static_cast<std::size_t>(n)));
  }
  train::Evaluation e;
  counts.finish(e);

  // Independently: each row's classes stably sorted by descending score (earlier classes win ties).
  std::vector<long> confusion(classes * classes, 0), hits(options.top_k.size(), 0), per_class(classes, 0);
  for (int i = 0; i < samples; ++i) {
    std::vector<int> order(classes);
    std::iota(order.begin(), order.end(), 0);
    const float* row = scores.data() + static_cast<std::size_t>(i) * classes;
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return row[a] > row[b]; });
    const int label = labels[static_cast<std::size_t>(i)];
    ++confusion[static_cast<std::size_t>(label * classes + order[0])];
    const auto position = std::find(order.begin(), order.end(), label) - order.begin();
    for (std::size_t t = 0; t < options.top_k.size(); ++t) hits[t] += position < options.top_k[t];
    ++per_class[static_cast<std::size_t>(label)];
  }
  REQUIRE(e.classes == classes);
  CHECK(e.confusion == confusion);
  REQUIRE(e.top_k.size() == 4);
  for (std::size_t t = 0; t < 4; ++t) {
    CHECK(e.top_k[t].k == options.top_k[t]);
    CHECK(e.top_k[t].accuracy == Approx(100.0 * static_cast<double>(hits[t]) / samples));
  }
  CHECK(e.top_k[3].accuracy == 100.0);  // top-7 of 7 classes
  for (int c = 0; c < classes; ++c)
    CHECK(e.class_accuracy[static_cast<std::size_t>(c)] ==
          Approx(100.0 * static_cast<double>(confusion[static_cast<std::size_t>(c * classes + c)]) /
                 static_cast<double>(per_class[static_cast<std::size_t>(c)])));

  // A label outside the outputs is refused by name.
  const std::vector<float> two(2, 0.0f);
  const std::vector<std::int32_t> bad{9};
  train::ClassificationCounts fresh(options);
  CHECK_THROWS_WITH(fresh.add(two, bad), Catch::Contains("label 9 is outside the model's 2 classes"));
  CHECK_THROWS_WITH(counts.add(two, std::vector<std::int32_t>{0}),
                    Catch::Contains("a batch has 2 scores per sample after batches with 7"));
}

TEST_CASE("the evaluation report names the classes, fits 80 columns and shows every count", "[metrics]") {
  const std::vector<std::string> names = {"airplane", "automobile", "bird",  "cat",  "deer",
                                          "dog",      "frog",       "horse", "ship", "truck"};
  train::Evaluation e;
  e.samples = 10000, e.loss = 0.5, e.accuracy = 80;
  e.classes = 10;
  e.top_k = {{1, 80}, {5, 98.5}};
  Rng rng(1);
  for (int i = 0; i < 100; ++i) e.confusion.push_back(static_cast<long>(rng.next_u64() % 10000));
  e.class_accuracy.assign(10, 12.5);
  e.class_accuracy[4] = std::numeric_limits<double>::quiet_NaN();  // a class without samples
  const auto text = train::format_evaluation(e, names);
  const auto lines = lines_of(text);
  for (const auto& line : lines) CHECK(line.size() <= 79);
  CHECK(lines[0] == "10000 samples, loss 0.5000, accuracy 80.00%, top-1 80.00%, top-5 98.50%");
  int rows = 0;
  for (const auto& line : lines) {
    std::istringstream in(line);
    int number = -1;
    std::string name;
    if (!(in >> number >> name) || number < 0 || number >= 10 || name != names[static_cast<std::size_t>(number)])
      continue;
    std::vector<long> counts(10);
    for (auto& c : counts) in >> c;
    std::string accuracy;
    in >> accuracy;
    CHECK(counts == std::vector<long>(e.confusion.begin() + number * 10, e.confusion.begin() + number * 10 + 10));
    CHECK(accuracy == (number == 4 ? "-" : "12.50%"));
    ++rows;
  }
  CHECK(rows == 10);
}
