#pragma once
// JSON Schema to GBNF (grammar.h), for answers that must parse and validate:
// OpenAI's `response_format: {type: "json_schema"}` and `s1 run --json-schema`.
//
// The subset OpenAI's structured outputs accept: `type` (object, array,
// string, number, integer, boolean, null, or a list of them), `properties`
// with `required` (properties come in the schema's order; optional ones may
// be left out), `items` with `minItems`/`maxItems`, `enum`, `const`,
// `anyOf`/`oneOf`, `$ref` into `$defs`/`definitions` (recursion allowed),
// `minLength`/`maxLength` on strings. Annotations (`description`, `title`,
// `format`, `default`, `examples`, `$schema`, ...) do not constrain. Any
// other keyword that would constrain the value (`pattern`, `minimum`,
// `allOf`, ...) is an s1::Error naming it and where it is, never ignored.
// Additional properties are never generated: output with only the declared
// ones validates whatever `additionalProperties` says.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace s1 {

// `schema` is the schema's JSON text (parsed here keeping the properties'
// order, which a parsed nlohmann::json would lose). The top rule is named
// `root_rule` (a bigger grammar may use it as one of its rules).
std::string json_schema_to_gbnf(std::string_view schema, std::string_view root_rule = "root");

// Rules for several schemas inside one JSON document: each (rule name, JSON
// pointer such as "/tools/0") becomes `name ::= ...` for the schema found
// there, and their `$ref`s resolve against the document's top (its `$defs` /
// `definitions`). The JSON rules they share follow once. For grammars that
// hold JSON values in other markup (tool calls).
std::string json_schema_rules(std::string_view document,
                              const std::vector<std::pair<std::string, std::string>>& rules);

// Any JSON object (`response_format: {type: "json_object"}`).
std::string json_object_gbnf();

// `text` as a GBNF literal ("..." with escapes).
std::string gbnf_literal(std::string_view text);

}  // namespace s1
