// Built-in filters, tests, methods and globals of the Jinja interpreter.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <ctime>
#include <map>
#include <set>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tokenizer/jinja_runtime.h"
#include "tokenizer/jinja_value.h"
#include "util/error.h"

namespace s1::jinja {
namespace {

// Positional-or-keyword argument access, as Python binds them.
class Args {
 public:
  Args(const CallArgs& args, const std::string& fn) : args_(args), fn_(fn) {}

  const Value* find(size_t position, const char* name) const {
    if (position < args_.positional.size()) return &args_.positional[position];
    return find_named(name);
  }
  const Value* find_named(const char* name) const {
    for (const auto& [k, v] : args_.named)
      if (k == name) return &v;
    return nullptr;
  }
  Value get(size_t position, const char* name, Value fallback = Value::none()) const {
    const Value* v = find(position, name);
    return v ? *v : fallback;
  }
  const Value& require(size_t position, const char* name) const {
    const Value* v = find(position, name);
    if (!v) fail("{}() is missing argument '{}'", fn_, name);
    return *v;
  }
  std::string string(size_t position, const char* name) const {
    const Value& v = require(position, name);
    if (!v.is_string()) fail("{}(): argument '{}' must be a string, not '{}'", fn_, name, v.type_name());
    return v.as_string();
  }
  int64_t integer(size_t position, const char* name, int64_t fallback) const {
    const Value* v = find(position, name);
    if (!v || v->is_none()) return fallback;
    if (!v->is_int()) fail("{}(): argument '{}' must be an integer, not '{}'", fn_, name, v->type_name());
    return v->as_int();
  }
  bool flag(size_t position, const char* name) const { return get(position, name, Value(false)).truthy(); }
  // Positional arguments from `first` on, as a fresh CallArgs (named ones kept).
  CallArgs rest(size_t first) const {
    CallArgs out;
    for (size_t i = first; i < args_.positional.size(); ++i) out.positional.push_back(args_.positional[i]);
    out.named = args_.named;
    return out;
  }
  size_t positional_count() const { return args_.positional.size(); }

