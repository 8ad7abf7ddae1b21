#include "grading/latex_eval.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cmath>
#include <numbers>
#include <string>

namespace s1 {

namespace {

// Recursive descent over the subset; every parse_* returns nullopt on text it
// does not understand, which makes the whole expression "not a number".
class LatexEvaluator {
 public:
  LatexEvaluator(std::string_view text, const std::map<char, double>& variables, std::set<char>* used)
      : text_(text), variables_(variables), used_(used) {}

  std::optional<double> evaluate() {
    auto value = parse_sum();
    if (!value || pos_ != text_.size()) return std::nullopt;
    return value;
  }

 private:
  static constexpr int kMaxDepth = 100;  // deeper nesting is not an answer; refuse it

  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[pos_]; }
  bool consume(std::string_view token) {
    if (text_.substr(pos_, token.size()) != token) return false;
    // "\pi" must not match the start of "\pitchfork".
    size_t end = pos_ + token.size();
    if (token[0] == '\\' && std::isalpha(static_cast<unsigned char>(token.back())) && end < text_.size() &&
        std::isalpha(static_cast<unsigned char>(text_[end])))
      return false;
    pos_ = end;
    return true;
  }

  std::optional<double> parse_sum() {
    if (++depth_ > kMaxDepth) return std::nullopt;
    auto value = parse_product();
    while (value && !at_end()) {
      if (consume("+")) {
        auto rhs = parse_product();
        if (!rhs) return std::nullopt;
        *value += *rhs;
      } else if (consume("-")) {
        auto rhs = parse_product();
        if (!rhs) return std::nullopt;
        *value -= *rhs;
      } else {
        break;
      }
    }
    --depth_;
    return value;
  }

  bool starts_factor() const {
    char c = peek();
    if (c == '(' || c == '{' || std::isdigit(static_cast<unsigned char>(c)) || c == '.') return true;
    if (std::isalpha(static_cast<unsigned char>(c))) return true;
    return text_.substr(pos_, 5) == "\\frac" || text_.substr(pos_, 5) == "\\sqrt" || text_.substr(pos_, 3) == "\\pi";
  }

  std::optional<double> parse_product() {
    auto value = parse_signed();
    while (value && !at_end()) {
      if (consume("*") || consume("\\cdot") || consume("\\times")) {
        auto rhs = parse_signed();
        if (!rhs) return std::nullopt;
        *value *= *rhs;
      } else if (consume("/") || consume("\\div")) {
        auto rhs = parse_signed();
        if (!rhs) return std::nullopt;
        *value /= *rhs;
      } else if (starts_factor()) {  // implicit product: 2\sqrt{3}, 3x, (a+5)(b+2)
        auto rhs = parse_power();
        if (!rhs) return std::nullopt;
        *value *= *rhs;
      } else {
        break;
      }
    }
    return value;
  }

  std::optional<double> parse_signed() {
    double sign = 1.0;
    for (;;) {
      if (consume("-")) {
        sign = -sign;
      } else if (!consume("+")) {
        break;
      }
    }
    auto value = parse_power();
    return value ? std::optional<double>(sign * *value) : std::nullopt;
  }

  std::optional<double> parse_power() {
    auto base = parse_primary();
    if (!base || !consume("^")) return base;
    auto exponent = parse_argument();
    if (!exponent) return std::nullopt;
    return std::pow(*base, *exponent);
  }

  // A command or exponent argument: {expr} or one character (\frac12, x^2).
  std::optional<double> parse_argument() {
    if (consume("{")) {
      auto value = parse_sum();
      if (!value || !consume("}")) return std::nullopt;
      return value;
    }
    char c = peek();
    if (std::isdigit(static_cast<unsigned char>(c))) {
      ++pos_;
      return double(c - '0');
    }
    if (std::isalpha(static_cast<unsigned char>(c))) return parse_variable();
    if (text_.substr(pos_, 3) == "\\pi") return parse_primary();
    return std::nullopt;
  }

  std::optional<double> parse_variable() {
    char letter = peek();
    // e and i are constants in answers (e, complex i), not variables.
    if (letter == 'e' || letter == 'i') return std::nullopt;
    ++pos_;
    if (used_) used_->insert(letter);
    auto it = variables_.find(letter);
    return it == variables_.end() ? std::nan("") : it->second;
  }

  std::optional<double> parse_number() {
    size_t start = pos_;
    while (std::isdigit(static_cast<unsigned char>(peek()))) ++pos_;
    bool integer = true;
    if (peek() == '.') {
      integer = false;
      ++pos_;
      while (std::isdigit(static_cast<unsigned char>(peek()))) ++pos_;
    }
    std::string digits(text_.substr(start, pos_ - start));
    if (digits == ".") return std::nullopt;
    double value = std::strtod(digits.c_str(), nullptr);
    // A mixed number: 1\frac{4}{5} is 1 + 4/5, not 1 * 4/5.
    if (integer && text_.substr(pos_, 5) == "\\frac") {
      size_t save = pos_;
      auto fraction = parse_fraction_of_integers();
      if (fraction) return value + *fraction;
      pos_ = save;
    }
    return value;
  }

  std::optional<double> parse_fraction_of_integers() {
    if (!consume("\\frac")) return std::nullopt;
    auto integer_argument = [this]() -> std::optional<double> {
      bool braced = consume("{");
      size_t start = pos_;
      if (braced) {
        while (std::isdigit(static_cast<unsigned char>(peek()))) ++pos_;
      } else if (std::isdigit(static_cast<unsigned char>(peek()))) {
        ++pos_;
      }
      size_t end = pos_;
      if (end == start || (braced && !consume("}"))) return std::nullopt;
      return std::strtod(std::string(text_.substr(start, end - start)).c_str(), nullptr);
    };
    auto numerator = integer_argument();
    if (!numerator) return std::nullopt;
    auto denominator = integer_argument();
    if (!denominator) return std::nullopt;
    return *numerator / *denominator;
  }

  std::optional<double> parse_primary() {
    char c = peek();
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') return parse_number();
    if (consume("(")) {
      auto value = parse_sum();
      if (!value || !consume(")")) return std::nullopt;
      return value;
    }
    if (c == '{') return parse_argument();
    if (consume("\\pi")) return std::numbers::pi;
    if (consume("\\frac")) {
      auto numerator = parse_argument();
      if (!numerator) return std::nullopt;
      auto denominator = parse_argument();
      if (!denominator) return std::nullopt;
      return *numerator / *denominator;
    }
    if (consume("\\sqrt")) {
      double degree = 2.0;
      if (consume("[")) {
        auto value = parse_sum();
        if (!value || !consume("]")) return std::nullopt;
        degree = *value;
      }
      auto radicand = parse_argument();
      if (!radicand) return std::nullopt;
      return degree == 3.0 ? std::cbrt(*radicand) : std::pow(*radicand, 1.0 / degree);
    }
    if (std::isalpha(static_cast<unsigned char>(c))) return parse_variable();
    return std::nullopt;
  }

  std::string_view text_;
  const std::map<char, double>& variables_;
  std::set<char>* used_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

std::optional<double> evaluate_latex(std::string_view expr, const std::map<char, double>& variables,
                                     std::set<char>* used) {
  // A word ("odd", "Navin") is a text answer, not a product of letters.
  if (expr.empty() || (expr.size() > 1 && std::all_of(expr.begin(), expr.end(), [](char c) {
                         return std::isalpha(static_cast<unsigned char>(c)) != 0;
                       })))
    return std::nullopt;
  return LatexEvaluator(expr, variables, used).evaluate();
}

}  // namespace s1
