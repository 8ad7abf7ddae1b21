#include "tokenizer/jinja_parser.h"

#include <algorithm>
#include <charconv>
#include <initializer_list>

#include "tokenizer/jinja_runtime.h"
#include "util/error.h"

namespace s1::jinja {
namespace {

using TT = Token::Type;

class Parser {
 public:
  Parser(const std::vector<Token>& tokens, const std::string& name) : tokens_(tokens), name_(name) {}

  Body parse_template() {
    std::string end;
    Body body = parse_body({}, end);
    return body;
  }

 private:
  // Counts nesting on the way down and back up, so recursion depth stays bounded.
  struct DepthGuard {
    DepthGuard(Parser& p, int& counter, int limit, const char* what) : counter_(counter) {
      if (++counter_ > limit) p.error(p.peek().line, fmt::format("{} nested deeper than {}", what, limit));
    }
    ~DepthGuard() { --counter_; }
    int& counter_;
  };

  [[noreturn]] void error(int line, const std::string& message) const {
    fail("{}:{}: {}", name_, line, message);
  }

  const Token& peek(size_t ahead = 0) const { return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)]; }
  const Token& next() {
    const Token& t = peek();
    if (pos_ < tokens_.size() - 1) ++pos_;
    return t;
  }
  bool at_op(const char* op, size_t ahead = 0) const {
    return peek(ahead).type == TT::op && peek(ahead).text == op;
  }
  bool at_name(const char* word, size_t ahead = 0) const {
    return peek(ahead).type == TT::name && peek(ahead).text == word;
  }
  bool skip_op(const char* op) {
    if (!at_op(op)) return false;
    next();
    return true;
  }
  bool skip_name(const char* word) {
    if (!at_name(word)) return false;
    next();
    return true;
  }
  static std::string describe(const Token& t) {
    switch (t.type) {
      case TT::end:
        return "end of template";
      case TT::block_end:
        return "'%}'";
      case TT::var_end:
        return "'}}'";
      case TT::text:
        return "text";
      case TT::string:
        return "string literal";
      default:
        return "'" + t.text + "'";
    }
  }
  void expect_op(const char* op) {
    if (!skip_op(op)) error(peek().line, fmt::format("expected '{}' but found {}", op, describe(peek())));
  }
  void expect_name_token(const char* word) {
    if (!skip_name(word))
      error(peek().line, fmt::format("expected '{}' but found {}", word, describe(peek())));
  }
  std::string expect_identifier() {
    if (peek().type != TT::name)
      error(peek().line, fmt::format("expected a name but found {}", describe(peek())));
    return next().text;
  }
  void expect_block_end() {
    if (peek().type != TT::block_end)
      error(peek().line, fmt::format("expected '%}}' but found {}", describe(peek())));
    next();
  }