 private:
  const CallArgs& args_;
  const std::string& fn_;
};

constexpr const char* kWhitespace = " \t\n\r\f\v";

std::string text_of(const Value& v) { return v.is_undefined() ? std::string() : to_str(v); }

std::string ascii_map(std::string s, int (*fn)(int)) {
  for (auto& c : s)
    if ((unsigned char)c < 0x80) c = char(fn((unsigned char)c));
  return s;
}

std::string capitalize(const std::string& s) {
  std::string out = ascii_map(s, ::tolower);
  if (!out.empty() && (unsigned char)out[0] < 0x80) out[0] = char(std::toupper((unsigned char)out[0]));
  return out;
}

// Python str.title(): a letter after a non-letter starts a word.
std::string title(const std::string& s) {
  std::string out = s;
  bool in_word = false;
  for (auto& c : out) {
    unsigned char u = (unsigned char)c;
    bool letter = std::isalpha(u) || u >= 0x80;
    if (u < 0x80 && std::isalpha(u)) c = char(in_word ? std::tolower(u) : std::toupper(u));
    in_word = letter;
  }
  return out;
}

// Python str.strip/lstrip/rstrip: `chars` none means whitespace.
std::string strip(const std::string& s, const Value& chars, bool left, bool right) {
  std::vector<std::string> set;
  if (chars.is_none() || chars.is_undefined()) {
    for (const char* c = kWhitespace; *c; ++c) set.emplace_back(1, *c);
  } else if (chars.is_string()) {
    set = code_points(chars.as_string());
  } else {
    fail("strip(): chars must be a string or none, not '{}'", chars.type_name());
  }
  auto cps = code_points(s);
  auto in_set = [&](const std::string& c) { return std::find(set.begin(), set.end(), c) != set.end(); };
  size_t begin = 0, end = cps.size();
  if (left)
    while (begin < end && in_set(cps[begin])) ++begin;
  if (right)
    while (end > begin && in_set(cps[end - 1])) --end;
  std::string out;
  for (size_t i = begin; i < end; ++i) out += cps[i];
  return out;
}

List split(const std::string& s, const Value& sep, int64_t max_split) {
  List parts;
  if (sep.is_none() || sep.is_undefined()) {
    size_t i = 0;
    while (true) {
      i = s.find_first_not_of(kWhitespace, i);
      if (i == std::string::npos) break;
      if (max_split >= 0 && int64_t(parts.size()) == max_split) {
        size_t end = s.find_last_not_of(kWhitespace);
        parts.push_back(Value(s.substr(i, end + 1 - i)));
        break;
      }
      size_t j = s.find_first_of(kWhitespace, i);
      parts.push_back(Value(s.substr(i, j == std::string::npos ? std::string::npos : j - i)));
      if (j == std::string::npos) break;
      i = j;
    }
    return parts;
  }
  if (!sep.is_string()) fail("split(): separator must be a string or none, not '{}'", sep.type_name());
  const std::string& d = sep.as_string();
  if (d.empty()) fail("split(): empty separator");
  size_t start = 0;
  while (true) {
    size_t at = s.find(d, start);
    if (at == std::string::npos || (max_split >= 0 && int64_t(parts.size()) == max_split)) {
      parts.push_back(Value(s.substr(start)));
      return parts;
    }
    parts.push_back(Value(s.substr(start, at - start)));
    start = at + d.size();
  }
}

std::string replace(Runtime& rt, const std::string& s, const std::string& from, const std::string& to,
                    int64_t count) {
  std::string out;
  size_t start = 0;
  int64_t done = 0;
  if (from.empty()) {  // Python inserts `to` around every character
    auto cps = code_points(s);
    rt.check_length(s.size() + to.size() * (cps.size() + 1));
    for (const auto& c : cps) {
      if (count < 0 || done++ < count) out += to;
      out += c;
    }
    if (count < 0 || done < count) out += to;
    return out;
  }
  while (count < 0 || done < count) {
    size_t at = s.find(from, start);
    if (at == std::string::npos) break;
    out.append(s, start, at - start);
    out += to;
    rt.check_length(out.size());
    start = at + from.size();
    ++done;
  }
  out.append(s, start);
  rt.check_length(out.size());
  return out;
}

bool affix_matches(const std::string& s, const Value& affix, bool prefix) {
  auto one = [&](const Value& a) {
    if (!a.is_string())
      fail("{}(): argument must be a string or a list of strings", prefix ? "startswith" : "endswith");
    const std::string& x = a.as_string();
    if (x.size() > s.size()) return false;
    return prefix ? s.compare(0, x.size(), x) == 0 : s.compare(s.size() - x.size(), x.size(), x) == 0;
  };
  if (affix.is_list()) return std::any_of(affix.list().begin(), affix.list().end(), one);
  return one(affix);
}

std::string join(Runtime& rt, const List& items, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += sep;
    out += text_of(items[i]);
    rt.check_length(out.size());
  }
  return out;
}

// str.format with {}, {0} and {name} fields (no format specs).
std::string python_format(Runtime& rt, const std::string& fmt_string, const CallArgs& args) {
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < fmt_string.size(); ++i) {
    char c = fmt_string[i];
    if (c == '}') {
      if (i + 1 < fmt_string.size() && fmt_string[i + 1] == '}') ++i;
      out += '}';
      continue;
    }
    if (c != '{') {
      out += c;
      continue;
    }
    if (i + 1 < fmt_string.size() && fmt_string[i + 1] == '{') {
      out += '{';
      ++i;
      continue;
    }
    size_t close = fmt_string.find('}', i);
    if (close == std::string::npos) fail("format(): unmatched '{{' in format string");
    std::string field = fmt_string.substr(i + 1, close - i - 1);
    if (field.find_first_of(":!") != std::string::npos) fail("format(): format specs are not supported");
    const Value* v = nullptr;
    if (field.empty() || std::all_of(field.begin(), field.end(), ::isdigit)) {
      size_t index = field.empty() ? auto_index++ : std::stoul(field.substr(0, 9));
      if (index >= args.positional.size()) fail("format(): replacement index {} out of range", index);
      v = &args.positional[index];
    } else {
      for (const auto& [k, val] : args.named)
        if (k == field) v = &val;
      if (!v) fail("format(): no argument named '{}'", field);
    }
    out += text_of(*v);
    rt.check_length(out.size());
    i = close;
  }
  return out;
}

