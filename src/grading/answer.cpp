#include "grading/answer.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <map>
#include <set>
#include <vector>

#include "grading/latex_eval.h"

namespace s1 {

namespace {

bool is_digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }
bool is_alpha(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }
bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
}

// Removes a LaTeX command only where it is the whole command name ("\in" but
// not the start of "\infty").
void remove_command(std::string& s, std::string_view command) {
  for (size_t at = s.find(command); at != std::string::npos; at = s.find(command, at)) {
    size_t end = at + command.size();
    if (end < s.size() && is_alpha(s[end])) {
      at = end;
      continue;
    }
    s.erase(at, command.size());
  }
}

// Index one past the brace group opening at s[open] ('{'), or npos when unbalanced.
size_t close_group(std::string_view s, size_t open) {
  int depth = 0;
  for (size_t i = open; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == '{' || s[i + 1] == '}')) {
      ++i;  // \{ and \} are set braces, not groups
    } else if (s[i] == '{') {
      ++depth;
    } else if (s[i] == '}' && --depth == 0) {
      return i + 1;
    }
  }
  return std::string::npos;
}

// ---------------------------------------------------------------- extraction

// The argument of the last \boxed or \fbox that has one ("\boxed{...}" with
// nested braces, or "\boxed 5"). An unclosed last box (a cut-off output)
// falls back to the one before it.
std::optional<std::string> last_boxed(std::string_view text) {
  std::vector<size_t> starts;
  for (std::string_view command : {"\\boxed", "\\fbox"})
    for (size_t at = text.find(command); at != std::string_view::npos; at = text.find(command, at + 1))
      starts.push_back(at + command.size());
  std::sort(starts.rbegin(), starts.rend());
  for (size_t i : starts) {
    while (i < text.size() && text[i] == ' ') ++i;
    if (i < text.size() && text[i] == '{') {
      size_t end = close_group(text, i);
      if (end == std::string_view::npos) continue;
      auto content = trim(text.substr(i + 1, end - i - 2));
      if (!content.empty()) return std::string(content);
    } else if (i > 0 && text[i - 1] == ' ') {
      size_t end = i;
      while (end < text.size() && !is_space(text[end]) && text[end] != '$') ++end;
      if (end > i) return std::string(text.substr(i, end - i));
    }
  }
  return std::nullopt;
}

// Position just past the last case-insensitive occurrence of `phrase`, or npos.
size_t after_last(std::string_view text, std::string_view phrase) {
  std::string haystack = lower(text);
  size_t at = haystack.rfind(phrase);
  return at == std::string::npos ? at : at + phrase.size();
}

// The answer stated after a phrase such as "final answer": the rest of that
// line (or the next non-empty one), its first $...$ span if it has one, cut at
// the end of the sentence.
// A phrase without its own link ("final answer") must be followed by ":", "is"
// or a line break, so that "put your final answer within ..." is not an answer.
std::optional<std::string> answer_after(std::string_view text, size_t start, bool needs_link) {
  std::string_view rest = text.substr(start);
  size_t skip = 0;
  bool linked = !needs_link;
  while (skip < rest.size() && (rest[skip] == ':' || rest[skip] == '*' || rest[skip] == ' ' || rest[skip] == '\t'))
    linked |= rest[skip++] == ':';
  rest.remove_prefix(skip);
  if (rest.substr(0, 2) == "is" && (rest.size() == 2 || is_space(rest[2]))) {
    rest.remove_prefix(2);
    linked = true;
  }
  if (!linked && !rest.empty() && rest[0] != '\n' && rest[0] != '\r') return std::nullopt;
  std::string_view line;
  while (!rest.empty()) {
    size_t eol = rest.find('\n');
    line = trim(rest.substr(0, eol));
    while (!line.empty() && (line.front() == '*' || line.front() == ':')) line = trim(line.substr(1));
    if (!line.empty() || eol == std::string_view::npos) break;
    rest.remove_prefix(eol + 1);
  }
  if (line.empty()) return std::nullopt;
  size_t dollar = line.find('$');
  if (dollar != std::string_view::npos) {
    size_t open = line.find_first_not_of('$', dollar);
    size_t close = open == std::string_view::npos ? open : line.find('$', open);
    if (close != std::string_view::npos) return std::string(trim(line.substr(open, close - open)));
  }
  if (line.substr(0, 2) == "\\[" || line.substr(0, 2) == "\\(") {
    size_t close = line.find(line[1] == '[' ? "\\]" : "\\)");
    if (close != std::string_view::npos) return std::string(trim(line.substr(2, close - 2)));
  }
  size_t sentence_end = line.find(". ");
  if (sentence_end != std::string_view::npos) line = line.substr(0, sentence_end);
  while (!line.empty() && (line.back() == '.' || line.back() == '*')) line.remove_suffix(1);
  line = trim(line);
  if (line.empty()) return std::nullopt;
  return std::string(line);
}

