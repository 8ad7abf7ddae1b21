#pragma once
// Values of the Jinja interpreter, with Python semantics where chat templates
// can observe them: lists and dicts are shared references (so `ns.x = ...` and
// `list.append` mutate in place), dicts keep insertion order, printing follows
// Python's str()/repr() (True, None, [1, 'a']), and `undefined` is distinct
// from none (it prints empty, is falsy, iterates as empty).
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace s1::jinja {

class Value;
using List = std::vector<Value>;

struct Dict {
  std::vector<std::pair<std::string, Value>> items;
  bool is_namespace = false;  // only namespace() objects accept `set ns.attr = ...`

  const Value* find(std::string_view key) const;
  void set(const std::string& key, Value value);
};

struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> named;
};

struct Callable {
  std::string name;
  std::function<Value(CallArgs&)> call;
};

struct Undefined {
  std::string name;  // what was looked up, for error messages
};

class Value {
 public:
  enum class Type { undefined, none, boolean, integer, floating, string, list, dict, callable };

  Value() : data_(Undefined{}) {}
  static Value undefined(std::string name = {}) { return Value(Undefined{std::move(name)}); }
  static Value none() { return Value(nullptr); }
  Value(bool b) : data_(b) {}
  Value(int v) : data_(int64_t(v)) {}
  Value(int64_t v) : data_(v) {}
  Value(double v) : data_(v) {}
  Value(std::string s) : data_(std::move(s)) {}
  Value(const char* s) : data_(std::string(s)) {}
  Value(List items) : data_(std::make_shared<List>(std::move(items))) {}
  // A Python tuple: a list that prints as (a, b).
  static Value tuple(List items) {
    Value v(std::move(items));
    v.tuple_ = true;
    return v;
  }
  Value(Dict dict) : data_(std::make_shared<Dict>(std::move(dict))) {}
  Value(std::shared_ptr<List> list) : data_(std::move(list)) {}
  Value(std::shared_ptr<Dict> dict) : data_(std::move(dict)) {}
  Value(std::shared_ptr<Callable> fn) : data_(std::move(fn)) {}

  Type type() const { return Type(data_.index()); }
  bool is_undefined() const { return type() == Type::undefined; }
  bool is_none() const { return type() == Type::none; }
  bool is_bool() const { return type() == Type::boolean; }
  bool is_int() const { return type() == Type::integer; }
  bool is_float() const { return type() == Type::floating; }
  bool is_number() const { return is_int() || is_float(); }  // bools are not numbers here
  bool is_string() const { return type() == Type::string; }
  bool is_list() const { return type() == Type::list; }
  bool is_dict() const { return type() == Type::dict; }
  bool is_callable() const { return type() == Type::callable; }
  bool is_tuple() const { return tuple_; }

  bool as_bool() const { return std::get<bool>(data_); }
  int64_t as_int() const { return std::get<int64_t>(data_); }
  double as_double() const { return is_int() ? double(as_int()) : std::get<double>(data_); }
  const std::string& as_string() const { return std::get<std::string>(data_); }
  List& list() const { return *std::get<std::shared_ptr<List>>(data_); }
  Dict& dict() const { return *std::get<std::shared_ptr<Dict>>(data_); }
  Callable& callable() const { return *std::get<std::shared_ptr<Callable>>(data_); }
  const std::string& undefined_name() const { return std::get<Undefined>(data_).name; }
  // Identity of a list or dict (for cycle checks); null for other types.
  const void* container_id() const;

  bool truthy() const;
  std::string type_name() const;  // Python-ish: 'str', 'dict', 'NoneType', ...

 private:
  explicit Value(Undefined u) : data_(std::move(u)) {}
  explicit Value(std::nullptr_t) : data_(nullptr) {}
  std::variant<Undefined, std::nullptr_t, bool, int64_t, double, std::string, std::shared_ptr<List>,
               std::shared_ptr<Dict>, std::shared_ptr<Callable>>
      data_;
  bool tuple_ = false;
};

// Nesting deeper than this in printing, JSON, equality and cycle checks is an
// error rather than a stack overflow.
constexpr int kMaxValueDepth = 128;

// Python str(): strings as-is, True/False/None, floats as repr, containers as repr.
std::string to_str(const Value& v);
// Python repr(): strings quoted.
std::string repr(const Value& v);
// Python repr() of a float ("1.0", "1e-05", "inf").
std::string format_python_float(double d);

// json.dumps(v, ensure_ascii=False, indent=indent, sort_keys=sort_keys) as
// transformers' tojson filter calls it: ", " and ": " separators without
// indent, "," and ": " with it (indent < 0 means none).
std::string to_json_text(const Value& v, int indent = -1, bool sort_keys = false);

Value from_json(const nlohmann::json& j);
Value from_json(const nlohmann::ordered_json& j);  // keeps the objects' key order

// Python ==, with ints and floats comparing by value; undefined equals undefined.
bool equals(const Value& a, const Value& b);
// Python <, for numbers and strings (and lists element-wise); s1::Error otherwise.
bool less_than(const Value& a, const Value& b);

// Whether `target` (a list or dict) can be reached from `v`: storing v inside
// target would make a reference cycle.
bool reaches(const Value& v, const void* target);

// UTF-8 helpers: strings index, slice and measure by code point, as in Python.
std::vector<std::string> code_points(const std::string& s);
size_t code_point_count(const std::string& s);

}  // namespace s1::jinja
