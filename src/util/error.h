#pragma once
// s1::Error is the one exception type for bad input and failed operations.
// Its message is a complete, single-line sentence meant for the user
// ("model.gguf: tensor 'x' extends past the end of the file"); the CLI prints
// it as `error: <message>` and exits non-zero.
#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace s1 {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace s1
