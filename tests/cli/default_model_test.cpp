// Without -m, model-running commands use the bundled models/mini.gguf: beside
// the build folder that holds the binary (or under share/s1 beside its bin
// folder, as the .deb installs it), else under the current directory;
// when neither exists, one error names every searched path. The binary is
// copied into scratch layouts (its own path decides the first place searched).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "support/test_support.h"

namespace {

namespace fs = std::filesystem;

struct Outcome {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs `binary args` in `cwd` through the shell.
Outcome run_in(const fs::path& cwd, const fs::path& binary, const std::string& args) {
  const std::string command = "cd '" + cwd.string() + "' && '" + binary.string() + "' " + args + " 2>&1";
  Outcome o;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return o;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) o.output.append(buf, n);
  const int status = pclose(pipe);
  o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return o;
}

// root/build/s1 (a copy of the built binary) and, if `with_model`, root/models/mini.gguf.
fs::path install(const fs::path& root, bool with_model) {
  fs::create_directories(root / "build");
  fs::copy_file(S1_BINARY, root / "build" / "s1");
  if (with_model) {
    fs::create_directories(root / "models");
    auto r = s1test::run_s1({"mkmodel", "--arch", "qwen3", "--layers", "1", "--embd", "32", "--heads", "2",
                             "--kv-heads", "1", "--ff", "64", "--name", "bundled-test", "-o",
                             (root / "models" / "mini.gguf").string()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
  return root / "build" / "s1";
}

TEST(DefaultModel, FoundBesideTheBinarysBuildFolder) {
  const fs::path root = s1test::temp_dir("default-model");
  const fs::path s1 = install(root, true);
  const fs::path elsewhere = s1test::temp_dir("default-model-cwd");
  auto info = run_in(elsewhere, s1, "info --json");
  ASSERT_EQ(info.exit_code, 0) << info.output;
  EXPECT_NE(info.output.find("bundled-test"), std::string::npos) << info.output;
  auto tokens = run_in(elsewhere, s1, "tokenize --ids < /dev/null");
  ASSERT_EQ(tokens.exit_code, 0) << tokens.output;
  EXPECT_NE(tokens.output.find('['), std::string::npos) << tokens.output;
  auto run = run_in(elsewhere, s1, "run -p hi -n 2 --temp 0");
  EXPECT_EQ(run.exit_code, 0) << run.output;
}

TEST(DefaultModel, FoundUnderTheCurrentDirectory) {
  const fs::path s1 = install(s1test::temp_dir("default-model-bin"), false);
  const fs::path cwd = s1test::temp_dir("default-model-here");
  install(cwd, true);
  auto info = run_in(cwd, s1, "info --json");
  ASSERT_EQ(info.exit_code, 0) << info.output;
  EXPECT_NE(info.output.find("bundled-test"), std::string::npos) << info.output;
}

// The .deb's layout (scripts/package): /usr/bin/s1 and /usr/share/s1/models/mini.gguf.
TEST(DefaultModel, FoundInTheDebianLayout) {
  const fs::path root = s1test::temp_dir("default-model-deb");
  fs::create_directories(root / "bin");
  fs::copy_file(S1_BINARY, root / "bin" / "s1");
  const fs::path share = s1test::temp_dir("default-model-deb-share");
  install(share, true);
  fs::create_directories(root / "share" / "s1");
  fs::rename(share / "models", root / "share" / "s1" / "models");
  auto info = run_in(s1test::temp_dir("default-model-deb-cwd"), root / "bin" / "s1", "info --json");
  ASSERT_EQ(info.exit_code, 0) << info.output;
  EXPECT_NE(info.output.find("bundled-test"), std::string::npos) << info.output;
}

TEST(DefaultModel, MissingNamesTheSearchedPaths) {
  const fs::path root = s1test::temp_dir("default-model-none");
  const fs::path s1 = install(root, false);
  const fs::path cwd = s1test::temp_dir("default-model-empty");
  for (const char* command : {"info", "run -p hi", "serve --port 0", "bench", "tokenize", "eval --dataset x.jsonl"}) {
    auto r = run_in(cwd, s1, command);
    EXPECT_EQ(r.exit_code, 1) << command;
    EXPECT_NE(r.output.find("bundled model models/mini.gguf is missing"), std::string::npos) << command << r.output;
    EXPECT_NE(r.output.find((root / "models" / "mini.gguf").string()), std::string::npos) << r.output;
    EXPECT_NE(r.output.find((cwd / "models" / "mini.gguf").string()), std::string::npos) << r.output;
  }
  // -m still wins, and eval still refuses a model together with a server.
  auto both = run_in(cwd, s1, "eval -m m.gguf --endpoint http://127.0.0.1:1 --dataset x.jsonl");
  EXPECT_EQ(both.exit_code, 1);
  EXPECT_NE(both.output.find("not both"), std::string::npos) << both.output;
}

// The committed models/mini.gguf itself: found without -m, thinks in the
// <think> format and works a sum it was trained on the method of.
TEST(BundledModel, AnswersWithVisibleThinking) {
  ASSERT_TRUE(fs::exists(s1test::source_dir() / "models" / "mini.gguf"));
  auto r = s1test::run_s1({"run", "--chat", "-p", "What is 23 + 45?", "--temp", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Add digit by digit from the right."), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("The answer is \\boxed{68}."), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("[think format | thinking:"), std::string::npos) << r.err;
}

}  // namespace