std::optional<std::string> phrase_answer(std::string_view text, std::string_view phrase) {
  size_t at = after_last(text, phrase);
  bool needs_link = phrase.back() != ':' && !phrase.ends_with(" is");
  return at == std::string::npos ? std::nullopt : answer_after(text, at, needs_link);
}

std::optional<std::string> gsm8k_answer(std::string_view text) {
  size_t at = text.rfind("####");
  if (at == std::string_view::npos) return std::nullopt;
  auto line = text.substr(at + 4);
  line = trim(line.substr(0, line.find('\n')));
  if (line.empty()) return std::nullopt;
  return std::string(line);
}

// The last number in the text: 72, -3, 1,000, 0.5, .25, 3/4.
std::optional<std::string> last_number(std::string_view text) {
  std::optional<std::string> last;
  size_t i = 0;
  while (i < text.size()) {
    bool leading_dot = text[i] == '.' && i + 1 < text.size() && is_digit(text[i + 1]);
    if (!is_digit(text[i]) && !leading_dot) {
      ++i;
      continue;
    }
    size_t start = i;
    if (start > 0 && text[start - 1] == '-' && (start < 2 || !std::isalnum(static_cast<unsigned char>(text[start - 2]))))
      --start;
    while (i < text.size() && is_digit(text[i])) ++i;
    // Thousands groups: ",ddd" not followed by another digit.
    while (i + 3 < text.size() && text[i] == ',' && is_digit(text[i + 1]) && is_digit(text[i + 2]) &&
           is_digit(text[i + 3]) && (i + 4 == text.size() || !is_digit(text[i + 4])))
      i += 4;
    if (i + 1 < text.size() && text[i] == '.' && is_digit(text[i + 1])) {
      ++i;
      while (i < text.size() && is_digit(text[i])) ++i;
    }
    if (i + 1 < text.size() && text[i] == '/' && is_digit(text[i + 1])) {
      ++i;
      while (i < text.size() && is_digit(text[i])) ++i;
    }
    last = std::string(text.substr(start, i - start));
  }
  return last;
}

// ------------------------------------------------------------ multiple choice

bool is_choice_letter(char c) { return c >= 'A' && c <= 'E'; }

// "C", "(C)", "\text{(C)}", "\textbf{C.}", "(C) 25", "C: 25" -> 'C'.
std::optional<char> choice_in(std::string_view answer) {
  std::string s(answer);
  for (std::string_view wrapper : {"\\text{", "\\textbf{", "\\mathrm{", "\\mathbf{"}) replace_all(s, wrapper, "");
  std::string_view v = trim(s);
  while (!v.empty() && (v.front() == '(' || v.front() == '{' || v.front() == '*' || v.front() == '[')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ')' || v.back() == '}' || v.back() == '*' || v.back() == ']' || v.back() == '.'))
    v.remove_suffix(1);
  if (v.size() == 1) {
    char letter = char(std::toupper(static_cast<unsigned char>(v[0])));
    if (is_choice_letter(letter)) return letter;
    return std::nullopt;
  }
  // "(C) 25" or "C: 25": an upper-case letter followed by something that is not a word.
  if (v.size() > 1 && is_choice_letter(v[0]) && !std::isalnum(static_cast<unsigned char>(v[1]))) return v[0];
  return std::nullopt;
}

