#include "sampling/grammar.h"

#include <algorithm>
#include <map>
#include <optional>

#include "util/error.h"

namespace s1 {

namespace {

constexpr uint32_t kMaxCodepoint = 0x10FFFF;
constexpr int kMaxRepetition = 1000;  // {m,n} bounds: beyond this, use * or +
constexpr int kMaxNesting = 256;      // parentheses inside parentheses
constexpr size_t kMaxRules = 100000;  // named, grouped and repeated rules together

// One element while parsing: a character set or a rule reference.
struct Item {
  bool is_rule = false;
  bool negated = false;
  uint32_t rule = 0;
  std::vector<Grammar::Range> ranges;
};
using Sequence = std::vector<Item>;

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

}  // namespace

class GrammarParser {
 public:
  explicit GrammarParser(std::string_view text) : text_(text) {}

  Grammar parse(std::string_view root_name) {
    skip_space(true);
    while (pos_ < text_.size()) {
      parse_rule();
      skip_space(true);
    }
    for (const auto& [name, id] : names_)
      if (!defined_[id]) fail_at(first_use_[id], "rule '{}' is used but never defined", name);
    auto root = names_.find(std::string(root_name));
    if (root == names_.end()) fail("grammar: no '{}' rule", root_name);
    check_left_recursion();
    return compile(root->second);
  }

 private:
  template <typename... Args>
  [[noreturn]] void fail_at(size_t at, fmt::format_string<Args...> format, Args&&... args) {
    size_t line = 1, column = 1;
    for (size_t i = 0; i < at && i < text_.size(); ++i) {
      if (text_[i] == '\n') ++line, column = 0;
      ++column;
    }
    fail("grammar:{}:{}: {}", line, column, fmt::format(format, std::forward<Args>(args)...));
  }

  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[pos_]; }

  // Spaces, tabs and comments; newlines too where a rule may continue.
  void skip_space(bool newlines) {
    while (!at_end()) {
      const char c = text_[pos_];
      if (c == ' ' || c == '\t' || c == '\r' || (newlines && c == '\n')) {
        ++pos_;
      } else if (c == '#') {
        while (!at_end() && text_[pos_] != '\n') ++pos_;
      } else {
        break;
      }
    }
  }

  std::string parse_name() {
    const size_t start = pos_;
    while (!at_end() && is_name_char(text_[pos_])) ++pos_;
    if (pos_ == start) fail_at(start, "expected a rule name");
    return std::string(text_.substr(start, pos_ - start));
  }

  uint32_t rule_id(const std::string& name, size_t used_at) {
    auto [it, added] = names_.try_emplace(name, uint32_t(rules_.size()));
    if (added) new_rule(name, used_at);
    return it->second;
  }

  uint32_t new_rule(std::string name, size_t at) {
    if (rules_.size() >= kMaxRules) fail_at(at, "more than {} rules (repetition counts add rules)", kMaxRules);
    rules_.emplace_back();
    rule_names_.push_back(std::move(name));
    defined_.push_back(false);
    first_use_.push_back(at);
    return uint32_t(rules_.size() - 1);
  }

  void parse_rule() {
    const size_t start = pos_;
    const std::string name = parse_name();
    const uint32_t id = rule_id(name, start);
    if (defined_[id]) fail_at(start, "rule '{}' is defined twice", name);
    skip_space(false);
    if (text_.substr(pos_, 3) != "::=") fail_at(pos_, "expected '::=' after '{}'", name);
    pos_ += 3;
    skip_space(true);
    rules_[id] = parse_alternatives(name, false);
    defined_[id] = true;
    if (!at_end() && peek() != '\n') fail_at(pos_, "unexpected '{}'", peek());
  }

  std::vector<Sequence> parse_alternatives(const std::string& name, bool nested) {
    std::vector<Sequence> alternatives;
    alternatives.push_back(parse_sequence(name, nested));
    while (peek() == '|') {
      ++pos_;
      skip_space(true);
      alternatives.push_back(parse_sequence(name, nested));
    }
    return alternatives;
  }

