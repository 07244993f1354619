// Definitions for plot.hpp (inline, or compiled once with CTNN_SEPARATE_COMPILATION).
#pragma once
#include <algorithm>  // std::min, std::max
#include <cstdio>   // popen, pclose
#include <cstdlib>  // std::getenv

#include <fmt/format.h>
#include <sys/wait.h>  // WIFEXITED
#include <unistd.h>    // access, getpid

#include "ctnn/train/plot.hpp"

namespace ctnn::train {

CTNN_INLINE std::string find_program(std::string_view program) {
  const char* path = std::getenv("PATH");
  std::string_view dirs = path ? path : "/usr/bin:/bin";
  while (!dirs.empty()) {
    const auto colon = dirs.find(':');
    const std::string dir(dirs.substr(0, colon));
    dirs = colon == std::string_view::npos ? std::string_view{} : dirs.substr(colon + 1);
    if (dir.empty()) continue;
    const std::string candidate = dir + "/" + std::string(program);
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

CTNN_INLINE int epoch_tick_step(int epochs) {
  // 1, 2, 5, 10, 20, 50, ...: the smallest that leaves at most 10 ticks.
  for (long long scale = 1;; scale *= 10)
    for (const long long step : {1, 2, 5})
      if (epochs <= 10 * step * scale) return static_cast<int>(step * scale);
}

CTNN_INLINE std::string gnuplot_script(const History& history, const std::filesystem::path& png) {
  std::string s;
  s += "$loss << EOD\n";
  // Each batch's loss, and its mean over the last (up to) 100 batches, as the seed prints it.
  double window = 0;
  const auto& losses = history.batch_losses;
  for (std::size_t i = 0; i < losses.size(); ++i) {
    window += losses[i];
    if (i >= 100) window -= losses[i - 100];
    s += fmt::format("{} {} {}\n", i + 1, losses[i], window / static_cast<double>(std::min<std::size_t>(i + 1, 100)));
  }
  s += "EOD\n$accuracy << EOD\n";
  for (const auto& e : history.epochs)
    if (e.test_accuracy == e.test_accuracy) s += fmt::format("{} {}\n", e.epoch, e.test_accuracy);
  s += "EOD\n";
  std::string file;  // the file name as a gnuplot double-quoted string
  for (const char c : png.string()) {
    if (c == '"' || c == '\\') file += '\\';
    file += c;
  }
  s += fmt::format("set terminal pngcairo size 1200,400 font ',10'\nset output \"{}\"\n", file);
  s += "set multiplot layout 1,2\nset grid\nunset key\n";
  s += "set title 'Training Loss Curve'\nset xlabel 'Training Batch'\nset ylabel 'Loss Value'\n";
  s += history.batch_losses.empty()
           ? "plot 0\n"
           : "set key top right\nplot $loss using 1:2 with lines lc rgb '#c0c0e0' title 'batch', "
             "$loss using 1:3 with lines lw 2 lc rgb '#2040a0' title 'mean of 100'\nunset key\n";
  s += "set title 'Test Accuracy Curve'\nset xlabel 'Epoch'\nset ylabel 'Accuracy (%)'\n";
  // Epochs are whole numbers: ticks on integers only, and a range that holds a single epoch.
  const int last = history.epochs.empty() ? 1 : std::max(1, history.epochs.back().epoch);
  const int first = history.epochs.empty() ? 1 : std::min(last, std::max(1, history.epochs.front().epoch));
  s += fmt::format("set xrange [{}:{}]\nset xtics {}\nset mxtics 1\nset format x '%.0f'\n", first - 0.5, last + 0.5,
                   epoch_tick_step(last - first + 1));
  s += history.epochs.empty() ? "plot 0\n" : "plot $accuracy using 1:2 with linespoints pt 7 ps 0.5\n";
  s += "unset multiplot\nset output\n";
  return s;
}

CTNN_INLINE std::string plot_history(const History& history, const std::filesystem::path& png) {
  const std::string gnuplot = find_program("gnuplot");
  if (gnuplot.empty()) return "gnuplot is not installed (Debian: apt-get install gnuplot-nox), so no plot was drawn";
  const auto log = std::filesystem::temp_directory_path() / fmt::format("ctnn-gnuplot-{}.log", ::getpid());
  const std::string command = fmt::format("'{}' > '{}' 2>&1", gnuplot, log.string());
  std::FILE* pipe = ::popen(command.c_str(), "w");
  if (!pipe) return "can't start gnuplot";
  const std::string script = gnuplot_script(history, png);
  std::fwrite(script.data(), 1, script.size(), pipe);
  const int status = ::pclose(pipe);
  std::string first_line;
  if (std::FILE* f = std::fopen(log.c_str(), "r")) {
    char line[256] = {};
    if (std::fgets(line, sizeof line, f)) first_line = line;
    std::fclose(f);
  }
  std::remove(log.c_str());
  while (!first_line.empty() && (first_line.back() == '\n' || first_line.back() == '\r')) first_line.pop_back();
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return fmt::format("gnuplot failed drawing {} (exit status {}{}{})", png.string(), status,
                       first_line.empty() ? "" : ": ", first_line);
  return {};
}
}  // namespace ctnn::train
