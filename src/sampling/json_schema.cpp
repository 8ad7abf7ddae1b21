#include "sampling/json_schema.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "util/error.h"

namespace s1 {

using json = nlohmann::ordered_json;

namespace {

// The JSON pieces every schema grammar shares. Whitespace after each token is
// bounded (one newline and some indentation), so a small model cannot spin in
// an endless run of spaces.
constexpr const char* kPrimitives = R"(ws ::= | " " | "\n" [ \t]{0,20}
json-char ::= [^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4})
json-string ::= "\"" json-char* "\"" ws
json-integer ::= "-"? ("0" | [1-9] [0-9]{0,15}) ws
json-number ::= "-"? ("0" | [1-9] [0-9]{0,15}) ("." [0-9]{1,16})? ([eE] [-+]? [0-9]{1,3})? ws
json-boolean ::= ("true" | "false") ws
json-null ::= "null" ws
json-value ::= json-object | json-array | json-string | json-number | json-boolean | json-null
json-object ::= "{" ws (json-string ":" ws json-value ("," ws json-string ":" ws json-value)*)? "}" ws
json-array ::= "[" ws (json-value ("," ws json-value)*)? "]" ws
)";

// Keywords that say nothing about which values are valid.
const std::set<std::string> kAnnotations = {"description", "title", "format", "default", "examples", "$schema",
                                            "$id", "$comment", "deprecated", "readOnly", "writeOnly", "strict",
                                            "$defs", "definitions", "additionalProperties", "nullable"};
const std::set<std::string> kHandled = {"type", "properties", "required", "items", "minItems", "maxItems", "enum",
                                        "const", "anyOf", "oneOf", "$ref", "minLength", "maxLength"};

class SchemaConverter {
 public:
  explicit SchemaConverter(const json& root) : root_(root) {}

  std::string convert(std::string_view root_rule) {
    const std::string top = rule_for(root_, "root-value", "#");
    return std::string(root_rule) + " ::= " + top + "\n" + rules_ + kPrimitives;
  }

  std::string convert(const std::vector<std::pair<std::string, std::string>>& named) {
    std::string tops;
    for (const auto& [name, pointer] : named) {
      const json* schema = nullptr;
      try {
        schema = &root_.at(json::json_pointer(pointer));
      } catch (const json::exception&) {
        fail("json schema: nothing at '{}'", pointer);
      }
      tops += name + " ::= " + rule_for(*schema, name, "#" + pointer) + "\n";
    }
    return tops + rules_ + kPrimitives;
  }

 private:
  std::string new_name(std::string_view hint) {
    std::string name;
    for (char c : hint) name += std::isalnum(static_cast<unsigned char>(c)) ? c : '-';
    if (name.empty()) name = "r";
    return fmt::format("s-{}-{}", name, counter_++);
  }

  std::string add_rule(std::string_view hint, const std::string& body) {
    const std::string name = new_name(hint);
    rules_ += name + " ::= " + body + "\n";
    return name;
  }

  [[noreturn]] static void unsupported(const std::string& where, const std::string& what) {
    fail("json schema at '{}': {}", where, what);
  }

