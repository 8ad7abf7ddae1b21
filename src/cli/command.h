#pragma once
// Every `s1 <name>` subcommand lives in its own cli/cmd_<name>.cpp and
// registers itself with S1_COMMAND; main.cpp only parses and dispatches.
//
//   S1_COMMAND(info, "Show a GGUF model's architecture, shape and weights") {
//     auto opts = std::make_shared<InfoOptions>();
//     app.add_option("-m,--model", opts->model, "...")->required();
//     return [opts] { return run_info(*opts); };   // exit code
//   }
//
// The body receives `CLI::App& app` (the subcommand) and returns the function
// that runs it. An s1::Error escaping that function prints `error: <msg>` and
// exits 1.
#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace s1::cli {

using CommandRunner = std::function<int()>;
using CommandSetup = CommandRunner (*)(CLI::App& app);

struct CommandSpec {
  const char* name;
  const char* description;
  CommandSetup setup;
};

std::vector<CommandSpec>& command_registry();

struct CommandRegistrar {
  CommandRegistrar(const char* name, const char* description, CommandSetup setup) {
    command_registry().push_back({name, description, setup});
  }
};

}  // namespace s1::cli

#define S1_COMMAND(NAME, DESCRIPTION)                                                         \
  static ::s1::cli::CommandRunner s1_command_setup_##NAME(CLI::App& app);                     \
  static ::s1::cli::CommandRegistrar s1_command_registrar_##NAME(#NAME, DESCRIPTION,          \
                                                                 &s1_command_setup_##NAME);   \
  static ::s1::cli::CommandRunner s1_command_setup_##NAME(CLI::App& app)
