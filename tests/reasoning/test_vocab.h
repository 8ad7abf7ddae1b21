#pragma once
// A byte-level vocabulary for reasoning tests: the 256 byte tokens, no
// merges, and the chat/thinking specials, so every text tokenizes to one
// token per byte and the tests can count tokens by hand.
#include <string>

#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace s1test {

inline constexpr int kThinkOpen = 256, kThinkClose = 257, kImEnd = 258, kImStart = 259;

inline std::string byte_token_text(int byte) {
  uint32_t cp = s1::byte_to_codepoint(uint8_t(byte));
  std::string out;
  if (cp < 0x80) {
    out += char(cp);
  } else {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  }
  return out;
}

inline s1::Vocab byte_vocab() {
  s1::Vocab vocab;
  for (int b = 0; b < 256; ++b) vocab.tokens.push_back(byte_token_text(b));
  vocab.types.assign(256, int32_t(s1::TokenType::normal));
  for (const char* special : {"<think>", "</think>", "<|im_end|>", "<|im_start|>"}) {
    vocab.tokens.push_back(special);
    vocab.types.push_back(int32_t(s1::TokenType::control));
  }
  vocab.pre = "qwen2";
  vocab.eos = kImEnd;
  vocab.eot = kImEnd;
  vocab.source = "test byte vocab";
  return vocab;
}

}  // namespace s1test
