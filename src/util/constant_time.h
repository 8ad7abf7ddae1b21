#pragma once
// Comparing secrets (API keys, control tokens) in time that does not depend on
// where they first differ, so timing a refusal tells a guesser nothing.
#include <cstdint>
#include <string_view>

namespace s1 {

inline bool constant_time_equal(std::string_view given, std::string_view secret) {
  unsigned diff = given.size() != secret.size();
  for (size_t i = 0; i < secret.size(); ++i)
    diff |= unsigned(uint8_t(secret[i]) ^ uint8_t(i < given.size() ? given[i] : 0));
  return diff == 0;
}

}  // namespace s1