// The value at a dotted attribute path ("user.name", "0"), as Jinja's attribute= does.
Value attribute_path(const Value& item, const std::string& path) {
  Value v = item;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    bool numeric = !part.empty() && part.size() < 18 && std::all_of(part.begin(), part.end(), ::isdigit);
    v = numeric && v.is_list() ? get_item(v, Value(int64_t(std::stoll(part)))) : get_item(v, Value(part));
    if (dot == std::string::npos || v.is_undefined()) return v;
    start = dot + 1;
  }
}

// Sorting and uniqueness need a consistent order: only numbers (and bools) or
// only strings, never mixed.
void require_sortable(const List& items, const char* fn) {
  bool numbers = false, strings = false;
  for (const auto& v : items) {
    if (v.is_number() || v.is_bool())
      numbers = true;
    else if (v.is_string())
      strings = true;
    else
      fail("{}(): cannot order values of type '{}'", fn, v.type_name());
  }
  if (numbers && strings) fail("{}(): cannot order strings together with numbers", fn);
}

bool total_less(const Value& a, const Value& b, bool case_sensitive) {
  if (a.is_string()) {
    if (case_sensitive) return a.as_string() < b.as_string();
    return ascii_map(a.as_string(), ::tolower) < ascii_map(b.as_string(), ::tolower);
  }
  auto num = [](const Value& v) { return v.is_bool() ? double(v.as_bool()) : v.as_double(); };
  double x = num(a), y = num(b);
  if (std::isnan(x) || std::isnan(y)) return !std::isnan(x) && std::isnan(y);
  if (a.is_int() && b.is_int()) return a.as_int() < b.as_int();
  return x < y;
}

List sorted(List items, bool reverse, bool case_sensitive, const Value& attribute) {
  std::vector<std::pair<Value, Value>> keyed;
  for (auto& item : items) {
    Value key = attribute.is_string() ? attribute_path(item, attribute.as_string()) : item;
    keyed.emplace_back(std::move(key), std::move(item));
  }
  List keys;
  for (const auto& [k, v] : keyed) keys.push_back(k);
  require_sortable(keys, "sort");
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& x, const auto& y) {
    return reverse ? total_less(y.first, x.first, case_sensitive)
                   : total_less(x.first, y.first, case_sensitive);
  });
  List out;
  for (auto& [k, v] : keyed) out.push_back(std::move(v));
  return out;
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

Value to_int(const Value& v, const Value& fallback, int64_t base) {
  if (v.is_int()) return v;
  if (v.is_bool()) return Value(int64_t(v.as_bool()));
  if (v.is_float()) {
    double d = v.as_double();
    if (!std::isfinite(d) || std::fabs(d) >= 9.2e18) return fallback;
    return Value(int64_t(d));
  }
  if (!v.is_string()) return fallback;
  std::string s = strip(v.as_string(), Value::none(), true, true);
  s.erase(std::remove(s.begin(), s.end(), '_'), s.end());
  if (s.empty()) return fallback;
  if (base < 2 || base > 36) fail("int(): base must be between 2 and 36");
  errno = 0;
  char* end = nullptr;
  long long parsed = std::strtoll(s.c_str(), &end, int(base));
  if (errno == 0 && end && *end == '\0') return Value(int64_t(parsed));
  double d = std::strtod(s.c_str(), &end);
  if (end && *end == '\0') return to_int(Value(d), fallback, 10);
  return fallback;
}

Value to_float(const Value& v, const Value& fallback) {
  if (v.is_number()) return Value(v.as_double());
  if (v.is_bool()) return Value(double(v.as_bool()));
  if (!v.is_string()) return fallback;
  std::string s = strip(v.as_string(), Value::none(), true, true);
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  if (s.empty() || !end || *end != '\0') return fallback;
  return Value(d);
}

std::string indent(const std::string& s, const Value& width, bool first, bool blank) {
  std::string pad =
      width.is_string()
          ? width.as_string()
          : std::string(size_t(std::clamp<int64_t>(width.is_int() ? width.as_int() : 4, 0, 256)), ' ');
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < s.size()) {
    size_t nl = s.find('\n', start);
    if (nl == std::string::npos) nl = s.size();
    lines.push_back(s.substr(start, nl - start));
    start = nl + 1;
  }
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i) out += '\n';
    bool indented = (i > 0 || first) && (blank || !lines[i].empty());
    out += (indented ? pad : "") + lines[i];
  }
  if (lines.empty() && first) out = pad;
  return out;
}