  static int count(const json& schema, const char* key, const std::string& where) {
    const json& v = schema.at(key);
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > 1000)
      unsupported(where, fmt::format("'{}' must be an integer in [0, 1000]", key));
    return v.get<int>();
  }

  // x{min,max} as GBNF, with the separator between repeats: "a" ("," ws a){min-1,max-1}.
  static std::string repeated(const std::string& item, const std::string& separator, int min, int max) {
    if (max == 0) return "";
    const std::string more = separator.empty() ? item : "(" + separator + " " + item + ")";
    const int rest_min = std::max(min - 1, 0);
    const std::string rest_bounds = max >= 0      ? fmt::format("{{{},{}}}", rest_min, max - 1)
                                    : rest_min > 0 ? fmt::format("{{{},}}", rest_min)
                                                   : "*";
    const std::string list = item + " " + more + rest_bounds;
    return min == 0 ? "(" + list + ")?" : list;
  }

  std::string rule_for(const json& schema, std::string_view hint, const std::string& where) {
    constexpr int kMaxDepth = 64;
    if (++depth_ > kMaxDepth) unsupported(where, fmt::format("schemas nested deeper than {}", kMaxDepth));
    std::string rule = rule_body(schema, hint, where);
    --depth_;
    return rule;
  }

  std::string rule_body(const json& schema, std::string_view hint, const std::string& where) {
    if (schema.is_boolean()) {
      if (schema.get<bool>()) return "json-value";
      unsupported(where, "the schema 'false' accepts no value");
    }
    if (!schema.is_object()) unsupported(where, "a schema must be an object or a boolean");
    for (const auto& [key, value] : schema.items())
      if (!kHandled.count(key) && !kAnnotations.count(key))
        unsupported(where, fmt::format("keyword '{}' is not supported (supported: type, properties, required, "
                                       "items, minItems, maxItems, enum, const, anyOf, oneOf, $ref, minLength, "
                                       "maxLength)",
                                       key));

    if (schema.contains("$ref")) return ref_rule(schema.at("$ref"), where);
    for (const char* key : {"anyOf", "oneOf"})
      if (schema.contains(key)) {
        const json& options = schema.at(key);
        if (!options.is_array() || options.empty()) unsupported(where, fmt::format("'{}' must be a non-empty array", key));
        std::string body;
        for (size_t i = 0; i < options.size(); ++i)
          body += (i ? " | " : "") + rule_for(options[i], hint, fmt::format("{}/{}/{}", where, key, i));
        return add_rule(hint, body);
      }
    if (schema.contains("const")) return add_rule(hint, gbnf_literal(schema.at("const").dump()) + " ws");
    if (schema.contains("enum")) {
      const json& values = schema.at("enum");
      if (!values.is_array() || values.empty()) unsupported(where, "'enum' must be a non-empty array");
      std::string body;
      for (size_t i = 0; i < values.size(); ++i) body += (i ? " | " : "") + gbnf_literal(values[i].dump());
      return add_rule(hint, "(" + body + ") ws");
    }
    if (!schema.contains("type")) return "json-value";
    const json& type = schema.at("type");
    if (type.is_array()) {
      if (type.empty()) unsupported(where, "'type' is an empty list");
      std::string body;
      for (size_t i = 0; i < type.size(); ++i) {
        if (!type[i].is_string()) unsupported(where, "'type' entries must be strings");
        body += (i ? " | " : "") + typed_rule(schema, type[i].get<std::string>(), hint, where);
      }
      return add_rule(hint, body);
    }
    if (!type.is_string()) unsupported(where, "'type' must be a string or a list of strings");
    return typed_rule(schema, type.get<std::string>(), hint, where);
  }

  std::string typed_rule(const json& schema, const std::string& type, std::string_view hint, const std::string& where) {
    if (type == "object") return object_rule(schema, hint, where);
    if (type == "array") return array_rule(schema, hint, where);
    if (type == "string") return string_rule(schema, hint, where);
    if (type == "number") return "json-number";
    if (type == "integer") return "json-integer";
    if (type == "boolean") return "json-boolean";
    if (type == "null") return "json-null";
    unsupported(where, fmt::format("unknown type '{}'", type));
  }

  std::string ref_rule(const json& ref, const std::string& where) {
    if (!ref.is_string()) unsupported(where, "'$ref' must be a string");
    const std::string target = ref.get<std::string>();
    if (auto it = refs_.find(target); it != refs_.end()) return it->second;
    const json* schema = nullptr;
    std::string name;
    if (target == "#") {
      schema = &root_;
      name = "root-ref";
    } else {
      for (const char* prefix : {"#/$defs/", "#/definitions/"}) {
        const std::string p(prefix);
        if (target.rfind(p, 0) != 0) continue;
        name = target.substr(p.size());
        const std::string section = p.substr(2, p.size() - 3);
        if (root_.contains(section) && root_.at(section).contains(name)) schema = &root_.at(section).at(name);
      }
    }
    if (!schema) unsupported(where, fmt::format("'$ref' '{}' does not name an entry of $defs or definitions", target));
    // The rule's name is known before its body, so a recursive reference works.
    const std::string rule = new_name(name);
    refs_[target] = rule;
    const std::string body = rule_for(*schema, name, target);
    rules_ += rule + " ::= " + body + "\n";
    return rule;
  }

  std::string string_rule(const json& schema, std::string_view hint, const std::string& where) {
    if (!schema.contains("minLength") && !schema.contains("maxLength")) return "json-string";
    const int min = schema.contains("minLength") ? count(schema, "minLength", where) : 0;
    const int max = schema.contains("maxLength") ? count(schema, "maxLength", where) : -1;
    if (max >= 0 && max < min) unsupported(where, "maxLength is below minLength");
    const std::string bounds = max < 0 ? fmt::format("{{{},}}", min) : fmt::format("{{{},{}}}", min, max);
    return add_rule(hint, "\"\\\"\" json-char" + bounds + " \"\\\"\" ws");
  }

  std::string array_rule(const json& schema, std::string_view hint, const std::string& where) {
    const std::string item = schema.contains("items") ? rule_for(schema.at("items"), std::string(hint) + "-item",
                                                                 where + "/items")
                                                      : "json-value";
    const int min = schema.contains("minItems") ? count(schema, "minItems", where) : 0;
    const int max = schema.contains("maxItems") ? count(schema, "maxItems", where) : -1;
    if (max >= 0 && max < min) unsupported(where, "maxItems is below minItems");
    return add_rule(hint, "\"[\" ws " + repeated(item, "\",\" ws", min, max) + " \"]\" ws");
  }

  // Properties in the schema's order; a required one must appear, an optional
  // one may be left out. after[i]: the members from property i on, when one
  // was already written (so each starts with a comma).
  std::string object_rule(const json& schema, std::string_view hint, const std::string& where) {
    if (!schema.contains("properties")) {
      const json* extra = schema.contains("additionalProperties") ? &schema.at("additionalProperties") : nullptr;
      if (extra && extra->is_object()) {
        const std::string value = rule_for(*extra, std::string(hint) + "-value", where + "/additionalProperties");
        const std::string member = add_rule(std::string(hint) + "-member", "json-string \":\" ws " + value);
        return add_rule(hint, "\"{\" ws " + repeated(member, "\",\" ws", 0, -1) + " \"}\" ws");
      }
      if (extra && extra->is_boolean() && !extra->get<bool>()) return add_rule(hint, "\"{\" ws \"}\" ws");
      return "json-object";
    }
    const json& properties = schema.at("properties");
    if (!properties.is_object()) unsupported(where, "'properties' must be an object");
    std::set<std::string> required;
    if (schema.contains("required")) {
      if (!schema.at("required").is_array()) unsupported(where, "'required' must be an array");
      for (const json& r : schema.at("required")) {
        if (!r.is_string() || !properties.contains(r.get<std::string>()))
          unsupported(where, fmt::format("'required' names {} which is not among the properties", r.dump()));
        required.insert(r.get<std::string>());
      }
    }
    std::vector<std::string> members;
    std::vector<bool> optional;
    for (const auto& [key, value] : properties.items()) {
      const std::string value_rule = rule_for(value, std::string(hint) + "-" + key, where + "/properties/" + key);
      members.push_back(gbnf_literal(json(key).dump()) + " ws \":\" ws " + value_rule);
      optional.push_back(!required.count(key));
    }
    const size_t n = members.size();
    std::vector<std::string> after(n + 1);
    after[n] = "";
    for (size_t i = n; i-- > 0;) {
      std::string body;
      bool all_optional = true;
      for (size_t j = i; j < n; ++j) {
        body += std::string(body.empty() ? "" : " | ") + "\",\" ws " + members[j] + (after[j + 1].empty() ? "" : " " + after[j + 1]);
        if (!optional[j]) {
          all_optional = false;
          break;
        }
      }
      // Nothing more: the empty alternative goes first, since a line ending
      // in '|' continues on the next.
      if (all_optional) body = "| " + body;
      after[i] = add_rule(std::string(hint) + "-rest", body);
    }
    std::string first;
    bool all_optional = true;
    for (size_t j = 0; j < n; ++j) {
      first += std::string(first.empty() ? "" : " | ") + members[j] + (after[j + 1].empty() ? "" : " " + after[j + 1]);
      if (!optional[j]) {
        all_optional = false;
        break;
      }
    }
    if (n == 0) return add_rule(hint, "\"{\" ws \"}\" ws");
    const std::string inner = add_rule(std::string(hint) + "-members", (all_optional ? "| " : "") + first);
    return add_rule(hint, "\"{\" ws " + inner + " \"}\" ws");
  }

  const json& root_;
  std::string rules_;
  std::map<std::string, std::string> refs_;
  int counter_ = 0;
  int depth_ = 0;
};

}  // namespace

std::string gbnf_literal(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (byte < 0x20 || byte == 0x7F) {
      out += fmt::format("\\x{:02X}", byte);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

namespace {

json parse_schema(std::string_view text) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    fail("json schema: not valid JSON ({})", e.what());
  }
}

}  // namespace

std::string json_schema_to_gbnf(std::string_view text, std::string_view root_rule) {
  return SchemaConverter(parse_schema(text)).convert(root_rule);
}

std::string json_schema_rules(std::string_view document,
                              const std::vector<std::pair<std::string, std::string>>& rules) {
  return SchemaConverter(parse_schema(document)).convert(rules);
}

std::string json_object_gbnf() { return std::string("root ::= json-object\n") + kPrimitives; }

}  // namespace s1
