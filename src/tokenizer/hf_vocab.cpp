#include "tokenizer/hf_vocab.h"

#include <nlohmann/json.hpp>

#include "gguf/gguf.h"
#include "tokenizer/pretokenizer.h"
#include "util/error.h"
#include "util/file.h"

namespace s1 {

namespace {

using nlohmann::json;

json read_json(const std::filesystem::path& path) {
  const std::string text = read_file(path);
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    fail("{}: not valid JSON: {}", path.string(), e.what());
  }
}

// j[key], or null where j is no object or lacks the key (a const json's
// operator[] asserts on a missing key).
const json& member(const json& j, const char* key) {
  static const json null;
  if (!j.is_object()) return null;
  const auto it = j.find(key);
  return it == j.end() ? null : *it;
}

// Every Split regex of a pre-tokenizer, in the order they apply.
void collect_regexes(const json& pre, std::vector<std::string>& out) {
  if (!pre.is_object()) return;
  const std::string type = pre.value("type", "");
  if (type == "Sequence" && member(pre, "pretokenizers").is_array()) {
    for (const json& p : member(pre, "pretokenizers")) collect_regexes(p, out);
  } else if (type == "Split" && member(member(pre, "pattern"), "Regex").is_string()) {
    out.push_back(member(member(pre, "pattern"), "Regex").get<std::string>());
  }
}

bool mentions_byte_level(const json& j) {
  if (j.is_object()) {
    if (j.value("type", "") == "ByteLevel") return true;
    for (const auto& [key, value] : j.items())
      if (mentions_byte_level(value)) return true;
  } else if (j.is_array()) {
    for (const json& v : j)
      if (mentions_byte_level(v)) return true;
  }
  return false;
}

std::string pre_tokenizer_name(const std::filesystem::path& file, const json& tokenizer, const std::string& pre) {
  if (!pre.empty()) return std::string(PreTokenizer(pre).name());  // checks the name
  std::vector<std::string> regexes;
  collect_regexes(member(tokenizer, "pre_tokenizer"), regexes);
  for (PreTokenizerKind kind : kPreTokenizerKinds)
    if (pretokenizer_regexes(kind) == regexes) return std::string(pretokenizer_name(kind));
  std::string listed;
  for (const auto& r : regexes) listed += (listed.empty() ? "'" : ", '") + r + "'";
  fail("{}: the pre-tokenizer's regexes ({}) are none of ours; name one with --pre", file.string(),
       listed.empty() ? "none" : listed);
}

// Whether a post-processor starts every single-text encoding with `token`:
// how Llama 3's tokenizer.json adds BOS (its tokenizer_config.json has no
// add_bos_token), alone or inside a Sequence of processors.
bool prepends_token(const json& processor, const std::string& token) {
  if (!processor.is_object()) return false;
  if (processor.value("type", "") == "Sequence" && member(processor, "processors").is_array()) {
    for (const json& p : member(processor, "processors"))
      if (prepends_token(p, token)) return true;
    return false;
  }
  const json& single = member(processor, "single");
  if (processor.value("type", "") != "TemplateProcessing" || !single.is_array() || single.empty()) return false;
  const json& id = member(member(single.front(), "SpecialToken"), "id");
  return id.is_string() && id.get<std::string>() == token;
}

// Written like a control token, as llama.cpp's converter tells them apart.
bool looks_special(const std::string& text) {
  auto wrapped = [&](std::string_view open, std::string_view close) {
    return text.size() > open.size() + close.size() && text.starts_with(open) && text.ends_with(close);
  };
  return wrapped("<|", "|>") || wrapped("<\xEF\xBD\x9C", "\xEF\xBD\x9C>");  // <｜...｜>
}

// A token named in tokenizer_config.json: a string or an AddedToken object.
int32_t config_token(const std::filesystem::path& file, const json& config, const char* key, const Vocab& vocab) {
  const json& v = member(config, key);
  if (v.is_null()) return -1;
  const std::string text = v.is_string() ? v.get<std::string>() : v.value("content", "");
  for (size_t id = 0; id < vocab.tokens.size(); ++id)
    if (vocab.tokens[id] == text && vocab.types[id] != int32_t(TokenType::normal)) return int32_t(id);
  for (size_t id = 0; id < vocab.tokens.size(); ++id)
    if (vocab.tokens[id] == text) return int32_t(id);
  fail("{}: {} '{}' is not a token", file.string(), key, text);
}

}  // namespace