Value select_items(Runtime& rt, const Value& input, const Args& a, bool by_attribute, bool keep_matching) {
  List out;
  size_t test_pos = by_attribute ? 1 : 0;
  std::string attribute = by_attribute ? a.string(0, "attribute") : "";
  const Value* test = a.find(test_pos, "test");
  CallArgs test_args = a.rest(test_pos + 1);
  test_args.named.clear();
  for (const auto& item : iterate(input)) {
    Value subject = by_attribute ? attribute_path(item, attribute) : item;
    bool passes = test ? apply_test(rt, text_of(*test), subject, test_args) : subject.truthy();
    if (passes == keep_matching) out.push_back(item);
  }
  return Value(std::move(out));
}

Value map_items(Runtime& rt, const Value& input, const Args& a, const CallArgs& raw) {
  List out;
  for (const auto& [k, v] : raw.named) {
    if (k != "attribute" && k != "default") fail("map(): unexpected argument '{}'", k);
  }
  const Value* attribute = nullptr;
  Value fallback = Value::undefined();
  for (const auto& [k, v] : raw.named) {
    if (k == "attribute") attribute = &v;
    if (k == "default") fallback = v;
  }
  if (attribute) {
    std::string path = text_of(*attribute);
    for (const auto& item : iterate(input)) {
      Value v = attribute_path(item, path);
      out.push_back(v.is_undefined() ? fallback : v);
    }
    return Value(std::move(out));
  }
  std::string filter = a.string(0, "filter");
  CallArgs filter_args = a.rest(1);
  for (const auto& item : iterate(input)) out.push_back(apply_filter(rt, filter, item, filter_args));
  return Value(std::move(out));
}

Value length_of(const Value& v) {
  switch (v.type()) {
    case Value::Type::undefined:
      return Value(int64_t(0));
    case Value::Type::string:
      return Value(int64_t(code_point_count(v.as_string())));
    case Value::Type::list:
      return Value(int64_t(v.list().size()));
    case Value::Type::dict:
      return Value(int64_t(v.dict().items.size()));
    default:
      fail("object of type '{}' has no len()", v.type_name());
  }
}

Value items_of(const Value& v) {
  if (v.is_undefined()) return Value(List{});
  if (!v.is_dict()) fail("items(): expected a mapping, not '{}'", v.type_name());
  List out;
  for (const auto& [k, item] : v.dict().items) out.push_back(Value::tuple(List{Value(k), item}));
  return Value(std::move(out));
}

Value reduce_extreme(const Value& input, const Args& a, bool want_max) {
  List items = iterate(input);
  Value attribute = a.get(1, "attribute");
  List keys;
  for (const auto& item : items)
    keys.push_back(attribute.is_string() ? attribute_path(item, attribute.as_string()) : item);
  if (items.empty()) return Value::undefined("min/max of an empty sequence");
  require_sortable(keys, want_max ? "max" : "min");
  bool case_sensitive = a.flag(0, "case_sensitive");
  size_t best = 0;
  for (size_t i = 1; i < items.size(); ++i) {
    bool better = want_max ? total_less(keys[best], keys[i], case_sensitive)
                           : total_less(keys[i], keys[best], case_sensitive);
    if (better) best = i;
  }
  return items[best];
}

// Filters and tests live in tables so the parser can reject unknown names up
// front, as Jinja does when it compiles a template.
using FilterFn = Value (*)(Runtime& rt, const std::string& name, const Value& input, const Args& a,
                           const CallArgs& args);
using TestFn = bool (*)(Runtime& rt, const std::string& name, const Value& v, const Args& a);
#define S1_FILTER \
  [](Runtime & rt, const std::string& name, const Value& input, const Args& a, const CallArgs& args) -> Value
#define S1_TEST [](Runtime & rt, const std::string& name, const Value& v, const Args& a) -> bool

Value reversed(const Value& input) {
  if (input.is_string()) {
    auto cps = code_points(input.as_string());
    std::string out;
    for (auto it = cps.rbegin(); it != cps.rend(); ++it) out += *it;
    return Value(std::move(out));
  }
  List items = iterate(input);
  std::reverse(items.begin(), items.end());
  return Value(std::move(items));
}

