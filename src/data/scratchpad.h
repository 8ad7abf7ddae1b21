#pragma once
// The programmatic teacher's working: step-by-step methods (column addition,
// subtraction and multiplication, long division, digit counting, picking the
// smallest) written one short line per step, in a fixed format a tiny model
// can learn. Every line restates what is left to do ("473+296, carry 1: ..."),
// so the digit a step needs is always at the end of the line above, never at a
// position the model would have to count to.
//
// One step of a trace may be planted as a slip: the line states a wrong value,
// and the next line starts with "Wait, let me check:" and states the right one.
// The working then continues from the right value, so the trace still reaches
// the right answer.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "data/rng.h"

namespace s1::data {

class Scratchpad {
 public:
  // `slip_step`: index (among the steps that can slip) of the one to get
  // wrong, or -1 for none; `slip_seed` picks the wrong value.
  explicit Scratchpad(int slip_step = -1, uint64_t slip_seed = 0);

  void line(const std::string& text);

  // Each method writes its steps, then "So <expression>=<result>.", and returns the result.
  int64_t add(int64_t a, int64_t b);
  int64_t sub(int64_t a, int64_t b);  // a >= b >= 0
  int64_t mul(int64_t a, int64_t b);  // b of one or two digits
  int64_t div(int64_t a, int64_t d);  // d of one digit, divides a
  // a/d with what is left over ("So 97/4=24 remainder 1."): checks a product.
  std::pair<int64_t, int64_t> div_rem(int64_t a, int64_t d);
  // How many times `target` occurs in `digits`: "771927: 7=7? yes, count 1".
  int count_digit(const std::string& digits, char target);
  // The k-th smallest (1-based) of distinct numbers, by taking the smallest k times.
  int64_t kth_smallest(std::vector<int64_t> numbers, int k);

  int slippable_steps() const { return slippable_; }
  bool slipped() const { return slipped_; }
  std::string text() const;

 private:
  // Writes `prefix + claim(truth)`, or when this is the slip step,
  // `prefix + claim(wrong)` and then "Wait, let me check: " + claim(truth)
  // with ", not <wrong>" after the value.
  struct Claim {
    std::string before;  // text up to the value ("3+6+1=")
    std::string after;   // text after it (", so far 03")
  };
  void step(const std::string& prefix, const Claim& truth_claim, const std::string& truth,
            const std::optional<Claim>& wrong_claim, const std::string& wrong);
  // A plausible wrong number near `value` (never equal, never negative).
  int64_t near_miss(int64_t value);
  int64_t column_method(int64_t a, int64_t b, char op);
  std::pair<int64_t, int64_t> long_division(int64_t a, int64_t d);  // the steps; {quotient, remainder}

  std::vector<std::string> lines_;
  int slip_step_;
  Rng rng_;
  int slippable_ = 0;
  bool slipped_ = false;
};

std::string ordinal(int k);  // 1 -> "first", ..., 10 -> "tenth"

}  // namespace s1::data
