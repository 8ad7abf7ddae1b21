#pragma once
// Byte-level BPE tokenizer of the GPT-2 family (Qwen2/2.5/3 and
// DeepSeek-R1-Distill-Qwen, Llama 3, DeepSeek LLM, GPT-2), token for token
// what llama.cpp produces for the same GGUF vocabulary.
//
//   auto tok = s1::Tokenizer::load("model.gguf");
//   std::vector<int32_t> ids = tok.encode("Hello", {.parse_special = true});
//   std::string text = tok.decode(ids);
//
// encode/decode are const and safe to call from several threads at once.
//
// Differences from llama.cpp, on purpose:
// - Invalid UTF-8 in the input is encoded as its raw bytes (llama.cpp turns
//   each bad byte into U+FFFD), so decode(encode(x)) == x for any bytes x,
//   given a normal token for every byte (Qwen2, Llama 3 and GPT-2 have them;
//   DeepSeek LLM has user-defined ones for the 13 bytes that never occur in
//   UTF-8, and those decode as their text).
// - Special tokens are matched leftmost-longest while scanning the text
//   (llama.cpp tries tokens longest-first over the whole text). User-defined
//   tokens are matched in any text, as llama.cpp does, but in the plain spans
//   of a chat's user content those written as tags ("<think>") stay text.
// - A merge whose result is not itself a token is ignored.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/pretokenizer.h"

namespace s1 {

namespace gguf {
class File;
}

// Values of tokenizer.ggml.token_type.
enum class TokenType : int32_t { normal = 1, unknown = 2, control = 3, user_defined = 4, unused = 5, byte = 6 };

// A vocabulary as GGUF stores it; also how tests build tiny tokenizers.
struct Vocab {
  std::vector<std::string> tokens;  // byte-level texts ("Ġthe"); specials as written ("<|im_end|>")
  std::vector<int32_t> types;       // TokenType values, one per token; empty: all normal
  std::vector<std::string> merges;  // "Ġ t": left and right token text; rank = index
  std::string pre = "gpt2";         // tokenizer.ggml.pre
  int32_t bos = -1, eos = -1, eot = -1, pad = -1;  // -1: none
  bool add_bos = false;             // the model expects BOS before a prompt
  std::string source = "vocab";     // names the vocabulary in error messages
};

// The tokenizer.ggml.* keys of a file as a Vocab (model must be "gpt2"), with
// llama.cpp's defaults for absent keys; not yet checked for consistency (the
// Tokenizer constructor does that).
Vocab read_vocab(const gguf::File& file);

// Bytes [begin, end) of a text.
struct TextSpan {
  size_t begin = 0, end = 0;
};

struct EncodeOptions {
  bool add_bos = false;        // prepend BOS (when the vocabulary has one)
  bool parse_special = false;  // control token texts become their single ids (user-defined ones always do)
  // With parse_special: spans (sorted, disjoint) where control tokens and
  // user-defined tags stay plain text, e.g. a chat's user content inside the
  // template's markup.
  std::span<const TextSpan> plain_spans = {};
};

class Tokenizer {
 public:
  explicit Tokenizer(Vocab vocab);  // s1::Error on an inconsistent vocabulary
  // Reads tokenizer.ggml.* (model must be "gpt2", i.e. byte-level BPE).
  static Tokenizer from_gguf(const gguf::File& file);
  static Tokenizer load(const std::string& gguf_path);
  ~Tokenizer();
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;

  std::vector<int32_t> encode(std::string_view text, EncodeOptions options = {}) const;
  void encode(std::string_view text, std::vector<int32_t>& out, EncodeOptions options = {}) const;  // appends
  // Where parse_special would turn `text` into special tokens.
  std::vector<TextSpan> special_spans(std::string_view text) const;

  // The bytes of the tokens (not necessarily valid UTF-8: a multi-byte
  // character may be split across tokens). Control tokens contribute their
  // text only when `with_control`. Out-of-range ids throw s1::Error.
  std::string decode(std::span<const int32_t> ids, bool with_control = false) const;
  std::string_view piece(int32_t id, bool with_control = false) const;

  int32_t n_vocab() const;
  TokenType type(int32_t id) const;
  const std::string& token_text(int32_t id) const;  // as stored in the vocabulary
  int32_t find_token(std::string_view text) const;  // by stored text, -1 if none
  int32_t bos() const;
  int32_t eos() const;
  int32_t eot() const;
  int32_t pad() const;
  bool add_bos() const;
  // Ends generation: eos, eot, and control tokens named like an end of turn.
  bool is_end_of_generation(int32_t id) const;
  const PreTokenizer& pretokenizer() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Turns a stream of token ids into text piece by piece, returning only
// complete UTF-8: a character split across tokens is held until its last
// byte arrives; bytes that can never form a character come out as U+FFFD.
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer, bool with_control = false);
  std::string feed(int32_t id);
  // What is still held (an unfinished character), as U+FFFD; resets.
  std::string flush();

 private:
  const Tokenizer* tokenizer_;
  bool with_control_;
  std::string pending_;
};

}  // namespace s1
