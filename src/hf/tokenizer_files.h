#pragma once
// A GGUF vocabulary as Hugging Face tokenizer files, the inverse of
// tokenizer/hf_vocab.h's reading: tokenizer.json (byte-level BPE, the
// pre-tokenizer's regexes as Split steps), tokenizer_config.json (special
// tokens, add_bos_token, chat_template) and generation_config.json. Reading
// the files back with read_hf_tokenizer gives the same tokens, types, merges,
// pre-tokenizer, special ids and chat template.
#include <nlohmann/json.hpp>

#include <string>

#include "tokenizer/tokenizer.h"

namespace s1::hf {

struct TokenizerFiles {
  nlohmann::json tokenizer;          // tokenizer.json
  nlohmann::json tokenizer_config;   // tokenizer_config.json
  nlohmann::json generation_config;  // generation_config.json
};

// `where` names the source in errors; `max_length` is the model's context.
TokenizerFiles tokenizer_files(const Vocab& vocab, const std::string& chat_template, int max_length,
                               const std::string& where);

}  // namespace s1::hf
