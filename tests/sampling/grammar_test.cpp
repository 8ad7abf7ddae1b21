// The GBNF grammar engine: llama.cpp's own example grammars parse and accept
// and refuse what they were written to, token by token and byte by byte (a
// character split across tokens), on the real Qwen2 vocabulary; the trie
// walk's allowed set equals asking every token; sampling under json.gbnf
// from random logits gives text a JSON parser accepts.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <random>

#include "sampling/grammar.h"
#include "sampling/grammar_matcher.h"
#include "sampling/json_schema.h"
#include "sampling/sampler.h"
#include "support/grammar_support.h"
#include "support/test_support.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"

namespace s1 {
namespace {

using s1test::qwen2;
using s1test::qwen2_vocabulary;

bool accepts(const std::shared_ptr<const Grammar>& grammar, const std::string& text, bool bytewise = false) {
  return s1test::grammar_accepts(grammar, text, bytewise);
}

std::shared_ptr<const Grammar> load_gbnf(const std::string& name) {
  const auto text = s1test::read_file(s1test::source_dir() / "tests/sampling/gbnf" / (name + ".gbnf"));
  return std::make_shared<const Grammar>(Grammar::parse(text));
}

void expect_language(const std::string& name, const std::vector<std::string>& yes, const std::vector<std::string>& no) {
  const auto grammar = load_gbnf(name);
  for (const auto& text : yes) {
    EXPECT_TRUE(accepts(grammar, text)) << name << " should accept: " << text;
    EXPECT_TRUE(accepts(grammar, text, true)) << name << " should accept byte by byte: " << text;
  }
  for (const auto& text : no) {
    EXPECT_FALSE(accepts(grammar, text)) << name << " should refuse: " << text;
    EXPECT_FALSE(accepts(grammar, text, true)) << name << " should refuse byte by byte: " << text;
  }
}

TEST(Grammar, LlamaCppExampleGrammarsParse) {
  for (const char* name : {"json", "json_arr", "arithmetic", "chess", "list", "japanese", "c", "english"})
    EXPECT_NO_THROW(load_gbnf(name)) << name;
}

TEST(Grammar, JsonGrammarAcceptsJsonAndRefusesTheRest) {
  expect_language("json",
                  {R"({"a": [1, 2.5, -3e7, "x\u00e9\n"], "b": {"c": null, "d": true}})", "{}",
                   "{\"ü\": \"für Straße 😀\"}", "{\n  \"k\": false\n}"},
                  {"{'a': 1}", "\xC1\xBB}", R"({"a": })", "[1, 2]", R"({"a": 1,})", R"({"a": 01})", "{\"a\": \"\x01\"}", ""});
}

TEST(Grammar, ExampleGrammarsKeepTheirLanguages) {
  expect_language("arithmetic", {"1+2=3\n", "(a +b) *c = x1\n"}, {"1+=3\n", "1+2"});
  expect_language("chess", {"1. e4 e5\n2. Nf3 Nc6\n", "1. O-O-O Qxd8+\n2. a8=Q Kh1#\n"}, {"1. e9 e5\n2. a1 a2\n", "e4 e5\n"});
  expect_language("list", {"- one\n- two\n"}, {"- one", "* one\n"});
  expect_language("japanese", {"こんにちは カタカナ", "日本語"}, {"hello", "日本 "});
  expect_language("c", {"int main(){return 0;}", "int f(int x){while(x<10){x = x+1;}return x;}"},
                  {"int main(){return 0}", "main(){}"});
}

TEST(Grammar, SyntaxErrorsNameLineAndColumn) {
  auto message = [](const std::string& text) {
    try {
      Grammar::parse(text);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message("root ::= \"a\" b\n"), "grammar:1:14: rule 'b' is used but never defined");
  EXPECT_EQ(message("root ::= root \"a\"\n"), "grammar:1:1: rule 'root' is left-recursive");
  EXPECT_EQ(message("root ::= [ab\n"), "grammar:1:10: unterminated character class");
  EXPECT_EQ(message("other ::= \"a\"\n"), "grammar: no 'root' rule");
  EXPECT_EQ(message("root ::= \"a\" \\q\n"), "grammar:1:14: unexpected '\\'");
  EXPECT_EQ(message("root ::= \"a\"{3,1}\n"), "grammar:1:13: repetition {3,1} has max below min");
  EXPECT_EQ(message("root ::= *\n"), "grammar:1:10: '*' repeats nothing");
  // Hostile input is refused before it can exhaust the stack or memory.
  EXPECT_EQ(message("root ::= " + std::string(300, '(')).substr(0, 50), "grammar:1:266: parentheses nested deeper than 256");
  std::string many = "root ::=";
  for (int i = 0; i < 101; ++i) many += " \"a\"{0,1000}";
  EXPECT_NE(message(many).find("more than 100000 rules"), std::string::npos);
}

TEST(Grammar, RepetitionBoundsAreExact) {
  const auto grammar = std::make_shared<const Grammar>(Grammar::parse("root ::= \"ab\"{2,3} [0-9]{2}\n"));
  EXPECT_FALSE(accepts(grammar, "ab12"));
  EXPECT_TRUE(accepts(grammar, "abab12"));
  EXPECT_TRUE(accepts(grammar, "ababab12"));
  EXPECT_FALSE(accepts(grammar, "abababab12"));
  EXPECT_FALSE(accepts(grammar, "abab123"));
}

TEST(Grammar, TrieWalkEqualsAskingEveryToken) {
  const auto grammar = load_gbnf("json");
  GrammarMatcher matcher(grammar, qwen2_vocabulary());
  // States to compare at: the start, inside a key, after a colon, inside a
  // value string halfway through a character, inside a number.
  const std::string prefix = "{\"na\": \"f\xC3";
  std::vector<std::string> steps;
  for (char c : prefix) steps.push_back(std::string(1, c));
  const int32_t n = qwen2_vocabulary()->n_vocab();
  for (size_t step = 0; step <= steps.size(); ++step) {
    GrammarMatcher fresh = matcher;  // the mask and the per-token answers from one state
    const std::vector<uint8_t> mask = fresh.allowed_mask();
    int allowed = 0;
    for (int32_t t = 0; t < n; ++t) {
      GrammarMatcher probe = matcher;
      ASSERT_EQ(bool(mask[size_t(t)]), probe.allows(t)) << "token " << t << " after " << step << " bytes";
      allowed += mask[size_t(t)];
    }
    EXPECT_GT(allowed, 0);
    if (step == steps.size()) break;
    matcher.accept(qwen2().encode(steps[step])[0]);
  }
}

TEST(Grammar, SamplingUnderJsonGrammarGivesJson) {
  const auto grammar = load_gbnf("json");
  const int32_t n = qwen2().n_vocab();
  std::mt19937 rng(7);
  std::normal_distribution<float> noise(0.0f, 2.0f);
  int complete = 0, nontrivial = 0;
  for (int run = 0; run < 12; ++run) {
    GrammarMatcher matcher(grammar, qwen2_vocabulary());
    SamplingParams params;
    params.seed = uint64_t(run);
    params.top_k = run % 3 == 0 ? 0 : 40;  // top-k off takes the trie walk's whole set
    Sampler sampler(params);
    std::vector<float> logits(static_cast<size_t>(n));
    std::string text;
    const int steps = params.top_k == 0 ? 30 : 80;
    for (int step = 0; step < steps && !matcher.finished(); ++step) {
      for (float& l : logits) l = noise(rng);
      for (int32_t end : qwen2_vocabulary()->end_tokens()) logits[size_t(end)] = step > steps / 4 ? 12.0f : -12.0f;
      // Past half way, favour closing quotes and brackets so most runs finish.
      if (step > steps / 2)
        for (const char* closing : {"\"", "}", "]", "\"}", "\"]"}) logits[size_t(qwen2().encode(closing)[0])] += 8.0f;
      const int token = sampler.sample(logits.data(), n, {}, &matcher);
      matcher.accept(token);
      if (qwen2_vocabulary()->is_end(token)) break;
      text += qwen2().piece(token);
    }
    if (!matcher.accepting()) continue;
    ++complete;
    nontrivial += text.size() > 8;
    EXPECT_TRUE(nlohmann::json::accept(text)) << text;
  }
  EXPECT_GE(complete, 6);
  EXPECT_GE(nontrivial, 3);
}


std::shared_ptr<const Grammar> schema(const std::string& json_schema) {
  return std::make_shared<const Grammar>(Grammar::parse(json_schema_to_gbnf(json_schema)));
}

TEST(JsonSchema, RequiredAndOptionalPropertiesInTheSchemasOrder) {
  // Keys deliberately out of alphabetical order: the schema's order is kept.
  const auto g = schema(R"({"type": "object", "properties": {"z": {"type": "integer"}, "b": {"type": "integer"},
                            "a": {"type": "integer"}}, "required": ["z", "a"]})");
  EXPECT_TRUE(accepts(g, R"({"z": 1, "a": 2})"));
  EXPECT_TRUE(accepts(g, R"({"z": 1, "b": -2, "a": 3})"));
  EXPECT_TRUE(accepts(g, "{\n  \"z\": 1,\n  \"a\": 0\n}"));
  EXPECT_FALSE(accepts(g, R"({"z": 1})"));
  EXPECT_FALSE(accepts(g, R"({"a": 2, "z": 1})"));
  EXPECT_FALSE(accepts(g, R"({"z": 1, "a": 2, "c": 3})"));
  EXPECT_FALSE(accepts(g, R"({"z": 1.5, "a": 2})"));
  const auto optional = schema(R"({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "null"}}})");
  for (const char* yes : {"{}", R"({"a": "x"})", R"({"b": null})", R"({"a": "", "b": null})"})
    EXPECT_TRUE(accepts(optional, yes)) << yes;
  EXPECT_FALSE(accepts(optional, R"({"a": "x",})"));
  EXPECT_FALSE(accepts(optional, R"({, "b": null})"));
}

TEST(JsonSchema, EnumsArraysStringsAndRecursiveRefs) {
  const auto g = schema(R"({"type": "object", "properties": {
      "kind": {"enum": ["add", 7, null]},
      "tags": {"type": "array", "items": {"type": "string", "maxLength": 3}, "minItems": 1, "maxItems": 2},
      "tree": {"$ref": "#/$defs/node"}},
    "required": ["kind", "tags", "tree"],
    "$defs": {"node": {"type": "object", "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
                       "required": ["kids"]}}})");
  EXPECT_TRUE(accepts(g, R"({"kind": "add", "tags": ["ab"], "tree": {"kids": []}})"));
  EXPECT_TRUE(accepts(g, R"({"kind": 7, "tags": ["a", "abc"], "tree": {"kids": [{"kids": [{"kids": []}]}]}})"));
  EXPECT_TRUE(accepts(g, R"({"kind": null, "tags": [""], "tree": {"kids": []}})"));
  EXPECT_FALSE(accepts(g, R"({"kind": "sub", "tags": ["a"], "tree": {"kids": []}})"));
  EXPECT_FALSE(accepts(g, R"({"kind": 7, "tags": [], "tree": {"kids": []}})"));
  EXPECT_FALSE(accepts(g, R"({"kind": 7, "tags": ["a", "b", "c"], "tree": {"kids": []}})"));
  EXPECT_FALSE(accepts(g, R"({"kind": 7, "tags": ["abcd"], "tree": {"kids": []}})"));
  EXPECT_FALSE(accepts(g, R"({"kind": 7, "tags": ["a"], "tree": {"kids": [{}]}})"));
  const auto at_least_two = schema(R"({"type": "array", "items": {"type": "integer"}, "minItems": 2})");
  EXPECT_FALSE(accepts(at_least_two, "[1]"));
  EXPECT_TRUE(accepts(at_least_two, "[1, 2]"));
  EXPECT_TRUE(accepts(at_least_two, "[1, 2, 3, 4]"));
}

