// For the tests that exchange files with PyTorch: find a python3 that has the modules they
// need, run a script, and skip (exit 77, which ctest reports as skipped) where there is none.
// The including program defines CATCH_CONFIG_RUNNER first: main is its own.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <sys/wait.h>  // WIFEXITED

#include <catch2/catch.hpp>

namespace ctnn_test {

// Runs `command` through the shell; its exit status (-1 when it didn't exit normally).
inline int run_command(const std::string& command) {
  const int status = std::system(command.c_str());
  return status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The first of $CTNN_PYTHON, python3 on the PATH and /usr/bin/python3 (Debian's, which
// python3-torch installs into) that imports every module of `modules` ("torch, torchvision");
// empty when none does.
inline std::string python_with(const std::string& modules) {
  std::vector<std::string> candidates;
  if (const char* p = std::getenv("CTNN_PYTHON")) candidates.emplace_back(p);
  candidates.emplace_back("python3");
  candidates.emplace_back("/usr/bin/python3");
  for (const auto& python : candidates)
    if (run_command("'" + python + "' -c 'import " + modules + "' >/dev/null 2>&1") == 0) return python;
  return {};
}

// The test program's main: the Catch2 session, or exit 77 with the reason when no python3
// imports `modules`.
inline int run_tests_with_python(const std::string& modules, const char* package, int argc, char** argv) {
  if (python_with(modules).empty()) {
    std::printf("skipped: no python3 here imports %s (Debian: apt-get install %s; or set CTNN_PYTHON)\n",
                modules.c_str(), package);
    return 77;
  }
  return Catch::Session().run(argc, argv);
}

}  // namespace ctnn_test
