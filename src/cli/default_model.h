#pragma once
// The bundled model (models/mini.gguf, trained by `s1 train --recipe mini`) is
// what every model-running command uses when -m is omitted, so the first
// command a user types works without a download.
#include <CLI/CLI.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace s1::cli {

inline constexpr const char* kBundledModel = "models/mini.gguf";

// Where the bundled model is looked for, in order: beside the build folder the
// binary sits in (build/s1 -> models/mini.gguf of the repository), then under
// the current directory.
std::vector<std::filesystem::path> bundled_model_candidates();

// `given` when it is not empty, else the first candidate that exists; an
// s1::Error naming every searched path when none does.
std::string model_or_bundled(const std::string& given);

// -m,--model bound to `path`, optional, its help saying what the default is.
CLI::Option* add_model_option(CLI::App& app, std::string& path, const std::string& what);

}  // namespace s1::cli
