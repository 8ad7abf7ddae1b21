#include "data/vocab_builder.h"

#include <algorithm>
#include <map>
#include <unordered_map>

#include "data/curate.h"
#include "gguf/gguf.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/utf8.h"
#include "util/error.h"

namespace s1::data {
namespace {

std::string byte_token_text(uint8_t byte) {
  std::string text;
  utf8_append(text, byte_to_codepoint(byte));
  return text;
}

struct Word {
  std::vector<int32_t> ids;
  int64_t count;
};

uint64_t pair_key(int32_t left, int32_t right) { return (uint64_t(uint32_t(left)) << 32) | uint32_t(right); }

}  // namespace

std::vector<std::string> learn_bpe_merges(const std::vector<std::string>& texts, const BpeOptions& options) {
  if (options.merges < 0) fail("--merges must be >= 0, got {}", options.merges);
  PreTokenizer pre("qwen2");
  std::map<std::string, int64_t> word_counts;  // ordered: the same word list on every run
  std::vector<std::string_view> pieces;
  for (const auto& text : texts) {
    pieces.clear();
    pre.split(text, pieces);
    for (auto piece : pieces) ++word_counts[std::string(piece)];
  }
  std::vector<Word> words;
  for (const auto& [text, count] : word_counts) {
    if (text.size() < 2) continue;  // nothing to merge
    Word w{{}, count};
    for (unsigned char c : text) w.ids.push_back(c);
    words.push_back(std::move(w));
  }

  std::vector<std::string> token_texts;
  for (int b = 0; b < 256; ++b) token_texts.push_back(byte_token_text(uint8_t(b)));
  std::vector<std::string> merges;
  std::unordered_map<uint64_t, int64_t> pair_counts;
  for (int m = 0; m < options.merges; ++m) {
    pair_counts.clear();
    for (const Word& w : words)
      for (size_t i = 0; i + 1 < w.ids.size(); ++i) pair_counts[pair_key(w.ids[i], w.ids[i + 1])] += w.count;
    uint64_t best = 0;
    int64_t best_count = 0;
    for (const auto& [key, count] : pair_counts)
      if (count > best_count || (count == best_count && key < best)) best = key, best_count = count;
    if (best_count < options.min_count || best_count == 0) break;
    const int32_t left = int32_t(best >> 32), right = int32_t(best & 0xffffffffu);
    const int32_t merged = int32_t(token_texts.size());
    merges.push_back(token_texts[left] + " " + token_texts[right]);
    token_texts.push_back(token_texts[left] + token_texts[right]);
    for (Word& w : words) {
      size_t out = 0;
      for (size_t i = 0; i < w.ids.size(); ++i) {
        if (i + 1 < w.ids.size() && w.ids[i] == left && w.ids[i + 1] == right) {
          w.ids[out++] = merged;
          ++i;
        } else {
          w.ids[out++] = w.ids[i];
        }
      }
      w.ids.resize(out);
    }
  }
  return merges;
}

const std::string& thinking_chat_template() {
  static const std::string source =
      "{%- for message in messages %}\n"
      "{%- if message.role == 'assistant' %}\n"
      "{%- set thinking = '' %}\n"
      "{%- if message.thinking is defined and message.thinking is not none %}"
      "{%- set thinking = message.thinking %}"
      "{%- elif message.reasoning_content is defined and message.reasoning_content is not none %}"
      "{%- set thinking = message.reasoning_content %}{%- endif %}\n"
      "{{- '<|im_start|>assistant\\n' }}\n"
      "{%- if thinking %}{{- '<think>\\n' + thinking.strip('\\n') + '\\n</think>\\n\\n' }}{%- endif %}\n"
      "{{- message.content.lstrip('\\n') + '<|im_end|>\\n' }}\n"
      "{%- else %}\n"
      "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}\n"
      "{%- endif %}\n"
      "{%- endfor %}\n"
      "{%- if add_generation_prompt %}\n"
      "{{- '<|im_start|>assistant\\n' }}\n"
      "{%- if enable_thinking is defined and enable_thinking is false %}{{- '<think>\\n\\n</think>\\n\\n' }}{%- endif %}\n"
      "{%- endif %}\n";
  return source;
}

Vocab make_vocab(const std::vector<std::string>& merges) {
  Vocab vocab;
  for (int b = 0; b < 256; ++b) vocab.tokens.push_back(byte_token_text(uint8_t(b)));
  for (const auto& merge : merges) {
    size_t space = merge.find(' ');
    if (space == std::string::npos || space == 0 || space + 1 == merge.size())
      fail("merge '{}' is not 'LEFT RIGHT'", merge);
    vocab.tokens.push_back(merge.substr(0, space) + merge.substr(space + 1));
  }
  vocab.types.assign(vocab.tokens.size(), int32_t(TokenType::normal));
  const int32_t first_special = int32_t(vocab.tokens.size());
  for (const auto& special : special_tokens()) {
    vocab.tokens.push_back(special);
    const bool think_tag = special == "<think>" || special == "</think>";
    vocab.types.push_back(int32_t(think_tag ? TokenType::user_defined : TokenType::control));
  }
  vocab.merges = merges;
  vocab.pre = "qwen2";
  vocab.bos = first_special;      // <|endoftext|>, never added (add_bos false), as in Qwen
  vocab.pad = first_special;
  vocab.eos = first_special + 2;  // <|im_end|>
  vocab.eot = first_special + 2;
  vocab.add_bos = false;
  vocab.source = "learned vocab";
  return vocab;
}

void write_vocab_gguf(const Vocab& vocab, const std::string& path, const std::string& name) {
  using gguf::Value;
  gguf::Writer w;
  w.set("general.architecture", Value{std::string("qwen2")});
  w.set("general.name", Value{name});
  w.set("tokenizer.ggml.model", Value{std::string("gpt2")});
  w.set("tokenizer.ggml.pre", Value{vocab.pre});
  w.set("tokenizer.ggml.tokens", gguf::make_string_array(vocab.tokens));
  w.set("tokenizer.ggml.token_type", gguf::make_int_array(vocab.types));
  w.set("tokenizer.ggml.merges", gguf::make_string_array(vocab.merges));
  w.set("tokenizer.ggml.bos_token_id", Value{uint32_t(vocab.bos)});
  w.set("tokenizer.ggml.eos_token_id", Value{uint32_t(vocab.eos)});
  w.set("tokenizer.ggml.eot_token_id", Value{uint32_t(vocab.eot)});
  w.set("tokenizer.ggml.padding_token_id", Value{uint32_t(vocab.pad)});
  w.set("tokenizer.ggml.add_bos_token", Value{vocab.add_bos});
  w.set("tokenizer.chat_template", Value{thinking_chat_template()});
  w.write(path);
}

std::vector<std::string> vocab_training_texts(const std::vector<nlohmann::json>& records) {
  std::vector<std::string> texts;
  for (const auto& r : records) {
    auto messages = r.find("messages");
    if (messages != r.end() && messages->is_array()) {
      for (const auto& m : *messages)
        for (const char* key : {"content", "thinking", "reasoning_content"})
          if (m.is_object() && m.contains(key) && m[key].is_string()) texts.push_back(m[key].get<std::string>());
      continue;
    }
    CurationRecord fields = read_curation_record(r, 0);
    for (std::string* text : {&fields.question, &fields.thinking, &fields.answer_text})
      if (!text->empty()) texts.push_back(std::move(*text));
  }
  return texts;
}

}  // namespace s1::data