  Sequence parse_sequence(const std::string& name, bool nested) {
    Sequence sequence;
    size_t last_start = 0;  // where the last element (what a repetition applies to) begins in `sequence`
    while (!at_end()) {
      const char c = peek();
      const size_t at = pos_;
      if (c == '"') {
        ++pos_;
        last_start = sequence.size();
        while (peek() != '"') {
          if (at_end() || peek() == '\n') fail_at(at, "unterminated literal");
          const uint32_t cp = parse_char();
          sequence.push_back(Item{false, false, 0, {{cp, cp}}});
        }
        ++pos_;
      } else if (c == '[') {
        ++pos_;
        Item item;
        if (peek() == '^') item.negated = true, ++pos_;
        while (peek() != ']') {
          if (at_end()) fail_at(at, "unterminated character class");
          const uint32_t lo = parse_char();
          uint32_t hi = lo;
          if (peek() == '-' && pos_ + 1 < text_.size() && text_[pos_ + 1] != ']') {
            ++pos_;
            hi = parse_char();
            if (hi < lo) fail_at(at, "character range runs backwards");
          }
          item.ranges.push_back({lo, hi});
        }
        ++pos_;
        last_start = sequence.size();
        sequence.push_back(std::move(item));
      } else if (c == '.') {
        ++pos_;
        last_start = sequence.size();
        sequence.push_back(Item{false, true, 0, {}});  // the complement of nothing
      } else if (is_name_char(c)) {
        const std::string ref = parse_name();
        last_start = sequence.size();
        sequence.push_back(Item{true, false, rule_id(ref, at), {}});
      } else if (c == '(') {
        if (++depth_ > kMaxNesting) fail_at(at, "parentheses nested deeper than {}", kMaxNesting);
        ++pos_;
        skip_space(true);
        const uint32_t group = new_rule(name + "-group", at);
        rules_[group] = parse_alternatives(name, true);
        defined_[group] = true;
        if (peek() != ')') fail_at(at, "unclosed '('");
        ++pos_;
        --depth_;
        last_start = sequence.size();
        sequence.push_back(Item{true, false, group, {}});
      } else if (c == '*' || c == '+' || c == '?' || c == '{') {
        if (sequence.size() <= last_start) fail_at(at, "'{}' repeats nothing", c);
        // A repetition applies to the whole of a literal: one rule of it.
        if (sequence.size() - last_start > 1) wrap_tail(sequence, last_start, name, at);
        last_start = sequence.size() - 1;
        repeat_last(sequence, last_start, name, at);
      } else {
        break;
      }
      skip_space(nested);
    }
    return sequence;
  }

  // Elements [from, end) of `sequence` become one reference to a new rule.
  void wrap_tail(Sequence& sequence, size_t from, const std::string& name, size_t at) {
    const uint32_t rule = new_rule(name + "-literal", at);
    rules_[rule] = {Sequence(sequence.begin() + ptrdiff_t(from), sequence.end())};
    defined_[rule] = true;
    sequence.resize(from);
    sequence.push_back(Item{true, false, rule, {}});
  }

  void repeat_last(Sequence& sequence, size_t last_start, const std::string& name, size_t at) {
    int min = 0, max = -1;  // max -1: unbounded
    const char c = text_[pos_++];
    if (c == '+') min = 1;
    if (c == '?') max = 1;
    if (c == '{') {
      skip_space(true);
      min = parse_count(at);
      skip_space(true);
      max = min;
      if (peek() == ',') {
        ++pos_;
        skip_space(true);
        max = peek() == '}' ? -1 : parse_count(at);
        skip_space(true);
      }
      if (peek() != '}') fail_at(at, "expected '}}' to close the repetition");
      ++pos_;
      if (max != -1 && max < min) fail_at(at, "repetition {{{},{}}} has max below min", min, max);
    }
    const Item item = sequence[last_start];
    sequence.resize(last_start);
    for (int i = 0; i < min; ++i) sequence.push_back(item);
    if (max == -1) {  // rest ::= item rest | (nothing)
      const uint32_t rest = new_rule(name + "-star", at);
      rules_[rest] = {{item, Item{true, false, rest, {}}}, {}};
      defined_[rest] = true;
      sequence.push_back(Item{true, false, rest, {}});
    } else if (max > min) {  // opt_k ::= item opt_(k-1) | (nothing), opt_1 ::= item | (nothing)
      uint32_t inner = 0;
      for (int k = 1; k <= max - min; ++k) {
        const uint32_t opt = new_rule(name + "-opt", at);
        Sequence body{item};
        if (k > 1) body.push_back(Item{true, false, inner, {}});
        rules_[opt] = {body, {}};
        defined_[opt] = true;
        inner = opt;
      }
      sequence.push_back(Item{true, false, inner, {}});
    }
  }

  int parse_count(size_t at) {
    int value = 0;
    const size_t start = pos_;
    while (peek() >= '0' && peek() <= '9') {
      value = value * 10 + (text_[pos_++] - '0');
      if (value > kMaxRepetition) fail_at(at, "repetition count above {}", kMaxRepetition);
    }
    if (pos_ == start) fail_at(at, "expected a number in the repetition");
    return value;
  }

  uint32_t parse_hex(int digits, size_t at) {
    uint32_t value = 0;
    for (int i = 0; i < digits; ++i) {
      const char c = peek();
      int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (v < 0) fail_at(at, "expected {} hex digits in the escape", digits);
      value = value * 16 + uint32_t(v);
      ++pos_;
    }
    if (value > kMaxCodepoint) fail_at(at, "escape beyond U+10FFFF");
    return value;
  }

