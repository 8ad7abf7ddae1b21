#pragma once
// Server-sent events framing (one `data:` line per JSON object, a blank line
// after each, `data: [DONE]` at the end, as OpenAI streams) and the JSON text
// the server writes: model output may hold invalid UTF-8, which is replaced.
#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace s1::server {

std::string json_text(const nlohmann::json& value);
std::string sse_event(const nlohmann::json& value);
inline constexpr std::string_view kSseDone = "data: [DONE]\n\n";

}  // namespace s1::server
