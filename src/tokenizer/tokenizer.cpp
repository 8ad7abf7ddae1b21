#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <array>
#include <mutex>

#include "gguf/gguf.h"
#include "tokenizer/bpe.h"
#include "tokenizer/utf8.h"
#include "util/error.h"
#include "util/log.h"

namespace s1 {

namespace {

// Control tokens that end a turn in the chat formats we run, whatever the
// GGUF says its eos is (Qwen's base eos is <|endoftext|>, chat ends <|im_end|>).
constexpr std::array<std::string_view, 10> kEndOfTurnTexts = {
    "<|endoftext|>", "<|im_end|>",    "<|eot_id|>", "<|eom_id|>", "<|end_of_text|>",
    "<|end|>",       "<end_of_turn>", "<|return|>", "<|call|>",
    "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>",
};
// In gpt-oss's harmony format <|end|> closes one message of a turn (the
// analysis, before the final answer); <|return|> and <|call|> end the turn.
constexpr std::string_view kHarmonyTurnEnd = "<|return|>", kHarmonyMessageEnd = "<|end|>";

// Byte-level token text -> the bytes it stands for. Characters outside the
// GPT-2 alphabet (possible in hand-made vocabularies) are kept as they are.
std::string byte_level_decode(std::string_view text) {
  std::string bytes;
  bytes.reserve(text.size());
  while (!text.empty()) {
    const Utf8Step step = utf8_step(text);
    if (step.kind != Utf8Kind::valid) {
      bytes.append(text.substr(0, step.length));
      text.remove_prefix(step.length);
      continue;
    }
    size_t length = 0;
    const uint32_t cp = utf8_decode(text, length);
    const int byte = codepoint_to_byte(cp);
    if (byte >= 0) {
      bytes.push_back(char(byte));
    } else {
      bytes.append(text.substr(0, length));
    }
    text.remove_prefix(length);
  }
  return bytes;
}

std::string byte_level_encode(std::string_view bytes) {
  std::string text;
  for (char b : bytes) utf8_append(text, byte_to_codepoint(uint8_t(b)));
  return text;
}

std::vector<std::string> checked_tokens(Vocab& vocab) {
  if (vocab.tokens.empty()) fail("{}: the vocabulary has no tokens", vocab.source);
  if (vocab.tokens.size() > size_t(INT32_MAX))
    fail("{}: the vocabulary has {} tokens, too many", vocab.source, vocab.tokens.size());
  return std::move(vocab.tokens);
}

PreTokenizer pre_tokenizer_for(const std::string& source, const std::string& name) {
  try {
    return PreTokenizer(name);
  } catch (const Error& e) {
    fail("{}: {}", source, e.what());
  }
}

// Scratch space per thread: encode is const and may run on many threads.
struct EncodeScratch {
  std::vector<std::string_view> words;
  std::vector<int32_t> byte_ids;
  std::string encoded;
  BpeWorkspace bpe;
};

// BPE workspace entries kept between calls: enough for any ordinary word.
constexpr size_t kKeepBpeSymbols = 64 << 10;

EncodeScratch& scratch() {
  thread_local EncodeScratch s;
  return s;
}

}  // namespace

struct Tokenizer::Impl {
  std::string source;
  std::vector<std::string> texts;
  std::vector<TokenType> types;
  TextIndex by_text;                                       // over `texts`
  std::string pieces;                                      // decoded bytes of every token, back to back
  std::vector<uint32_t> piece_offsets;                     // n_vocab + 1
  std::array<int32_t, 256> byte_token{};                   // token of each single byte, -1 if none
  MergeTable merges;
  PreTokenizer pre;
  bool ignore_merges = false;  // Llama 3, gpt-4o: a word that is a token is taken whole
  int32_t bos = -1, eos = -1, eot = -1, pad = -1;
  bool add_bos = false;
  std::vector<uint8_t> end_of_generation;
  std::array<std::vector<int32_t>, 256> specials;  // by first byte, longest first
  bool has_user_defined = false;
  std::vector<uint8_t> markup;  // per token: a user-defined one written as a tag ("<think>")
  mutable std::mutex cache_mutex;
  mutable WordCache cache;

