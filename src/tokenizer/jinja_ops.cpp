// Operators, subscripts and iteration with Python semantics.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>

#include "tokenizer/jinja_runtime.h"
#include "util/error.h"

namespace s1::jinja {

void Runtime::count_step() {
  if (++steps > options.limits.max_steps)
    fail("rendering took more than {} evaluation steps", options.limits.max_steps);
}

void Runtime::count_iterations(int64_t n) {
  if (n < 0 || n > options.limits.max_loop_iterations - iterations)
    fail("rendering ran more than {} loop iterations", options.limits.max_loop_iterations);
  iterations += n;
}

void Runtime::check_length(size_t bytes) const {
  if (bytes > options.limits.max_output_bytes)
    fail("a string of {} bytes exceeds the {}-byte output limit", bytes, options.limits.max_output_bytes);
}

void fail_undefined(const Value& v) {
  if (v.undefined_name().empty()) fail("value is undefined");
  fail("'{}' is undefined", v.undefined_name());
}

namespace {

[[noreturn]] void fail_operands(const std::string& op, const Value& a, const Value& b) {
  if (a.is_undefined()) fail_undefined(a);
  if (b.is_undefined()) fail_undefined(b);
  fail("unsupported operand types for {}: '{}' and '{}'", op, a.type_name(), b.type_name());
}

// Checked int64 arithmetic: Python ints do not overflow, ours fail loudly instead.
template <typename Op>
int64_t checked(Op op, int64_t a, int64_t b) {
  int64_t result;
  if (op(a, b, &result)) fail("integer overflow");
  return result;
}
bool add_overflows(int64_t a, int64_t b, int64_t* r) { return __builtin_add_overflow(a, b, r); }
bool sub_overflows(int64_t a, int64_t b, int64_t* r) { return __builtin_sub_overflow(a, b, r); }
bool mul_overflows(int64_t a, int64_t b, int64_t* r) { return __builtin_mul_overflow(a, b, r); }

int64_t floor_div(int64_t a, int64_t b) {
  if (b == 0) fail("integer division or modulo by zero");
  if (a == INT64_MIN && b == -1) fail("integer overflow");
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

int64_t python_mod(int64_t a, int64_t b) {
  if (b == 0) fail("integer division or modulo by zero");
  if (b == -1) return 0;
  int64_t r = a % b;
  if (r != 0 && ((r < 0) != (b < 0))) r += b;
  return r;
}

Value repeat(Runtime& rt, const Value& seq, const Value& count) {
  int64_t n = std::max<int64_t>(0, count.as_int());
  if (seq.is_string()) {
    const std::string& s = seq.as_string();
    if (!s.empty()) rt.check_length(uint64_t(n) > SIZE_MAX / s.size() ? SIZE_MAX : s.size() * size_t(n));
    std::string out;
    for (int64_t i = 0; i < n && !s.empty(); ++i) out += s;
    return Value(std::move(out));
  }
  const List& items = seq.list();
  if (!items.empty())
    rt.count_iterations(n > INT64_MAX / int64_t(items.size()) ? INT64_MAX : n * int64_t(items.size()));
  List out;
  for (int64_t i = 0; i < n; ++i) out.insert(out.end(), items.begin(), items.end());
  return Value(std::move(out));
}

bool contains(const Value& container, const Value& item) {
  if (container.is_string()) {
    if (!item.is_string())
      fail("'in <string>' requires a string as left operand, not '{}'", item.type_name());
    return container.as_string().find(item.as_string()) != std::string::npos;
  }
  if (container.is_list()) {
    for (const auto& v : container.list())
      if (equals(v, item)) return true;
    return false;
  }
  if (container.is_dict()) return item.is_string() && container.dict().find(item.as_string()) != nullptr;
  if (container.is_undefined()) return false;
  fail("argument of type '{}' is not iterable", container.type_name());
}

// Python's slice.indices: clamps start/stop for the step's direction.
void slice_bounds(int64_t size, const Value& start_v, const Value& stop_v, const Value& step_v,
                  int64_t& start, int64_t& stop, int64_t& step) {
  auto as_index = [](const Value& v, const char* what) -> std::optional<int64_t> {
    if (v.is_undefined() || v.is_none()) return std::nullopt;
    if (!v.is_int()) fail("slice {} must be an integer or none, not '{}'", what, v.type_name());
    return v.as_int();
  };
  step = as_index(step_v, "step").value_or(1);
  if (step == 0) fail("slice step cannot be zero");
  if (step == INT64_MIN) step = -INT64_MAX;
  auto clamp = [&](std::optional<int64_t> v, int64_t fallback) {
    if (!v) return fallback;
    int64_t i = *v;
    if (i < 0) {
      i = i < -size ? (step < 0 ? -1 : 0) : i + size;
    } else if (i >= size) {
      i = step < 0 ? size - 1 : size;
    }
    return i;
  };
  start = clamp(as_index(start_v, "start"), step < 0 ? size - 1 : 0);
  stop = clamp(as_index(stop_v, "stop"), step < 0 ? -1 : size);
}

// Python's printf-style `"%s: %d" % (a, b)`: flags, width and precision, with
// conversions s r d i f F x X e g %.
std::string percent_format(Runtime& rt, const std::string& format, const Value& operand) {
  List args = operand.is_tuple() ? operand.list() : List{operand};
  size_t next_arg = 0;
  std::string out;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') {
      out += format[i];
      continue;
    }
    size_t spec_start = ++i;
    while (i < format.size() && std::strchr("-+ 0#", format[i])) ++i;
    while (i < format.size() && (std::isdigit((unsigned char)format[i]) || format[i] == '.')) ++i;
    if (i >= format.size()) fail("incomplete format: '%' at the end of the string");
    if (i - spec_start > 8) fail("format spec too long");
    char conv = format[i];
    if (conv == '%') {
      out += '%';
      continue;
    }
    if (next_arg >= args.size()) fail("not enough arguments for format string");
    const Value& arg = args[next_arg++];
    std::string spec = "%" + format.substr(spec_start, i - spec_start);
    char buf[512];
    if (conv == 's' || conv == 'r') {
      std::string text = conv == 's' ? to_str(arg) : repr(arg);
      std::string sfmt = spec + "s";
      int n = std::snprintf(nullptr, 0, sfmt.c_str(), text.c_str());
      rt.check_length(out.size() + size_t(std::max(n, 0)));
      std::string formatted(size_t(std::max(n, 0)) + 1, '\0');
      std::snprintf(formatted.data(), formatted.size(), sfmt.c_str(), text.c_str());
      formatted.pop_back();
      out += formatted;
    } else if (std::strchr("dixX", conv)) {
      if (!arg.is_number() && !arg.is_bool())
        fail("%{} format: a number is required, not '{}'", conv, arg.type_name());
      long long v = arg.is_bool() ? arg.as_bool() : arg.is_int() ? arg.as_int() : (long long)arg.as_double();
      std::string ifmt = spec + "ll" + (conv == 'i' ? 'd' : conv);
      std::snprintf(buf, sizeof buf, ifmt.c_str(), v);
      out += buf;
    } else if (std::strchr("fFeEgG", conv)) {
      if (!arg.is_number() && !arg.is_bool())
        fail("%{} format: a number is required, not '{}'", conv, arg.type_name());
      double v = arg.is_bool() ? double(arg.as_bool()) : arg.as_double();
      std::string ffmt = spec + conv;
      std::snprintf(buf, sizeof buf, ffmt.c_str(), v);
      out += buf;
    } else {
      fail("unsupported format character '{}'", conv);
    }
    rt.check_length(out.size());
  }
  if (next_arg < args.size() && operand.is_tuple())
    fail("not all arguments converted during string formatting");
  return out;
}

}  // namespace

