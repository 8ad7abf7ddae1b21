#include "util/log.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace s1 {
namespace {

LogLevel level_from_env() {
  const char* env = std::getenv("S1_LOG");
  if (!env) return LogLevel::warn;
  if (!std::strcmp(env, "debug")) return LogLevel::debug;
  if (!std::strcmp(env, "info")) return LogLevel::info;
  if (!std::strcmp(env, "error")) return LogLevel::error;
  if (!std::strcmp(env, "quiet")) return LogLevel::quiet;
  return LogLevel::warn;
}

std::atomic<LogLevel>& current_level() {
  static std::atomic<LogLevel> level{level_from_env()};
  return level;
}

}  // namespace

LogLevel log_level() { return current_level().load(std::memory_order_relaxed); }
void set_log_level(LogLevel level) { current_level().store(level); }

void log_write(LogLevel level, const std::string& message) {
  static const char* const prefix[] = {"debug: ", "", "warning: ", "error: ", ""};
  std::fprintf(stderr, "%s%s\n", prefix[int(level)], message.c_str());
}

}  // namespace s1
