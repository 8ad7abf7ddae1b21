#pragma once
// A context-free grammar in llama.cpp's GBNF, compiled for matching one
// codepoint at a time (grammar_matcher.h does the matching).
//
//   root   ::= answer ws
//   answer ::= "yes" | "no" | [0-9]+
//   ws     ::= [ \t\n]{0,4}
//
// What GBNF files written for llama.cpp use is accepted: rules `name ::= ...`
// (a rule ends at a newline outside parentheses), literals "..." and character
// classes [a-z] / [^...] with the escapes \n \r \t \\ \" \[ \] \xHH \uHHHH
// \UHHHHHHHH, `.` for any character, groups ( ), alternatives |, the
// repetitions * + ? {m} {m,} {m,n}, and # comments. Left recursion is an
// error (it would never stop expanding); write it as repetition instead.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace s1 {

class Grammar {
 public:
  // s1::Error with the line and column of the first problem: a syntax error,
  // a rule used but never defined, left recursion, no `root` rule.
  static Grammar parse(std::string_view gbnf, std::string_view root = "root");

  // The compiled form: every alternative of every rule is a run of elements
  // in one array, closed by an `end` element. A position in that array is
  // what the matcher keeps on its stacks.
  enum class Kind : uint8_t { chars, rule, end };
  struct Element {
    Kind kind = Kind::end;
    bool negated = false;       // chars: matches what the ranges do not
    uint32_t first = 0;         // chars: first range in ranges(); rule: the rule's index
    uint32_t count = 0;         // chars: how many ranges
  };
  struct Range {
    uint32_t lo, hi;  // codepoints, inclusive
  };

  const std::vector<Element>& elements() const { return elements_; }
  const std::vector<Range>& ranges() const { return ranges_; }
  // The start position of each alternative of `rule`.
  const std::vector<uint32_t>& alternatives(uint32_t rule) const { return rules_[rule]; }
  uint32_t root() const { return root_; }
  size_t rule_count() const { return rules_.size(); }

  // Whether a chars element matches the codepoint, or could match some
  // codepoint in [lo, hi] (for a character still arriving byte by byte).
  bool matches(const Element& chars, uint32_t codepoint) const;
  bool may_match(const Element& chars, uint32_t lo, uint32_t hi) const;

 private:
  friend class GrammarParser;
  std::vector<Element> elements_;
  std::vector<Range> ranges_;
  std::vector<std::vector<uint32_t>> rules_;
  uint32_t root_ = 0;
};

}  // namespace s1