  explicit Impl(Vocab& vocab);
  int32_t checked_special_id(int32_t id, const char* what) const;
  void encode_text(std::string_view text, std::vector<int32_t>& out, WordCache* word_cache) const;
  // Which special tokens a scan matches. User-defined tokens are matched in
  // any text, as llama.cpp and Hugging Face's tokenizers do (DeepSeek LLM's
  // "ü" and "ö" are such tokens); control tokens only with parse_special.
  // In plain spans (a chat's user content) neither control tokens nor
  // user-defined tags match, so a user cannot write the template's markup.
  enum class Scan { all, plain_text, plain_span };
  // The special token whose text starts at text[i] (the longest) that `scan` matches, or -1.
  int32_t special_at(std::string_view text, size_t i, Scan scan = Scan::all) const {
    for (int32_t id : specials[uint8_t(text[i])]) {
      if (scan != Scan::all && (types[id] != TokenType::user_defined || (scan == Scan::plain_span && markup[id])))
        continue;
      if (text.substr(i).starts_with(texts[id])) return id;
    }
    return -1;
  }
  void encode_word(std::string_view word, std::vector<int32_t>& out, WordCache* word_cache,
                   EncodeScratch& s) const;
};

Tokenizer::Impl::Impl(Vocab& vocab)
    : source(vocab.source),
      texts(checked_tokens(vocab)),
      by_text(texts),
      merges(vocab.merges.size()),
      pre(pre_tokenizer_for(vocab.source, vocab.pre)) {
  const auto n = texts.size();
  if (!vocab.types.empty() && vocab.types.size() != n)
    fail("{}: {} token types for {} tokens", source, vocab.types.size(), n);

  types.assign(n, TokenType::normal);
  for (size_t id = 0; id < vocab.types.size(); ++id) {
    const int32_t t = vocab.types[id];
    if (t < 0 || t > int32_t(TokenType::byte)) fail("{}: token {} has type {}, expected 0 to 6", source, id, t);
    if (t != 0) types[id] = TokenType(t);  // 0 (undefined) reads as normal
  }

  piece_offsets.reserve(n + 1);
  for (size_t id = 0; id < n; ++id) {
    piece_offsets.push_back(uint32_t(pieces.size()));
    switch (types[id]) {
      case TokenType::normal: pieces += byte_level_decode(texts[id]); break;
      case TokenType::user_defined:
      case TokenType::control:
      case TokenType::unknown: pieces += texts[id]; break;
      case TokenType::unused:
      case TokenType::byte: break;
    }
    if (pieces.size() > UINT32_MAX) fail("{}: token texts are too long in total", source);
  }
  piece_offsets.push_back(uint32_t(pieces.size()));

  for (int b = 0; b < 256; ++b) byte_token[b] = by_text.find(byte_level_encode(std::string(1, char(b))));

  std::string joined;
  size_t skipped = 0;
  for (size_t rank = 0; rank < vocab.merges.size(); ++rank) {
    const std::string& merge = vocab.merges[rank];
    const size_t space = merge.find(' ', 1);
    if (space == std::string::npos)
      fail("{}: merge {} ('{}') is not two token texts separated by a space", source, rank, merge);
    const int32_t left = by_text.find(std::string_view(merge).substr(0, space));
    const int32_t right = by_text.find(std::string_view(merge).substr(space + 1));
    joined.assign(merge, 0, space).append(merge, space + 1);
    const int32_t result = by_text.find(joined);
    if (left < 0 || right < 0 || result < 0) {
      ++skipped;
      continue;
    }
    merges.insert(left, right, {int32_t(rank), result});
  }
  if (skipped) log_debug("{}: {} merges name texts that are not tokens; ignored", source, skipped);

  // As their tokenizer.json files say ("ignore_merges": true).
  ignore_merges = pre.kind() == PreTokenizerKind::llama3 || pre.kind() == PreTokenizerKind::gpt4o;
  bos = checked_special_id(vocab.bos, "bos");
  eos = checked_special_id(vocab.eos, "eos");
  eot = checked_special_id(vocab.eot, "eot");
  pad = checked_special_id(vocab.pad, "pad");
  add_bos = vocab.add_bos && bos >= 0;

  end_of_generation.assign(n, 0);
  for (int32_t id : {eos, eot})
    if (id >= 0) end_of_generation[id] = 1;

  markup.assign(n, 0);
  for (size_t id = 0; id < n; ++id) {
    const bool special = types[id] == TokenType::control || types[id] == TokenType::user_defined;
    if (types[id] == TokenType::user_defined && !texts[id].empty()) {
      has_user_defined = true;
      markup[id] = texts[id].size() > 2 && texts[id].front() == '<' && texts[id].back() == '>';
    }
    if (types[id] == TokenType::control &&
        std::find(kEndOfTurnTexts.begin(), kEndOfTurnTexts.end(), texts[id]) != kEndOfTurnTexts.end())
      end_of_generation[id] = 1;
    if (special && !texts[id].empty()) specials[uint8_t(texts[id][0])].push_back(int32_t(id));
  }
  // Harmony (the vocabulary has <|return|>): <|end|> closes a message, not the
  // turn, even where the file names it eot.
  if (by_text.find(kHarmonyTurnEnd) >= 0)
    if (const int32_t end = by_text.find(kHarmonyMessageEnd); end >= 0) end_of_generation[size_t(end)] = 0;
  for (auto& bucket : specials)
    std::stable_sort(bucket.begin(), bucket.end(),
                     [&](int32_t a, int32_t b) { return texts[a].size() > texts[b].size(); });
}

int32_t Tokenizer::Impl::checked_special_id(int32_t id, const char* what) const {
  if (id < -1 || id >= int32_t(texts.size())) {
    log_warn("{}: {} token id {} is outside the vocabulary of {}; ignored", source, what, id, texts.size());
    return -1;
  }
  return id;
}

void Tokenizer::Impl::encode_text(std::string_view text, std::vector<int32_t>& out, WordCache* word_cache) const {
  EncodeScratch& s = scratch();
  s.words.clear();
  pre.split(text, s.words);
  for (std::string_view word : s.words) encode_word(word, out, word_cache, s);
  // The BPE workspace grows with the longest word: after a huge one (a
  // 900 KB "word" in a request) it is released, so a long-lived thread
  // returns to its usual size. Ordinary long texts keep their scratch.
  if (s.bpe.symbols.capacity() > kKeepBpeSymbols) s.bpe = BpeWorkspace{};
}

void Tokenizer::Impl::encode_word(std::string_view word, std::vector<int32_t>& out, WordCache* word_cache,
                                  EncodeScratch& s) const {
  if (word.size() == 1) {
    if (const int32_t id = byte_token[uint8_t(word[0])]; id >= 0) out.push_back(id);
    return;
  }
  uint64_t hash = 0;
  if (word_cache) {
    hash = hash_bytes(word);
    if (const auto hit = word_cache->find(word, hash)) {
      out.insert(out.end(), hit->begin(), hit->end());
      return;
    }
  }
  const size_t start = out.size();
  int32_t whole = -1;
  if (ignore_merges) {
    s.encoded.clear();
    for (char b : word) utf8_append(s.encoded, byte_to_codepoint(uint8_t(b)));
    whole = by_text.find(s.encoded);
  }
  if (whole >= 0) {
    out.push_back(whole);
  } else {
    s.byte_ids.resize(word.size());
    for (size_t i = 0; i < word.size(); ++i) s.byte_ids[i] = byte_token[uint8_t(word[i])];
    bpe_merge(merges, s.byte_ids, s.bpe, out);
  }
  if (word_cache) word_cache->insert(word, hash, std::span<const int32_t>(out.data() + start, out.size() - start));
}

Tokenizer::Tokenizer(Vocab vocab) : impl_(std::make_unique<Impl>(vocab)) {}
Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

namespace {

std::vector<std::string> string_array(const gguf::File& file, std::string_view key) {
  const gguf::Array* array = file.get_array(key);
  if (!array) fail("{}: missing {}", file.path(), key);
  std::vector<std::string> items;
  items.reserve(array->items.size());
  for (size_t i = 0; i < array->items.size(); ++i) {
    const std::string* s = array->items[i].as_string();
    if (!s) fail("{}: {}[{}] is {}, expected a string", file.path(), key, i,
                 value_type_name(array->items[i].type()));
    items.push_back(*s);
  }
  return items;
}

int32_t optional_id(const gguf::File& file, std::string_view key) {
  const auto value = file.get_int(key);
  if (!value) return -1;
  if (*value < 0 || *value > INT32_MAX) fail("{}: {} is {}, not a token id", file.path(), key, *value);
  return int32_t(*value);
}

}  // namespace

Vocab read_vocab(const gguf::File& file) {
  const auto model = file.get_string("tokenizer.ggml.model");
  if (!model) fail("{}: no tokenizer (tokenizer.ggml.model is missing)", file.path());
  if (*model != "gpt2")
    fail("{}: tokenizer model '{}' is not supported (only byte-level BPE, 'gpt2')", file.path(), *model);

  Vocab vocab;
  vocab.source = file.path();
  vocab.tokens = string_array(file, "tokenizer.ggml.tokens");
  vocab.merges = string_array(file, "tokenizer.ggml.merges");
  if (const gguf::Array* types = file.get_array("tokenizer.ggml.token_type")) {
    vocab.types.reserve(types->items.size());
    for (size_t i = 0; i < types->items.size(); ++i) {
      const auto t = types->items[i].as_int();
      if (!t || *t < INT32_MIN || *t > INT32_MAX)
        fail("{}: tokenizer.ggml.token_type[{}] is not a 32-bit integer", file.path(), i);
      vocab.types.push_back(int32_t(*t));
    }
  }
  if (auto pre = file.get_string("tokenizer.ggml.pre")) {
    vocab.pre = *pre;
  } else {
    log_warn("{}: tokenizer.ggml.pre is missing; using the GPT-2 pre-tokenizer", file.path());
    vocab.pre = "gpt2";
  }
  vocab.bos = optional_id(file, "tokenizer.ggml.bos_token_id");
  vocab.eos = optional_id(file, "tokenizer.ggml.eos_token_id");
  vocab.eot = optional_id(file, "tokenizer.ggml.eot_token_id");
  vocab.pad = optional_id(file, "tokenizer.ggml.padding_token_id");
  // llama.cpp's default when the key is absent: only Llama 3 wants BOS.
  const auto add_bos = file.get_bool("tokenizer.ggml.add_bos_token");
  vocab.add_bos = add_bos ? *add_bos : pre_tokenizer_for(file.path(), vocab.pre).kind() == PreTokenizerKind::llama3;
  return vocab;
}

Tokenizer Tokenizer::from_gguf(const gguf::File& file) { return Tokenizer(read_vocab(file)); }

Tokenizer Tokenizer::load(const std::string& gguf_path) { return from_gguf(gguf::File::open(gguf_path)); }

std::vector<int32_t> Tokenizer::encode(std::string_view text, EncodeOptions options) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 4 + 2);
  encode(text, out, options);
  return out;
}