std::optional<std::string> extract_choice(std::string_view text) {
  for (auto candidate : {last_boxed(text), phrase_answer(text, "final answer"), phrase_answer(text, "answer is"),
                         phrase_answer(text, "answer:")}) {
    if (!candidate) continue;
    if (auto letter = choice_in(*candidate)) return std::string(1, *letter);
  }
  // The last "(X)" anywhere.
  for (size_t at = text.rfind('('); at != std::string_view::npos; at = at == 0 ? at - 1 : text.rfind('(', at - 1)) {
    if (at + 2 < text.size() && is_choice_letter(text[at + 1]) && text[at + 2] == ')') return std::string(1, text[at + 1]);
    if (at == 0) break;
  }
  return std::nullopt;
}

// ------------------------------------------------------------- normalization

// \text{...}-like commands whose content is the answer ("\text{Evelyn}").
constexpr std::array<std::string_view, 8> kTextCommands = {"\\text", "\\textbf", "\\textit", "\\mbox",
                                                          "\\mathrm", "\\mathbf", "\\boxed", "\\operatorname"};

// A unit written as \text{ cm} or \mbox{ inches} (content starting with a
// space) ends the answer: everything from it on goes, exponents included.
void drop_spaced_text_units(std::string& s) {
  for (std::string_view command : {"\\text{ ", "\\mbox{ ", "\\text{\\ ", "\\mbox{\\ "}) {
    size_t at = s.find(command);
    if (at != std::string::npos && !trim(std::string_view(s).substr(0, at)).empty()) s.erase(at);
  }
}

void unwrap_text_commands(std::string& s) {
  for (std::string_view command : kTextCommands) {
    for (size_t at = s.find(command); at != std::string::npos; at = s.find(command, at)) {
      size_t open = at + command.size();
      if (open >= s.size() || s[open] != '{') {
        at = open;
        continue;
      }
      size_t end = close_group(s, open);
      if (end == std::string::npos) break;
      s = s.substr(0, at) + s.substr(open + 1, end - open - 2) + s.substr(end);
    }
  }
}

// Unit words a number may be followed by ("5 cm", "18 dollars", "12 square feet").
bool is_unit_word(std::string_view word) {
  static const std::array<std::string_view, 62> units = {
      "cm", "mm", "km", "m", "meter", "meters", "metre", "metres", "inch", "inches", "in", "ft", "foot", "feet",
      "yard", "yards", "yd", "mile", "miles", "mi", "units", "unit", "square", "sq", "cubic", "degree", "degrees",
      "cent", "cents", "dollar", "dollars", "hour", "hours", "hr", "hrs", "minute", "minutes", "min", "mins",
      "second", "seconds", "sec", "s", "day", "days", "week", "weeks", "year", "years", "kg", "g", "gram",
      "grams", "pounds", "lb", "lbs", "ounces", "oz", "mph", "liters", "percent", "ways"};
  return std::find(units.begin(), units.end(), word) != units.end();
}

void drop_trailing_unit_words(std::string& s) {
  for (;;) {
    std::string_view v = trim(s);
    size_t end = v.size();
    // An optional power on the unit: cm^2, ft^{3}.
    if (end >= 2 && v[end - 2] == '^' && is_digit(v[end - 1])) end -= 2;
    else if (end >= 4 && v.substr(end - 4, 2) == "^{" && is_digit(v[end - 2]) && v[end - 1] == '}') end -= 4;
    size_t start = end;
    while (start > 0 && is_alpha(v[start - 1])) --start;
    if (start == end || start == 0 || !is_unit_word(lower(v.substr(start, end - start)))) return;
    if (start > 1 && v[start - 1] == '\\') return;  // a command, not a word
    std::string_view before = trim(v.substr(0, start));
    bool spaced = is_space(v[start - 1]);
    if (before.empty() || !(is_digit(before.back()) || before.back() == '}' || before.back() == ')')) return;
    if (end - start == 1 && !spaced) return;  // "5m" may be a product; "5 m" is a unit
    s = std::string(before);
  }
}

