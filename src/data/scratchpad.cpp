#include "data/scratchpad.h"

#include <fmt/format.h>

#include <algorithm>

#include "util/error.h"

namespace s1::data {
namespace {

std::string join_numbers(const std::vector<int64_t>& numbers) {
  std::string out;
  for (size_t i = 0; i < numbers.size(); ++i) out += (i ? ", " : "") + std::to_string(numbers[i]);
  return out;
}

char digit_char(int64_t v) { return char('0' + v % 10); }

}  // namespace

std::string ordinal(int k) {
  static const char* const kNames[] = {"first", "second", "third", "fourth", "fifth",
                                       "sixth", "seventh", "eighth", "ninth", "tenth"};
  if (k < 1 || k > 10) fail("ordinal {} is out of range 1..10", k);
  return kNames[k - 1];
}

Scratchpad::Scratchpad(int slip_step, uint64_t slip_seed) : slip_step_(slip_step), rng_(slip_seed) {}

void Scratchpad::line(const std::string& text) { lines_.push_back(text); }

std::string Scratchpad::text() const {
  std::string out;
  for (size_t i = 0; i < lines_.size(); ++i) out += (i ? "\n" : "") + lines_[i];
  return out;
}

int64_t Scratchpad::near_miss(int64_t value) {
  static const int64_t kDeltas[] = {-2, -1, 1, 2};
  int64_t delta = kDeltas[rng_.below(4)];
  return value + delta >= 0 ? value + delta : value - delta;
}

void Scratchpad::step(const std::string& prefix, const Claim& truth_claim, const std::string& truth,
                      const std::optional<Claim>& wrong_claim, const std::string& wrong) {
  const bool slip = wrong_claim && slippable_++ == slip_step_;
  if (!slip) {
    line(prefix + truth_claim.before + truth + truth_claim.after);
    return;
  }
  slipped_ = true;
  line(prefix + wrong_claim->before + wrong + wrong_claim->after);
  line("Wait, let me check: " + truth_claim.before + truth + ", not " + wrong + truth_claim.after);
}

// One column per line, right to left. For + and - both numbers lose their last
// digit each line (a number with none left reads 0); for * the multiplier (one
// digit) stays. The last column writes its whole value, so a final carry needs
// no extra line.
int64_t Scratchpad::column_method(int64_t a, int64_t b, char op) {
  std::string A = std::to_string(a), B = std::to_string(b), so_far;
  const char* carry_word = op == '-' ? "borrow" : "carry";
  int64_t carry = 0;
  while (true) {
    const bool last = A.size() <= 1 && (op == '*' || B.size() <= 1);
    const int64_t x = A.back() - '0', y = B.back() - '0';
    std::string prefix = fmt::format("{}{}{}, {} {}: ", A, op, B, carry_word, carry);
    std::string before;
    int64_t value = 0, next_carry = 0;
    if (op == '+') {
      value = x + y + carry;
      before = fmt::format("{}+{}+{}=", x, y, carry);
      next_carry = value / 10;
    } else if (op == '*') {
      value = x * y + carry;
      before = fmt::format("{}*{}+{}=", x, y, carry);
      next_carry = value / 10;
    } else if (x - y - carry < 0) {
      value = 10 + x - y - carry;
      prefix += fmt::format("{}-{}-{}<0, ", x, y, carry);
      before = fmt::format("1{}-{}-{}=", x, y, carry);
      next_carry = 1;
    } else {
      value = x - y - carry;
      before = fmt::format("{}-{}-{}=", x, y, carry);
    }
    auto digits_of = [&](int64_t v) { return last ? std::to_string(v) + so_far : digit_char(v) + so_far; };
    const int64_t wrong = near_miss(value);
    step(prefix, {before, ", so far " + digits_of(value)}, std::to_string(value),
         Claim{before, ", so far " + digits_of(wrong)}, std::to_string(wrong));
    so_far = digits_of(value);
    if (last) break;
    A.pop_back();
    if (A.empty()) A = "0";
    if (op != '*') {
      B.pop_back();
      if (B.empty()) B = "0";
    }
    carry = next_carry;
  }
  return std::stoll(so_far);  // drops the leading zeros a subtraction can leave
}

int64_t Scratchpad::add(int64_t a, int64_t b) {
  int64_t sum = column_method(a, b, '+');
  line(fmt::format("So {}+{}={}.", a, b, sum));
  return sum;
}

int64_t Scratchpad::sub(int64_t a, int64_t b) {
  if (a < b || b < 0) fail("scratchpad subtraction needs a >= b >= 0, got {}-{}", a, b);
  int64_t difference = column_method(a, b, '-');
  line(fmt::format("So {}-{}={}.", a, b, difference));
  return difference;
}

int64_t Scratchpad::mul(int64_t a, int64_t b) {
  if (b < 0 || b > 99) fail("scratchpad multiplication needs a multiplier of 0..99, got {}", b);
  if (b < 10) {
    int64_t product = column_method(a, b, '*');
    line(fmt::format("So {}*{}={}.", a, b, product));
    return product;
  }
  const int64_t tens = b / 10, ones = b % 10;
  line(fmt::format("Split {} into {}0+{}.", b, tens, ones));
  int64_t low = mul(a, ones);
  int64_t high = mul(a, tens);
  line(fmt::format("So {}*{}0={}0.", a, tens, high));
  int64_t product = add(low, high * 10);
  line(fmt::format("So {}*{}={}.", a, b, product));
  return product;
}

int64_t Scratchpad::div(int64_t a, int64_t d) {
  if (d < 1 || d > 9 || a < 0 || a % d != 0) fail("scratchpad division needs a one-digit divisor of a, got {}/{}", a, d);
  const int64_t result = long_division(a, d).first;
  line(fmt::format("So {}/{}={}.", a, d, result));
  return result;
}

std::pair<int64_t, int64_t> Scratchpad::div_rem(int64_t a, int64_t d) {
  if (d < 1 || d > 9 || a < 0) fail("scratchpad division needs a one-digit divisor, got {}/{}", a, d);
  const auto [quotient, remainder] = long_division(a, d);
  line(remainder == 0 ? fmt::format("So {}/{}={}.", a, d, quotient)
                      : fmt::format("So {}/{}={} remainder {}.", a, d, quotient, remainder));
  return {quotient, remainder};
}

std::pair<int64_t, int64_t> Scratchpad::long_division(int64_t a, int64_t d) {
  std::string rest = std::to_string(a), quotient;
  int64_t remainder = 0;
  while (!rest.empty()) {
    const int64_t current = remainder * 10 + (rest.front() - '0');
    const int64_t q = current / d, r = current % d;
    std::string prefix = fmt::format("{}, rem {}: ", rest, remainder);
    std::string before = fmt::format("{}={}*", current, d);
    std::optional<Claim> wrong_claim;
    std::string wrong;
    if (q > 0) {  // the slip: one too few, leaving a remainder that is too big
      wrong_claim = Claim{before, ", so far " + quotient + digit_char(q - 1)};
      wrong = fmt::format("{}+{}", q - 1, r + d);
    }
    step(prefix, {before, ", so far " + quotient + digit_char(q)}, fmt::format("{}+{}", q, r), wrong_claim, wrong);
    quotient += digit_char(q);
    remainder = r;
    rest.erase(0, 1);
  }
  return {std::stoll(quotient), remainder};
}

int Scratchpad::count_digit(const std::string& digits, char target) {
  int count = 0;
  for (size_t i = 0; i < digits.size(); ++i) {
    const bool match = digits[i] == target;
    const std::string prefix = fmt::format("{}: ", digits.substr(i));
    const std::string before = fmt::format("{}={}? ", digits[i], target);  // the target on every line: no far lookup
    auto counted = [&](bool yes) { return fmt::format(", count {}", count + (yes ? 1 : 0)); };
    step(prefix, {before, counted(match)}, match ? "yes" : "no", Claim{before, counted(!match)}, match ? "no" : "yes");
    count += match ? 1 : 0;
  }
  line(fmt::format("So {} appears {} times.", target, count));
  return count;
}

int64_t Scratchpad::kth_smallest(std::vector<int64_t> numbers, int k) {
  if (k < 1 || k > int(numbers.size())) fail("scratchpad: position {} of a list of {}", k, numbers.size());
  std::vector<int64_t> order;
  for (int i = 0; i < k; ++i) {
    std::vector<int64_t> sorted = numbers;
    std::sort(sorted.begin(), sorted.end());
    const int64_t smallest = sorted[0];
    auto order_with = [&](int64_t v) {
      std::vector<int64_t> o = order;
      o.push_back(v);
      return ", order " + join_numbers(o);
    };
    std::optional<Claim> wrong_claim;
    if (sorted.size() >= 2) wrong_claim = Claim{"smallest ", order_with(sorted[1])};
    step(join_numbers(numbers) + ": ", {"smallest ", order_with(smallest)}, std::to_string(smallest), wrong_claim,
         sorted.size() >= 2 ? std::to_string(sorted[1]) : "");
    order.push_back(smallest);
    numbers.erase(std::find(numbers.begin(), numbers.end(), smallest));
  }
  line(fmt::format("So the {} smallest is {}.", ordinal(k), order.back()));
  return order.back();
}

}  // namespace s1::data
