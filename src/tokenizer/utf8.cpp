#include "tokenizer/utf8.h"

#include <array>
#include <cstring>

namespace s1 {

Utf8Step utf8_step(std::string_view text) {
  const auto lead = uint8_t(text[0]);
  if (lead < 0x80) return {Utf8Kind::valid, 1};
  size_t need = 0;
  uint8_t second_lo = 0x80, second_hi = 0xBF;  // narrower after E0, ED, F0, F4
  if (lead >= 0xC2 && lead <= 0xDF) {
    need = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    need = 3;
    if (lead == 0xE0) second_lo = 0xA0;       // overlong
    if (lead == 0xED) second_hi = 0x9F;       // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    need = 4;
    if (lead == 0xF0) second_lo = 0x90;       // overlong
    if (lead == 0xF4) second_hi = 0x8F;       // above U+10FFFF
  } else {
    return {Utf8Kind::invalid, 1};
  }
  for (size_t i = 1; i < need; ++i) {
    if (i >= text.size()) return {Utf8Kind::truncated, i};
    const auto b = uint8_t(text[i]);
    const uint8_t lo = i == 1 ? second_lo : 0x80, hi = i == 1 ? second_hi : 0xBF;
    if (b < lo || b > hi) return {Utf8Kind::invalid, i};
  }
  return {Utf8Kind::valid, need};
}

size_t utf8_valid_prefix(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    // Plain ASCII is most text; skip it eight bytes at a time.
    if (i + 8 <= text.size()) {
      uint64_t chunk;
      std::memcpy(&chunk, text.data() + i, 8);
      if ((chunk & 0x8080808080808080ull) == 0) {
        i += 8;
        continue;
      }
    }
    if (uint8_t(text[i]) < 0x80) {
      ++i;
      continue;
    }
    const Utf8Step step = utf8_step(text.substr(i));
    if (step.kind != Utf8Kind::valid) break;
    i += step.length;
  }
  return i;
}

size_t utf8_complete_prefix(std::string_view text) {
  size_t at = 0;
  while (at < text.size()) {
    at += utf8_valid_prefix(text.substr(at));
    if (at == text.size()) break;
    const Utf8Step step = utf8_step(text.substr(at));
    if (step.kind == Utf8Kind::truncated) break;
    at += step.length;
  }
  return at;
}

std::string utf8_sanitize(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    const size_t valid = utf8_valid_prefix(text);
    out.append(text.substr(0, valid));
    text.remove_prefix(valid);
    if (text.empty()) break;
    out.append(kReplacementChar);
    text.remove_prefix(utf8_step(text).length);
  }
  return out;
}

void utf8_append(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(char(cp));
  } else if (cp < 0x800) {
    out.push_back(char(0xC0 | (cp >> 6)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(char(0xE0 | (cp >> 12)));
    out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(char(0xF0 | (cp >> 18)));
    out.push_back(char(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  }
}

uint32_t utf8_decode(std::string_view text, size_t& length) {
  length = utf8_step(text).length;
  const auto lead = uint8_t(text[0]);
  if (length == 1) return lead;
  uint32_t cp = lead & (0x7F >> length);
  for (size_t i = 1; i < length; ++i) cp = (cp << 6) | (uint8_t(text[i]) & 0x3F);
  return cp;
}

namespace {

// Bytes that are printable Latin-1 stand for themselves; the other 68 are
// moved, in byte order, to U+0100 and up.
struct ByteAlphabet {
  std::array<uint32_t, 256> to_cp{};
  std::array<int16_t, 324> to_byte{};  // indexed by codepoint, all stand-ins are < 324
  ByteAlphabet() {
    to_byte.fill(-1);
    uint32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      to_cp[b] = printable ? uint32_t(b) : next++;
      to_byte[to_cp[b]] = int16_t(b);
    }
  }
};

const ByteAlphabet& byte_alphabet() {
  static const ByteAlphabet alphabet;
  return alphabet;
}

}  // namespace

uint32_t byte_to_codepoint(uint8_t byte) { return byte_alphabet().to_cp[byte]; }

int codepoint_to_byte(uint32_t cp) {
  const auto& table = byte_alphabet().to_byte;
  return cp < table.size() ? table[cp] : -1;
}

}  // namespace s1
