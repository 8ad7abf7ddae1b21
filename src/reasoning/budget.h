#pragma once
// Budget forcing, per sequence, as in the s1 paper: a state machine that
// watches each sampled token and decides what the sequence gets instead.
//
//  - maximum: once the thinking holds `think_max` tokens, the end-of-thinking
//    delimiter (plus the format's answer prefix) is appended and the model
//    answers within `answer_max` tokens;
//  - minimum and extension: while the thinking is shorter than `think_min`, or
//    fewer than `wait` extensions were spent, an attempt to end the thinking
//    (the closing delimiter, or an end-of-generation token) is replaced by the
//    wait text ("Wait") and generation continues.
//
// The delimiter is matched on text, so a multi-token delimiter works: when its
// last token arrives, the tokens that spelled it are rolled back from the
// sequence (Action::rollback) and the replacement appended. Text reaches the
// caller only when it can no longer turn out to be part of a delimiter.
//
// Probe stop (--think-stop probe:K:EVERY): every EVERY thinking tokens the
// generator forks the sequence (copy on write), forces the end of thinking on
// the fork and decodes a short greedy answer there; when K consecutive probes
// give the same non-empty final answer, the thinking ends (a forced end) and
// the model writes its own answer. The controller keeps the schedule and the
// agreement; the generator runs the forks.
//
// Once the answer has begun, the thinking is over: a delimiter that is one
// token cannot be sampled (banned_tokens()), and one spelled by several tokens
// is cut from the answer text, so an answer never shows thinking markup.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "reasoning/events.h"
#include "reasoning/thinking_format.h"

namespace s1 {

class Tokenizer;

struct ProbeStop {
  int agree = 2;        // K: consecutive equivalent answers that end the thinking
  int every = 32;       // EVERY: thinking tokens between probes
  int answer_max = 24;  // a probe's answer tokens at most (it stops at the end of turn before)
};

// "probe", "probe:K" or "probe:K:EVERY"; "natural" (or "none", "") is no stop
// rule. s1::Error naming `what` (the flag or field) when it does not parse or K,
// EVERY < 1.
std::optional<ProbeStop> parse_think_stop(std::string_view text, std::string_view what = "--think-stop");
std::string think_stop_name(const std::optional<ProbeStop>& stop);  // "natural" or "probe:K:EVERY"

struct BudgetParams {
  std::optional<int> think_max;  // thinking tokens at most
  int think_min = 0;             // thinking tokens at least
  int wait = 0;                  // times an attempt to stop is replaced by the wait text
  std::string wait_text = "Wait";
  std::optional<int> answer_max;  // answer tokens at most
  // Rejection sampling: a sample whose thinking passes this many tokens is
  // abandoned (finish reason "rejected") instead of being forced to answer.
  std::optional<int> reject_over;
  // Open the thinking block in the prompt even without a budget (set by the
  // generator for a constrained answer, which must start where the grammar
  // applies).
  bool open_thinking = false;
  std::optional<ProbeStop> probe;  // end the thinking once probes agree

  // Any control of the thinking (the controller then opens the block itself
  // when the prompt does not).
  bool controls_thinking() const { return think_max || think_min > 0 || wait > 0 || probe; }
};

// s1::Error for contradictory or unusable budgets: min > max, negative values,
// a wait text that tokenizes to nothing, budgets on a model with no thinking format.
void validate(const BudgetParams& params, const ThinkingFormat& format, const Tokenizer& tokenizer);

// What the caller does to the sequence after a controller decision.
struct Action {
  int rollback = 0;             // drop this many of the sequence's last tokens (a delimiter's start)
  std::vector<int32_t> append;  // then append these (the sampled token when it is kept)
  bool finished = false;        // the sequence is complete; nothing more to sample
  bool rejected = false;        // finished because the thinking passed reject_over
};

enum class Phase { undecided, thinking, answering, done };

class BudgetController {
 public:
  BudgetController(const Tokenizer& tokenizer, ThinkingFormat format, BudgetParams params);

  // Called once with the rendered prompt; returns tokens to append to it (the
  // opening delimiter, when budgets are set and the prompt does not open one).
  std::vector<int32_t> start(PromptThinking prompt_state);

