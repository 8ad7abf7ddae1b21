#pragma once
// Turns a job's events and result into OpenAI response objects: chunks while
// streaming (reasoning as delta.reasoning_content, the answer as
// delta.content) and the whole response at the end. Stop strings are applied
// here, to the answer text: text that might begin a stop string is held back
// until it cannot. With n > 1 and `aggregate`, choice 0 is the voted answer
// and the samples follow as choices 1..n.
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "reasoning/generator.h"
#include "reasoning/tool_calls.h"
#include "server/request_parser.h"

namespace s1::server {

class CompletionAssembler {
 public:
  // With `tools`, answers are split into text and tool calls in that syntax:
  // calls come back as tool_calls when the request offered tools, and the
  // server's own search calls (`hides_search`) are dropped (the generator ran them).
  CompletionAssembler(const ApiRequest& request, std::string id, std::string model,
                      std::optional<ToolCallFormat> tools = std::nullopt, bool hides_search = false,
                      const nlohmann::json& tool_list = nlohmann::json::array());

  const std::string& id() const { return id_; }
  // The first streamed chunk: the request id and each choice's role.
  nlohmann::json opening_chunk() const;
  // Consumes events; returns the chunks to stream.
  std::vector<nlohmann::json> on_events(const std::vector<Event>& events);
  bool all_stopped() const;      // every sample met a stop string (the generation can end)
  bool saw_text() const { return saw_text_; }
  // Held-back text, finish reasons, the vote and usage (when asked for).
  std::vector<nlohmann::json> closing_chunks(const GenerationResult& result, bool timed_out);
  nlohmann::json response(const GenerationResult& result, bool timed_out);
  nlohmann::json usage(const GenerationResult& result) const;

 private:
  struct SampleText {
    std::string reasoning, content;
    std::string held;  // answer text that may be the start of a stop string
    bool stopped = false;
    size_t logprob_bytes = 0;  // answer bytes the logprobs sent so far cover (completions' text_offset)
    std::optional<ToolCallSplitter> splitter;  // when the request offers tools
    // Calls made while thinking (the model waits for their results before it
    // answers): split from the reasoning when the request offers tools.
    std::optional<ToolCallSplitter> thinking_splitter;
    std::vector<ToolCall> calls;
  };
  // Reasoning text through the thinking's splitter; `ended`: the thinking is over, nothing is held.
  std::string take_thinking(int sample_index, SampleText& sample, std::string_view text, bool ended,
                            nlohmann::json& call_deltas);
  // A call for the response, and its delta for the stream.
  void add_call(int sample_index, SampleText& sample, ToolCall call, nlohmann::json& call_deltas) const;
  // Answer text through the tool-call splitter and the stop filter; calls found become `call_deltas`.
  std::string take_answer(int sample_index, SampleText& sample, std::string_view text, nlohmann::json& call_deltas);
  std::string take_answer_piece(int sample_index, SampleText& sample, ToolCallSplitter::Piece piece,
                                nlohmann::json& call_deltas);
  // The end of a sample's answer: whatever the splitter and the stop filter still hold.
  std::string finish_answer(int sample_index, SampleText& sample, nlohmann::json& call_deltas);
  nlohmann::json call_json(int sample_index, size_t call_index, const ToolCall& call) const;
  static nlohmann::json annotations(const std::vector<SearchResult>& sources);
  // Appends answer text through the stop filter; returns what may be released.
  std::string feed_answer(SampleText& sample, const std::string& text);
  std::string flush_held(SampleText& sample);
  std::string finish_reason(const SampleRecord& record, const SampleText& text, bool timed_out) const;
  int choice_index(int sample) const { return sample + (aggregated_ ? 1 : 0); }
  nlohmann::json chunk(nlohmann::json choices) const;
  nlohmann::json delta_choice(int index, const std::string& reasoning, const std::string& content) const;
  nlohmann::json vote_json(const GenerationResult& result) const;
  // OpenAI's logprobs object for these answer tokens: chat's {content: [...]}
  // or completions' {tokens, token_logprobs, top_logprobs, text_offset}.
  nlohmann::json logprobs_json(const std::vector<TokenChoiceLogprobs>& tokens, size_t& offset) const;

  bool chat_;
  std::string id_, model_;
  int64_t created_;
  std::vector<std::string> stop_;
  bool aggregated_;
  VoteMethod vote_method_ = VoteMethod::majority;
  bool include_usage_;
  bool logprobs_;
  std::optional<ToolCallFormat> tool_format_;
  bool surfaces_calls_ = false, hides_search_ = false;
  std::vector<SampleText> samples_;
  bool saw_text_ = false;
};

}  // namespace s1::server
