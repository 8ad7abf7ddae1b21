#include "data/s1k_export.h"

namespace s1::data {

nlohmann::json to_s1k_row(const CurationRecord& r, const std::string& source) {
  using nlohmann::json;
  const json& raw = r.raw;
  // A record that already holds s1K's list keeps its pieces; ours is one trace.
  json thinking = json::array({r.thinking});
  if (const auto it = raw.find("thinking_trajectories"); it != raw.end() && it->is_array() && !it->empty())
    thinking = *it;
  const auto text_field = [&](const char* key, const std::string& otherwise) {
    const auto it = raw.find(key);
    return it != raw.end() && it->is_string() ? it->get<std::string>() : otherwise;
  };
  // s1K keeps a record's extra facts as one JSON string; ours are its id and difficulty.
  json metadata = json::object();
  for (const char* key : {"id", "difficulty", "slip"})
    if (const auto it = raw.find(key); it != raw.end()) metadata[key] = *it;
  return {{"question", r.question},
          {"solution", text_field("solution", r.reference.value_or(""))},
          {"cot_type", text_field("cot_type", r.domain)},
          {"source_type", text_field("source_type", source)},
          {"metadata", text_field("metadata", metadata.dump())},
          {"cot", nullptr},
          {"thinking_trajectories", thinking},
          {"attempt", r.answer_text}};
}

}  // namespace s1::data
