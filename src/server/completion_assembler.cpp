#include "server/completion_assembler.h"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "tokenizer/utf8.h"

namespace s1::server {

using nlohmann::json;

CompletionAssembler::CompletionAssembler(const ApiRequest& request, std::string id, std::string model,
                                         std::optional<ToolCallFormat> tools, bool hides_search,
                                         const json& tool_list)
    : chat_(request.endpoint == Endpoint::chat),
      id_(std::move(id)),
      model_(std::move(model)),
      created_(std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch()).count()),
      stop_(request.stop),
      aggregated_(request.aggregate.has_value() && request.n > 1),
      vote_method_(request.aggregate.value_or(VoteMethod::majority)),
      include_usage_(request.include_usage),
      logprobs_(request.logprobs >= 0),
      tool_format_(tools),
      surfaces_calls_(request.uses_tools()),
      hides_search_(hides_search),
      samples_(size_t(request.n)) {
  if (tools)
    for (auto& sample : samples_) {
      sample.splitter.emplace(*tools, tool_list);
      if (surfaces_calls_) sample.thinking_splitter.emplace(*tools, tool_list);
    }
}

void CompletionAssembler::add_call(int sample_index, SampleText& sample, ToolCall call, json& call_deltas) const {
  json delta = call_json(sample_index, sample.calls.size(), call);
  delta["index"] = sample.calls.size();
  call_deltas.push_back(std::move(delta));
  sample.calls.push_back(std::move(call));
}

std::string CompletionAssembler::take_thinking(int sample_index, SampleText& sample, std::string_view text,
                                               bool ended, json& call_deltas) {
  if (!sample.thinking_splitter) {
    sample.reasoning += text;
    return std::string(text);
  }
  ToolCallSplitter::Piece piece = sample.thinking_splitter->feed(text);
  if (ended) {
    ToolCallSplitter::Piece rest = sample.thinking_splitter->finish();
    piece.content += rest.content;
    for (ToolCall& call : rest.calls) piece.calls.push_back(std::move(call));
  }
  for (ToolCall& call : piece.calls)
    if (!(hides_search_ && call.name == "search")) add_call(sample_index, sample, std::move(call), call_deltas);
  sample.reasoning += piece.content;
  return piece.content;
}

json CompletionAssembler::call_json(int sample_index, size_t call_index, const ToolCall& call) const {
  const std::string id = fmt::format("call_{}_{}_{}", id_.substr(id_.find('-') + 1), sample_index, call_index);
  return {{"id", id}, {"type", "function"}, {"function", {{"name", call.name}, {"arguments", call.arguments}}}};
}

std::string CompletionAssembler::take_answer(int sample_index, SampleText& sample, std::string_view text,
                                             json& call_deltas) {
  if (!sample.splitter) return feed_answer(sample, std::string(text));
  return take_answer_piece(sample_index, sample, sample.splitter->feed(text), call_deltas);
}

std::string CompletionAssembler::take_answer_piece(int sample_index, SampleText& sample,
                                                   ToolCallSplitter::Piece piece, json& call_deltas) {
  const std::string content = feed_answer(sample, piece.content);
  std::string shown = content;
  for (ToolCall& call : piece.calls) {
    if (sample.stopped) break;  // a stop string ended the answer before it
    if (hides_search_ && call.name == "search") continue;  // the server's own tool: already run
    if (!surfaces_calls_) {  // the request offered no tools: the call stays text
      shown += feed_answer(sample, call.text);
      continue;
    }
    add_call(sample_index, sample, std::move(call), call_deltas);
  }
  return shown;
}

// Where the search tool's hits came from, in the shape of OpenAI's url_citation
// annotations: the file (or URL) and title, and the passage's byte span in it.
json CompletionAssembler::annotations(const std::vector<SearchResult>& sources) {
  json out = json::array();
  for (const SearchResult& s : sources)
    out.push_back({{"type", "url_citation"},
                   {"url_citation", {{"url", s.path}, {"title", s.title}, {"start_index", s.begin}, {"end_index", s.end}}}});
  return out;
}

std::string CompletionAssembler::finish_answer(int sample_index, SampleText& sample, json& call_deltas) {
  std::string content;
  if (sample.splitter) content = take_answer_piece(sample_index, sample, sample.splitter->finish(), call_deltas);
  return content + flush_held(sample);
}

