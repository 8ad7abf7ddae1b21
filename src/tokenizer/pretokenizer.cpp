#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/pretokenizer.h"

#include <pcre2.h>

#include <array>
#include <utility>

#include "tokenizer/utf8.h"
#include "util/error.h"

namespace s1 {

namespace {

// The contractions are spelled out case by case instead of (?i:...) because
// case folding would also let U+017F (long s) and U+212A (Kelvin) match.
constexpr const char* kContractions = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";

// Llama 3 (tiktoken cl100k-style) and Qwen2 differ only in how many digits a
// number piece may hold; Qwen3.5 also keeps combining marks (\p{M}) with the
// letters they modify, in words and out of punctuation runs.
std::string tiktoken_style(const char* digits, bool marks = false) {
  const std::string letters = marks ? R"([\p{L}\p{M}]+)" : R"(\p{L}+)";
  const std::string not_word = marks ? R"([^\s\p{L}\p{M}\p{N}]+)" : R"([^\s\p{L}\p{N}]+)";
  return std::string(kContractions) + R"(|[^\r\n\p{L}\p{N}]?)" + letters + "|" + digits + "| ?" + not_word +
         R"([\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
}

// DeepSeek LLM's letters: the cased-letter (L&) ranges of its HF tokenizer.
constexpr const char* kDeepseekLetters =
    R"(\s?[A-Za-z\x{B5}\x{C0}-\x{D6}\x{D8}-\x{F6}\x{F8}-\x{1BA}\x{1BC}-\x{1BF}\x{1C4}-\x{293}\x{295}-\x{2AF})"
    R"(\x{370}-\x{373}\x{376}\x{377}\x{37B}-\x{37D}\x{37F}\x{386}\x{388}-\x{38A}\x{38C}\x{38E}-\x{3A1})"
    R"(\x{3A3}-\x{3F5}\x{3F7}-\x{481}\x{48A}-\x{52F}\x{531}-\x{556}\x{10A0}-\x{10C5}\x{13A0}-\x{13F5})"
    R"(\x{13F8}-\x{13FD}\x{1C90}-\x{1CBA}\x{1CBD}-\x{1CBF}\x{1D00}-\x{1D2B}\x{1D6B}-\x{1D77}\x{1D79}-\x{1D9A})"
    R"(\x{1E00}-\x{1F15}\x{1F18}-\x{1F1D}\x{1F20}-\x{1F45}\x{1F48}-\x{1F4D}\x{1F50}-\x{1F57}\x{1F59}\x{1F5B})"
    R"(\x{1F5D}\x{1F5F}-\x{1F7D}\x{1F80}-\x{1FB4}\x{1FB6}-\x{1FBC}\x{1FBE}\x{1FC2}-\x{1FC4}\x{1FC6}-\x{1FCC})"
    R"(\x{1FD0}-\x{1FD3}\x{1FD6}-\x{1FDB}\x{1FE0}-\x{1FEC}\x{1FF2}-\x{1FF4}\x{1FF6}-\x{1FFC}\x{2102}\x{2107})"
    R"(\x{210A}-\x{2113}\x{2115}\x{2119}-\x{211D}\x{2124}\x{2126}\x{2128}\x{212A}-\x{212D}\x{212F}-\x{2134})"
    R"(\x{2139}\x{213C}-\x{213F}\x{2145}-\x{2149}\x{214E}\x{2183}\x{2184}\x{2C00}-\x{2C7B}\x{2C7E}-\x{2CE4})"
    R"(\x{2CEB}-\x{2CEE}\x{2CF2}\x{2CF3}\x{A640}-\x{A66D}\x{A680}-\x{A69B}\x{A722}-\x{A76F}\x{A771}-\x{A787})"
    R"(\x{A78B}-\x{A78E}\x{AB70}-\x{ABBF}\x{FB00}-\x{FB06}\x{FB13}-\x{FB17}\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A})"
    R"(\x{10400}-\x{1044F}\x{104B0}-\x{104D3}\x{104D8}-\x{104FB}\x{10C80}-\x{10CB2}\x{10CC0}-\x{10CF2})"
    R"(\x{118A0}-\x{118DF}\x{1E900}-\x{1E943}]+)";

// GPT-2's regex; StarCoder and Falcon split with it after other regexes.
constexpr const char* kGpt2 = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))";

// The CJK, Indic-to-CJK and Hangul runs DeepSeek's first tokenizers keep whole.
constexpr const char* kDeepseekCjk = R"([\x{4E00}-\x{9FA5}\x{800}-\x{4E00}\x{AC00}-\x{D7FF}]+)";

}  // namespace

