#pragma once
// Helpers every test binary shares: where the repository and ../shared are,
// scratch directories, and running the `s1` binary as a user would.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace s1test {

std::filesystem::path source_dir();
// ../shared next to the repository (the conformance models, tokenizer vocabs,
// templates and datasets).
std::filesystem::path shared_dir();
// A fresh, empty directory under the build's temp area, unique per call.
std::filesystem::path temp_dir(const std::string& tag);

struct CliResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};
// Runs build/s1 with `args` (no shell), feeding `stdin_text` on standard input.
CliResult run_s1(const std::vector<std::string>& args, const std::string& stdin_text = "");

std::string read_file(const std::filesystem::path& path);
void write_file(const std::filesystem::path& path, const std::string& text);

// n values drawn from a normal distribution (mean 0), reproducible per seed.
std::vector<float> gaussian_values(int n, float stddev, uint32_t seed);

}  // namespace s1test