Value dictsort(const Value& input, const Args& a) {
  Value items = items_of(input);
  bool by_value = text_of(a.get(2, "by", Value("key"))) == "value";
  List keys;
  for (const auto& pair : items.list()) keys.push_back(pair.list()[by_value ? 1 : 0]);
  require_sortable(keys, "dictsort");
  std::vector<size_t> order(keys.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  bool case_sensitive = a.flag(0, "case_sensitive"), reverse = a.flag(3, "reverse");
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) {
    return reverse ? total_less(keys[y], keys[x], case_sensitive)
                   : total_less(keys[x], keys[y], case_sensitive);
  });
  List out;
  for (size_t i : order) out.push_back(items.list()[i]);
  return Value(std::move(out));
}

Value unique(const Value& input) {
  List items = iterate(input);
  require_sortable(items, "unique");
  std::set<std::string> seen;
  List out;
  for (const auto& item : items) {
    double number = item.is_bool() ? double(item.as_bool()) : item.is_string() ? 0.0 : item.as_double();
    std::string key = item.is_string() ? "s" + item.as_string() : "n" + format_python_float(number);
    if (seen.insert(key).second) out.push_back(item);
  }
  return Value(std::move(out));
}

Value round_number(const Value& input, const Args& a) {
  if (!input.is_number()) fail("round(): expected a number, not '{}'", input.type_name());
  double scale = std::pow(10.0, double(std::clamp<int64_t>(a.integer(0, "precision", 0), -20, 20)));
  std::string method = text_of(a.get(1, "method", Value("common")));
  double x = input.as_double() * scale;
  double r = method == "floor"  ? std::floor(x)
             : method == "ceil" ? std::ceil(x)
                                : std::nearbyint(x);  // half to even, as Python
  return Value(r / scale);
}

// clang-format off
const std::map<std::string, FilterFn, std::less<>>& filter_table() {
  static const std::map<std::string, FilterFn, std::less<>> table = {
      {"safe", S1_FILTER { return input; }},
      {"string", S1_FILTER { return Value(text_of(input)); }},
      {"trim", S1_FILTER { return Value(strip(text_of(input), a.get(0, "chars"), true, true)); }},
      {"upper", S1_FILTER { return Value(ascii_map(text_of(input), ::toupper)); }},
      {"lower", S1_FILTER { return Value(ascii_map(text_of(input), ::tolower)); }},
      {"capitalize", S1_FILTER { return Value(capitalize(text_of(input))); }},
      {"title", S1_FILTER { return Value(title(text_of(input))); }},
      {"length", S1_FILTER { return length_of(input); }},
      {"count", S1_FILTER { return length_of(input); }},
      {"default", S1_FILTER {
         bool use_default = input.is_undefined() || (a.flag(1, "boolean") && !input.truthy());
         return use_default ? a.get(0, "default_value", Value("")) : input;
       }},
      {"tojson", S1_FILTER {
         Value indent_v = a.get(0, "indent");
         int indent_width = indent_v.is_int() ? int(std::clamp<int64_t>(indent_v.as_int(), 0, 64)) : -1;
         const Value* sort_keys = a.find_named("sort_keys");
         std::string json = to_json_text(input, indent_width, sort_keys && sort_keys->truthy());
         rt.check_length(json.size());
         return Value(std::move(json));
       }},
      // Not Jinja2's: DeepSeek-V3.2's template parses a tool call's arguments
      // with it when they arrive as a JSON string (transformers users add it
      // as json.loads).
      {"from_json", S1_FILTER {
         if (!input.is_string()) fail("from_json: expects a string, not '{}'", input.type_name());
         const auto parsed = nlohmann::ordered_json::parse(input.as_string(), nullptr, /*allow_exceptions=*/false);
         if (parsed.is_discarded()) fail("from_json: not valid JSON: '{}'", input.as_string().substr(0, 80));
         return from_json(parsed);
       }},
      {"replace", S1_FILTER {
         return Value(replace(rt, text_of(input), a.string(0, "old"), a.string(1, "new"), a.integer(2, "count", -1)));
       }},
      {"join", S1_FILTER {
         List items = iterate(input);
         Value attribute = a.get(1, "attribute");
         if (attribute.is_string())
           for (auto& item : items) item = attribute_path(item, attribute.as_string());
         return Value(join(rt, items, text_of(a.get(0, "d", Value("")))));
       }},
      {"first", S1_FILTER {
         List items = iterate(input);
         return items.empty() ? Value::undefined("first item of an empty sequence") : items.front();
       }},
      {"last", S1_FILTER {
         List items = iterate(input);
         return items.empty() ? Value::undefined("last item of an empty sequence") : items.back();
       }},
      {"list", S1_FILTER { return Value(iterate(input)); }},
      {"items", S1_FILTER { return items_of(input); }},
      {"dictsort", S1_FILTER { return dictsort(input, a); }},
      {"selectattr", S1_FILTER { return select_items(rt, input, a, true, true); }},
      {"rejectattr", S1_FILTER { return select_items(rt, input, a, true, false); }},
      {"select", S1_FILTER { return select_items(rt, input, a, false, true); }},
      {"reject", S1_FILTER { return select_items(rt, input, a, false, false); }},
      {"map", S1_FILTER { return map_items(rt, input, a, args); }},
      {"attr", S1_FILTER { return get_attr(input, a.string(0, "name")); }},
      {"int", S1_FILTER { return to_int(input, a.get(0, "default", Value(int64_t(0))), a.integer(1, "base", 10)); }},
      {"float", S1_FILTER { return to_float(input, a.get(0, "default", Value(0.0))); }},
      {"abs", S1_FILTER {
         if (input.is_int()) return input.as_int() < 0 ? negate(input) : input;
         if (input.is_float()) return Value(std::fabs(input.as_double()));
         fail("abs(): bad operand type '{}'", input.type_name());
       }},
      {"round", S1_FILTER { return round_number(input, a); }},
      {"escape", S1_FILTER { return Value(html_escape(text_of(input))); }},
      {"reverse", S1_FILTER { return reversed(input); }},
      {"sort", S1_FILTER {
         return Value(sorted(iterate(input), a.flag(0, "reverse"), a.flag(1, "case_sensitive"), a.get(2, "attribute")));
       }},
      {"unique", S1_FILTER { return unique(input); }},
      {"sum", S1_FILTER {
         Value total = a.get(1, "start", Value(int64_t(0)));
         Value attribute = a.get(0, "attribute");
         for (const auto& item : iterate(input))
           total = binary_op(rt, "+", total, attribute.is_string() ? attribute_path(item, attribute.as_string()) : item);
         return total;
       }},
      {"min", S1_FILTER { return reduce_extreme(input, a, false); }},
      {"max", S1_FILTER { return reduce_extreme(input, a, true); }},
      {"indent", S1_FILTER {
         std::string out =
             indent(text_of(input), a.get(0, "width", Value(int64_t(4))), a.flag(1, "first"), a.flag(2, "blank"));
         rt.check_length(out.size());
         return Value(std::move(out));
       }},
      {"wordcount", S1_FILTER { return Value(int64_t(split(text_of(input), Value::none(), -1).size())); }},
  };
  return table;
}
// clang-format on