// \frac12 -> \frac{1}{2}, \frac 34 -> \frac{3}{4}, \sqrt2 -> \sqrt{2}: one-character
// arguments get braces so both spellings compare equal.
std::string brace_short_arguments(std::string_view s) {
  std::string out;
  size_t i = 0;
  auto copy_argument = [&]() {
    if (i < s.size() && s[i] == '{') {
      size_t end = close_group(s, i);
      if (end == std::string_view::npos) end = s.size();
      out.append(s.substr(i, end - i));
      i = end;
    } else if (i < s.size()) {
      out += '{';
      out += s[i++];
      out += '}';
    }
  };
  while (i < s.size()) {
    bool frac = s.substr(i, 5) == "\\frac", sqrt = s.substr(i, 5) == "\\sqrt";
    if ((frac || sqrt) && !(i + 5 < s.size() && is_alpha(s[i + 5]))) {
      out.append(s.substr(i, 5));
      i += 5;
      if (sqrt && i < s.size() && s[i] == '[') continue;  // \sqrt[3]{x}: leave the index alone
      copy_argument();
      if (frac) copy_argument();
    } else {
      out += s[i++];
    }
  }
  return out;
}

// "1,000" or "11,111,111,100" -> digits only; "(1,2)" and "1,2" are left alone.
void drop_thousands_separators(std::string& s) {
  size_t i = s[0] == '-' ? 1 : 0;
  size_t lead = i;
  while (i < s.size() && is_digit(s[i])) ++i;
  if (i == lead || i - lead > 3 || i == s.size() || s[i] != ',') return;
  while (i < s.size() && s[i] == ',') {
    if (i + 3 >= s.size() || !is_digit(s[i + 1]) || !is_digit(s[i + 2]) || !is_digit(s[i + 3])) return;
    i += 4;
  }
  if (i + 1 < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && is_digit(s[i])) ++i;
  }
  if (i != s.size()) return;
  s.erase(std::remove(s.begin(), s.end(), ','), s.end());
}

// "x=5" -> "5", "y=-2x" -> "-2x", "x\in[-2,7]" -> "[-2,7]": a short left side
// naming the unknown is not part of the answer.
void drop_leading_variable(std::string& s) {
  size_t eq = s.find('=');
  auto names_unknown = [](std::string_view lhs) {  // "x", "x_1", "f(x)"
    if (lhs.size() <= 2) return lhs.find_first_of("<>!") == std::string_view::npos;
    return lhs.size() == 4 && is_alpha(lhs[0]) && lhs[1] == '(' && is_alpha(lhs[2]) && lhs[3] == ')';
  };
  if (eq != std::string::npos && eq > 0 && s.find('=', eq + 1) == std::string::npos && names_unknown(s.substr(0, eq))) {
    s.erase(0, eq + 1);
    return;
  }
  size_t in = s.find("\\in");
  if (in != std::string::npos && in > 0 && in <= 2 && !(in + 3 < s.size() && is_alpha(s[in + 3]))) s.erase(0, in + 3);
}

// Drops math delimiters (\( \) \[ \] $), dollar and percent signs and turns
// spacing commands (\! \, \; \: \ ~) into spaces, reading "\\" (a matrix row
// break) as one token so that "\\ 0" keeps its row break.
std::string strip_delimiters_and_spacing(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i], next = i + 1 < s.size() ? s[i + 1] : '\0';
    if (c == '\\' && next == '\\') {
      out += "\\\\";
      ++i;
    } else if (c == '\\' && std::string_view("$()[]").find(next) != std::string_view::npos && next != '\0') {
      ++i;
    } else if (c == '\\' && std::string_view("!,;: %").find(next) != std::string_view::npos && next != '\0') {
      out += ' ';
      ++i;
    } else if (c == '$') {
      continue;
    } else if (c == '~' || c == '%') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

