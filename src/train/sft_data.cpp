#include "train/sft_data.h"

#include <algorithm>
#include <cctype>
#include <fstream>

#include "util/error.h"
#include "util/log.h"

namespace s1::train {

namespace {

using nlohmann::json;

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

// What an assistant turn contributes to the loss.
struct TurnLoss {
  bool learned = true;      // "weight": 0 makes the turn context
  bool close_given = false;  // "thinking_cut": the closing delimiter is not learned
};

// The messages as the template sees them: `thinking` moved into the content
// between the delimiters (the layout of Qwen3 and DeepSeek-R1 outputs). Fills
// `losses` with one entry per message.
json normalize(const json& messages, const SftFormat& format, const std::string& where, std::vector<TurnLoss>& losses) {
  if (!messages.is_array() || messages.empty()) fail("{}: 'messages' must be a non-empty array", where);
  json out = json::array();
  losses.assign(messages.size(), {});
  for (size_t k = 0; k < messages.size(); ++k) {
    const json& m = messages[k];
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
      fail("{}: message {} has no string 'role'", where, k);
    const std::string role = m["role"];
    if (role != "system" && role != "user" && role != "assistant")
      fail("{}: message {} has role '{}' (expected system, user or assistant)", where, k, role);
    if (!m.contains("content") || !m["content"].is_string())
      fail("{}: message {} has no string 'content'", where, k);
    for (const char* field : {"thinking", "weight", "thinking_cut"})
      if (m.contains(field) && role != "assistant") fail("{}: message {} is not an assistant's but has '{}'", where, k, field);
    TurnLoss& loss = losses[k];
    loss.learned = role == "assistant";
    if (m.contains("weight")) {
      if (!m["weight"].is_number() || (m["weight"] != 0 && m["weight"] != 1))
        fail("{}: message {} has a 'weight' that is not 0 or 1", where, k);
      loss.learned = m["weight"] == 1;
    }
    if (m.contains("thinking_cut")) {
      if (!m["thinking_cut"].is_boolean()) fail("{}: message {} has a 'thinking_cut' that is not true or false", where, k);
      loss.close_given = m["thinking_cut"].get<bool>();
      if (loss.close_given && !m.contains("thinking")) fail("{}: message {} has 'thinking_cut' but no 'thinking'", where, k);
    }
    std::string content = m["content"];
    if (m.contains("thinking")) {
      if (!m["thinking"].is_string()) fail("{}: message {} has a 'thinking' that is not a string", where, k);
      const std::string thinking = m["thinking"];
      // A budget's cut closes the thinking right after its last token.
      content = loss.close_given ? format.thinking.open + thinking + format.thinking.close + "\n\n" + content
                                 : format.thinking.open + "\n" + thinking + "\n" + format.thinking.close + "\n\n" + content;
    }
    out.push_back({{"role", role}, {"content", content}});
  }
  return out;
}

json head(const json& messages, size_t n) {
  return json(std::vector<json>(messages.begin(), messages.begin() + std::ptrdiff_t(n)));
}

}  // namespace

SftExample encode_conversation(const json& raw, const SftFormat& format, const std::string& where) {
  std::vector<TurnLoss> losses;
  const json messages = normalize(raw, format, where, losses);
  if (std::none_of(losses.begin(), losses.end(), [](const TurnLoss& l) { return l.learned; }))
    fail("{}: the conversation has no assistant turn to learn from", where);
  const ModelChatTemplate& t = *format.chat_template;
  auto render = [&](const json& m, bool generation_prompt) {
    return t.chat_template.render(m, generation_prompt, json::object(), t.bos_token, t.eos_token);
  };
  const std::string full = render(messages, false);

  // Each assistant turn's text is what render(messages[..k]) adds after
  // render(messages[..k), with the generation prompt): the template's own
  // layout, whatever it is. Trailing whitespace after the end-of-turn token
  // belongs to the next prompt.
  struct Span {
    size_t begin, end;
    uint8_t mask;
    size_t given_close = std::string::npos;  // where a budget's closing delimiter starts
  };
  std::vector<Span> spans;
  for (size_t k = 0; k < messages.size(); ++k) {
    if (messages[k]["role"] != "assistant") continue;
    const std::string before = render(head(messages, k), true);
    const std::string upto = render(head(messages, k + 1), false);
    if (!full.starts_with(before) || !full.starts_with(upto) || upto.size() < before.size() ||
        (!spans.empty() && before.size() < spans.back().end))
      fail("{}: the chat template does not render assistant message {} as a continuation of its generation prompt "
           "(a template that strips reasoning or rewrites earlier turns cannot be trained with)",
           where, k);
    size_t end = upto.size();
    while (end > before.size() && std::isspace(static_cast<unsigned char>(upto[end - 1]))) --end;
    const std::string text = upto.substr(before.size(), end - before.size());
    const std::string content = messages[k]["content"];
    const auto close = format.thinking.close.empty() ? std::string::npos : content.find(format.thinking.close);
    for (const std::string& part : {close == std::string::npos ? content : content.substr(0, close),
                                    close == std::string::npos ? "" : content.substr(close)})
      if (text.find(trim(part)) == std::string::npos)
        fail("{}: the chat template drops part of assistant message {} (its reasoning?); it cannot be trained", where,
             k);
    Span span{before.size(), end, uint8_t(losses[k].learned ? 1 : 0)};
    if (losses[k].close_given) span.given_close = full.find(format.thinking.close, span.begin);
    spans.push_back(span);
  }

  SftExample ex;
  const Tokenizer& tok = *format.tokenizer;
  if (tok.add_bos() && tok.bos() >= 0 && !(t.bos_token.size() && full.starts_with(t.bos_token))) {
    ex.tokens.push_back(tok.bos());
    ex.loss_mask.push_back(0);
  }
  auto append = [&](size_t begin, size_t end, uint8_t mask) {
    if (end <= begin) return;
    const size_t before = ex.tokens.size();
    tok.encode(std::string_view(full).substr(begin, end - begin), ex.tokens, {.parse_special = true});
    ex.loss_mask.resize(ex.tokens.size(), 0);
    std::fill(ex.loss_mask.begin() + std::ptrdiff_t(before), ex.loss_mask.end(), mask);
  };
  size_t at = 0;
  for (const Span& s : spans) {
    append(at, s.begin, 0);
    if (s.given_close < s.end) {
      const size_t after_close = s.given_close + format.thinking.close.size();
      append(s.begin, s.given_close, s.mask);
      append(s.given_close, after_close, 0);
      append(after_close, s.end, s.mask);
    } else {
      append(s.begin, s.end, s.mask);
    }
    at = s.end;
  }
  append(at, full.size(), 0);
  return ex;
}

SftData load_sft_jsonl(const std::string& path, const SftFormat& format, int max_tokens, bool skip_bad) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open the training data", path);
  SftData data;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (trim(line).empty()) continue;
    const std::string where = fmt::format("{}:{}", path, number);
    json row = json::parse(line, nullptr, false);
    std::string problem;
    if (row.is_discarded())
      problem = "is not valid JSON";
    else if (!row.is_object() || !row.contains("messages"))
      problem = "has no 'messages'";
    if (!problem.empty()) {
      if (!skip_bad) fail("{}: the line {} (pass --skip-bad to skip malformed lines)", where, problem);
      log_warn("{}: skipped: the line {}", where, problem);
      ++data.skipped_bad;
      continue;
    }
    SftExample ex = encode_conversation(row["messages"], format, where);
    ex.line = number;
    if (int(ex.tokens.size()) > max_tokens) {
      ++data.dropped_long;
      continue;
    }
    data.examples.push_back(std::move(ex));
  }
  if (data.dropped_long > 0)
    log_warn("{}: dropped {} examples longer than the maximum length of {} tokens", path, data.dropped_long,
             max_tokens);
  return data;
}

}  // namespace s1::train
