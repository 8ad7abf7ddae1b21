#pragma once
// A whole file's bytes as a string (templates, tokenizer JSON, prompts).
#include <filesystem>
#include <string>

namespace s1 {

// Throws s1::Error "PATH: cannot open file" when it cannot be read.
std::string read_file(const std::filesystem::path& path);

}  // namespace s1