  // Called before each sample: a forced end when the thinking budget is spent
  // (or answer_now was requested). Returns nullopt when sampling may proceed.
  std::optional<Action> before_sample(std::vector<Event>& events);

  // Called with each sampled token.
  Action on_token(int32_t token, std::vector<Event>& events);

  // A token that ends a turn but is thinking text here: gpt-oss's <|call|>
  // closing a tool call in its analysis. Kept as it is, with no stop attempt.
  Action keep_thinking_token(int32_t token, std::vector<Event>& events);

  // Ends the sequence from outside (token limit, cancel); emits held text.
  void finish(std::vector<Event>& events);

  // Tokens the sampler must not draw now: the thinking delimiters that are
  // single tokens, once the answer phase has begun.
  std::span<const int32_t> banned_tokens() const {
    return phase_ == Phase::answering ? std::span<const int32_t>(delimiter_tokens_) : std::span<const int32_t>();
  }

  // Probe stop: the index of a probe to take now (a fork of the sequence as
  // it is), when one is due; the generator calls this before each sample.
  std::optional<int> take_due_probe();
  // The probe's extracted answer (nullopt: none found). Emits a probe event;
  // K consecutive equivalent answers, in probe order, end the thinking at the
  // next before_sample. Answers arriving after the thinking ended are ignored.
  void on_probe_answer(int index, std::optional<std::string> answer, std::vector<Event>& events);
  int probes() const { return int(probe_marks_.size()); }
  bool probe_stopped() const { return probe_stopped_; }

  // Live control of a sequence in flight.
  void answer_now() { answer_now_ = true; }
  void think_more(int tokens);

  Phase phase() const { return phase_; }
  int thinking_tokens() const { return thinking_tokens_; }
  int answer_tokens() const { return answer_tokens_; }
  int waits() const { return waits_; }
  bool forced_end() const { return forced_end_; }
  const std::string& thinking_text() const { return thinking_text_; }
  const std::string& answer_text() const { return answer_text_; }
  const BudgetParams& params() const { return params_; }
  const ThinkingFormat& format() const { return format_; }
  // What a forced end appends: the close delimiter and the answer prefix.
  const std::vector<int32_t>& close_tokens() const { return close_ids_; }
  // The thinking delimiters that are one token each (banned in an answer).
  std::span<const int32_t> delimiter_tokens() const { return delimiter_tokens_; }

 private:
  bool may_stop_thinking() const;
  Action end_thinking(bool forced, std::vector<Event>& events);
  // The model tried to stop too early: roll back its delimiter and append the wait text.
  Action refuse_stop(int rollback, const std::string& kept_text, std::vector<Event>& events);
  Action on_thinking_token(int32_t token, std::vector<Event>& events);
  void append_thinking(int32_t token);  // the token's text (control tokens too) to the thinking
  Action on_undecided_token(int32_t token, std::vector<Event>& events);
  Action on_answer_token(int32_t token, std::vector<Event>& events);
  void enter_answer_phase();
  void cut_delimiter_from_answer();
  void emit_ready(std::vector<Event>& events, bool flush);

  const Tokenizer& tokenizer_;
  ThinkingFormat format_;
  BudgetParams params_;
  std::vector<int32_t> close_ids_;  // end-of-thinking delimiter + answer prefix
  std::vector<int32_t> delimiter_tokens_;  // the open and close delimiters that are one token each
  Phase phase_ = Phase::answering;
  bool answer_now_ = false;

  int thinking_tokens_ = 0, answer_tokens_ = 0, waits_ = 0;
  bool forced_end_ = false;
  // Probe stop: the thinking length each probe was taken at, the answers
  // received (by probe index; outer nullopt: not yet), and the agreement of
  // the answers checked so far in order.
  int next_probe_at_ = 0;
  std::vector<int> probe_marks_;
  std::vector<std::optional<std::optional<std::string>>> probe_answers_;
  size_t probes_checked_ = 0;
  int agreeing_ = 0;
  std::optional<std::string> agreed_answer_;
  bool probe_stopped_ = false;
  std::string thinking_text_, answer_text_;  // everything reported so far, for the record
  // The current phase's text and the pieces of its tokens (for rollback);
  // `emitted_` bytes of `phase_text_` were already reported.
  std::string phase_text_;
  std::vector<std::string> phase_pieces_;
  size_t emitted_ = 0;
};

}  // namespace s1
