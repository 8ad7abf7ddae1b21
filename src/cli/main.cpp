// The `s1` binary: one subcommand per cli/cmd_*.cpp (see command.h).
#include <algorithm>
#include <cstdio>
#include <exception>
#include <map>

#include "cli/command.h"
#include "tensor/kernel_set.h"
#include "util/error.h"

namespace s1::cli {

std::vector<CommandSpec>& command_registry() {
  static std::vector<CommandSpec> registry;
  return registry;
}

}  // namespace s1::cli

int main(int argc, char** argv) {
  using namespace s1::cli;
  CLI::App app{"s1: run, steer, train and evaluate reasoning models on a CPU"};
  app.set_version_flag("--version", std::string("s1 ") + S1_VERSION);
  app.require_subcommand(1);

  auto specs = command_registry();
  std::sort(specs.begin(), specs.end(),
            [](const CommandSpec& a, const CommandSpec& b) { return std::string(a.name) < b.name; });
  std::map<CLI::App*, CommandRunner> runners;
  for (const auto& spec : specs) {
    CLI::App* sub = app.add_subcommand(spec.name, spec.description);
    runners[sub] = spec.setup(*sub);
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    s1::kernels();  // a bad S1_CPU is an error before any work starts
    for (auto* sub : app.get_subcommands()) return runners.at(sub)();
  } catch (const s1::Error& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
