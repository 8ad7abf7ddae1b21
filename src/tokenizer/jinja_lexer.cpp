#include "tokenizer/jinja_lexer.h"

#include <algorithm>
#include <cstring>

#include "util/error.h"

namespace s1::jinja {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_name_start(char c) { return std::isalpha((unsigned char)c) || c == '_'; }
bool is_name_char(char c) { return std::isalnum((unsigned char)c) || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

void append_utf8(std::string& out, uint32_t cp) {
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

// Longest first, so "//" wins over "/".
constexpr const char* kOperators[] = {"//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<",
                                      ">",  "=",  ".",  ",",  ":",  "|",  "(", ")", "[", "]", "{", "}"};

class Lexer {
 public:
  Lexer(std::string source, const std::string& name) : src_(std::move(source)), name_(name) {}

  std::vector<Token> run() {
    while (pos_ < src_.size()) {
      if (strip_next_whitespace_) {
        size_t p = pos_;
        while (p < src_.size() && is_space(src_[p])) ++p;
        advance_to(p);
      } else if (trim_next_newline_ && src_[pos_] == '\n') {
        advance_to(pos_ + 1);
      }
      strip_next_whitespace_ = trim_next_newline_ = false;
      size_t tag = find_tag(pos_);
      std::string text = src_.substr(pos_, tag == std::string::npos ? std::string::npos : tag - pos_);
      if (tag != std::string::npos) apply_left_whitespace_control(text, tag);
      if (!text.empty()) tokens_.push_back({Token::Type::text, std::move(text), line_});
      if (tag == std::string::npos) break;
      advance_to(tag);
      lex_tag();
    }
    tokens_.push_back({Token::Type::end, "", line_});
    return std::move(tokens_);
  }

 private:
  [[noreturn]] void error(int line, const std::string& message) { fail("{}:{}: {}", name_, line, message); }

  void advance_to(size_t p) {
    line_ += int(std::count(src_.begin() + long(pos_), src_.begin() + long(p), '\n'));
    pos_ = p;
  }

  size_t find_tag(size_t from) const {
    for (size_t p = src_.find('{', from); p != std::string::npos; p = src_.find('{', p + 1)) {
      if (p + 1 < src_.size() && (src_[p + 1] == '{' || src_[p + 1] == '%' || src_[p + 1] == '#')) return p;
    }
    return std::string::npos;
  }

  // `{%-` strips all whitespace before the tag; otherwise lstrip_blocks removes
  // spaces and tabs between the line start and a block or comment tag.
  void apply_left_whitespace_control(std::string& text, size_t tag) const {
    char kind = src_[tag + 1];
    char modifier = tag + 2 < src_.size() ? src_[tag + 2] : '\0';
    if (modifier == '-') {
      while (!text.empty() && is_space(text.back())) text.pop_back();
      return;
    }
    if (modifier == '+' || kind == '{') return;
    size_t line_start = text.rfind('\n');
    line_start = line_start == std::string::npos ? 0 : line_start + 1;
    bool line_starting = pos_ == 0 || src_[pos_ - 1] == '\n';
    if (line_start == 0 && !line_starting) return;
    if (std::all_of(text.begin() + long(line_start), text.end(),
                    [](char c) { return is_space(c) && c != '\n'; }))
      text.resize(line_start);
  }

  void lex_tag() {
    char kind = src_[pos_ + 1];
    int open_line = line_;
    size_t p = pos_ + 2;
    if (p < src_.size() && (src_[p] == '-' || (src_[p] == '+' && kind != '{'))) ++p;
    if (kind == '#') {
      size_t end = src_.find("#}", p);
      if (end == std::string::npos) error(open_line, "unterminated comment ('{#' is never closed)");
      bool minus = end > p && src_[end - 1] == '-';
      bool plus = end > p && src_[end - 1] == '+';
      advance_to(end + 2);
      set_right_whitespace_control(minus, plus, true);
      return;
    }
    tokens_.push_back({kind == '{' ? Token::Type::var_begin : Token::Type::block_begin, "", line_});
    advance_to(p);
    int depth = 0;
    const char* closer = kind == '{' ? "}}" : "%}";
    while (true) {
      while (pos_ < src_.size() && is_space(src_[pos_])) advance_to(pos_ + 1);
      if (pos_ >= src_.size())
        error(open_line, fmt::format("unterminated tag ('{}' is never closed with '{}')",
                                     kind == '{' ? "{{" : "{%", closer));
      if (depth == 0) {
        bool minus = src_[pos_] == '-' && src_.compare(pos_ + 1, 2, closer) == 0;
        bool plus = kind == '%' && src_[pos_] == '+' && src_.compare(pos_ + 1, 2, closer) == 0;
        if (minus || plus || src_.compare(pos_, 2, closer) == 0) {
          tokens_.push_back({kind == '{' ? Token::Type::var_end : Token::Type::block_end, "", line_});
          advance_to(pos_ + 2 + (minus || plus));
          set_right_whitespace_control(minus, plus, kind == '%');
          return;
        }
      }
      lex_expression_token(depth);
    }
  }

  void set_right_whitespace_control(bool minus, bool plus, bool is_block) {
    strip_next_whitespace_ = minus;
    trim_next_newline_ = is_block && !minus && !plus;
  }

  void lex_expression_token(int& depth) {
    char c = src_[pos_];
    size_t start = pos_;
    if (is_name_start(c)) {
      size_t p = pos_;
      while (p < src_.size() && is_name_char(src_[p])) ++p;
      tokens_.push_back({Token::Type::name, src_.substr(start, p - start), line_});
      advance_to(p);
    } else if (is_digit(c)) {
      lex_number();
    } else if (c == '\'' || c == '"') {
      lex_string();
    } else {
      for (const char* op : kOperators) {
        size_t len = std::strlen(op);
        if (src_.compare(pos_, len, op) != 0) continue;
        if (len == 1 && std::strchr("([{", op[0])) ++depth;
        if (len == 1 && std::strchr(")]}", op[0])) {
          if (--depth < 0) error(line_, fmt::format("unexpected '{}'", op));
        }
        tokens_.push_back({Token::Type::op, op, line_});
        advance_to(pos_ + len);
        return;
      }
      error(line_, fmt::format("unexpected character '{}' in tag", c));
    }
  }

  void lex_number() {
    size_t p = pos_;
    if (src_[p] == '0' && p + 1 < src_.size() && std::strchr("xXoObB", src_[p + 1]) && src_[p + 1] != '\0') {
      p += 2;  // 0x1F, 0o17, 0b101: the parser reads the base from the prefix
      while (p < src_.size() && (std::isxdigit((unsigned char)src_[p]) || src_[p] == '_')) ++p;
      std::string spelling = src_.substr(pos_, p - pos_);
      spelling.erase(std::remove(spelling.begin(), spelling.end(), '_'), spelling.end());
      tokens_.push_back({Token::Type::integer, spelling, line_});
      advance_to(p);
      return;
    }
    auto digits = [&] {
      while (p < src_.size() && (is_digit(src_[p]) || src_[p] == '_')) ++p;
    };
    digits();
    bool is_float = false;
    if (p + 1 < src_.size() && src_[p] == '.' && is_digit(src_[p + 1])) {
      is_float = true;
      ++p;
      digits();
    }
    if (p < src_.size() && (src_[p] == 'e' || src_[p] == 'E')) {
      size_t q = p + 1;
      if (q < src_.size() && (src_[q] == '+' || src_[q] == '-')) ++q;
      if (q < src_.size() && is_digit(src_[q])) {
        is_float = true;
        p = q;
        digits();
      }
    }
    std::string spelling = src_.substr(pos_, p - pos_);
    spelling.erase(std::remove(spelling.begin(), spelling.end(), '_'), spelling.end());
    tokens_.push_back({is_float ? Token::Type::floating : Token::Type::integer, spelling, line_});
    advance_to(p);
  }

  // Python string literal escapes.
  void lex_string() {
    char quote = src_[pos_];
    int start_line = line_;
    std::string value;
    size_t p = pos_ + 1;
    auto hex = [&](size_t count) {
      uint32_t cp = 0;
      for (size_t i = 0; i < count; ++i) {
        if (p >= src_.size() || !std::isxdigit((unsigned char)src_[p]))
          error(line_, "bad \\x/\\u escape in string");
        char h = src_[p++];
        cp = cp * 16 + uint32_t(is_digit(h) ? h - '0' : (std::tolower(h) - 'a' + 10));
      }
      return cp;
    };
    while (true) {
      if (p >= src_.size()) error(start_line, "unterminated string literal");
      char c = src_[p++];
      if (c == quote) break;
      if (c != '\\') {
        value += c;
        continue;
      }
      if (p >= src_.size()) error(start_line, "unterminated string literal");
      char e = src_[p++];
      switch (e) {
        case 'n':
          value += '\n';
          break;
        case 't':
          value += '\t';
          break;
        case 'r':
          value += '\r';
          break;
        case 'a':
          value += '\a';
          break;
        case 'b':
          value += '\b';
          break;
        case 'f':
          value += '\f';
          break;
        case 'v':
          value += '\v';
          break;
        case '\\':
          value += '\\';
          break;
        case '\'':
          value += '\'';
          break;
        case '"':
          value += '"';
          break;
        case '\n':
          break;
        case 'x':
          append_utf8(value, hex(2));
          break;
        case 'u':
          append_utf8(value, hex(4));
          break;
        case 'U':
          append_utf8(value, hex(8));
          break;
        default:
          if (e >= '0' && e <= '7') {
            uint32_t cp = uint32_t(e - '0');
            for (int i = 0; i < 2 && p < src_.size() && src_[p] >= '0' && src_[p] <= '7'; ++i)
              cp = cp * 8 + uint32_t(src_[p++] - '0');
            append_utf8(value, cp);
          } else {
            value += '\\';
            value += e;
          }
      }
    }
    tokens_.push_back({Token::Type::string, std::move(value), start_line});
    advance_to(p);
  }

  std::string src_;
  const std::string& name_;
  size_t pos_ = 0;
  int line_ = 1;
  bool strip_next_whitespace_ = false;
  bool trim_next_newline_ = false;
  std::vector<Token> tokens_;
};

std::string normalize_newlines(std::string_view source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out += source[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

}  // namespace

std::vector<Token> tokenize(std::string_view source, const std::string& name) {
  return Lexer(normalize_newlines(source), name).run();
}

}  // namespace s1::jinja
