#pragma once
// Builds the statement tree of a Jinja template from its tokens. Nesting of
// blocks and expressions is capped so hostile input cannot overflow the stack.
#include <string>
#include <vector>

#include "tokenizer/jinja_ast.h"
#include "tokenizer/jinja_lexer.h"

namespace s1::jinja {

constexpr int kMaxBlockNesting = 64;
constexpr int kMaxExpressionNesting = 96;

// `name` prefixes error messages ("NAME:LINE: unknown tag 'foo'").
Body parse(const std::vector<Token>& tokens, const std::string& name);

}  // namespace s1::jinja
