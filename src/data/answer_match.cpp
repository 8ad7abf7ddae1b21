#include "data/answer_match.h"

#include <algorithm>
#include <cctype>

namespace s1::data {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool is_number_text(std::string_view s) {
  if (s.empty()) return false;
  size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  bool digits = false;
  for (; i < s.size(); ++i) {
    if (std::isdigit(static_cast<unsigned char>(s[i]))) digits = true;
    else if (s[i] != ',' && s[i] != '.') return false;
  }
  return digits;
}

// "+0012" -> "12", "-0" -> "0", "3.50" -> "3.5", "1,000" -> "1000".
std::string canonical_number(std::string_view s) {
  std::string sign = s[0] == '-' ? "-" : "";
  if (s[0] == '-' || s[0] == '+') s.remove_prefix(1);
  std::string digits;
  for (char c : s)
    if (c != ',') digits += c;
  size_t dot = digits.find('.');
  if (dot != std::string::npos) {
    while (digits.back() == '0') digits.pop_back();
    if (digits.back() == '.') digits.pop_back();
  }
  size_t first = digits.find_first_not_of('0');
  if (first == std::string::npos) return "0";
  digits.erase(0, digits[first] == '.' ? first - 1 : first);
  return digits == "0" ? "0" : sign + digits;
}

}  // namespace

std::optional<std::string> extract_final_answer(std::string_view text) {
  size_t boxed = text.rfind("\\boxed{");
  if (boxed != std::string_view::npos) {
    size_t start = boxed + 7, depth = 1;
    for (size_t i = start; i < text.size(); ++i) {
      if (text[i] == '{') ++depth;
      if (text[i] == '}' && --depth == 0) return std::string(trim(text.substr(start, i - start)));
    }
    return std::nullopt;  // unbalanced: the text was cut off
  }
  size_t said = text.rfind("answer is");
  if (said == std::string_view::npos) return std::nullopt;
  std::string_view rest = text.substr(said + 9);
  size_t end = rest.find('\n');
  rest = rest.substr(0, end);
  while (!rest.empty() && (rest.back() == '.' || std::isspace(static_cast<unsigned char>(rest.back()))))
    rest.remove_suffix(1);
  rest = trim(rest);
  if (!rest.empty() && rest.front() == ':') rest = trim(rest.substr(1));
  if (rest.empty()) return std::nullopt;
  return std::string(rest);
}

std::string normalize_exact(std::string_view answer) {
  std::string_view s = trim(answer);
  while (s.size() >= 2 && s.front() == '$' && s.back() == '$') s = trim(s.substr(1, s.size() - 2));
  while (!s.empty() && s.back() == '.') s = trim(s.substr(0, s.size() - 1));
  if (s.size() > 2 && std::isalpha(static_cast<unsigned char>(s[0]))) {  // "x = 5", "x=5"
    std::string_view after = trim(s.substr(1));
    if (!after.empty() && after[0] == '=') s = trim(after.substr(1));
  }
  std::string compact;
  for (char c : s)
    if (!std::isspace(static_cast<unsigned char>(c))) compact += char(std::tolower(static_cast<unsigned char>(c)));
  return is_number_text(compact) ? canonical_number(compact) : compact;
}

bool exact_match(std::string_view output, std::string_view reference) {
  auto answer = extract_final_answer(output);
  if (!answer) return false;
  return normalize_exact(*answer) == normalize_exact(reference);
}

}  // namespace s1::data
