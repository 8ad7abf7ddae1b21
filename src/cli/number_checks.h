#pragma once
// Range checks for numeric flags whose errors say the rule in words
// ("--gen: must be > 0, got 0") rather than CLI11's numeric limits ("Value 0
// not in range 0.000000 to 179769313486231570814527423731704356798070567...").
#include <CLI/CLI.hpp>

namespace s1::cli {

CLI::Validator number_where(const char* rule, bool (*holds)(double));
CLI::Validator positive_number();      // > 0
CLI::Validator non_negative_number();  // >= 0

}  // namespace s1::cli