void Tokenizer::encode(std::string_view text, std::vector<int32_t>& out, EncodeOptions options) const {
  const Impl& im = *impl_;
  if (options.add_bos && im.bos >= 0) out.push_back(im.bos);
  // The word cache serves one caller at a time; others encode without it
  // rather than wait.
  std::unique_lock lock(im.cache_mutex, std::try_to_lock);
  WordCache* cache = lock.owns_lock() ? &im.cache : nullptr;
  if (!options.parse_special && !im.has_user_defined) {
    im.encode_text(text, out, cache);
    return;
  }
  using Scan = Impl::Scan;
  size_t plain_start = 0;
  auto plain = options.plain_spans.begin();
  for (size_t i = 0; i < text.size();) {
    while (plain != options.plain_spans.end() && plain->end <= i) ++plain;
    const bool in_plain_span = options.parse_special && plain != options.plain_spans.end() && plain->begin <= i;
    const Scan scan = in_plain_span ? Scan::plain_span : options.parse_special ? Scan::all : Scan::plain_text;
    const int32_t match = im.special_at(text, i, scan);
    if (match < 0) {
      ++i;
      continue;
    }
    im.encode_text(text.substr(plain_start, i - plain_start), out, cache);
    out.push_back(match);
    i += im.texts[match].size();
    plain_start = i;
  }
  im.encode_text(text.substr(plain_start), out, cache);
}

