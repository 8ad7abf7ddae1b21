#pragma once
// The parsed form of a Jinja template: expression and statement trees, each
// node carrying its source line for error messages.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/jinja_value.h"

namespace s1::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    literal,  // value
    name,     // name
    list,     // args
    tuple,    // args
    dict,     // args: key0, value0, key1, value1, ...
    attr,     // args[0].name
    index,    // args[0][args[1]]
    slice,    // args[0][args[1]:args[2]:args[3]], any of 1..3 may be null
    call,     // args[0](args[1..], kwargs)
    filter,   // args[0] | name(args[1..], kwargs)
    test,     // args[0] is [not] name(args[1..])
    unary,    // name in {not, -, +} applied to args[0]
    binary,   // args[0] name args[1]; name in {and, or, +, -, *, /, //, %, **, ~}
    compare,  // args[0] ops[0] args[1] ops[1] args[2] ... (chained, as Python)
    ternary,  // args[1] if args[0] else args[2] (args[2] null: undefined)
  };
  Kind kind = Kind::literal;
  int line = 0;
  Value value;
  std::string name;
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  std::vector<std::string> ops;
  bool negated = false;
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct Stmt {
  enum class Kind {
    text,          // text
    output,        // {{ exprs[0] }}
    if_chain,      // exprs[i] guards bodies[i]; an extra last body is the else
    for_loop,      // for names in exprs[0] [if exprs[1]]: bodies[0], else bodies[1]
    set,           // names = exprs[0] (several names unpack)
    set_attr,      // names[0].text = exprs[0] (namespace attribute)
    set_block,     // names[0] = rendered bodies[0]
    macro,         // macro text(names with defaults exprs[i] or null): bodies[0]
    call_block,    // call(names) exprs[0]: bodies[0] becomes caller()
    filter_block,  // exprs[0] is a filter chain applied to rendered bodies[0]
    scope,         // bodies[0] rendered as is ({% generation %})
    loop_break,
    loop_continue,
    do_expr,  // exprs[0] evaluated, result dropped
  };
  Kind kind = Kind::text;
  int line = 0;
  std::string text;
  std::vector<std::string> names;
  std::vector<ExprPtr> exprs;
  std::vector<Body> bodies;
};

// Filter blocks render their body into this variable, which the filter chain reads.
inline constexpr const char* kFilterBlockInput = "\x01filter_input";

}  // namespace s1::jinja