// {2} -> 2 in subscripts and exponents: 4210_{5} = 4210_5, x^{2} = x^2.
void unbrace_single_characters(std::string& s) {
  for (size_t at = s.find_first_of("_^"); at != std::string::npos; at = s.find_first_of("_^", at + 1)) {
    if (at + 3 < s.size() && s[at + 1] == '{' && s[at + 3] == '}' && s[at + 2] != '\\') {
      s.erase(at + 3, 1);
      s.erase(at + 1, 1);
    }
  }
}

}  // namespace

std::string normalize_answer(std::string_view answer) {
  std::string s = strip_delimiters_and_spacing(trim(answer));
  for (std::string_view from : {"\\dfrac", "\\tfrac"}) replace_all(s, from, "\\frac");
  replace_all(s, "\\displaystyle", "");
  // Degrees.
  for (std::string_view token : {"^{\\circ}", "^\\circ", "\\circ", "\xc2\xb0", "\\degree"}) replace_all(s, token, "");
  replace_all(s, "\\text{ degrees}", " degrees");
  // "x=1 \text{ or } x=2" lists its solutions.
  for (std::string_view joiner : {"\\text{ or }", "\\text{ and }", "\\text{or}", "\\text{and}", " or ", " and "})
    replace_all(s, joiner, ",");
  drop_spaced_text_units(s);
  unwrap_text_commands(s);
  for (std::string_view command : {"\\left", "\\right", "\\quad", "\\qquad", "\\bigl", "\\bigr", "\\Bigl", "\\Bigr"})
    remove_command(s, command);
  for (std::string_view infinity : {"\xe2\x88\x9e", "infinity"}) replace_all(s, infinity, "\\infty");
  replace_all(s, "\xc2\xb1", "\\pm");
  drop_trailing_unit_words(s);
  // Whitespace goes: "\cot x" and "\cotx" compare equal, as in the MATH grader.
  s.erase(std::remove_if(s.begin(), s.end(), is_space), s.end());
  while (!s.empty() && s.back() == '.') s.pop_back();
  if (s.empty()) return s;
  s = brace_short_arguments(s);
  unbrace_single_characters(s);
  drop_leading_variable(s);
  if (s.empty()) return s;
  drop_thousands_separators(s);
  if (s.size() >= 2 && s[0] == '.' && is_digit(s[1])) s.insert(0, "0");
  // A choice in parentheses is its letter: "(C)" = "C".
  if (s.size() == 3 && s[0] == '(' && is_choice_letter(s[1]) && s[2] == ')') s = s.substr(1, 1);
  // Words compare without case ("East" = "east"); single letters keep it (R vs r).
  if (s.size() >= 2 && std::all_of(s.begin(), s.end(), is_alpha)) s = lower(s);
  return s;
}

namespace {

// -------------------------------------------------------------- equivalence

bool equivalent_normalized(const std::string& a, const std::string& b, int depth);

// Splits at commas (or `separator`) outside any brackets or braces.
std::vector<std::string> split_top_level(std::string_view s, std::string_view separator = ",") {
  std::vector<std::string> parts;
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\\' && i + 1 < s.size() && (s[i + 1] == '{' || s[i + 1] == '}')) {
      depth += s[i + 1] == '{' ? 1 : -1;
      ++i;
    } else if (c == '(' || c == '[' || c == '{') {
      ++depth;
    } else if (c == ')' || c == ']' || c == '}') {
      --depth;
    } else if (depth == 0 && s.substr(i, separator.size()) == separator) {
      parts.emplace_back(s.substr(start, i - start));
      start = i + separator.size();
      i = start - 1;
    }
  }
  parts.emplace_back(s.substr(start));
  return parts;
}

// "(1,2]" -> {'(', ']', "1,2"} when the opening bracket closes at the very end.
struct Bracketed {
  char open, close;
  std::string inner;
};

