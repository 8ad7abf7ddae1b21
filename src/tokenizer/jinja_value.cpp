#include "tokenizer/jinja_value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "util/error.h"

namespace s1::jinja {

const Value* Dict::find(std::string_view key) const {
  for (const auto& [k, v] : items)
    if (k == key) return &v;
  return nullptr;
}

void Dict::set(const std::string& key, Value value) {
  for (auto& [k, v] : items) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  items.emplace_back(key, std::move(value));
}

const void* Value::container_id() const {
  if (is_list()) return std::get<std::shared_ptr<List>>(data_).get();
  if (is_dict()) return std::get<std::shared_ptr<Dict>>(data_).get();
  return nullptr;
}

bool Value::truthy() const {
  switch (type()) {
    case Type::undefined:
    case Type::none:
      return false;
    case Type::boolean:
      return as_bool();
    case Type::integer:
      return as_int() != 0;
    case Type::floating:
      return as_double() != 0.0;
    case Type::string:
      return !as_string().empty();
    case Type::list:
      return !list().empty();
    case Type::dict:
      return !dict().items.empty();
    case Type::callable:
      return true;
  }
  return false;
}

std::string Value::type_name() const {
  switch (type()) {
    case Type::undefined:
      return "undefined";
    case Type::none:
      return "NoneType";
    case Type::boolean:
      return "bool";
    case Type::integer:
      return "int";
    case Type::floating:
      return "float";
    case Type::string:
      return "str";
    case Type::list:
      return "list";
    case Type::dict:
      return dict().is_namespace ? "Namespace" : "dict";
    case Type::callable:
      return "function";
  }
  return "?";
}

std::string format_python_float(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, res.ptr);  // "-1.2345e+02": shortest round-trip digits
  bool negative = sci[0] == '-';
  if (negative) sci.erase(0, 1);
  size_t e_pos = sci.find('e');
  std::string digits = sci.substr(0, e_pos);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  int exponent = std::stoi(sci.substr(e_pos + 1));
  std::string out = negative ? "-" : "";
  if (exponent < -4 || exponent >= 16) {
    out += digits[0];
    if (digits.size() > 1) out += "." + digits.substr(1);
    char exp_buf[16];
    std::snprintf(exp_buf, sizeof exp_buf, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
    return out + exp_buf;
  }
  if (exponent < 0) return out + "0." + std::string(size_t(-exponent - 1), '0') + digits;
  size_t int_len = size_t(exponent) + 1;
  if (digits.size() <= int_len) return out + digits + std::string(int_len - digits.size(), '0') + ".0";
  return out + digits.substr(0, int_len) + "." + digits.substr(int_len);
}

namespace {

void check_depth(int depth) {
  if (depth > kMaxValueDepth)
    fail("value nesting deeper than {} (a list or dict that contains itself?)", kMaxValueDepth);
}

std::string python_quote(const std::string& s) {
  bool has_single = s.find('\'') != std::string::npos;
  bool has_double = s.find('"') != std::string::npos;
  char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  for (unsigned char c : s) {
    if (c == '\\')
      out += "\\\\";
    else if (c == quote)
      out += std::string("\\") + char(c);
    else if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else if (c == '\t')
      out += "\\t";
    else if (c < 0x20 || c == 0x7f)
      out += fmt::format("\\x{:02x}", c);
    else
      out += char(c);
  }
  return out + quote;
}

void append_repr(std::string& out, const Value& v, int depth) {
  check_depth(depth);
  switch (v.type()) {
    case Value::Type::string:
      out += python_quote(v.as_string());
      return;
    case Value::Type::list: {
      out += v.is_tuple() ? '(' : '[';
      bool first = true;
      for (const auto& item : v.list()) {
        if (!first) out += ", ";
        first = false;
        append_repr(out, item, depth + 1);
      }
      if (v.is_tuple() && v.list().size() == 1) out += ',';
      out += v.is_tuple() ? ')' : ']';
      return;
    }
    case Value::Type::dict: {
      if (v.dict().is_namespace) out += "<Namespace ";
      out += '{';
      bool first = true;
      for (const auto& [k, item] : v.dict().items) {
        if (!first) out += ", ";
        first = false;
        out += python_quote(k) + ": ";
        append_repr(out, item, depth + 1);
      }
      out += '}';
      if (v.dict().is_namespace) out += '>';
      return;
    }
    default:
      out += to_str(v);
  }
}

void append_json_string(std::string& out, const std::string& s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20)
          out += fmt::format("\\u{:04x}", c);
        else
          out += char(c);
    }
  }
  out += '"';
}

