#include "cli/default_model.h"

#include <unistd.h>

#include <system_error>

#include "util/error.h"

namespace s1::cli {

namespace fs = std::filesystem;

namespace {

fs::path executable_path() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : exe;
}

}  // namespace

std::vector<fs::path> bundled_model_candidates() {
  std::vector<fs::path> candidates;
  const fs::path exe = executable_path();
  if (!exe.empty()) {
    const fs::path prefix = exe.parent_path().parent_path();
    candidates.push_back(prefix / kBundledModel);               // build/s1, or bin/s1 of the release tarball
    candidates.push_back(prefix / "share/s1" / kBundledModel);  // /usr/bin/s1 of the .deb
  }
  std::error_code ec;
  const fs::path cwd = fs::current_path(ec);
  candidates.push_back(ec ? fs::path(kBundledModel) : cwd / kBundledModel);
  return candidates;
}

std::string model_or_bundled(const std::string& given) {
  if (!given.empty()) return given;
  const std::vector<fs::path> candidates = bundled_model_candidates();
  std::string searched;
  for (const fs::path& path : candidates) {
    std::error_code ec;
    if (fs::is_regular_file(path, ec)) return path.lexically_normal().string();
    searched += (searched.empty() ? "" : ", ") + path.lexically_normal().string();
  }
  fail("no model given (-m MODEL.gguf) and the bundled model {} is missing (searched {}); "
       "`s1 train --recipe mini --out DIR` rebuilds it",
       kBundledModel, searched);
}

CLI::Option* add_model_option(CLI::App& app, std::string& path, const std::string& what) {
  return app.add_option("-m,--model", path, what + " (default: the bundled " + kBundledModel + ")");
}

}  // namespace s1::cli
