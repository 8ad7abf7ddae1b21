#pragma once
// A small byte-level BPE vocabulary learned from our own data, written as a
// vocab-only GGUF that `s1 mkmodel --vocab-from` and the trainer build models
// on: the 256 byte tokens (GPT-2's byte-to-unicode texts), the learned merges,
// then the chat and thinking specials, with the qwen2 pre-tokenizer (so every
// digit is a token of its own, which arithmetic traces need) and a ChatML
// template that renders an assistant's thinking as Qwen3 does.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace s1::data {

struct BpeOptions {
  int merges = 256;    // at most this many merges
  int64_t min_count = 2;  // stop when the best pair occurs fewer times
};

// The texts a vocabulary is learned from: every message's content and
// thinking, or the question / thinking / answer fields of a flat record.
std::vector<std::string> vocab_training_texts(const std::vector<nlohmann::json>& records);

// Learns merges ("Ġ t": left and right token text, in rank order) from texts,
// split into words by the qwen2 pre-tokenizer. Deterministic: ties go to the
// pair of lower token ids.
std::vector<std::string> learn_bpe_merges(const std::vector<std::string>& texts, const BpeOptions& options);

// The specials, in id order after the merges. <think> and </think> are
// user-defined (they decode as text, as in Qwen3); the others are control.
inline const std::vector<std::string>& special_tokens() {
  static const std::vector<std::string> tokens = {"<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>",
                                                   "</think>"};
  return tokens;
}

// ChatML with thinking: an assistant message's `thinking` (or
// `reasoning_content`) renders as "<think>\n...\n</think>\n\n" before its
// content; enable_thinking=false closes an empty block in the generation prompt.
const std::string& thinking_chat_template();

// Bytes + merges + specials, ready for a Tokenizer.
Vocab make_vocab(const std::vector<std::string>& merges);

// Writes the vocabulary, its special ids and the chat template as a GGUF with no tensors.
void write_vocab_gguf(const Vocab& vocab, const std::string& path, const std::string& name);

}  // namespace s1::data
