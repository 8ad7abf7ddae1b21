// The `s1` binary: one subcommand per cli/cmd_*.cpp (see command.h).
#include <algorithm>
#include <cstdio>
#include <exception>
#include <map>
#include <optional>
#include <string_view>
#include <vector>

#include "cli/command.h"
#include "tensor/kernel_set.h"
#include "util/error.h"

namespace s1::cli {

std::vector<CommandSpec>& command_registry() {
  static std::vector<CommandSpec> registry;
  return registry;
}

namespace {

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// `s1 rn`: CLI11 would only say a subcommand is required; name the nearest one.
std::optional<std::string> unknown_command_message(std::string_view given, const std::vector<CommandSpec>& specs) {
  std::string nearest;
  size_t best = 3;  // two edits at most count as a typo
  for (const auto& spec : specs) {
    if (given == spec.name) return std::nullopt;
    const size_t d = edit_distance(given, spec.name);
    if (d < best) best = d, nearest = spec.name;
  }
  std::string message = fmt::format("unknown command '{}'", given);
  if (!nearest.empty()) message += fmt::format("; did you mean '{}'?", nearest);
  return message + " (s1 --help lists the commands)";
}

}  // namespace

}  // namespace s1::cli

int main(int argc, char** argv) {
  using namespace s1::cli;
  CLI::App app{"s1: run, steer, train and evaluate reasoning models on a CPU"};
  app.set_version_flag("--version", std::string("s1 ") + S1_VERSION);
  app.require_subcommand(1);

  auto specs = command_registry();
  std::sort(specs.begin(), specs.end(),
            [](const CommandSpec& a, const CommandSpec& b) { return std::string(a.name) < b.name; });
  if (argc > 1 && argv[1][0] != '-') {
    if (auto message = unknown_command_message(argv[1], specs)) {
      std::fprintf(stderr, "error: %s\n", message->c_str());
      return 2;
    }
  }
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
