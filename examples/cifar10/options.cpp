// The cifar10 example's command line, compiled apart from the network: CLI11 is a large header
// and the two don't share anything but Options.
#include "options.hpp"

namespace cifar10_example {

int parse_command_line(int argc, char** argv, Options& o) {
  CLI::App app{"cifar10"};
  add_flags(app, o);
  try {
    app.parse(argc, argv);
    apply_recipe(app, o);
    if (o.nesterov && o.optimizer == "sgd" && o.momentum <= 0)
      throw CLI::ValidationError("--nesterov", "Nesterov momentum needs --momentum above 0");
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return -1;
}

}  // namespace cifar10_example
