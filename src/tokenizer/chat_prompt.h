#pragma once
// A conversation's prompt, ready to tokenize: the chat template's rendering,
// and the spans of it where a user's or tool's own words hold special-token
// text ("<|im_end|>" typed into a message). Those spans are tokenized as plain
// text: only the template's markup makes control tokens, so the author of a
// message cannot forge a role, turn or thinking boundary.
//
// How: before rendering, special texts in user and tool messages are swapped
// for markers no client can write (a per-call random nonce), and swapped back
// in the rendered text, where their spans are then known exactly. The
// template sees the message without those specials (a template that splits
// user text at "</think>" no longer does so). Assistant and system messages
// are the application's own and render as they are.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace s1 {

struct ChatPrompt {
  std::string text;
  std::vector<TextSpan> plain_spans;  // sorted; for EncodeOptions::plain_spans
};

ChatPrompt render_chat_prompt(const ModelChatTemplate& model_template, const Tokenizer& tokenizer,
                              const nlohmann::json& messages, const nlohmann::json& template_vars);

}  // namespace s1