std::optional<Bracketed> bracketed(const std::string& s) {
  bool set = s.starts_with("\\{") && s.ends_with("\\}");
  if (set) {
    std::string_view inner = std::string_view(s).substr(2, s.size() - 4);
    if (split_top_level(inner, "\\}").size() != 1) return std::nullopt;
    return Bracketed{'{', '}', std::string(inner)};
  }
  if (s.size() < 2 || (s.front() != '(' && s.front() != '[') || (s.back() != ')' && s.back() != ']')) return std::nullopt;
  int depth = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '(' || s[i] == '[' || s[i] == '{') ++depth;
    if (s[i] == ')' || s[i] == ']' || s[i] == '}') --depth;
    if (depth == 0 && i + 1 < s.size()) return std::nullopt;  // "(a+5)(b+2)"
  }
  return Bracketed{s.front(), s.back(), s.substr(1, s.size() - 2)};
}

bool all_equivalent_in_order(const std::vector<std::string>& a, const std::vector<std::string>& b, int depth) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!equivalent_normalized(a[i], b[i], depth)) return false;
  return true;
}

bool all_equivalent_any_order(const std::vector<std::string>& a, std::vector<std::string> b, int depth) {
  if (a.size() != b.size()) return false;
  for (const std::string& x : a) {
    auto match = std::find_if(b.begin(), b.end(), [&](const std::string& y) { return equivalent_normalized(x, y, depth); });
    if (match == b.end()) return false;
    b.erase(match);
  }
  return true;
}

// The cells of \begin{pmatrix} a & b \\ c & d \end{pmatrix} (or bmatrix), row by row.
std::optional<std::vector<std::vector<std::string>>> matrix_cells(const std::string& s) {
  for (std::string_view kind : {"pmatrix", "bmatrix", "matrix"}) {
    std::string begin = "\\begin{" + std::string(kind) + "}", end = "\\end{" + std::string(kind) + "}";
    if (!s.starts_with(begin) || !s.ends_with(end)) continue;
    std::string body = s.substr(begin.size(), s.size() - begin.size() - end.size());
    std::vector<std::vector<std::string>> rows;
    for (const std::string& row : split_top_level(body, "\\\\")) {
      if (row.empty()) continue;
      rows.push_back(split_top_level(row, "&"));
    }
    return rows;
  }
  return std::nullopt;
}

bool is_integer_literal(const std::string& s) {
  size_t start = s[0] == '-' ? 1 : 0;
  return s.size() > start && std::all_of(s.begin() + ptrdiff_t(start), s.end(), is_digit);
}

bool close_enough(double a, double b) {
  return a == b || std::abs(a - b) <= 1e-6 * std::max(std::abs(a), std::abs(b)) || std::abs(a - b) < 1e-12;
}

// Same number, or the same expression at several points for its variables.
bool numerically_equivalent(const std::string& a, const std::string& b) {
  // Integers are exact: 11111111100 is not 11111111101, whatever the tolerance.
  if (is_integer_literal(a) && is_integer_literal(b)) {
    auto digits = [](const std::string& s) {
      size_t sign = s[0] == '-', first = s.find_first_not_of('0', sign);
      return first == std::string::npos ? std::string("0") : s.substr(0, sign) + s.substr(first);
    };
    return digits(a) == digits(b);
  }
  std::set<char> variables;
  if (!evaluate_latex(a, {}, &variables) || !evaluate_latex(b, {}, &variables)) return false;
  constexpr int kPoints = 4;
  int compared = 0;
  for (int point = 0; point < kPoints; ++point) {
    std::map<char, double> values;
    int index = 0;
    for (char v : variables) {
      ++index;
      values[v] = 0.5 + 0.731 * index + 1.137 * point + 0.0173 * index * point;
    }
    double x = *evaluate_latex(a, values), y = *evaluate_latex(b, values);
    if (!std::isfinite(x) || !std::isfinite(y)) continue;  // a pole at this point
    if (!close_enough(x, y)) return false;
    ++compared;
    if (variables.empty()) break;
  }
  return compared > 0;
}

// "1\pm\sqrt{2}" -> {"1+\sqrt{2}", "1-\sqrt{2}"} when it has one \pm.
std::optional<std::vector<std::string>> expand_plus_minus(const std::string& s) {
  size_t at = s.find("\\pm");
  if (at == std::string::npos || s.find("\\pm", at + 1) != std::string::npos) return std::nullopt;
  std::string plus = s, minus = s;
  plus.replace(at, 3, "+");
  minus.replace(at, 3, "-");
  return std::vector<std::string>{plus, minus};
}