  static ExprPtr make(Expr::Kind kind, int line, std::string name = {}) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->line = line;
    e->name = std::move(name);
    return e;
  }
  static ExprPtr make_binary(Expr::Kind kind, int line, std::string op, ExprPtr a, ExprPtr b) {
    auto e = make(kind, line, std::move(op));
    e->args.push_back(std::move(a));
    e->args.push_back(std::move(b));
    return e;
  }

  // Parses statements until a `{% <one of ends> ...` tag; consumes `{%` and the
  // keyword and stores it in `found`. With no ends, parses to the end of input.
  Body parse_body(std::initializer_list<const char*> ends, std::string& found, int open_line = 0,
                  const char* opener = nullptr) {
    DepthGuard guard(*this, block_depth_, kMaxBlockNesting, "blocks");
    Body body;
    while (true) {
      const Token& t = peek();
      if (t.type == TT::end) {
        if (ends.size() == 0) return body;
        error(open_line, fmt::format("'{}' block is never closed (expected '{}')", opener, *ends.begin()));
      }
      if (t.type == TT::text) {
        auto s = std::make_unique<Stmt>();
        s->kind = Stmt::Kind::text;
        s->line = t.line;
        s->text = next().text;
        body.push_back(std::move(s));
      } else if (t.type == TT::var_begin) {
        next();
        auto s = std::make_unique<Stmt>();
        s->kind = Stmt::Kind::output;
        s->line = t.line;
        s->exprs.push_back(parse_tuple(true));
        if (peek().type != TT::var_end)
          error(peek().line, fmt::format("expected '}}}}' but found {}", describe(peek())));
        next();
        body.push_back(std::move(s));
      } else if (t.type == TT::block_begin) {
        const Token& keyword = peek(1);
        if (keyword.type == TT::name &&
            std::any_of(ends.begin(), ends.end(), [&](const char* e) { return keyword.text == e; })) {
          next();
          found = next().text;
          return body;
        }
        next();
        body.push_back(parse_statement());
      } else {
        error(t.line, fmt::format("unexpected {}", describe(t)));
      }
    }
  }

  StmtPtr parse_statement() {
    const Token& keyword = peek();
    if (keyword.type != TT::name)
      error(keyword.line, fmt::format("expected a tag name but found {}", describe(keyword)));
    std::string word = next().text;
    auto s = std::make_unique<Stmt>();
    s->line = keyword.line;
    std::string end;
    if (word == "if") {
      s->kind = Stmt::Kind::if_chain;
      s->exprs.push_back(parse_tuple(true));
      expect_block_end();
      while (true) {
        s->bodies.push_back(parse_body({"elif", "else", "endif"}, end, s->line, "if"));
        if (end == "elif") {
          s->exprs.push_back(parse_tuple(true));
          expect_block_end();
          continue;
        }
        expect_block_end();
        if (end == "else") {
          s->bodies.push_back(parse_body({"endif"}, end, s->line, "if"));
          expect_block_end();
        }
        break;
      }
    } else if (word == "for") {
      s->kind = Stmt::Kind::for_loop;
      s->names = parse_target_names();
      expect_name_token("in");
      s->exprs.push_back(parse_tuple(false));
      s->exprs.push_back(skip_name("if") ? parse_expression(true) : nullptr);
      if (at_name("recursive")) error(peek().line, "recursive for loops are not supported");
      expect_block_end();
      ++loop_depth_;
      s->bodies.push_back(parse_body({"else", "endfor"}, end, s->line, "for"));
      --loop_depth_;
      expect_block_end();
      s->bodies.emplace_back();
      if (end == "else") {
        s->bodies.back() = parse_body({"endfor"}, end, s->line, "for");
        expect_block_end();
      }
    } else if (word == "set") {
      parse_set(*s);
    } else if (word == "macro") {
      s->kind = Stmt::Kind::macro;
      s->text = expect_identifier();
      parse_parameters(*s);
      expect_block_end();
      int saved_loop_depth = std::exchange(loop_depth_, 0);
      s->bodies.push_back(parse_body({"endmacro"}, end, s->line, "macro"));
      loop_depth_ = saved_loop_depth;
      expect_block_end();
    } else if (word == "call") {
      s->kind = Stmt::Kind::call_block;
      if (at_op("(")) parse_parameters(*s);
      ExprPtr call = parse_expression(true);
      if (call->kind != Expr::Kind::call) error(s->line, "'call' block needs a macro call");
      s->exprs.insert(s->exprs.begin(), std::move(call));
      expect_block_end();
      s->bodies.push_back(parse_body({"endcall"}, end, s->line, "call"));
      expect_block_end();
    } else if (word == "filter") {
      s->kind = Stmt::Kind::filter_block;
      ExprPtr chain = make(Expr::Kind::name, s->line, kFilterBlockInput);
      do chain = parse_filter(std::move(chain));
      while (skip_op("|"));
      s->exprs.push_back(std::move(chain));
      expect_block_end();
      s->bodies.push_back(parse_body({"endfilter"}, end, s->line, "filter"));
      expect_block_end();
    } else if (word == "generation") {
      s->kind = Stmt::Kind::scope;
      expect_block_end();
      s->bodies.push_back(parse_body({"endgeneration"}, end, s->line, "generation"));
      expect_block_end();
    } else if (word == "break" || word == "continue") {
      if (loop_depth_ == 0) error(s->line, fmt::format("'{}' outside of a for loop", word));
      s->kind = word == "break" ? Stmt::Kind::loop_break : Stmt::Kind::loop_continue;
      expect_block_end();
    } else if (word == "do") {
      s->kind = Stmt::Kind::do_expr;
      s->exprs.push_back(parse_tuple(true));
      expect_block_end();
    } else if (word.rfind("end", 0) == 0 || word == "elif" || word == "else") {
      error(s->line, fmt::format("unexpected '{}' (no open block it closes)", word));
    } else {
      error(s->line, fmt::format("unknown or unsupported tag '{}'", word));
    }
    return s;
  }

  std::vector<std::string> parse_target_names() {
    std::vector<std::string> names;
    bool parenthesized = skip_op("(");
    do names.push_back(expect_identifier());
    while (skip_op(","));
    if (parenthesized) expect_op(")");
    return names;
  }

  void parse_set(Stmt& s) {
    if (peek().type == TT::name && at_op(".", 1)) {
      s.kind = Stmt::Kind::set_attr;
      s.names.push_back(next().text);
      next();
      s.text = expect_identifier();
      expect_op("=");
      s.exprs.push_back(parse_tuple(true));
      expect_block_end();
      return;
    }
    s.names = parse_target_names();
    if (skip_op("=")) {
      s.kind = Stmt::Kind::set;
      s.exprs.push_back(parse_tuple(true));
      expect_block_end();
      return;
    }
    if (s.names.size() != 1) error(s.line, "a block 'set' assigns exactly one name");
    s.kind = Stmt::Kind::set_block;
    expect_block_end();
    std::string end;
    s.bodies.push_back(parse_body({"endset"}, end, s.line, "set"));
    expect_block_end();
  }

  // (a, b=default, ...) for macros and call blocks: names, with a default or null in exprs.
  void parse_parameters(Stmt& s) {
    expect_op("(");
    while (!at_op(")")) {
      s.names.push_back(expect_identifier());
      s.exprs.push_back(skip_op("=") ? parse_expression(true) : nullptr);
      if (!skip_op(",")) break;
    }
    expect_op(")");
  }

  // An expression, or several separated by commas (a tuple).
  ExprPtr parse_tuple(bool with_condition) {
    int line = peek().line;
    ExprPtr first = parse_expression(with_condition);
    if (!at_op(",")) return first;
    auto tuple = make(Expr::Kind::tuple, line);
    tuple->args.push_back(std::move(first));
    while (skip_op(",")) {
      if (peek().type == TT::block_end || peek().type == TT::var_end || at_op(")")) break;
      tuple->args.push_back(parse_expression(with_condition));
    }
    return tuple;
  }

  ExprPtr parse_expression(bool with_condition) {
    DepthGuard guard(*this, expr_depth_, kMaxExpressionNesting, "expressions");
    ExprPtr e = parse_or();
    if (!with_condition) return e;
    while (at_name("if")) {
      int line = next().line;
      auto ternary = make(Expr::Kind::ternary, line);
      ternary->args.push_back(parse_or());
      ternary->args.push_back(std::move(e));
      ternary->args.push_back(skip_name("else") ? parse_expression(true) : nullptr);
      e = std::move(ternary);
    }
    return e;
  }

  ExprPtr parse_or() {
    ExprPtr e = parse_and();
    while (at_name("or")) {
      int line = next().line;
      e = make_binary(Expr::Kind::binary, line, "or", std::move(e), parse_and());
    }
    return e;
  }

  ExprPtr parse_and() {
    ExprPtr e = parse_not();
    while (at_name("and")) {
      int line = next().line;
      e = make_binary(Expr::Kind::binary, line, "and", std::move(e), parse_not());
    }
    return e;
  }

  ExprPtr parse_not() {
    if (at_name("not")) {
      DepthGuard guard(*this, expr_depth_, kMaxExpressionNesting, "expressions");
      auto e = make(Expr::Kind::unary, next().line, "not");
      e->args.push_back(parse_not());
      return e;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    int line = peek().line;
    ExprPtr first = parse_math1();
    auto cmp = make(Expr::Kind::compare, line);
    cmp->args.push_back(std::move(first));
    while (true) {
      std::string op;
      const Token& t = peek();
      if (t.type == TT::op && (t.text == "==" || t.text == "!=" || t.text == "<" || t.text == "<=" ||
                               t.text == ">" || t.text == ">=")) {
        op = next().text;
      } else if (at_name("in")) {
        next();
        op = "in";
      } else if (at_name("not") && at_name("in", 1)) {
        next();
        next();
        op = "not in";
      } else {
        break;
      }
      cmp->ops.push_back(op);
      cmp->args.push_back(parse_math1());
    }
    if (cmp->ops.empty()) return std::move(cmp->args[0]);
    return cmp;
  }

  template <typename Next>
  ExprPtr parse_left_assoc(std::initializer_list<const char*> ops, Next next_level) {
    ExprPtr e = (this->*next_level)();
    while (true) {
      const char* matched = nullptr;
      for (const char* op : ops)
        if (at_op(op)) matched = op;
      if (!matched) return e;
      int line = next().line;
      e = make_binary(Expr::Kind::binary, line, matched, std::move(e), (this->*next_level)());
    }
  }
  ExprPtr parse_math1() { return parse_left_assoc({"+", "-"}, &Parser::parse_concat); }
  ExprPtr parse_concat() { return parse_left_assoc({"~"}, &Parser::parse_math2); }
  ExprPtr parse_math2() { return parse_left_assoc({"*", "/", "//", "%"}, &Parser::parse_pow); }
  ExprPtr parse_pow() { return parse_left_assoc({"**"}, &Parser::parse_unary_with_filters); }
  ExprPtr parse_unary_with_filters() { return parse_unary(true); }

  // As Jinja: `-x|f` applies f to -x; the operand of unary minus takes no filters.
  ExprPtr parse_unary(bool with_filter) {
    DepthGuard guard(*this, expr_depth_, kMaxExpressionNesting, "expressions");
    ExprPtr e;
    if (at_op("-") || at_op("+")) {
      const Token& t = next();
      e = make(Expr::Kind::unary, t.line, t.text);
      e->args.push_back(parse_unary(false));
    } else {
      e = parse_primary();
    }
    e = parse_postfix(std::move(e));
    if (with_filter) e = parse_filter_expr(std::move(e));
    return e;
  }

  ExprPtr parse_primary() {
    const Token& t = peek();
    int line = t.line;
    switch (t.type) {
      case TT::name: {
        std::string word = next().text;
        auto lit = make(Expr::Kind::literal, line);
        if (word == "true" || word == "True")
          lit->value = Value(true);
        else if (word == "false" || word == "False")
          lit->value = Value(false);
        else if (word == "none" || word == "None")
          lit->value = Value::none();
        else
          return make(Expr::Kind::name, line, word);
        return lit;
      }
      case TT::string: {
        std::string s = next().text;
        while (peek().type == TT::string) s += next().text;  // "a" "b" concatenates
        auto lit = make(Expr::Kind::literal, line);
        lit->value = Value(std::move(s));
        return lit;
      }
      case TT::integer: {
        std::string spelling = next().text;
        int base = 10;
        size_t skip = 0;
        if (spelling.size() > 1 && spelling[0] == '0' && std::isalpha((unsigned char)spelling[1])) {
          char prefix = char(std::tolower((unsigned char)spelling[1]));
          base = prefix == 'x' ? 16 : prefix == 'o' ? 8 : 2;
          skip = 2;
        }
        int64_t v = 0;
        auto res = std::from_chars(spelling.data() + skip, spelling.data() + spelling.size(), v, base);
        if (res.ec != std::errc() || res.ptr != spelling.data() + spelling.size() || spelling.size() == skip)
          error(line, fmt::format("integer literal '{}' is out of range", spelling));
        auto lit = make(Expr::Kind::literal, line);
        lit->value = Value(v);
        return lit;
      }
      case TT::floating: {
        auto lit = make(Expr::Kind::literal, line);
        lit->value = Value(std::strtod(next().text.c_str(), nullptr));
        return lit;
      }
      case TT::op:
        if (t.text == "(") {
          next();
          if (skip_op(")")) return make(Expr::Kind::tuple, line);
          ExprPtr e = parse_tuple(true);
          expect_op(")");
          return e;
        }
        if (t.text == "[") {
          next();
          auto list = make(Expr::Kind::list, line);
          while (!at_op("]")) {
            list->args.push_back(parse_expression(true));
            if (!skip_op(",")) break;
          }
          expect_op("]");
          return list;
        }
        if (t.text == "{") {
          next();
          auto dict = make(Expr::Kind::dict, line);
          while (!at_op("}")) {
            dict->args.push_back(parse_expression(true));
            expect_op(":");
            dict->args.push_back(parse_expression(true));
            if (!skip_op(",")) break;
          }
          expect_op("}");
          return dict;
        }
        break;
      default:
        break;
    }
    error(line, fmt::format("unexpected {} in expression", describe(t)));
  }

  ExprPtr parse_postfix(ExprPtr e) {
    while (true) {
      if (at_op(".")) {
        int line = next().line;
        if (peek().type == TT::integer) {
          auto index = make(Expr::Kind::index, line);
          index->args.push_back(std::move(e));
          auto key = make(Expr::Kind::literal, line);
          key->value = Value(int64_t(std::stoll(next().text)));
          index->args.push_back(std::move(key));
          e = std::move(index);
          continue;
        }
        auto attr = make(Expr::Kind::attr, line, expect_identifier());
        attr->args.push_back(std::move(e));
        e = std::move(attr);
      } else if (at_op("[")) {
        e = parse_subscript(std::move(e));
      } else if (at_op("(")) {
        e = parse_call(std::move(e));
      } else {
        return e;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr target) {
    int line = next().line;
    ExprPtr start = at_op(":") ? nullptr : parse_expression(true);
    if (skip_op("]")) {
      auto index = make(Expr::Kind::index, line);
      index->args.push_back(std::move(target));
      index->args.push_back(std::move(start));
      return index;
    }
    expect_op(":");
    auto slice = make(Expr::Kind::slice, line);
    slice->args.push_back(std::move(target));
    slice->args.push_back(std::move(start));
    slice->args.push_back(at_op(":") || at_op("]") ? nullptr : parse_expression(true));
    ExprPtr step;
    if (skip_op(":") && !at_op("]")) step = parse_expression(true);
    slice->args.push_back(std::move(step));
    expect_op("]");
    return slice;
  }

  // Fills e->args (after whatever it already holds) and e->kwargs from "(...)".
  void parse_call_arguments(Expr& e) {
    expect_op("(");
    while (!at_op(")")) {
      if (peek().type == TT::name && at_op("=", 1)) {
        std::string key = next().text;
        next();
        e.kwargs.emplace_back(std::move(key), parse_expression(true));
      } else {
        if (!e.kwargs.empty()) error(peek().line, "positional argument after keyword argument");
        e.args.push_back(parse_expression(true));
      }
      if (!skip_op(",")) break;
    }
    expect_op(")");
  }

  ExprPtr parse_call(ExprPtr callee) {
    auto call = make(Expr::Kind::call, peek().line);
    call->args.push_back(std::move(callee));
    parse_call_arguments(*call);
    return call;
  }

  ExprPtr parse_filter(ExprPtr input) {
    int line = peek().line;
    auto filter = make(Expr::Kind::filter, line, expect_identifier());
    if (!is_filter(filter->name)) error(line, fmt::format("unknown filter '{}'", filter->name));
    filter->args.push_back(std::move(input));
    if (at_op("(")) parse_call_arguments(*filter);
    return filter;
  }

  ExprPtr parse_filter_expr(ExprPtr e) {
    while (true) {
      if (skip_op("|")) {
        e = parse_filter(std::move(e));
      } else if (at_name("is")) {
        int line = next().line;
        auto test = make(Expr::Kind::test, line);
        test->negated = skip_name("not");
        test->name = expect_identifier();
        if (!is_test(test->name)) error(line, fmt::format("unknown test '{}'", test->name));
        test->args.push_back(std::move(e));
        const Token& t = peek();
        if (at_op("(")) {
          parse_call_arguments(*test);
        } else if ((t.type == TT::name || t.type == TT::string || t.type == TT::integer ||
                    t.type == TT::floating || at_op("[") || at_op("{")) &&
                   !at_name("else") && !at_name("or") && !at_name("and") && !at_name("if")) {
          test->args.push_back(parse_postfix(parse_primary()));
        }
        e = std::move(test);
      } else if (at_op("(")) {
        e = parse_call(std::move(e));
      } else {
        return e;
      }
    }
  }

  const std::vector<Token>& tokens_;
  const std::string& name_;
  size_t pos_ = 0;
  int block_depth_ = 0;
  int expr_depth_ = 0;
  int loop_depth_ = 0;
};

}  // namespace

Body parse(const std::vector<Token>& tokens, const std::string& name) {
  return Parser(tokens, name).parse_template();
}

}  // namespace s1::jinja