// Jinja's aliases.
std::string_view canonical_filter(std::string_view name) {
  if (name == "d") return "default";
  if (name == "e") return "escape";
  return name;
}

bool compare_test(Runtime& rt, const char* op, const Value& v, const Args& a) {
  return binary_op(rt, op, v, a.require(0, "other")).truthy();
}

// clang-format off
const std::map<std::string, TestFn, std::less<>>& test_table() {
  static const std::map<std::string, TestFn, std::less<>> table = {
      {"defined", S1_TEST { return !v.is_undefined(); }},
      {"undefined", S1_TEST { return v.is_undefined(); }},
      {"none", S1_TEST { return v.is_none(); }},
      {"boolean", S1_TEST { return v.is_bool(); }},
      {"true", S1_TEST { return v.is_bool() && v.as_bool(); }},
      {"false", S1_TEST { return v.is_bool() && !v.as_bool(); }},
      {"integer", S1_TEST { return v.is_int(); }},
      {"float", S1_TEST { return v.is_float(); }},
      {"number", S1_TEST { return v.is_number() || v.is_bool(); }},
      {"string", S1_TEST { return v.is_string(); }},
      {"mapping", S1_TEST { return v.is_dict(); }},
      {"iterable", S1_TEST { return v.is_list() || v.is_dict() || v.is_string() || v.is_undefined(); }},
      {"sequence", S1_TEST { return v.is_list() || v.is_dict() || v.is_string(); }},
      {"callable", S1_TEST { return v.is_callable(); }},
      {"lower", S1_TEST { return v.is_string() && ascii_map(v.as_string(), ::tolower) == v.as_string(); }},
      {"upper", S1_TEST { return v.is_string() && ascii_map(v.as_string(), ::toupper) == v.as_string(); }},
      {"odd", S1_TEST {
         if (!v.is_int()) fail("'odd' test needs an integer, not '{}'", v.type_name());
         return v.as_int() % 2 != 0;
       }},
      {"even", S1_TEST {
         if (!v.is_int()) fail("'even' test needs an integer, not '{}'", v.type_name());
         return v.as_int() % 2 == 0;
       }},
      {"divisibleby", S1_TEST {
         int64_t n = a.integer(0, "num", 0);
         if (!v.is_int()) fail("'divisibleby' test needs an integer, not '{}'", v.type_name());
         if (n == 0) fail("'divisibleby' test: division by zero");
         return n == -1 || v.as_int() % n == 0;
       }},
      {"sameas", S1_TEST {
         const Value& other = a.require(0, "other");
         if (v.container_id() || other.container_id()) return v.container_id() == other.container_id();
         return v.type() == other.type() && equals(v, other);
       }},
      {"eq", S1_TEST { return compare_test(rt, "==", v, a); }},
      {"equalto", S1_TEST { return compare_test(rt, "==", v, a); }},
      {"ne", S1_TEST { return compare_test(rt, "!=", v, a); }},
      {"lt", S1_TEST { return compare_test(rt, "<", v, a); }},
      {"lessthan", S1_TEST { return compare_test(rt, "<", v, a); }},
      {"le", S1_TEST { return compare_test(rt, "<=", v, a); }},
      {"gt", S1_TEST { return compare_test(rt, ">", v, a); }},
      {"greaterthan", S1_TEST { return compare_test(rt, ">", v, a); }},
      {"ge", S1_TEST { return compare_test(rt, ">=", v, a); }},
      {"in", S1_TEST { return compare_test(rt, "in", v, a); }},
  };
  return table;
}
// clang-format on