  // One character of a literal or class: an escape or one UTF-8 character.
  uint32_t parse_char() {
    const size_t at = pos_;
    const auto byte = uint8_t(text_[pos_++]);
    if (byte == '\\') {
      if (at_end()) fail_at(at, "escape at the end of the grammar");
      const char e = text_[pos_++];
      switch (e) {
        case 'n': return '\n';
        case 'r': return '\r';
        case 't': return '\t';
        case '\\': case '"': case '[': case ']': case '-': case '^': return uint32_t(e);
        case 'x': return parse_hex(2, at);
        case 'u': return parse_hex(4, at);
        case 'U': return parse_hex(8, at);
        default: fail_at(at, "unknown escape '\\{}'", e);
      }
    }
    if (byte < 0x80) return byte;
    const int length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 0;
    if (length == 0 || byte >= 0xF8 || pos_ + size_t(length - 1) > text_.size()) fail_at(at, "invalid UTF-8");
    uint32_t cp = byte & (0x7F >> length);
    for (int i = 1; i < length; ++i) {
      const auto next = uint8_t(text_[pos_++]);
      if ((next & 0xC0) != 0x80) fail_at(at, "invalid UTF-8");
      cp = (cp << 6) | (next & 0x3F);
    }
    return cp;
  }

  // A rule that can reach itself before consuming a character would expand
  // forever: find one and name it.
  void check_left_recursion() {
    std::vector<bool> nullable(rules_.size(), false);
    for (bool changed = true; changed;) {
      changed = false;
      for (size_t r = 0; r < rules_.size(); ++r) {
        if (nullable[r]) continue;
        for (const Sequence& alt : rules_[r])
          if (std::all_of(alt.begin(), alt.end(), [&](const Item& i) { return i.is_rule && nullable[i.rule]; })) {
            nullable[r] = changed = true;
            break;
          }
      }
    }
    std::vector<int> state(rules_.size(), 0);  // 0 unvisited, 1 on the path, 2 done
    auto visit = [&](auto&& self, uint32_t r) -> void {
      state[r] = 1;
      for (const Sequence& alt : rules_[r])
        for (const Item& item : alt) {
          if (!item.is_rule) break;
          if (state[item.rule] == 1) fail_at(first_use_[item.rule], "rule '{}' is left-recursive", rule_names_[item.rule]);
          if (state[item.rule] == 0) self(self, item.rule);
          if (!nullable[item.rule]) break;
        }
      state[r] = 2;
    };
    for (uint32_t r = 0; r < rules_.size(); ++r)
      if (state[r] == 0) visit(visit, r);
  }

  Grammar compile(uint32_t root) {
    Grammar g;
    g.rules_.resize(rules_.size());
    g.root_ = root;
    for (size_t r = 0; r < rules_.size(); ++r)
      for (const Sequence& alt : rules_[r]) {
        g.rules_[r].push_back(uint32_t(g.elements_.size()));
        for (const Item& item : alt) {
          Grammar::Element e;
          if (item.is_rule) {
            e.kind = Grammar::Kind::rule;
            e.first = item.rule;
          } else {
            e.kind = Grammar::Kind::chars;
            e.negated = item.negated;
            e.first = uint32_t(g.ranges_.size());
            e.count = uint32_t(item.ranges.size());
            g.ranges_.insert(g.ranges_.end(), item.ranges.begin(), item.ranges.end());
          }
          g.elements_.push_back(e);
        }
        g.elements_.push_back(Grammar::Element{});  // end
      }
    return g;
  }

  std::string_view text_;
  size_t pos_ = 0;
  int depth_ = 0;
  std::map<std::string, uint32_t> names_;
  std::vector<std::vector<Sequence>> rules_;
  std::vector<std::string> rule_names_;
  std::vector<bool> defined_;
  std::vector<size_t> first_use_;
};

Grammar Grammar::parse(std::string_view gbnf, std::string_view root) { return GrammarParser(gbnf).parse(root); }

bool Grammar::matches(const Element& chars, uint32_t codepoint) const {
  bool in = false;
  for (uint32_t i = 0; i < chars.count && !in; ++i) {
    const Range& r = ranges_[chars.first + i];
    in = codepoint >= r.lo && codepoint <= r.hi;
  }
  return in != chars.negated;
}

bool Grammar::may_match(const Element& chars, uint32_t lo, uint32_t hi) const {
  for (uint32_t i = 0; i < chars.count; ++i) {
    const Range& r = ranges_[chars.first + i];
    if (!chars.negated && r.lo <= hi && r.hi >= lo) return true;
    if (chars.negated && r.lo <= lo && r.hi >= hi) return false;  // one range covers them all
  }
  return chars.negated;
}

}  // namespace s1