TEST(JsonSchema, WhatItCannotEnforceIsAnErrorNamingIt) {
  auto message = [](const std::string& text) {
    try {
      json_schema_to_gbnf(text);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message(R"({"type": "object", "properties": {"a": {"type": "string", "pattern": "x+"}}})")
                .find("json schema at '#/properties/a': keyword 'pattern' is not supported"),
            std::string::npos);
  EXPECT_EQ(message(R"({"type": "integer", "minimum": 3})").rfind("json schema at '#': keyword 'minimum'", 0), 0u);
  EXPECT_EQ(message(R"({"$ref": "#/$defs/missing"})"),
            "json schema at '#': '$ref' '#/$defs/missing' does not name an entry of $defs or definitions");
  EXPECT_EQ(message(R"({"type": "object", "required": ["x"], "properties": {}})"),
            "json schema at '#': 'required' names \"x\" which is not among the properties");
  EXPECT_EQ(message("{").rfind("json schema: not valid JSON", 0), 0u);
  std::string deep = R"({"type": "string"})";
  for (int i = 0; i < 100; ++i) deep = R"({"type": "array", "items": )" + deep + "}";
  EXPECT_NE(message(deep).find("schemas nested deeper than 64"), std::string::npos);
  // Annotations do not constrain, so they are accepted.
  EXPECT_EQ(message(R"({"type": "string", "format": "date", "description": "d", "title": "t"})"), "no error");
}

}  // namespace
}  // namespace s1