#undef S1_FILTER
#undef S1_TEST

}  // namespace

bool is_filter(std::string_view name) { return filter_table().count(canonical_filter(name)) > 0; }
bool is_test(std::string_view name) { return test_table().count(name) > 0; }

Value apply_filter(Runtime& rt, const std::string& name, const Value& input, const CallArgs& args) {
  auto it = filter_table().find(canonical_filter(name));
  if (it == filter_table().end()) fail("unknown filter '{}'", name);
  return it->second(rt, name, input, Args(args, name), args);
}

bool apply_test(Runtime& rt, const std::string& name, const Value& v, const CallArgs& args) {
  auto it = test_table().find(name);
  if (it == test_table().end()) fail("unknown test '{}'", name);
  return it->second(rt, name, v, Args(args, name));
}

std::optional<Value> call_method(Runtime& rt, const Value& object, const std::string& name,
                                 const CallArgs& args) {
  Args a(args, name);
  if (object.is_string()) {
    const std::string& s = object.as_string();
    if (name == "strip") return Value(strip(s, a.get(0, "chars"), true, true));
    if (name == "lstrip") return Value(strip(s, a.get(0, "chars"), true, false));
    if (name == "rstrip") return Value(strip(s, a.get(0, "chars"), false, true));
    if (name == "split") return Value(split(s, a.get(0, "sep"), a.integer(1, "maxsplit", -1)));
    if (name == "startswith") return Value(affix_matches(s, a.require(0, "prefix"), true));
    if (name == "endswith") return Value(affix_matches(s, a.require(0, "suffix"), false));
    if (name == "replace")
      return Value(replace(rt, s, a.string(0, "old"), a.string(1, "new"), a.integer(2, "count", -1)));
    if (name == "upper") return Value(ascii_map(s, ::toupper));
    if (name == "lower") return Value(ascii_map(s, ::tolower));
    if (name == "title") return Value(title(s));
    if (name == "capitalize") return Value(capitalize(s));
    if (name == "format") return Value(python_format(rt, s, args));
    if (name == "join") return Value(join(rt, iterate(a.require(0, "iterable")), s));
    if (name == "find") {
      size_t at = s.find(a.string(0, "sub"));
      return Value(at == std::string::npos ? int64_t(-1) : int64_t(code_point_count(s.substr(0, at))));
    }
    if (name == "count") {
      std::string sub = a.string(0, "sub");
      if (sub.empty()) return Value(int64_t(code_point_count(s) + 1));
      int64_t n = 0;
      for (size_t at = s.find(sub); at != std::string::npos; at = s.find(sub, at + sub.size())) ++n;
      return Value(n);
    }
    if (name == "isdigit") return Value(!s.empty() && std::all_of(s.begin(), s.end(), ::isdigit));
    if (name == "isspace") return Value(!s.empty() && s.find_first_not_of(kWhitespace) == std::string::npos);
    return std::nullopt;
  }
  if (object.is_dict() && !object.dict().is_namespace) {
    const Dict& d = object.dict();
    if (name == "items") return items_of(object);
    if (name == "keys") return Value(iterate(object));
    if (name == "values") {
      List out;
      for (const auto& [k, v] : d.items) out.push_back(v);
      return Value(std::move(out));
    }
    if (name == "get") {
      const Value& key = a.require(0, "key");
      const Value* found = key.is_string() ? d.find(key.as_string()) : nullptr;
      return found ? *found : a.get(1, "default");
    }
    return std::nullopt;
  }
  if (object.is_list()) {
    const List& items = object.list();
    if (name == "index") {
      const Value& x = a.require(0, "value");
      for (size_t i = 0; i < items.size(); ++i)
        if (equals(items[i], x)) return Value(int64_t(i));
      fail("list.index(x): x not in list");
    }
    if (name == "count") {
      const Value& x = a.require(0, "value");
      return Value(
          int64_t(std::count_if(items.begin(), items.end(), [&](const Value& v) { return equals(v, x); })));
    }
    if (name == "append" || name == "pop" || name == "extend" || name == "insert" || name == "remove")
      fail("list.{}() is not allowed: templates run in an immutable sandbox", name);
  }
  return std::nullopt;
}