void append_json(std::string& out, const Value& v, int indent, bool sort_keys, int depth) {
  check_depth(depth);
  auto newline = [&](int level) {
    if (indent >= 0) out += '\n' + std::string(size_t(indent) * size_t(level), ' ');
  };
  const char* item_sep = indent >= 0 ? "," : ", ";
  switch (v.type()) {
    case Value::Type::undefined:
      fail("tojson: cannot serialize an undefined value ('{}')", v.undefined_name());
    case Value::Type::none:
      out += "null";
      return;
    case Value::Type::boolean:
      out += v.as_bool() ? "true" : "false";
      return;
    case Value::Type::integer:
      out += std::to_string(v.as_int());
      return;
    case Value::Type::floating: {
      double d = v.as_double();
      if (std::isnan(d))
        out += "NaN";
      else if (std::isinf(d))
        out += d < 0 ? "-Infinity" : "Infinity";
      else
        out += format_python_float(d);
      return;
    }
    case Value::Type::string:
      append_json_string(out, v.as_string());
      return;
    case Value::Type::list: {
      const List& items = v.list();
      if (items.empty()) {
        out += "[]";
        return;
      }
      out += '[';
      for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += item_sep;
        newline(depth + 1);
        append_json(out, items[i], indent, sort_keys, depth + 1);
      }
      newline(depth);
      out += ']';
      return;
    }
    case Value::Type::dict: {
      std::vector<const std::pair<std::string, Value>*> entries;
      for (const auto& entry : v.dict().items) entries.push_back(&entry);
      if (entries.empty()) {
        out += "{}";
        return;
      }
      if (sort_keys)
        std::stable_sort(entries.begin(), entries.end(),
                         [](auto* a, auto* b) { return a->first < b->first; });
      out += '{';
      for (size_t i = 0; i < entries.size(); ++i) {
        if (i) out += item_sep;
        newline(depth + 1);
        append_json_string(out, entries[i]->first);
        out += ": ";
        append_json(out, entries[i]->second, indent, sort_keys, depth + 1);
      }
      newline(depth);
      out += '}';
      return;
    }
    case Value::Type::callable:
      fail("tojson: cannot serialize function '{}'", v.callable().name);
  }
}

bool equals_at(const Value& a, const Value& b, int depth) {
  check_depth(depth);
  if (a.is_number() && b.is_number()) {
    if (a.is_int() && b.is_int()) return a.as_int() == b.as_int();
    return a.as_double() == b.as_double();
  }
  // Python: True == 1; keep that for bool/int mixes.
  if ((a.is_bool() && b.is_number()) || (a.is_number() && b.is_bool())) {
    double x = a.is_bool() ? double(a.as_bool()) : a.as_double();
    double y = b.is_bool() ? double(b.as_bool()) : b.as_double();
    return x == y;
  }
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case Value::Type::undefined:
    case Value::Type::none:
      return true;
    case Value::Type::boolean:
      return a.as_bool() == b.as_bool();
    case Value::Type::string:
      return a.as_string() == b.as_string();
    case Value::Type::list: {
      const List &x = a.list(), &y = b.list();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i)
        if (!equals_at(x[i], y[i], depth + 1)) return false;
      return true;
    }
    case Value::Type::dict: {
      const Dict &x = a.dict(), &y = b.dict();
      if (x.items.size() != y.items.size()) return false;
      for (const auto& [k, v] : x.items) {
        const Value* other = y.find(k);
        if (!other || !equals_at(v, *other, depth + 1)) return false;
      }
      return true;
    }
    case Value::Type::callable:
      return &a.callable() == &b.callable();
    default:
      return false;
  }
}

