#pragma once
// How a model marks its reasoning: the text that opens and closes a thinking
// block, and what follows a forced end. The families in the wild:
//   think    `<think>` ... `</think>`             Qwen3, QwQ, DeepSeek-R1 / V3.1
//   s1       `<|im_start|>think` ... `<|im_start|>answer`   s1-32B, s1.1
//   harmony  `<|channel|>analysis<|message|>` ... `<|end|><|start|>assistant<|channel|>final<|message|>`
//            gpt-oss: reasoning is the analysis message, the answer the final one
//   custom delimiters given by the user (--think-open / --think-close)
// A delimiter may be one special token or a string of several tokens; the
// controller matches it on text, so both work.
#include <optional>
#include <string>
#include <vector>

namespace s1 {

namespace gguf {
class File;
}
class Tokenizer;

struct ThinkingFormat {
  std::string name;           // "think", "s1", "custom" or "none"
  std::string open;           // text that opens the thinking block
  std::string close;          // text that ends it
  std::string answer_prefix;  // appended after a forced end ("Final Answer:" for s1)
  // The answer's text keeps control tokens' text (<|channel|>, ...): gpt-oss's
  // tool call written where its final message would be.
  bool answer_keeps_markup = false;

  bool has_thinking() const { return !open.empty() && !close.empty(); }
};

struct ThinkingOverrides {
  std::optional<std::string> open, close, answer_prefix;
};

ThinkingFormat think_tag_format();
ThinkingFormat s1_format();
ThinkingFormat harmony_format();

// Detects the format from the chat template (`<|im_start|>think`,
// `<|channel|>analysis` or `</think>` in it), the vocabulary (a `</think>` token) and, when neither
// tells, the model's name (s1, s1.1); user overrides win. A model with none
// has name "none".
ThinkingFormat detect_thinking_format(const gguf::File& model, const Tokenizer& tokenizer,
                                      const ThinkingOverrides& overrides = {});

// Where a rendered prompt leaves the thinking block: the DeepSeek-R1 template
// already opens it; Qwen3 with enable_thinking=false opens and closes it.
enum class PromptThinking { not_opened, opened, closed };
PromptThinking prompt_thinking_state(const std::string& prompt, const ThinkingFormat& format);

}  // namespace s1