bool equivalent_normalized(const std::string& a, const std::string& b, int depth) {
  if (a == b) return true;
  if (a.empty() || b.empty() || depth > 20) return false;
  ++depth;
  auto union_a = split_top_level(a, "\\cup"), union_b = split_top_level(b, "\\cup");
  if (union_a.size() > 1 || union_b.size() > 1) return all_equivalent_any_order(union_a, union_b, depth);

  auto matrix_a = matrix_cells(a), matrix_b = matrix_cells(b);
  if (matrix_a || matrix_b) {
    if (!matrix_a || !matrix_b || matrix_a->size() != matrix_b->size()) return false;
    for (size_t r = 0; r < matrix_a->size(); ++r)
      if (!all_equivalent_in_order((*matrix_a)[r], (*matrix_b)[r], depth)) return false;
    return true;
  }

  auto group_a = bracketed(a), group_b = bracketed(b);
  if (group_a && group_b) {
    if (group_a->open != group_b->open || group_a->close != group_b->close) return false;
    auto items_a = split_top_level(group_a->inner), items_b = split_top_level(group_b->inner);
    if (group_a->open == '{') return all_equivalent_any_order(items_a, items_b, depth);
    return all_equivalent_in_order(items_a, items_b, depth);
  }

  auto list_a = split_top_level(a), list_b = split_top_level(b);
  if (list_a.size() > 1 || list_b.size() > 1) {
    for (auto* list : {&list_a, &list_b})
      for (std::string& item : *list) drop_leading_variable(item);  // "x=-2,x=1"
    // Solutions listed without brackets: order is not part of the answer.
    if (list_a.size() == 1 && !group_a) list_a = expand_plus_minus(a).value_or(list_a);
    if (list_b.size() == 1 && !group_b) list_b = expand_plus_minus(b).value_or(list_b);
    return all_equivalent_any_order(list_a, list_b, depth);
  }
  return numerically_equivalent(a, b);
}

}  // namespace

const char* to_string(Verdict verdict) {
  switch (verdict) {
    case Verdict::correct: return "correct";
    case Verdict::wrong: return "wrong";
    case Verdict::unparsed: return "unparsed";
  }
  return "unparsed";
}

std::optional<std::string> extract_answer(std::string_view text, AnswerStyle style) {
  if (style == AnswerStyle::multiple_choice) return extract_choice(text);
  if (auto boxed = last_boxed(text)) return boxed;
  if (auto stated = phrase_answer(text, "final answer")) return stated;
  if (auto gsm8k = gsm8k_answer(text)) return gsm8k;
  if (auto stated = phrase_answer(text, "the answer is")) return stated;
  return last_number(text);
}

bool answers_equivalent(std::string_view a, std::string_view b) {
  return equivalent_normalized(normalize_answer(a), normalize_answer(b), 0);
}

Verdict grade(std::string_view prediction_text, std::string_view reference, AnswerStyle style) {
  // A GSM8K worked solution grades by its "#### N" line.
  auto gsm8k_reference = gsm8k_answer(reference);
  if (gsm8k_reference) reference = *gsm8k_reference;
  std::string normalized_reference = normalize_answer(reference);
  bool reference_is_choice = normalized_reference.size() == 1 && is_choice_letter(normalized_reference[0]) &&
                             reference.find('(') != std::string_view::npos;
  if (reference_is_choice) style = AnswerStyle::multiple_choice;

  auto prediction = extract_answer(prediction_text, style);
  if (!prediction || normalize_answer(*prediction).empty()) return Verdict::unparsed;
  if (style == AnswerStyle::multiple_choice) {
    auto letter = choice_in(reference);
    return letter && prediction->size() == 1 && (*prediction)[0] == *letter ? Verdict::correct : Verdict::wrong;
  }
  return answers_equivalent(*prediction, reference) ? Verdict::correct : Verdict::wrong;
}

}  // namespace s1
