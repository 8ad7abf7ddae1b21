#include "data/augment.h"

#include <fmt/format.h>

#include <cctype>
#include <regex>
#include <sstream>

#include "data/scratchpad.h"
#include "util/error.h"

namespace s1::data {
namespace {

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string join_lines(const std::vector<std::string>& lines, size_t from = 0) {
  std::string out;
  for (size_t i = from; i < lines.size(); ++i) out += (i > from ? "\n" : "") + lines[i];
  return out;
}

std::string expression(const CheckableStep& s) { return fmt::format("{}{}{}", s.a, s.op, s.b); }

// The inverse of the step, worked on `pad`, against a claimed result; writes
// whether it matches and returns that.
bool write_check(Scratchpad& pad, const CheckableStep& s, int64_t claimed) {
  bool matches = false;
  switch (s.op) {
    case '+':
      pad.line(fmt::format("Check: {}-{} should be {}.", claimed, s.b, s.a));
      if (claimed < s.b)
        pad.line(fmt::format("{} is less than {}.", claimed, s.b));
      else
        matches = pad.sub(claimed, s.b) == s.a;
      break;
    case '-':
      pad.line(fmt::format("Check: {}+{} should be {}.", claimed, s.b, s.a));
      matches = pad.add(claimed, s.b) == s.a;
      break;
    default: {
      pad.line(fmt::format("Check: {}/{} should be {}.", claimed, s.b, s.a));
      const auto [quotient, remainder] = pad.div_rem(claimed, s.b);
      matches = remainder == 0 && quotient == s.a;
    }
  }
  pad.line(matches ? std::string("That matches.")
                   : fmt::format("That does not match, so {} is not {}.", expression(s), claimed));
  return matches;
}

std::string check_text(const CheckableStep& s, int64_t claimed) {
  Scratchpad pad;
  write_check(pad, s, claimed);
  return pad.text();
}

constexpr const char* kWait = "\nWait, let me check the answer.\n";

// `line` with the last whole-number occurrence of `from` replaced by `to`.
std::string replace_last_number(std::string line, int64_t from, int64_t to) {
  const std::string f = std::to_string(from);
  for (size_t at = line.rfind(f); at != std::string::npos; at = at == 0 ? std::string::npos : line.rfind(f, at - 1)) {
    const bool digit_before = at > 0 && std::isdigit(static_cast<unsigned char>(line[at - 1]));
    const bool digit_after = at + f.size() < line.size() && std::isdigit(static_cast<unsigned char>(line[at + f.size()]));
    if (!digit_before && !digit_after) return line.replace(at, f.size(), std::to_string(to));
  }
  return line;
}

// A cut between text[p-1] and text[p] that a byte-level BPE with the qwen2
// pre-tokenizer could produce: not inside a run of letters or of punctuation,
// not between a space and the word or punctuation it leads, not between
// punctuation and the newlines it takes along, not inside a run of newlines.
bool is_token_boundary(const std::string& text, size_t p) {
  if (p == 0 || p == text.size()) return true;
  const auto before = static_cast<unsigned char>(text[p - 1]), after = static_cast<unsigned char>(text[p]);
  if (std::isalpha(before) && std::isalpha(after)) return false;
  if (before == ' ' && (std::isalpha(after) || std::ispunct(after))) return false;
  if (std::ispunct(before) && (std::ispunct(after) || after == '\n')) return false;
  return !(before == '\n' && after == '\n');
}

}  // namespace

std::optional<CheckableStep> last_checkable_step(const std::string& thinking) {
  static const std::regex kStep(R"(^So (\d+)([-+*])(\d+)=(\d+)\.$)");
  const std::vector<std::string> lines = split_lines(thinking);
  for (size_t i = lines.size(); i-- > 0;) {
    std::smatch m;
    if (!std::regex_match(lines[i], m, kStep)) continue;
    CheckableStep s{i, std::stoll(m[1]), std::stoll(m[3]), std::stoll(m[4]), m[2].str()[0]};
    if (s.op == '*' && (s.b < 2 || s.b > 9)) continue;  // a two-digit product is an addition's restatement
    return s;
  }
  return std::nullopt;
}

std::optional<std::string> with_rechecks(const std::string& thinking, int passes) {
  const auto step = last_checkable_step(thinking);
  if (!step) return std::nullopt;
  const std::string restated = join_lines(split_lines(thinking), step->line);
  std::string out = thinking;
  for (int i = 0; i < passes; ++i) out += kWait + check_text(*step, step->result) + "\n" + restated;
  return out;
}

std::optional<std::string> with_repaired_error(const std::string& thinking, Rng& rng, bool confirm) {
  const auto step = last_checkable_step(thinking);
  if (!step) return std::nullopt;
  static const int64_t kDeltas[] = {-2, -1, 1, 2};
  int64_t wrong = step->result + kDeltas[rng.below(4)];
  if (wrong < 0) wrong = step->result + 1;

  std::vector<std::string> lines = split_lines(thinking);
  const std::vector<std::string> tail(lines.begin() + std::ptrdiff_t(step->line) + 1, lines.end());
  for (size_t i = step->line; i < lines.size(); ++i) lines[i] = replace_last_number(lines[i], step->result, wrong);

  Scratchpad redo;
  redo.line(fmt::format("Work out {} again.", expression(*step)));
  switch (step->op) {
    case '+': redo.add(step->a, step->b); break;
    case '-': redo.sub(step->a, step->b); break;
    default: redo.mul(step->a, step->b);
  }
  for (const std::string& line : tail) redo.line(line);
  std::string out = join_lines(lines) + kWait + check_text(*step, wrong) + "\n" + redo.text();
  if (confirm) {
    const std::vector<std::string> redone = split_lines(redo.text());
    out += kWait + check_text(*step, step->result) + "\n" + join_lines(redone, redone.size() - tail.size() - 1);
  }
  return out;
}

std::string cut_thinking(const std::string& thinking, Rng& rng) {
  const std::string text = "\n" + thinking;
  std::vector<size_t> cuts;
  for (size_t p = 0; p <= text.size(); ++p)
    if (is_token_boundary(text, p)) cuts.push_back(p);
  return text.substr(0, cuts[rng.below(cuts.size())]);
}

void set_thinking(nlohmann::json& record, const std::string& thinking, bool cut) {
  record["thinking"] = thinking;
  auto& messages = record["messages"];
  for (auto message = messages.rbegin(); message != messages.rend(); ++message) {
    if (message->value("role", "") != "assistant") continue;
    (*message)["thinking"] = thinking;
    if (cut) (*message)["thinking_cut"] = true;
    return;
  }
}

std::vector<nlohmann::json> earlier_tasks(const GenerateOptions& options, uint64_t index, int turns, int max_turns) {
  constexpr uint64_t kHistoryStream = 0x6869;
  if (turns < 0 || turns > max_turns) fail("{} earlier turns asked for, at most {}", turns, max_turns);
  GenerateOptions stream = options;
  stream.seed = derive_seed(options.seed, kHistoryStream);
  std::vector<nlohmann::json> tasks;
  for (int t = turns; t >= 1; --t) tasks.push_back(generate_task(stream, index * uint64_t(max_turns) + uint64_t(t)).to_json());
  return tasks;
}

void prepend_history(nlohmann::json& record, const std::vector<nlohmann::json>& earlier) {
  nlohmann::json history = nlohmann::json::array(), messages = nlohmann::json::array();
  for (const nlohmann::json& turn : earlier) {
    history.push_back({{"role", "user"}, {"content", turn.at("question")}});
    history.push_back({{"role", "assistant"}, {"content", turn.at("answer_text")}});
    messages.push_back(history[history.size() - 2]);
    messages.push_back({{"role", "assistant"}, {"content", turn.at("answer_text")}, {"weight", 0}});
  }
  for (const nlohmann::json& message : record["messages"]) messages.push_back(message);
  record["messages"] = messages;
  record["history"] = history;
}

}  // namespace s1::data