json CompletionAssembler::chunk(json choices) const {
  return {{"id", id_},
          {"object", chat_ ? "chat.completion.chunk" : "text_completion"},
          {"created", created_},
          {"model", model_},
          {"choices", std::move(choices)}};
}

json CompletionAssembler::delta_choice(int index, const std::string& reasoning, const std::string& content) const {
  json choice = {{"index", index}, {"finish_reason", nullptr}, {"logprobs", nullptr}};
  if (chat_) {
    json delta = json::object();
    if (!reasoning.empty()) delta["reasoning_content"] = reasoning;
    if (!content.empty()) delta["content"] = content;
    choice["delta"] = std::move(delta);
  } else {
    choice["text"] = content;
    if (!reasoning.empty()) choice["reasoning_content"] = reasoning;
  }
  return choice;
}

json CompletionAssembler::logprobs_json(const std::vector<TokenChoiceLogprobs>& tokens, size_t& offset) const {
  // A token's text may hold part of a character: the string shows U+FFFD
  // there, `bytes` the real bytes (why OpenAI has that field).
  auto text = [](const TokenChoiceLogprobs::Entry& e) { return utf8_sanitize(e.bytes); };
  auto bytes = [](const TokenChoiceLogprobs::Entry& e) {
    json out = json::array();
    for (unsigned char c : e.bytes) out.push_back(int(c));
    return out;
  };
  if (chat_) {
    json content = json::array();
    for (const TokenChoiceLogprobs& t : tokens) {
      json top = json::array();
      for (const auto& alt : t.top)
        top.push_back({{"token", text(alt)}, {"logprob", alt.logprob}, {"bytes", bytes(alt)}});
      content.push_back({{"token", text(t.chosen)}, {"logprob", t.chosen.logprob}, {"bytes", bytes(t.chosen)},
                         {"top_logprobs", std::move(top)}});
    }
    return {{"content", std::move(content)}};
  }
  json out = {{"tokens", json::array()}, {"token_logprobs", json::array()}, {"top_logprobs", json::array()},
              {"text_offset", json::array()}};
  for (const TokenChoiceLogprobs& t : tokens) {
    out["tokens"].push_back(text(t.chosen));
    out["token_logprobs"].push_back(t.chosen.logprob);
    json top = json::object();
    for (const auto& alt : t.top) top[text(alt)] = alt.logprob;
    out["top_logprobs"].push_back(std::move(top));
    out["text_offset"].push_back(offset);
    offset += t.chosen.bytes.size();
  }
  return out;
}

json CompletionAssembler::opening_chunk() const {
  json choices = json::array();
  const int n = int(samples_.size()) + (aggregated_ ? 1 : 0);
  for (int i = 0; i < n; ++i) {
    json choice = delta_choice(i, "", "");
    if (chat_) choice["delta"] = {{"role", "assistant"}, {"content", ""}};
    choices.push_back(std::move(choice));
  }
  return chunk(std::move(choices));
}

std::string CompletionAssembler::feed_answer(SampleText& sample, const std::string& text) {
  if (sample.stopped) return "";
  std::string buffer = sample.held + text;
  sample.held.clear();
  size_t cut = std::string::npos;
  for (const auto& stop : stop_) cut = std::min(cut, buffer.find(stop));
  if (cut != std::string::npos) {
    sample.stopped = true;
    buffer.resize(cut);
    sample.content += buffer;
    return buffer;
  }
  // Hold the longest tail that is a proper prefix of some stop string.
  size_t hold = 0;
  for (const auto& stop : stop_)
    for (size_t len = std::min(stop.size() - 1, buffer.size()); len > hold; --len)
      if (buffer.compare(buffer.size() - len, len, stop, 0, len) == 0) {
        hold = len;
        break;
      }
  sample.held = buffer.substr(buffer.size() - hold);
  buffer.resize(buffer.size() - hold);
  sample.content += buffer;
  return buffer;
}

std::string CompletionAssembler::flush_held(SampleText& sample) {
  std::string held = std::move(sample.held);
  sample.held.clear();
  if (!sample.stopped) sample.content += held;
  return sample.stopped ? "" : held;
}

bool CompletionAssembler::all_stopped() const {
  return !stop_.empty() && std::all_of(samples_.begin(), samples_.end(), [](const auto& s) { return s.stopped; });
}

