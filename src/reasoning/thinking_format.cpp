#include "reasoning/thinking_format.h"

#include <regex>

#include "gguf/gguf.h"
#include "tokenizer/tokenizer.h"

namespace s1 {
namespace {

std::string_view trim_right(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// s1-32B and s1.1 ship the Qwen2.5 template unchanged; their name is the tell.
bool named_like_s1(const gguf::File& model) {
  auto name = model.get_string("general.name").value_or("");
  static const std::regex s1_name(R"((^|[^a-z0-9])s1(\.1)?([^a-z0-9]|$))", std::regex::icase);
  return std::regex_search(name, s1_name);
}

}  // namespace

ThinkingFormat think_tag_format() { return {"think", "<think>", "</think>", ""}; }
ThinkingFormat s1_format() { return {"s1", "<|im_start|>think", "<|im_start|>answer", "Final Answer:"}; }
// A forced end closes the analysis message and opens the final one, as the
// model itself does; "Wait" keeps the analysis message open.
ThinkingFormat harmony_format() {
  return {"harmony", "<|channel|>analysis<|message|>", "<|end|><|start|>assistant<|channel|>final<|message|>", ""};
}

ThinkingFormat detect_thinking_format(const gguf::File& model, const Tokenizer& tokenizer,
                                      const ThinkingOverrides& overrides) {
  const auto chat_template = model.get_string("tokenizer.chat_template").value_or("");
  ThinkingFormat format{"none", "", "", ""};
  // Evidence first (the template's own delimiters, a </think> token); the
  // name only decides when neither says anything, so a <think> model whose
  // name happens to contain "s1" keeps its tags.
  if (chat_template.find("<|im_start|>think") != std::string::npos) {
    format = s1_format();
  } else if (chat_template.find("<|channel|>analysis") != std::string::npos) {
    format = harmony_format();
  } else if (tokenizer.find_token("</think>") >= 0 || chat_template.find("</think>") != std::string::npos) {
    format = think_tag_format();
  } else if (named_like_s1(model)) {
    format = s1_format();
  }
  if (overrides.open || overrides.close) {
    format.name = "custom";
    if (overrides.open) format.open = *overrides.open;
    if (overrides.close) format.close = *overrides.close;
  }
  if (overrides.answer_prefix) format.answer_prefix = *overrides.answer_prefix;
  return format;
}

PromptThinking prompt_thinking_state(const std::string& prompt, const ThinkingFormat& format) {
  if (!format.has_thinking()) return PromptThinking::not_opened;
  std::string_view tail = trim_right(prompt);
  if (ends_with(tail, format.close)) {
    // Closed right after opening (Qwen3's enable_thinking=false): thinking is off.
    std::string_view before = trim_right(tail.substr(0, tail.size() - format.close.size()));
    if (ends_with(before, format.open)) return PromptThinking::closed;
  }
  if (ends_with(tail, format.open)) return PromptThinking::opened;
  return PromptThinking::not_opened;
}

}  // namespace s1
