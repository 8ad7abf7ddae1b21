#pragma once
// Pre-tokenizers split text into "words" before BPE runs on each word alone.
// Each kind is a list of PCRE2 regexes (UTF + UCP, JIT-compiled) applied in
// turn, as llama.cpp does: every regex splits each piece the previous one
// produced into its matches and the unmatched gaps between them.
//
// Invalid UTF-8 is never given to PCRE2: each maximal run of invalid bytes
// becomes a word of its own, and the valid text on either side is split as if
// the run were the end or start of the text. BPE then encodes the raw bytes,
// so decode(encode(x)) == x for every byte string x.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace s1 {

enum class PreTokenizerKind { gpt2, llama3, qwen2, qwen35, deepseek_llm, gpt4o, deepseek_v3, deepseek_coder, starcoder, falcon };

// The canonical tokenizer.ggml.pre name of a kind.
std::string_view pretokenizer_name(PreTokenizerKind kind);
// The regexes of a kind, in the order they apply.
std::vector<std::string> pretokenizer_regexes(PreTokenizerKind kind);
// Every kind, for looking one up by its regexes.
inline constexpr PreTokenizerKind kPreTokenizerKinds[] = {
    PreTokenizerKind::gpt2,         PreTokenizerKind::llama3, PreTokenizerKind::qwen2,      PreTokenizerKind::qwen35,
    PreTokenizerKind::deepseek_llm, PreTokenizerKind::gpt4o,  PreTokenizerKind::deepseek_v3,
    PreTokenizerKind::deepseek_coder, PreTokenizerKind::starcoder, PreTokenizerKind::falcon};

class PreTokenizer {
 public:
  // `name` is a tokenizer.ggml.pre value; llama.cpp's aliases are accepted
  // ("llama3", "deepseek-r1-qwen", "phi-2", ...). Unknown names throw
  // s1::Error listing the supported ones.
  explicit PreTokenizer(std::string_view name);
  ~PreTokenizer();
  PreTokenizer(PreTokenizer&&) noexcept;
  PreTokenizer& operator=(PreTokenizer&&) noexcept;

  PreTokenizerKind kind() const { return kind_; }
  std::string_view name() const;  // canonical: "gpt2", "llama-bpe", "qwen2", "deepseek-llm", ...

  // Appends the words of `text`, as views into it, to `words`.
  void split(std::string_view text, std::vector<std::string_view>& words) const;

 private:
  struct Regex;
  void split_valid(std::string_view text, std::vector<std::string_view>& words) const;
  PreTokenizerKind kind_;
  std::vector<std::unique_ptr<Regex>> regexes_;
};

}  // namespace s1