Value binary_op(Runtime& rt, const std::string& op, const Value& a, const Value& b) {
  if (op == "~") {
    std::string s = to_str(a);
    std::string t = to_str(b);
    rt.check_length(s.size() + t.size());
    return Value(s + t);
  }
  if (op == "==") return Value(equals(a, b));
  if (op == "!=") return Value(!equals(a, b));
  if (op == "<") return Value(less_than(a, b));
  if (op == ">") return Value(less_than(b, a));
  if (op == "<=") return Value(!less_than(b, a));
  if (op == ">=") return Value(!less_than(a, b));
  if (op == "in") return Value(contains(b, a));
  if (op == "not in") return Value(!contains(b, a));

  bool ints = a.is_int() && b.is_int();
  bool numbers = a.is_number() && b.is_number();
  if (op == "+") {
    if (ints) return Value(checked(add_overflows, a.as_int(), b.as_int()));
    if (numbers) return Value(a.as_double() + b.as_double());
    if (a.is_string() && b.is_string()) {
      rt.check_length(a.as_string().size() + b.as_string().size());
      return Value(a.as_string() + b.as_string());
    }
    if (a.is_list() && b.is_list()) {
      List out = a.list();
      out.insert(out.end(), b.list().begin(), b.list().end());
      return Value(std::move(out));
    }
  } else if (op == "-") {
    if (ints) return Value(checked(sub_overflows, a.as_int(), b.as_int()));
    if (numbers) return Value(a.as_double() - b.as_double());
  } else if (op == "*") {
    if (ints) return Value(checked(mul_overflows, a.as_int(), b.as_int()));
    if (numbers) return Value(a.as_double() * b.as_double());
    if ((a.is_string() || a.is_list()) && b.is_int()) return repeat(rt, a, b);
    if (a.is_int() && (b.is_string() || b.is_list())) return repeat(rt, b, a);
  } else if (op == "/") {
    if (numbers) {
      if (b.as_double() == 0.0) fail("division by zero");
      return Value(a.as_double() / b.as_double());
    }
  } else if (op == "//") {
    if (ints) return Value(floor_div(a.as_int(), b.as_int()));
    if (numbers) {
      if (b.as_double() == 0.0) fail("float floor division by zero");
      return Value(std::floor(a.as_double() / b.as_double()));
    }
  } else if (op == "%") {
    if (a.is_string()) return Value(percent_format(rt, a.as_string(), b));
    if (ints) return Value(python_mod(a.as_int(), b.as_int()));
    if (numbers) {
      double x = a.as_double(), y = b.as_double();
      if (y == 0.0) fail("float modulo by zero");
      double m = std::fmod(x, y);
      if (m != 0.0 && ((m < 0) != (y < 0))) m += y;
      return Value(m);
    }
  } else if (op == "**") {
    if (ints && b.as_int() >= 0) {
      int64_t result = 1, base = a.as_int();
      for (int64_t e = b.as_int(); e > 0; e >>= 1) {
        if (e & 1) result = checked(mul_overflows, result, base);
        if (e > 1) base = checked(mul_overflows, base, base);
      }
      return Value(result);
    }
    if (numbers) return Value(std::pow(a.as_double(), b.as_double()));
  }
  fail_operands(op, a, b);
}

