#include "reasoning/record_json.h"

namespace s1 {

static nlohmann::json optional_string(const std::optional<std::string>& s) {
  return s ? nlohmann::json(*s) : nlohmann::json(nullptr);
}

nlohmann::json to_json(const SampleRecord& s) {
  nlohmann::json sources = nlohmann::json::array();
  for (const SearchResult& r : s.sources)
    sources.push_back({{"path", r.path}, {"title", r.title}, {"begin", r.begin}, {"end", r.end}});
  nlohmann::json record = {
      {"thinking", s.thinking},
      {"answer", s.answer},
      {"extracted_answer", optional_string(s.extracted)},
      {"thinking_tokens", s.thinking_tokens},
      {"answer_tokens", s.answer_tokens},
      {"forced_end", s.forced_end},
      {"waits", s.waits},
      {"mean_logprob", s.mean_logprob},
      {"finish_reason", s.finish_reason},
      {"thinking_seconds", s.thinking_seconds},
      {"answer_seconds", s.answer_seconds},
      {"searches", s.searches},
      {"search_tokens", s.search_tokens},
      {"probes", s.probes},
      {"probe_tokens", s.probe_tokens},
      {"probe_stopped", s.probe_stopped},
      {"sources", std::move(sources)},
  };
  if (!s.error.empty()) record["error"] = s.error;
  return record;
}

nlohmann::json to_json(const GenerationResult& r) {
  // The top level describes the chosen sample (the only one when n == 1).
  const SampleRecord& chosen = r.samples.at(r.vote.winner >= 0 ? size_t(r.vote.winner) : 0);
  nlohmann::json samples = nlohmann::json::array();
  for (const auto& s : r.samples) samples.push_back(to_json(s));
  return {
      {"thinking_tokens", chosen.thinking_tokens},
      {"answer_tokens", chosen.answer_tokens},
      {"forced_end", chosen.forced_end},
      {"waits", chosen.waits},
      {"probes", chosen.probes},
      {"probe_tokens", chosen.probe_tokens},
      {"probe_stopped", chosen.probe_stopped},
      {"finish_reason", chosen.finish_reason},
      {"thinking", chosen.thinking},
      {"answer", chosen.answer},
      {"extracted_answer", optional_string(r.vote.answer)},
      {"prompt_tokens", r.prompt_tokens},
      {"prefill_tokens", r.prefill_tokens},
      {"computed_tokens", r.computed_tokens},
      {"appended_tokens", r.appended_tokens},
      {"timings", {{"prefill_seconds", r.prefill_seconds}, {"total_seconds", r.total_seconds}}},
      {"vote", {{"winner", r.vote.winner}, {"answer", optional_string(r.vote.answer)}, {"votes", r.vote.votes},
                {"score", r.vote.score}}},
      {"samples", samples},
  };
}

}  // namespace s1
