#include "reasoning/budget.h"

#include <algorithm>
#include <charconv>

#include "grading/answer.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"
#include "util/error.h"

namespace s1 {
namespace {

constexpr EncodeOptions kSpecial{.add_bos = false, .parse_special = true};

bool ends_with(std::string_view s, std::string_view suffix) {
  return !suffix.empty() && s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Length of the longest suffix of `text` that is a proper prefix of `delimiter`:
// text that may still become the delimiter and must not be shown yet.
size_t partial_delimiter_suffix(std::string_view text, std::string_view delimiter) {
  for (size_t n = std::min(text.size(), delimiter.size() - 1); n > 0; --n)
    if (text.substr(text.size() - n) == delimiter.substr(0, n)) return n;
  return 0;
}

}  // namespace

const char* event_name(EventKind kind) {
  switch (kind) {
    case EventKind::thinking_started: return "thinking_started";
    case EventKind::thinking_text: return "thinking_text";
    case EventKind::thinking_ended: return "thinking_ended";
    case EventKind::forced_end: return "forced_end";
    case EventKind::wait_appended: return "wait_appended";
    case EventKind::answer_text: return "answer_text";
    case EventKind::answer_logprobs: return "answer_logprobs";
    case EventKind::searched: return "searched";
    case EventKind::sample_finished: return "sample_finished";
    case EventKind::vote: return "vote";
    case EventKind::probe: return "probe";
  }
  return "?";
}

std::optional<ProbeStop> parse_think_stop(std::string_view text, std::string_view what) {
  if (text.empty() || text == "natural" || text == "none") return std::nullopt;
  auto bad = [&](std::string_view why) {
    fail("{} '{}': {} (give natural, probe, probe:K or probe:K:EVERY, e.g. probe:2:32)", what, text, why);
  };
  ProbeStop stop;
  if (text == "probe") return stop;
  if (!text.starts_with("probe:")) bad("unknown stop rule");
  std::string_view rest = text.substr(6);
  for (int* field : {&stop.agree, &stop.every}) {
    const std::string_view item = rest.substr(0, rest.find(':'));
    int value = 0;
    auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
    if (item.empty() || ec != std::errc() || end != item.data() + item.size())
      bad(fmt::format("'{}' is not a whole number", item));
    if (value < 1) bad(fmt::format("{} must be at least 1, got {}", field == &stop.agree ? "K" : "EVERY", value));
    *field = value;
    if (item.size() == rest.size()) return stop;
    rest.remove_prefix(item.size() + 1);
  }
  bad("too many fields");
  return stop;
}

std::string think_stop_name(const std::optional<ProbeStop>& stop) {
  return stop ? fmt::format("probe:{}:{}", stop->agree, stop->every) : "natural";
}

void validate(const BudgetParams& params, const ThinkingFormat& format, const Tokenizer& tokenizer) {
  if (params.think_max && *params.think_max < 0) fail("--think-max must be >= 0, got {}", *params.think_max);
  if (params.think_min < 0) fail("--think-min must be >= 0, got {}", params.think_min);
  if (params.wait < 0) fail("--wait must be >= 0, got {}", params.wait);
  if (params.answer_max && *params.answer_max < 1) fail("--answer-max must be >= 1, got {}", *params.answer_max);
  if (params.think_max && params.think_min > *params.think_max)
    fail("contradictory budgets: --think-min {} is above --think-max {}", params.think_min, *params.think_max);
  if (params.probe && (params.probe->agree < 1 || params.probe->every < 1 || params.probe->answer_max < 1))
    fail("--think-stop probe:{}:{}: K, EVERY and the probe's answer cap must be at least 1", params.probe->agree,
         params.probe->every);
  if (params.controls_thinking() && !format.has_thinking())
    fail("this model has no detectable thinking format; give its delimiters with --think-open and --think-close");
  if (params.wait > 0 && tokenizer.encode(params.wait_text, kSpecial).empty())
    fail("the wait text '{}' tokenizes to nothing", params.wait_text);
}

BudgetController::BudgetController(const Tokenizer& tokenizer, ThinkingFormat format, BudgetParams params)
    : tokenizer_(tokenizer), format_(std::move(format)), params_(std::move(params)) {
  if (!format_.has_thinking()) return;
  close_ids_ = tokenizer_.encode(format_.close + format_.answer_prefix, kSpecial);
  for (const std::string& delimiter : {format_.open, format_.close})
    if (auto ids = tokenizer_.encode(delimiter, kSpecial); ids.size() == 1) delimiter_tokens_.push_back(ids[0]);
}

std::vector<int32_t> BudgetController::start(PromptThinking prompt_state) {
  if (!format_.has_thinking() || prompt_state == PromptThinking::closed) {
    phase_ = Phase::answering;
    return {};
  }
  if (prompt_state == PromptThinking::opened) {
    phase_ = Phase::thinking;
    return {};
  }
  if (params_.controls_thinking() || params_.open_thinking) {  // the s1 reference appends the delimiter to the prompt
    phase_ = Phase::thinking;
    return tokenizer_.encode(format_.open, kSpecial);
  }
  phase_ = Phase::undecided;  // the model may open a thinking block itself
  return {};
}

void BudgetController::think_more(int tokens) {
  if (phase_ != Phase::thinking && phase_ != Phase::undecided) return;
  const int target = thinking_tokens_ + std::max(tokens, 0);
  params_.think_min = std::max(params_.think_min, target);
  if (params_.think_max) params_.think_max = std::max(*params_.think_max, target);
  answer_now_ = false;
}

std::optional<int> BudgetController::take_due_probe() {
  if (!params_.probe || phase_ != Phase::thinking || answer_now_) return std::nullopt;
  if (next_probe_at_ == 0) next_probe_at_ = params_.probe->every;
  if (thinking_tokens_ < next_probe_at_) return std::nullopt;
  // A wait text can pass several marks at once: one probe, at the next mark after it.
  while (next_probe_at_ <= thinking_tokens_) next_probe_at_ += params_.probe->every;
  probe_marks_.push_back(thinking_tokens_);
  probe_answers_.emplace_back();
  return int(probe_marks_.size()) - 1;
}

void BudgetController::on_probe_answer(int index, std::optional<std::string> answer, std::vector<Event>& events) {
  if (index < 0 || size_t(index) >= probe_answers_.size() || probe_answers_[size_t(index)]) return;
  events.push_back({EventKind::probe, 0, answer.value_or(""), probe_marks_[size_t(index)]});
  probe_answers_[size_t(index)] = std::move(answer);
  // Probes may finish out of order (a longer answer takes more steps): agreement is counted in probe order.
  for (; probes_checked_ < probe_answers_.size() && probe_answers_[probes_checked_]; ++probes_checked_) {
    const std::optional<std::string>& a = *probe_answers_[probes_checked_];
    if (a && !a->empty() && agreed_answer_ && answers_equivalent(*a, *agreed_answer_)) {
      ++agreeing_;
    } else {
      agreeing_ = a && !a->empty() ? 1 : 0;
      agreed_answer_ = agreeing_ ? a : std::nullopt;
    }
  }
  if (phase_ == Phase::thinking && params_.probe && agreeing_ >= params_.probe->agree && !probe_stopped_) {
    probe_stopped_ = true;
    answer_now_ = true;
  }
}

bool BudgetController::may_stop_thinking() const {
  return thinking_tokens_ >= params_.think_min && waits_ >= params_.wait;
}

std::optional<Action> BudgetController::before_sample(std::vector<Event>& events) {
  if (phase_ != Phase::thinking) return std::nullopt;
  if (params_.reject_over && thinking_tokens_ > *params_.reject_over) {
    finish(events);
    return Action{0, {}, true, true};
  }
  const bool budget_spent = params_.think_max && thinking_tokens_ >= *params_.think_max;
  if (!budget_spent && !answer_now_) return std::nullopt;
  return end_thinking(/*forced=*/true, events);
}

Action BudgetController::end_thinking(bool forced, std::vector<Event>& events) {
  emit_ready(events, /*flush=*/true);
  events.push_back({forced ? EventKind::forced_end : EventKind::thinking_ended, 0, "", thinking_tokens_});
  forced_end_ = forced_end_ || forced;
  enter_answer_phase();
  phase_text_ = format_.answer_prefix;  // the prefix is part of the answer
  return Action{0, close_ids_, false};
}

void BudgetController::enter_answer_phase() {
  phase_ = Phase::answering;
  phase_text_.clear();
  phase_pieces_.clear();
  emitted_ = 0;
}

Action BudgetController::refuse_stop(int rollback, const std::string& kept_text, std::vector<Event>& events) {
  std::vector<int32_t> ids = tokenizer_.encode(kept_text + params_.wait_text, kSpecial);
  if (params_.think_max) {
    // The maximum is the hard limit: the wait text gets what room is left
    // (the next step then forces the end); with no room, end here.
    const int room = *params_.think_max - thinking_tokens_;
    if (room <= 0) {
      Action end = end_thinking(/*forced=*/true, events);
      end.rollback = rollback;
      return end;
    }
    if (int(ids.size()) > room) ids.resize(size_t(room));
  }
  const std::string text = tokenizer_.decode(ids, /*with_control=*/true);
  thinking_tokens_ += int(ids.size());
  phase_text_ += text;
  phase_pieces_.push_back(text);  // one entry: never split by a later rollback
  emitted_ = std::min(emitted_, phase_text_.size());
  ++waits_;
  events.push_back({EventKind::wait_appended, 0, params_.wait_text, waits_});
  emit_ready(events, false);
  return Action{rollback, std::move(ids), false};
}

Action BudgetController::on_token(int32_t token, std::vector<Event>& events) {
  switch (phase_) {
    case Phase::undecided: return on_undecided_token(token, events);
    case Phase::thinking: return on_thinking_token(token, events);
    case Phase::answering: return on_answer_token(token, events);
    case Phase::done: break;
  }
  return Action{0, {}, true};
}

void BudgetController::append_thinking(int32_t token) {
  const std::string piece(tokenizer_.piece(token, /*with_control=*/true));
  phase_text_ += piece;
  phase_pieces_.push_back(piece);
  ++thinking_tokens_;
}

Action BudgetController::keep_thinking_token(int32_t token, std::vector<Event>& events) {
  append_thinking(token);
  emit_ready(events, false);
  return Action{0, {token}, false};
}

Action BudgetController::on_thinking_token(int32_t token, std::vector<Event>& events) {
  if (tokenizer_.is_end_of_generation(token)) {  // an attempt to stop without closing
    if (may_stop_thinking()) return end_thinking(/*forced=*/false, events);
    return refuse_stop(0, "", events);
  }

  append_thinking(token);
  if (!ends_with(phase_text_, format_.close)) {
    emit_ready(events, false);
    return Action{0, {token}, false};
  }

  // The model closed its thinking. The delimiter was spelled by the last k
  // pieces; the first of them may carry text that came before it (`kept`).
  size_t covered = 0;
  int k = 0;
  while (covered < format_.close.size()) covered += phase_pieces_[phase_pieces_.size() - 1 - k++].size();
  const std::string kept = phase_text_.substr(phase_text_.size() - covered, covered - format_.close.size());
  phase_pieces_.resize(phase_pieces_.size() - k);
  phase_text_.resize(phase_text_.size() - covered);
  thinking_tokens_ -= k;

  if (!may_stop_thinking()) {
    // Drop the delimiter's tokens already in the sequence (all but the one
    // just sampled, which was never appended) and wait instead.
    return refuse_stop(k - 1, kept, events);
  }
  if (!kept.empty()) {
    phase_text_ += kept;
    phase_pieces_.push_back(kept);
    ++thinking_tokens_;  // the token that carried text before the delimiter
  }
  emit_ready(events, /*flush=*/true);
  events.push_back({EventKind::thinking_ended, 0, "", thinking_tokens_});
  enter_answer_phase();
  return Action{0, {token}, false};
}

Action BudgetController::on_undecided_token(int32_t token, std::vector<Event>& events) {
  if (tokenizer_.is_end_of_generation(token)) {
    phase_ = Phase::answering;
    return on_answer_token(token, events);
  }
  const std::string piece(tokenizer_.piece(token, /*with_control=*/true));
  phase_text_ += piece;
  phase_pieces_.push_back(piece);
  std::string_view text = phase_text_;
  while (!text.empty() && (text.front() == ' ' || text.front() == '\n')) text.remove_prefix(1);
  if (text.size() < format_.open.size() && format_.open.compare(0, text.size(), text) == 0)
    return Action{0, {token}, false};  // still possibly the opening delimiter
  if (text.substr(0, format_.open.size()) == format_.open) {
    phase_ = Phase::thinking;
    events.push_back({EventKind::thinking_started, 0, "", 0});
    std::string rest(text.substr(format_.open.size()));
    phase_text_ = rest;
    phase_pieces_ = {rest};
    thinking_tokens_ = rest.empty() ? 0 : 1;  // the delimiter's own tokens are not thinking
    emit_ready(events, false);
    return Action{0, {token}, false};
  }
  phase_ = Phase::answering;  // no thinking block: everything so far is answer
  answer_tokens_ = int(phase_pieces_.size());
  emit_ready(events, false);
  return Action{0, {token}, false};
}

Action BudgetController::on_answer_token(int32_t token, std::vector<Event>& events) {
  if (tokenizer_.is_end_of_generation(token)) {
    finish(events);
    return Action{0, {}, true};
  }
  phase_text_ += tokenizer_.piece(token, /*with_control=*/format_.answer_keeps_markup);
  ++answer_tokens_;
  cut_delimiter_from_answer();
  emit_ready(events, false);
  if (params_.answer_max && answer_tokens_ >= *params_.answer_max) {
    finish(events);
    return Action{0, {token}, true};
  }
  return Action{0, {token}, false};
}

// A multi-token delimiter the model spelled in its answer stays in the
// sequence (the model wrote it) but not in the answer text.
void BudgetController::cut_delimiter_from_answer() {
  if (!format_.has_thinking()) return;
  for (const std::string* delimiter : {&format_.close, &format_.open}) {
    if (!ends_with(phase_text_, *delimiter) || phase_text_.size() - delimiter->size() < emitted_) continue;
    phase_text_.resize(phase_text_.size() - delimiter->size());
    return;
  }
}

void BudgetController::finish(std::vector<Event>& events) {
  if (phase_ == Phase::done) return;
  if (phase_ == Phase::undecided) phase_ = Phase::answering;
  emit_ready(events, /*flush=*/true);
  phase_ = Phase::done;
}

void BudgetController::emit_ready(std::vector<Event>& events, bool flush) {
  if (phase_ == Phase::undecided || phase_ == Phase::done) return;
  std::string_view text = phase_text_;
  size_t end = text.size();
  if (!flush) {
    if (phase_ == Phase::thinking) end -= partial_delimiter_suffix(text, format_.close);
    if (phase_ == Phase::answering && format_.has_thinking())
      end -= std::max(partial_delimiter_suffix(text, format_.close), partial_delimiter_suffix(text, format_.open));
    end = utf8_complete_prefix(text.substr(0, end));
  }
  if (end <= emitted_) return;
  const bool thinking = phase_ == Phase::thinking;
  // Random or damaged models emit byte tokens that spell no character: they
  // reach the caller as U+FFFD, so every event and record is valid UTF-8.
  std::string piece = utf8_sanitize(text.substr(emitted_, end - emitted_));
  (thinking ? thinking_text_ : answer_text_) += piece;
  events.push_back({thinking ? EventKind::thinking_text : EventKind::answer_text, 0, std::move(piece), 0});
  emitted_ = end;
}

}  // namespace s1