std::vector<std::string> pretokenizer_regexes(PreTokenizerKind kind) {
  switch (kind) {
    case PreTokenizerKind::gpt2:
      return {kGpt2};
    case PreTokenizerKind::llama3:
      return {tiktoken_style(R"(\p{N}{1,3})")};
    case PreTokenizerKind::qwen2:
      return {tiktoken_style(R"(\p{N})")};
    case PreTokenizerKind::qwen35:
      return {tiktoken_style(R"(\p{N})", true)};
    case PreTokenizerKind::deepseek_llm:
      return {
          R"([\r\n])",
          kDeepseekLetters,
          R"(\s?[!-/:-~\x{FF01}-\x{FF0F}\x{FF1A}-\x{FF5E}\x{2018}-\x{201F}\x{3000}-\x{3002}]+)",
          R"(\s+$)",
          kDeepseekCjk,
          R"(\p{N}+)",
      };
    case PreTokenizerKind::deepseek_coder:
      return {R"([\r\n])", R"(\s?\p{L}+)", R"(\s?\p{P}+)", kDeepseekCjk, R"(\p{N})"};
    case PreTokenizerKind::starcoder:  // single digits, then GPT-2's
      return {R"(\p{N})", kGpt2};
    case PreTokenizerKind::falcon:  // punctuation runs, GPT-2's, then digits in threes
      return {R"([\p{P}\$\+<=>\^~\|`]+)", kGpt2, R"([0-9][0-9][0-9])"};
    // The last two are their Hugging Face tokenizer.json patterns verbatim (as
    // JSON decodes them), so that `s1 convert` recognizes them there.
    case PreTokenizerKind::gpt4o:
      return {R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?)"
              R"(|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?)"
              R"(|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)"};
    case PreTokenizerKind::deepseek_v3:
      return {
          R"(\p{N}{1,3})",
          "[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+",
          "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| "
          "?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
      };
  }
  return {};
}

namespace {

struct Alias {
  std::string_view name;
  PreTokenizerKind kind;
};
// The tokenizer.ggml.pre names llama.cpp splits exactly as one of our kinds
// (same regex, same merge handling: "refact", "command-r", "smollm",
// "codeshell", "exaone" and "minerva-7b" as "starcoder"). Names it treats differently are refused
// rather than approximated: "default" (llama.cpp's fallback regexes),
// "dbrx"/"smaug-bpe" (the Llama 3 regex but merges not ignored), "mpt"/"olmo"
// (the GPT-2 regex, yet 7 of llama.cpp's 47 MPT test cases come out different).
constexpr std::array kAliases = {
    Alias{"qwen2", PreTokenizerKind::qwen2},       Alias{"deepseek-r1-qwen", PreTokenizerKind::qwen2},
    Alias{"stablelm2", PreTokenizerKind::qwen2},   Alias{"megrez", PreTokenizerKind::qwen2},
    Alias{"qwen35", PreTokenizerKind::qwen35},     Alias{"llama-bpe", PreTokenizerKind::llama3},
    Alias{"llama3", PreTokenizerKind::llama3},     Alias{"llama-v3", PreTokenizerKind::llama3},
    Alias{"falcon3", PreTokenizerKind::llama3},    Alias{"pixtral", PreTokenizerKind::llama3},
    Alias{"deepseek-llm", PreTokenizerKind::deepseek_llm}, Alias{"gpt2", PreTokenizerKind::gpt2},
    Alias{"gpt-2", PreTokenizerKind::gpt2},        Alias{"phi-2", PreTokenizerKind::gpt2},
    Alias{"gpt-4o", PreTokenizerKind::gpt4o},      Alias{"deepseek-v3", PreTokenizerKind::deepseek_v3},
    Alias{"deepseek-coder", PreTokenizerKind::deepseek_coder}, Alias{"falcon", PreTokenizerKind::falcon},
    Alias{"starcoder", PreTokenizerKind::starcoder}, Alias{"refact", PreTokenizerKind::starcoder},
    Alias{"command-r", PreTokenizerKind::starcoder}, Alias{"smollm", PreTokenizerKind::starcoder},
    Alias{"codeshell", PreTokenizerKind::starcoder}, Alias{"exaone", PreTokenizerKind::starcoder},
    Alias{"minerva-7b", PreTokenizerKind::starcoder},
};

PreTokenizerKind kind_from_name(std::string_view name) {
  for (const auto& alias : kAliases)
    if (alias.name == name) return alias.kind;
  std::string known;
  for (const auto& alias : kAliases) known += (known.empty() ? "" : ", ") + std::string(alias.name);
  fail("unsupported pre-tokenizer '{}' (tokenizer.ggml.pre); supported: {}", name, known);
}

// Per-thread matching state: match data and a JIT stack large enough for
// very long runs of one character class (the default 32 KiB is not).
struct MatchState {
  pcre2_match_data* data = pcre2_match_data_create(4, nullptr);
  pcre2_match_context* context = pcre2_match_context_create(nullptr);
  pcre2_jit_stack* stack = pcre2_jit_stack_create(32 * 1024, 256 * 1024 * 1024, nullptr);
  MatchState() { pcre2_jit_stack_assign(context, nullptr, stack); }
  ~MatchState() {
    pcre2_jit_stack_free(stack);
    pcre2_match_context_free(context);
    pcre2_match_data_free(data);
  }
};

MatchState& match_state() {
  thread_local MatchState state;
  return state;
}

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof buffer);
  return reinterpret_cast<const char*>(buffer);
}

}  // namespace