Dict make_globals(Runtime& rt) {
  Dict globals;
  auto add = [&](const std::string& name, std::function<Value(CallArgs&)> fn) {
    globals.set(name, Value(std::make_shared<Callable>(Callable{name, std::move(fn)})));
  };
  add("range", [&rt](CallArgs& args) {
    Args a(args, "range");
    if (args.positional.empty() || args.positional.size() > 3)
      fail("range() expects 1 to 3 integer arguments");
    for (const auto& v : args.positional)
      if (!v.is_int()) fail("range(): arguments must be integers, not '{}'", v.type_name());
    int64_t start = 0, stop, step = 1;
    if (args.positional.size() == 1) {
      stop = args.positional[0].as_int();
    } else {
      start = args.positional[0].as_int();
      stop = args.positional[1].as_int();
      if (args.positional.size() == 3) step = args.positional[2].as_int();
    }
    if (step == 0) fail("range() step must not be zero");
    List out;
    for (int64_t i = start; step > 0 ? i < stop : i > stop;) {
      rt.count_iterations(1);
      out.push_back(Value(i));
      if (__builtin_add_overflow(i, step, &i)) break;
    }
    return Value(std::move(out));
  });
  add("namespace", [](CallArgs& args) {
    Dict ns;
    ns.is_namespace = true;
    for (const auto& v : args.positional) {
      if (!v.is_dict()) fail("namespace() takes a mapping or keyword arguments");
      for (const auto& [k, item] : v.dict().items) ns.set(k, item);
    }
    for (const auto& [k, item] : args.named) ns.set(k, item);
    return Value(std::move(ns));
  });
  add("dict", [](CallArgs& args) {
    Dict d;
    for (const auto& v : args.positional) {
      if (!v.is_dict()) fail("dict() takes a mapping or keyword arguments");
      for (const auto& [k, item] : v.dict().items) d.set(k, item);
    }
    for (const auto& [k, item] : args.named) d.set(k, item);
    return Value(std::move(d));
  });
  add("raise_exception", [](CallArgs& args) -> Value {
    fail("{}",
         args.positional.empty() ? std::string("raise_exception() called") : text_of(args.positional[0]));
  });
  add("strftime_now", [&rt](CallArgs& args) {
    std::string format = Args(args, "strftime_now").string(0, "format");
    if (format.size() > 64) fail("strftime_now(): format string longer than 64 characters");
    std::time_t now = rt.options.now ? *rt.options.now : std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[1024];
    size_t n = format.empty() ? 0 : std::strftime(buf, sizeof buf, format.c_str(), &tm);
    return Value(std::string(buf, n));
  });
  return globals;
}

}  // namespace s1::jinja
