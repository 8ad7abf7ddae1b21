#pragma once
// Diagnostics go to stderr so stdout stays clean for results (token ids,
// JSON, generated text). S1_LOG=debug|info|warn|error sets the level.
#include <fmt/format.h>

namespace s1 {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3, quiet = 4 };

LogLevel log_level();
void set_log_level(LogLevel level);
void log_write(LogLevel level, const std::string& message);

template <typename... Args>
void log_debug(fmt::format_string<Args...> f, Args&&... a) {
  if (log_level() <= LogLevel::debug) log_write(LogLevel::debug, fmt::format(f, std::forward<Args>(a)...));
}
template <typename... Args>
void log_info(fmt::format_string<Args...> f, Args&&... a) {
  if (log_level() <= LogLevel::info) log_write(LogLevel::info, fmt::format(f, std::forward<Args>(a)...));
}
template <typename... Args>
void log_warn(fmt::format_string<Args...> f, Args&&... a) {
  if (log_level() <= LogLevel::warn) log_write(LogLevel::warn, fmt::format(f, std::forward<Args>(a)...));
}

}  // namespace s1
