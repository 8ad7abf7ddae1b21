#include "cli/number_checks.h"

#include <fmt/format.h>

namespace s1::cli {

CLI::Validator number_where(const char* rule, bool (*holds)(double)) {
  return CLI::Validator(
      [rule, holds](std::string& text) -> std::string {
        double value = 0;
        if (!CLI::detail::lexical_cast(text, value)) return "'" + text + "' is not a number";
        return holds(value) ? std::string() : fmt::format("must be {}, got {}", rule, text);
      },
      rule);
}

CLI::Validator positive_number() {
  return number_where("> 0", [](double v) { return v > 0; });
}

CLI::Validator non_negative_number() {
  return number_where(">= 0", [](double v) { return v >= 0; });
}

}  // namespace s1::cli
