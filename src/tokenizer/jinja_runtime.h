#pragma once
// What the Jinja evaluator delegates: operators, subscripts, iteration, and
// the built-in filters, tests, methods and global functions. Errors here carry
// no line number; the evaluator adds the template name and line.
#include <optional>
#include <string>
#include <string_view>

#include "tokenizer/jinja.h"
#include "tokenizer/jinja_value.h"

namespace s1::jinja {

// Per-render budgets shared by the evaluator and the builtins.
struct Runtime {
  RenderOptions options;
  int64_t steps = 0;
  int64_t iterations = 0;

  void count_step();
  void count_iterations(int64_t n);
  void check_length(size_t bytes) const;  // any built string stays under max_output_bytes
};

[[noreturn]] void fail_undefined(const Value& v);

// a <op> b for + - * / // % ** ~ and the comparisons == != < <= > >= in, not in.
Value binary_op(Runtime& rt, const std::string& op, const Value& a, const Value& b);
Value negate(const Value& v);
Value get_attr(const Value& object, const std::string& name);
Value get_item(const Value& object, const Value& key);
Value slice(const Value& object, const Value& start, const Value& stop, const Value& step);
// The items a for loop visits: list items, dict keys, string characters;
// undefined iterates as empty.
List iterate(const Value& v);

bool is_filter(std::string_view name);
bool is_test(std::string_view name);
Value apply_filter(Runtime& rt, const std::string& name, const Value& input, const CallArgs& args);
bool apply_test(Runtime& rt, const std::string& name, const Value& input, const CallArgs& args);
// Methods of strings, dicts and lists (`s.split(',')`); nullopt when `object`
// has no method `name`.
std::optional<Value> call_method(Runtime& rt, const Value& object, const std::string& name,
                                 const CallArgs& args);
// range, namespace, dict, raise_exception, strftime_now.
Dict make_globals(Runtime& rt);

}  // namespace s1::jinja
