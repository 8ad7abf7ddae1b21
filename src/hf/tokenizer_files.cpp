#include "hf/tokenizer_files.h"

#include "tokenizer/pretokenizer.h"
#include "util/error.h"

namespace s1::hf {
namespace {

using nlohmann::json;

json byte_level(bool add_prefix_space, bool trim_offsets, bool use_regex) {
  return {{"type", "ByteLevel"},
          {"add_prefix_space", add_prefix_space},
          {"trim_offsets", trim_offsets},
          {"use_regex", use_regex}};
}

// The pre-tokenizer's regexes, each isolating its matches, then the byte
// mapping alone (its own regex off): what Qwen's and Llama 3's files hold.
json pre_tokenizer(const PreTokenizer& pre) {
  json steps = json::array();
  for (const std::string& regex : pretokenizer_regexes(pre.kind()))
    steps.push_back({{"type", "Split"}, {"pattern", {{"Regex", regex}}}, {"behavior", "Isolated"}, {"invert", false}});
  steps.push_back(byte_level(false, true, false));
  return {{"type", "Sequence"}, {"pretokenizers", steps}};
}

json special_token(const std::string& text, int type_id) {
  return {{"SpecialToken", {{"id", text}, {"type_id", type_id}}}};
}
json sequence(const char* id, int type_id) { return {{"Sequence", {{"id", id}, {"type_id", type_id}}}}; }

// Prepends BOS to every encoding when the model wants it (Llama 3).
json post_processor(const Vocab& v) {
  if (!v.add_bos || v.bos < 0) return byte_level(true, false, true);
  const std::string& bos = v.tokens[size_t(v.bos)];
  return {{"type", "TemplateProcessing"},
          {"single", json::array({special_token(bos, 0), sequence("A", 0)})},
          {"pair", json::array({special_token(bos, 0), sequence("A", 0), special_token(bos, 1), sequence("B", 1)})},
          {"special_tokens", {{bos, {{"id", bos}, {"ids", json::array({v.bos})}, {"tokens", json::array({bos})}}}}}};
}

json token_text(const Vocab& v, int32_t id) { return id >= 0 ? json(v.tokens[size_t(id)]) : json(nullptr); }

}  // namespace

TokenizerFiles tokenizer_files(const Vocab& v, const std::string& chat_template, int max_length,
                               const std::string& where) {
  const PreTokenizer pre(v.pre);
  json vocab = json::object(), added = json::array();
  for (size_t id = 0; id < v.tokens.size(); ++id) {
    const auto type = v.types.empty() ? TokenType::normal : TokenType(v.types[id]);
    switch (type) {
      case TokenType::normal:
        if (vocab.contains(v.tokens[id])) fail("{}: token '{}' occurs twice in the vocabulary", where, v.tokens[id]);
        vocab[v.tokens[id]] = id;
        break;
      case TokenType::control:
      case TokenType::user_defined:
        added.push_back({{"id", id},
                         {"content", v.tokens[id]},
                         {"single_word", false},
                         {"lstrip", false},
                         {"rstrip", false},
                         {"normalized", false},
                         {"special", type == TokenType::control}});
        break;
      case TokenType::unused: break;  // padding rows: read_hf_tokenizer fills the gaps back in
      default:
        fail("{}: token {} ('{}') has type {}, which tokenizer.json cannot hold here", where, id, v.tokens[id],
             int(type));
    }
  }
  json merges = json::array();
  for (const std::string& m : v.merges) {
    const size_t space = m.find(' ');
    if (space == std::string::npos) fail("{}: merge '{}' is not two tokens", where, m);
    merges.push_back({m.substr(0, space), m.substr(space + 1)});
  }
  TokenizerFiles out;
  out.tokenizer = {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added},
      {"normalizer", nullptr},
      {"pre_tokenizer", pre_tokenizer(pre)},
      {"post_processor", post_processor(v)},
      {"decoder", byte_level(true, true, true)},
      {"model",
       {{"type", "BPE"},
        {"dropout", nullptr},
        {"unk_token", nullptr},
        {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr},
        {"fuse_unk", false},
        {"byte_fallback", false},
        // Llama 3 takes a word that is itself a token whole, before any merge (llama.cpp does too).
        {"ignore_merges", pre.kind() == PreTokenizerKind::llama3},
        {"vocab", vocab},
        {"merges", merges}}},
  };
  out.tokenizer_config = {
      {"tokenizer_class", "PreTrainedTokenizerFast"},
      {"add_bos_token", v.add_bos},
      {"add_eos_token", false},
      {"bos_token", token_text(v, v.bos)},
      {"eos_token", token_text(v, v.eos)},
      {"pad_token", token_text(v, v.pad)},
      {"clean_up_tokenization_spaces", false},
      {"model_max_length", max_length},
  };
  if (!chat_template.empty()) out.tokenizer_config["chat_template"] = chat_template;
  out.generation_config = {{"_from_model_config", true}};
  if (v.bos >= 0) out.generation_config["bos_token_id"] = v.bos;
  if (v.eos >= 0 && v.eot >= 0 && v.eot != v.eos)
    out.generation_config["eos_token_id"] = {v.eos, v.eot};  // generation stops at either
  else if (v.eos >= 0)
    out.generation_config["eos_token_id"] = v.eos;
  if (v.pad >= 0) out.generation_config["pad_token_id"] = v.pad;
  return out;
}

}  // namespace s1::hf