std::vector<json> CompletionAssembler::on_events(const std::vector<Event>& events) {
  std::vector<json> chunks;
  for (const Event& event : events) {
    if (event.sample < 0 || event.sample >= int(samples_.size())) continue;
    SampleText& sample = samples_[size_t(event.sample)];
    std::string reasoning, content;
    const bool thinking_ended = event.kind == EventKind::thinking_ended || event.kind == EventKind::forced_end;
    if (event.kind == EventKind::thinking_text || thinking_ended || event.kind == EventKind::answer_text) {
      json calls = json::array();
      if (event.kind == EventKind::answer_text)
        content = take_answer(event.sample, sample, event.text, calls);
      else
        reasoning = take_thinking(event.sample, sample, event.kind == EventKind::thinking_text ? event.text : "",
                                  thinking_ended, calls);
      if (!calls.empty()) {
        if (!reasoning.empty() || !content.empty())
          chunks.push_back(chunk(json::array({delta_choice(choice_index(event.sample), reasoning, content)})));
        json choice = delta_choice(choice_index(event.sample), "", "");
        choice["delta"]["tool_calls"] = std::move(calls);
        chunks.push_back(chunk(json::array({std::move(choice)})));
        saw_text_ = true;
        continue;
      }
    } else if (event.kind == EventKind::probe) {
      // A probe stop's answer so far, shown apart from the thinking (docs/server.md).
      json choice = delta_choice(choice_index(event.sample), "", "");
      choice["delta"]["probe"] = {{"answer", event.text}, {"thinking_tokens", event.count}};
      chunks.push_back(chunk(json::array({std::move(choice)})));
      continue;
    } else if (event.kind == EventKind::searched) {
      json choice = delta_choice(choice_index(event.sample), "", "");
      choice["delta"]["search"] = {{"query", event.text}, {"annotations", annotations(event.results)}};
      chunks.push_back(chunk(json::array({std::move(choice)})));
      continue;
    } else if (event.kind == EventKind::answer_logprobs && logprobs_ && !sample.stopped) {
      // Its own chunk with an empty delta: clients concatenate logprobs.content across chunks.
      json choice = delta_choice(choice_index(event.sample), "", "");
      choice["logprobs"] = logprobs_json(event.logprobs, sample.logprob_bytes);
      chunks.push_back(chunk(json::array({std::move(choice)})));
      continue;
    }
    if (reasoning.empty() && content.empty()) continue;
    saw_text_ = true;
    chunks.push_back(chunk(json::array({delta_choice(choice_index(event.sample), reasoning, content)})));
  }
  return chunks;
}

std::string CompletionAssembler::finish_reason(const SampleRecord& record, const SampleText& text,
                                               bool timed_out) const {
  if (!text.calls.empty()) return "tool_calls";
  if (text.stopped) return "stop";
  if (record.finish_reason == "stop") return "stop";
  if (timed_out || record.finish_reason == "length" || record.finish_reason == "rejected") return "length";
  return record.finish_reason;
}

json CompletionAssembler::vote_json(const GenerationResult& result) const {
  return {{"method", vote_method_name(vote_method_)},
          {"answer", result.vote.answer ? json(*result.vote.answer) : json(nullptr)},
          {"votes", result.vote.votes},
          {"samples", result.samples.size()},
          {"winner", result.vote.winner >= 0 ? json(choice_index(result.vote.winner)) : json(nullptr)}};
}

json CompletionAssembler::usage(const GenerationResult& result) const {
  // Probe tokens were generated for this request (thinking.stop) and cost
  // compute like the rest: they count as completion tokens, shown apart.
  int64_t completion = 0, reasoning = 0, probe = 0;
  for (const auto& s : result.samples) {
    completion += s.thinking_tokens + s.answer_tokens + s.probe_tokens;
    reasoning += s.thinking_tokens;
    probe += s.probe_tokens;
  }
  json details = {{"reasoning_tokens", reasoning}};
  if (probe > 0) details["probe_tokens"] = probe;
  return {{"prompt_tokens", result.prompt_tokens},
          {"completion_tokens", completion},
          {"total_tokens", result.prompt_tokens + completion},
          {"prompt_tokens_details", {{"cached_tokens", result.cached_tokens}}},
          {"completion_tokens_details", std::move(details)}};
}

