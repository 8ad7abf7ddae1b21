#pragma once
// Splits a Jinja template into text and tag tokens, applying whitespace
// control the way Hugging Face transformers configures Jinja2: trim_blocks and
// lstrip_blocks on, `-` strips all whitespace on its side, `+` disables the
// block trimming on its side, \r\n becomes \n and one trailing newline is
// dropped (keep_trailing_newline off).
#include <string>
#include <string_view>
#include <vector>

namespace s1::jinja {

struct Token {
  enum class Type {
    text,
    var_begin,
    var_end,
    block_begin,
    block_end,
    name,
    string,
    integer,
    floating,
    op,
    end
  };
  Type type = Type::end;
  std::string text;  // text content, name, unescaped string literal, number spelling or operator
  int line = 1;
};

// `name` prefixes error messages ("NAME:LINE: unterminated comment").
std::vector<Token> tokenize(std::string_view source, const std::string& name);

}  // namespace s1::jinja