struct PreTokenizer::Regex {
  pcre2_code* code = nullptr;
  explicit Regex(const std::string& source) {
    int error = 0;
    PCRE2_SIZE error_offset = 0;
    code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(source.data()), source.size(),
                         PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY, &error, &error_offset, nullptr);
    if (!code) fail("pre-tokenizer regex does not compile at offset {}: {}", error_offset, pcre2_message(error));
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // without JIT pcre2_match interprets; still correct
  }
  ~Regex() { pcre2_code_free(code); }

  // Appends the matches of this regex in `text`, and the gaps between them.
  void split(std::string_view text, std::vector<std::string_view>& out) const {
    MatchState& state = match_state();
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
    size_t pos = 0, gap_start = 0;
    while (pos < text.size()) {
      const int rc = pcre2_match(code, subject, text.size(), pos, PCRE2_NO_UTF_CHECK, state.data, state.context);
      if (rc == PCRE2_ERROR_NOMATCH) break;
      if (rc < 0) fail("pre-tokenizer regex failed on a text of {} bytes: {}", text.size(), pcre2_message(rc));
      const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(state.data);
      const size_t start = ovector[0], end = ovector[1];
      if (start > gap_start) out.push_back(text.substr(gap_start, start - gap_start));
      if (end > start) {
        out.push_back(text.substr(start, end - start));
        pos = gap_start = end;
      } else {  // an empty match: step over one character, leaving it in the gap
        size_t length = 1;
        utf8_decode(text.substr(start), length);
        pos = start + length;
        gap_start = start;
      }
    }
    if (gap_start < text.size()) out.push_back(text.substr(gap_start));
  }
};

PreTokenizer::PreTokenizer(std::string_view name) : kind_(kind_from_name(name)) {
  for (const auto& source : pretokenizer_regexes(kind_)) regexes_.push_back(std::make_unique<Regex>(source));
}
PreTokenizer::~PreTokenizer() = default;
PreTokenizer::PreTokenizer(PreTokenizer&&) noexcept = default;
PreTokenizer& PreTokenizer::operator=(PreTokenizer&&) noexcept = default;

std::string_view PreTokenizer::name() const { return pretokenizer_name(kind_); }

std::string_view pretokenizer_name(PreTokenizerKind kind) {
  switch (kind) {
    case PreTokenizerKind::gpt2: return "gpt2";
    case PreTokenizerKind::llama3: return "llama-bpe";
    case PreTokenizerKind::qwen2: return "qwen2";
    case PreTokenizerKind::qwen35: return "qwen35";
    case PreTokenizerKind::deepseek_llm: return "deepseek-llm";
    case PreTokenizerKind::gpt4o: return "gpt-4o";
    case PreTokenizerKind::deepseek_v3: return "deepseek-v3";
    case PreTokenizerKind::deepseek_coder: return "deepseek-coder";
    case PreTokenizerKind::starcoder: return "starcoder";
    case PreTokenizerKind::falcon: return "falcon";
  }
  return "";
}

void PreTokenizer::split(std::string_view text, std::vector<std::string_view>& words) const {
  while (!text.empty()) {
    const size_t valid = utf8_valid_prefix(text);
    if (valid > 0) split_valid(text.substr(0, valid), words);
    text.remove_prefix(valid);
    size_t invalid = 0;
    while (invalid < text.size()) {
      const Utf8Step step = utf8_step(text.substr(invalid));
      if (step.kind == Utf8Kind::valid) break;
      invalid += step.length;
    }
    if (invalid > 0) words.push_back(text.substr(0, invalid));
    text.remove_prefix(invalid);
  }
}

void PreTokenizer::split_valid(std::string_view text, std::vector<std::string_view>& words) const {
  if (regexes_.size() == 1) {
    regexes_[0]->split(text, words);
    return;
  }
  std::vector<std::string_view> pieces{text}, next;
  for (const auto& regex : regexes_) {
    next.clear();
    for (std::string_view piece : pieces) regex->split(piece, next);
    std::swap(pieces, next);
  }
  words.insert(words.end(), pieces.begin(), pieces.end());
}

}  // namespace s1