HfTokenizer read_hf_tokenizer(const std::filesystem::path& dir, const std::string& pre) {
  const auto tokenizer_file = dir / "tokenizer.json", config_file = dir / "tokenizer_config.json";
  const json tokenizer = read_json(tokenizer_file);
  const json config = std::filesystem::exists(config_file) ? read_json(config_file) : json::object();
  try {
    const json& model = member(tokenizer, "model");
    if (!model.is_object() || model.value("type", "") != "BPE")
      fail("{}: model type '{}' is not supported (only byte-level BPE)", tokenizer_file.string(),
           model.is_object() ? model.value("type", "") : "");
    if (!mentions_byte_level(member(tokenizer, "pre_tokenizer")) &&
        !mentions_byte_level(member(tokenizer, "decoder")))
      fail("{}: not a byte-level BPE tokenizer (no ByteLevel pre-tokenizer or decoder)", tokenizer_file.string());
    HfTokenizer out;
    Vocab& v = out.vocab;
    v.source = tokenizer_file.string();
    std::vector<std::pair<int64_t, std::string>> entries;
    for (const auto& [text, id] : model.at("vocab").items()) entries.emplace_back(id.get<int64_t>(), text);
    const json added = tokenizer.value("added_tokens", json::array());
    int64_t n = 0;
    for (const auto& [id, text] : entries) n = std::max(n, id + 1);
    for (const json& a : added) n = std::max(n, a.at("id").get<int64_t>() + 1);
    if (n <= 0 || n > INT32_MAX) fail("{}: {} token ids", tokenizer_file.string(), n);
    v.tokens.assign(size_t(n), "");
    v.types.assign(size_t(n), int32_t(TokenType::unused));
    for (const auto& [id, text] : entries) {
      if (id < 0) fail("{}: token '{}' has id {}", tokenizer_file.string(), text, id);
      v.tokens[size_t(id)] = text;
      v.types[size_t(id)] = int32_t(TokenType::normal);
    }
    for (const json& a : added) {
      const auto id = size_t(a.at("id").get<int64_t>());
      const std::string text = a.at("content").get<std::string>();
      v.tokens[id] = text;
      v.types[id] = int32_t(a.value("special", false) || looks_special(text) ? TokenType::control
                                                                             : TokenType::user_defined);
    }
    for (size_t id = 0; id < v.tokens.size(); ++id)
      if (v.types[id] == int32_t(TokenType::unused)) v.tokens[id] = "[PAD" + std::to_string(id) + "]";

    for (const json& m : model.at("merges"))
      v.merges.push_back(m.is_string() ? m.get<std::string>()
                                       : m.at(0).get<std::string>() + " " + m.at(1).get<std::string>());
    v.pre = pre_tokenizer_name(tokenizer_file, tokenizer, pre);
    v.bos = config_token(config_file, config, "bos_token", v);
    v.eos = config_token(config_file, config, "eos_token", v);
    v.pad = config_token(config_file, config, "pad_token", v);
    const json& add_bos = member(config, "add_bos_token");
    v.add_bos = v.bos >= 0 && (add_bos.is_boolean() ? add_bos.get<bool>()
                                                    : prepends_token(member(tokenizer, "post_processor"), v.tokens[size_t(v.bos)]));

    {
      const json& t = member(config, "chat_template");
      if (t.is_string()) {
        out.chat_template = t.get<std::string>();
      } else if (t.is_array()) {  // named templates: the default one
        for (const json& named : t)
          if (named.value("name", "") == "default") out.chat_template = named.value("template", "");
      }
    }
    if (out.chat_template.empty() && std::filesystem::exists(dir / "chat_template.jinja"))
      out.chat_template = read_file(dir / "chat_template.jinja");
    return out;
  } catch (const json::exception& e) {
    fail("{}: unexpected layout: {}", tokenizer_file.string(), e.what());
  }
}

void set_tokenizer_keys(gguf::Writer& w, const HfTokenizer& t) {
  using gguf::Value;
  const Vocab& v = t.vocab;
  w.set("tokenizer.ggml.model", Value{std::string("gpt2")});
  w.set("tokenizer.ggml.pre", Value{v.pre});
  w.set("tokenizer.ggml.tokens", gguf::make_string_array(v.tokens));
  w.set("tokenizer.ggml.token_type", gguf::make_int_array(v.types));
  w.set("tokenizer.ggml.merges", gguf::make_string_array(v.merges));
  if (v.bos >= 0) w.set("tokenizer.ggml.bos_token_id", Value{uint32_t(v.bos)});
  if (v.eos >= 0) w.set("tokenizer.ggml.eos_token_id", Value{uint32_t(v.eos)});
  if (v.pad >= 0) w.set("tokenizer.ggml.padding_token_id", Value{uint32_t(v.pad)});
  w.set("tokenizer.ggml.add_bos_token", Value{v.add_bos});
  if (!t.chat_template.empty()) w.set("tokenizer.chat_template", Value{t.chat_template});
}

}  // namespace s1