bool reaches_at(const Value& v, const void* target, int depth) {
  check_depth(depth);
  if (v.container_id() == target) return true;
  if (v.is_list()) {
    for (const auto& item : v.list())
      if (reaches_at(item, target, depth + 1)) return true;
  } else if (v.is_dict()) {
    for (const auto& [k, item] : v.dict().items)
      if (reaches_at(item, target, depth + 1)) return true;
  }
  return false;
}

}  // namespace

std::string to_str(const Value& v) {
  switch (v.type()) {
    case Value::Type::undefined:
      return "";
    case Value::Type::none:
      return "None";
    case Value::Type::boolean:
      return v.as_bool() ? "True" : "False";
    case Value::Type::integer:
      return std::to_string(v.as_int());
    case Value::Type::floating:
      return format_python_float(v.as_double());
    case Value::Type::string:
      return v.as_string();
    case Value::Type::callable:
      return "<function " + v.callable().name + ">";
    default: {
      std::string out;
      append_repr(out, v, 0);
      return out;
    }
  }
}

std::string repr(const Value& v) {
  std::string out;
  append_repr(out, v, 0);
  return out;
}

std::string to_json_text(const Value& v, int indent, bool sort_keys) {
  std::string out;
  append_json(out, v, indent, sort_keys, 0);
  return out;
}

namespace {

// Either JSON flavour: objects keep their own key order (sorted in nlohmann::json,
// as written in ordered_json).
template <typename Json>
Value value_of(const Json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null:
      return Value::none();
    case nlohmann::json::value_t::boolean:
      return Value(j.template get<bool>());
    case nlohmann::json::value_t::number_integer:
      return Value(j.template get<int64_t>());
    case nlohmann::json::value_t::number_unsigned: {
      uint64_t u = j.template get<uint64_t>();
      if (u > uint64_t(INT64_MAX)) return Value(double(u));
      return Value(int64_t(u));
    }
    case nlohmann::json::value_t::number_float:
      return Value(j.template get<double>());
    case nlohmann::json::value_t::string:
      return Value(j.template get<std::string>());
    case nlohmann::json::value_t::array: {
      List items;
      for (const auto& item : j) items.push_back(value_of(item));
      return Value(std::move(items));
    }
    case nlohmann::json::value_t::object: {
      Dict dict;
      for (auto it = j.begin(); it != j.end(); ++it) dict.set(it.key(), value_of(it.value()));
      return Value(std::move(dict));
    }
    default:
      return Value::none();
  }
}

}  // namespace

Value from_json(const nlohmann::json& j) { return value_of(j); }
Value from_json(const nlohmann::ordered_json& j) { return value_of(j); }

bool equals(const Value& a, const Value& b) { return equals_at(a, b, 0); }

bool less_than(const Value& a, const Value& b) {
  if ((a.is_number() || a.is_bool()) && (b.is_number() || b.is_bool())) {
    auto num = [](const Value& v) { return v.is_bool() ? double(v.as_bool()) : v.as_double(); };
    if (a.is_int() && b.is_int()) return a.as_int() < b.as_int();
    return num(a) < num(b);
  }
  if (a.is_string() && b.is_string()) return a.as_string() < b.as_string();
  if (a.is_list() && b.is_list()) {
    const List &x = a.list(), &y = b.list();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (less_than(x[i], y[i])) return true;
      if (less_than(y[i], x[i])) return false;
    }
    return x.size() < y.size();
  }
  fail("cannot compare '{}' with '{}'", a.type_name(), b.type_name());
}

bool reaches(const Value& v, const void* target) { return target && reaches_at(v, target, 0); }

std::vector<std::string> code_points(const std::string& s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = s[i];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    len = std::min(len, s.size() - i);
    out.push_back(s.substr(i, len));
    i += len;
  }
  return out;
}

size_t code_point_count(const std::string& s) { return code_points(s).size(); }

}  // namespace s1::jinja