std::vector<TextSpan> Tokenizer::special_spans(std::string_view text) const {
  std::vector<TextSpan> spans;
  for (size_t i = 0; i < text.size();) {
    const int32_t id = impl_->special_at(text, i);
    if (id < 0) {
      ++i;
      continue;
    }
    spans.push_back({i, i + impl_->texts[id].size()});
    i = spans.back().end;
  }
  return spans;
}

std::string_view Tokenizer::piece(int32_t id, bool with_control) const {
  const Impl& im = *impl_;
  if (id < 0 || id >= n_vocab()) fail("token id {} is outside the vocabulary of {}", id, n_vocab());
  const TokenType t = im.types[id];
  if (!with_control && (t == TokenType::control || t == TokenType::unknown)) return {};
  return std::string_view(im.pieces).substr(im.piece_offsets[id], im.piece_offsets[id + 1] - im.piece_offsets[id]);
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool with_control) const {
  std::string out;
  for (int32_t id : ids) out.append(piece(id, with_control));
  return out;
}

int32_t Tokenizer::n_vocab() const { return int32_t(impl_->texts.size()); }

TokenType Tokenizer::type(int32_t id) const {
  if (id < 0 || id >= n_vocab()) fail("token id {} is outside the vocabulary of {}", id, n_vocab());
  return impl_->types[id];
}

