#pragma once
// Supervised fine-tuning data: JSONL conversations rendered with the model's
// own chat template and tokenized, with a loss mask over exactly the tokens
// the model must learn to produce — the assistant's reasoning, answer and
// end-of-turn token — and never the system or user text around them.
//
// One line per conversation:
//   {"messages": [{"role": "user", "content": "2+2?"},
//                 {"role": "assistant", "thinking": "2 and 2 make 4.", "content": "4"}]}
// An assistant's reasoning is either its `thinking` field (written into the
// content between the model's thinking delimiters) or already inline in its
// content between those delimiters.
//
// Two optional assistant fields shape what is learned:
//   "weight": 0          the turn is context, not learned (OpenAI's fine-tuning
//                        field): an earlier answer as a client sends it back.
//   "thinking_cut": true the thinking was ended by a budget, as budget forcing
//                        does: `thinking` is the text as generated up to the cut
//                        (from just after the opening delimiter, nothing added),
//                        the closing delimiter follows at once and is not
//                        learned (the controller wrote it, not the model).
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "reasoning/thinking_format.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace s1::train {

struct SftExample {
  std::vector<int32_t> tokens;
  std::vector<uint8_t> loss_mask;  // 1 on assistant reasoning + answer + end-of-turn tokens
  int line = 0;                    // 1-based line of the JSONL file (0 when not from a file)
};

struct SftFormat {
  const Tokenizer* tokenizer = nullptr;
  const ModelChatTemplate* chat_template = nullptr;
  ThinkingFormat thinking;  // delimiters for `thinking` fields; <think> tags when the model has none
};

// One conversation (a JSON array of messages). `where` names it in errors
// ("data.jsonl:12"). Throws s1::Error when it has no assistant turn, a
// message is malformed, or the template drops part of an assistant message.
SftExample encode_conversation(const nlohmann::json& messages, const SftFormat& format, const std::string& where);

struct SftData {
  std::vector<SftExample> examples;
  int skipped_bad = 0;   // malformed lines skipped (only with skip_bad)
  int dropped_long = 0;  // examples longer than max_tokens
};

// Reads a JSONL file. Malformed lines are errors naming their line, or, with
// skip_bad, reported on stderr and skipped. Examples longer than max_tokens
// are dropped and counted, never truncated.
SftData load_sft_jsonl(const std::string& path, const SftFormat& format, int max_tokens, bool skip_bad);

}  // namespace s1::train
