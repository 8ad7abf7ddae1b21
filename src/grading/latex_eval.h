#pragma once
// Numeric evaluation of a small LaTeX arithmetic subset, for telling whether
// two answers are the same number or the same expression:
//   numbers, + - * / ^, \cdot \times \div, implicit products (2\sqrt{3}, 3x,
//   (a+5)(b+2)), parentheses and braces, \frac{a}{b} (and \frac12),
//   \sqrt{x}, \sqrt[n]{x}, \pi, mixed numbers (1\frac{4}{5} = 1.8) and
//   single-letter variables (not e or i, which are constants there).
// Input is an answer already normalized (no spaces, \left/\right, $ or units).
#include <map>
#include <optional>
#include <set>
#include <string_view>

namespace s1 {

// The value of `expr`, or nullopt when the text is outside the subset. A
// variable missing from `variables` evaluates to NaN; `used` (if given)
// collects the variable letters. The value may be inf or NaN (1/0, 0/0).
std::optional<double> evaluate_latex(std::string_view expr, const std::map<char, double>& variables = {},
                                     std::set<char>* used = nullptr);

}  // namespace s1
