// Encodes arbitrary bytes (invalid UTF-8 included) with the qwen2 vocabulary
// from ../shared/tokenizer and checks that decoding gives the bytes back; then
// reads the same bytes as token ids and checks that the streaming detokenizer
// emits exactly the sanitized (U+FFFD for bad bytes) decoded text.
// Invalid UTF-8 is encoded as raw byte tokens, never rejected (tokenizer.h).
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace {

const s1::Tokenizer& qwen2() {
  static const s1::Tokenizer tokenizer = s1::Tokenizer::load(
      (std::filesystem::absolute(__FILE__).parent_path().parent_path().parent_path() /
       "shared/tokenizer/ggml-vocab-qwen2.gguf")
          .string());
  return tokenizer;
}

void check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const s1::Tokenizer& tok = qwen2();
  const std::string text(reinterpret_cast<const char*>(data), size);

  check(tok.decode(tok.encode(text)) == text);
  check(tok.decode(tok.encode(text, {.parse_special = true}), true) == text);

  std::vector<int32_t> ids;
  for (size_t i = 0; i + 4 <= size; i += 4) {
    uint32_t raw;
    std::memcpy(&raw, data + i, 4);
    ids.push_back(int32_t(raw % uint32_t(tok.n_vocab())));
  }
  s1::StreamDecoder stream(tok, size % 2 == 1);
  std::string streamed;
  for (int32_t id : ids) {
    const std::string piece = stream.feed(id);
    check(s1::utf8_valid_prefix(piece) == piece.size());
    streamed += piece;
  }
  streamed += stream.flush();
  check(streamed == s1::utf8_sanitize(tok.decode(ids, size % 2 == 1)));
  return 0;
}