Value negate(const Value& v) {
  if (v.is_int()) {
    if (v.as_int() == INT64_MIN) fail("integer overflow");
    return Value(-v.as_int());
  }
  if (v.is_float()) return Value(-v.as_double());
  if (v.is_undefined()) fail_undefined(v);
  fail("bad operand type for unary -: '{}'", v.type_name());
}

Value get_attr(const Value& object, const std::string& name) {
  if (object.is_undefined()) fail_undefined(object);
  if (object.is_dict()) {
    if (const Value* v = object.dict().find(name)) return *v;
  }
  return Value::undefined(name);
}

Value get_item(const Value& object, const Value& key) {
  if (object.is_undefined()) fail_undefined(object);
  if (object.is_dict()) {
    if (key.is_string()) return get_attr(object, key.as_string());
    return Value::undefined(to_str(key));
  }
  if ((object.is_list() || object.is_string()) && key.is_int()) {
    int64_t i = key.as_int();
    if (object.is_list()) {
      int64_t n = int64_t(object.list().size());
      if (i < 0) i += n;
      if (i < 0 || i >= n) return Value::undefined(fmt::format("[{}]", key.as_int()));
      return object.list()[size_t(i)];
    }
    auto chars = code_points(object.as_string());
    int64_t n = int64_t(chars.size());
    if (i < 0) i += n;
    if (i < 0 || i >= n) return Value::undefined(fmt::format("[{}]", key.as_int()));
    return Value(chars[size_t(i)]);
  }
  if (key.is_string()) return get_attr(object, key.as_string());
  return Value::undefined(to_str(key));
}

Value slice(const Value& object, const Value& start_v, const Value& stop_v, const Value& step_v) {
  if (object.is_undefined()) fail_undefined(object);
  if (!object.is_list() && !object.is_string()) fail("'{}' object is not subscriptable", object.type_name());
  std::vector<std::string> chars;
  if (object.is_string()) chars = code_points(object.as_string());
  int64_t size = object.is_list() ? int64_t(object.list().size()) : int64_t(chars.size());
  int64_t start, stop, step;
  slice_bounds(size, start_v, stop_v, step_v, start, stop, step);
  List items;
  std::string text;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
    if (object.is_list())
      items.push_back(object.list()[size_t(i)]);
    else
      text += chars[size_t(i)];
    if ((step > 0 && i > INT64_MAX - step) || (step < 0 && i < INT64_MIN - step)) break;
  }
  if (object.is_string()) return Value(std::move(text));
  return Value(std::move(items));
}

List iterate(const Value& v) {
  switch (v.type()) {
    case Value::Type::undefined:
      return {};
    case Value::Type::list:
      return v.list();
    case Value::Type::dict: {
      List keys;
      for (const auto& [k, item] : v.dict().items) keys.push_back(Value(k));
      return keys;
    }
    case Value::Type::string: {
      List chars;
      for (auto& c : code_points(v.as_string())) chars.push_back(Value(std::move(c)));
      return chars;
    }
    default:
      fail("'{}' object is not iterable", v.type_name());
  }
}

}  // namespace s1::jinja
