#pragma once
// UTF-8 classification shared by the pre-tokenizer (which must find invalid
// bytes before PCRE2 sees them), the streaming detokenizer (which must hold a
// sequence that is not finished yet) and the GPT-2 byte <-> unicode mapping.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace s1 {

enum class Utf8Kind { valid, truncated, invalid };

// What the bytes at the start of a non-empty `text` are: a complete valid
// sequence of `length` bytes; the first `length` bytes (all of `text`) of a
// sequence that could still become valid; or an invalid "maximal subpart" of
// `length` bytes that one U+FFFD replaces (Unicode's recommended practice).
struct Utf8Step {
  Utf8Kind kind;
  size_t length;
};
Utf8Step utf8_step(std::string_view text);

// Length of the longest prefix of `text` that is valid UTF-8 (RFC 3629: no
// overlongs, no surrogates, nothing above U+10FFFF).
size_t utf8_valid_prefix(std::string_view text);

// Length of `text` without a trailing character that more bytes could still
// complete: a streamed text holds that much back until the next piece.
size_t utf8_complete_prefix(std::string_view text);

// `text` with every invalid or truncated sequence replaced by U+FFFD.
std::string utf8_sanitize(std::string_view text);

void utf8_append(std::string& out, uint32_t codepoint);

// Decodes the valid sequence at the start of `text`; sets `length`.
uint32_t utf8_decode(std::string_view text, size_t& length);

inline constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";

// GPT-2's byte-level alphabet: every byte value has a printable stand-in
// codepoint, so byte strings can be written as unicode token texts.
uint32_t byte_to_codepoint(uint8_t byte);
// The byte a stand-in codepoint represents, or -1 when it is not one.
int codepoint_to_byte(uint32_t codepoint);

}  // namespace s1