const std::string& Tokenizer::token_text(int32_t id) const {
  if (id < 0 || id >= n_vocab()) fail("token id {} is outside the vocabulary of {}", id, n_vocab());
  return impl_->texts[id];
}

int32_t Tokenizer::find_token(std::string_view text) const { return impl_->by_text.find(text); }

int32_t Tokenizer::bos() const { return impl_->bos; }
int32_t Tokenizer::eos() const { return impl_->eos; }
int32_t Tokenizer::eot() const { return impl_->eot; }
int32_t Tokenizer::pad() const { return impl_->pad; }
bool Tokenizer::add_bos() const { return impl_->add_bos; }
const PreTokenizer& Tokenizer::pretokenizer() const { return impl_->pre; }

bool Tokenizer::is_end_of_generation(int32_t id) const {
  return id >= 0 && id < n_vocab() && impl_->end_of_generation[id];
}

StreamDecoder::StreamDecoder(const Tokenizer& tokenizer, bool with_control)
    : tokenizer_(&tokenizer), with_control_(with_control) {}

std::string StreamDecoder::feed(int32_t id) {
  pending_.append(tokenizer_->piece(id, with_control_));
  const size_t complete = utf8_complete_prefix(pending_);  // the rest may be completed by the next token
  std::string out = utf8_sanitize(std::string_view(pending_).substr(0, complete));
  pending_.erase(0, complete);
  return out;
}

std::string StreamDecoder::flush() {
  std::string out = pending_.empty() ? "" : std::string(kReplacementChar);
  pending_.clear();
  return out;
}

}  // namespace s1
