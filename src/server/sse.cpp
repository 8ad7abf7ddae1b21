#include "server/sse.h"

namespace s1::server {

std::string json_text(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string sse_event(const nlohmann::json& value) { return "data: " + json_text(value) + "\n\n"; }

}  // namespace s1::server