std::vector<json> CompletionAssembler::closing_chunks(const GenerationResult& result, bool timed_out) {
  std::vector<json> chunks;
  json finals = json::array();
  for (size_t i = 0; i < samples_.size() && i < result.samples.size(); ++i) {
    json calls = json::array();
    const std::string reasoning = take_thinking(int(i), samples_[i], "", /*ended=*/true, calls);
    json choice = delta_choice(choice_index(int(i)), reasoning, finish_answer(int(i), samples_[i], calls));
    if (!calls.empty() && chat_) choice["delta"]["tool_calls"] = std::move(calls);
    if (!result.samples[i].sources.empty() && chat_)
      choice["delta"]["annotations"] = annotations(result.samples[i].sources);
    choice["finish_reason"] = finish_reason(result.samples[i], samples_[i], timed_out);
    finals.push_back(std::move(choice));
  }
  if (aggregated_) {
    const int winner = std::max(0, result.vote.winner);
    const SampleText& text = samples_[size_t(winner)];
    json choice = delta_choice(0, text.reasoning, text.content);
    if (chat_) choice["delta"]["role"] = "assistant";
    choice["finish_reason"] = finish_reason(result.samples[size_t(winner)], text, timed_out);
    choice["vote"] = vote_json(result);
    finals.push_back(std::move(choice));
  }
  chunks.push_back(chunk(std::move(finals)));
  if (include_usage_) {
    json last = chunk(json::array());
    last["usage"] = usage(result);
    chunks.push_back(std::move(last));
  }
  return chunks;
}

json CompletionAssembler::response(const GenerationResult& result, bool timed_out) {
  json choices = json::array();
  auto make_choice = [&](int index, size_t sample) {
    const SampleText& text = samples_[sample];
    const SampleRecord& record = result.samples[sample];
    json logprobs = nullptr;
    if (logprobs_) {
      // A stop string cut the answer: only the tokens of the text returned.
      std::vector<TokenChoiceLogprobs> kept;
      size_t covered = 0;
      for (const auto& t : record.answer_logprobs) {
        if (text.stopped && covered >= text.content.size()) break;
        covered += t.chosen.bytes.size();
        kept.push_back(t);
      }
      size_t offset = 0;
      logprobs = logprobs_json(kept, offset);
    }
    json choice = {{"index", index},
                   {"finish_reason", finish_reason(record, text, timed_out)},
                   {"logprobs", std::move(logprobs)},
                   {"thinking", {{"tokens", record.thinking_tokens},
                                 {"answer_tokens", record.answer_tokens},
                                 {"waits", record.waits},
                                 {"forced_end", record.forced_end},
                                 {"searches", record.searches},
                                 {"search_tokens", record.search_tokens},
                                 {"probes", record.probes},
                                 {"probe_tokens", record.probe_tokens},
                                 {"probe_stopped", record.probe_stopped}}}};
    if (!record.error.empty()) choice["error"] = record.error;  // with finish_reason "error"
    if (chat_) {
      choice["message"] = {{"role", "assistant"}, {"content", text.content}, {"reasoning_content", text.reasoning}};
      if (!record.sources.empty()) choice["message"]["annotations"] = annotations(record.sources);
      if (!text.calls.empty()) {
        json calls = json::array();
        for (size_t k = 0; k < text.calls.size(); ++k) calls.push_back(call_json(int(sample), k, text.calls[k]));
        choice["message"]["tool_calls"] = std::move(calls);
        if (text.content.empty()) choice["message"]["content"] = nullptr;
      }
    } else {
      choice["text"] = text.content;
      choice["reasoning_content"] = text.reasoning;
    }
    return choice;
  };
  for (size_t i = 0; i < samples_.size(); ++i) {
    json ignored = json::array();  // the whole response lists the calls from SampleText::calls
    take_thinking(int(i), samples_[i], "", /*ended=*/true, ignored);
    finish_answer(int(i), samples_[i], ignored);
  }
  const size_t n = std::min(samples_.size(), result.samples.size());
  if (aggregated_ && n > 0) {
    json voted = make_choice(0, size_t(std::max(0, result.vote.winner)));
    voted["vote"] = vote_json(result);
    choices.push_back(std::move(voted));
  }
  for (size_t i = 0; i < n; ++i) choices.push_back(make_choice(choice_index(int(i)), i));
  return {{"id", id_},
          {"object", chat_ ? "chat.completion" : "text_completion"},
          {"created", created_},
          {"model", model_},
          {"choices", std::move(choices)},
          {"usage", usage(result)}};
}

}  // namespace s1::server
