#include "data/tasks.h"

#include <fmt/format.h>

#include <functional>

#include "data/rng.h"
#include "data/scratchpad.h"
#include "util/error.h"

namespace s1::data {
namespace {

constexpr std::string_view kKindNames[] = {"add", "sub", "mul", "word", "equation", "count", "order"};

// A problem drawn from the RNG: its question, and how the teacher works it
// out on a scratchpad (called twice: once to count the steps that can slip,
// once to write the trace).
struct Problem {
  std::string question;
  std::function<std::string(Scratchpad&)> solve;  // returns the answer
};

int64_t pow10(int n) {
  int64_t p = 1;
  while (n-- > 0) p *= 10;
  return p;
}

// A number of exactly `digits` digits (one digit: 1..9, never a trivial 0).
int64_t number_with_digits(Rng& rng, int digits) { return rng.range(digits == 1 ? 1 : pow10(digits - 1), pow10(digits) - 1); }

template <size_t N>
const char* pick(Rng& rng, const char* const (&options)[N]) {
  return options[rng.below(N)];
}

// Fills "{0}", "{1}" in a phrasing chosen at random.
template <size_t N, typename... Args>
std::string phrase(Rng& rng, const char* const (&options)[N], const Args&... args) {
  return fmt::format(fmt::runtime(pick(rng, options)), args...);
}

Problem make_add(Rng& rng, int difficulty) {
  const int digits = difficulty + 1;
  const int64_t a = number_with_digits(rng, digits);
  const int64_t b = number_with_digits(rng, int(rng.range(std::max(1, digits - 1), digits)));
  static const char* const kPhrasings[] = {"What is {0} + {1}?", "What is {0}+{1}?",     "Compute {0} + {1}.",
                                           "{0} + {1} = ?",      "{0}+{1}",              "What is {0} plus {1}?",
                                           "{0} plus {1}?",      "Find the sum of {0} and {1}.", "Add {0} and {1}."};
  return {phrase(rng, kPhrasings, a, b), [=](Scratchpad& pad) {
            pad.line("Add digit by digit from the right.");
            return std::to_string(pad.add(a, b));
          }};
}

Problem make_sub(Rng& rng, int difficulty) {
  const int digits = difficulty + 1;
  int64_t a = number_with_digits(rng, digits);
  int64_t b = number_with_digits(rng, int(rng.range(std::max(1, digits - 1), digits)));
  if (a < b) std::swap(a, b);
  static const char* const kPhrasings[] = {"What is {0} - {1}?", "What is {0}-{1}?",       "Compute {0} - {1}.",
                                           "{0} - {1} = ?",      "{0}-{1}",                "What is {0} minus {1}?",
                                           "{0} minus {1}?",     "Subtract {1} from {0}.", "Take {1} away from {0}."};
  return {phrase(rng, kPhrasings, a, b), [=](Scratchpad& pad) {
            pad.line("Subtract digit by digit from the right.");
            return std::to_string(pad.sub(a, b));
          }};
}

Problem make_mul(Rng& rng, int difficulty) {
  static const int kDigits[][2] = {{2, 1}, {3, 1}, {4, 1}, {2, 2}, {3, 2}};
  const auto& shape = kDigits[difficulty - 1];
  const int64_t a = number_with_digits(rng, shape[0]);
  const int64_t b = shape[1] == 1 ? rng.range(2, 9) : rng.range(11, 99);
  static const char* const kPhrasings[] = {"What is {0} * {1}?",    "What is {0}*{1}?", "Compute {0} times {1}.",
                                           "{0} * {1} = ?",         "{0}*{1}",          "What is {0} times {1}?",
                                           "{0} x {1}?",            "Multiply {0} by {1}.",
                                           "What is the product of {0} and {1}?"};
  return {phrase(rng, kPhrasings, a, b), [=](Scratchpad& pad) {
            pad.line("Multiply digit by digit from the right.");
            return std::to_string(pad.mul(a, b));
          }};
}

Problem make_equation(Rng& rng, int difficulty) {
  static const int64_t kX[][2] = {{2, 19}, {10, 99}, {10, 99}, {100, 999}, {100, 9999}};
  static const int64_t kB[][2] = {{1, 30}, {10, 99}, {100, 999}, {100, 999}, {1000, 9999}};
  const int64_t a = rng.range(2, 9);
  const int64_t x = rng.range(kX[difficulty - 1][0], kX[difficulty - 1][1]);
  int64_t b = rng.range(kB[difficulty - 1][0], kB[difficulty - 1][1]);
  const bool minus = rng.chance(0.5) && b < a * x;
  const int64_t c = minus ? a * x - b : a * x + b;
  std::string question = fmt::format("Solve for x: {}x {} {} = {}.", a, minus ? '-' : '+', b, c);
  return {question, [=](Scratchpad& pad) {
            int64_t rhs;
            if (minus) {
              pad.line(fmt::format("Add {} to both sides: {}x = {}+{}.", b, a, c, b));
              rhs = pad.add(c, b);
            } else {
              pad.line(fmt::format("Subtract {} from both sides: {}x = {}-{}.", b, a, c, b));
              rhs = pad.sub(c, b);
            }
            pad.line(fmt::format("Now {}x = {}, so x = {}/{}.", a, rhs, rhs, a));
            const int64_t solution = pad.div(rhs, a);
            pad.line(fmt::format("x = {}.", solution));
            return std::to_string(solution);
          }};
}

Problem make_count(Rng& rng, int difficulty) {
  const int length = 5 + 3 * difficulty;
  const char target = char('0' + rng.range(0, 9));
  std::string digits;
  for (int i = 0; i < length; ++i) digits += rng.chance(0.3) ? target : char('0' + rng.range(0, 9));
  if (digits[0] == '0') digits[0] = char('0' + rng.range(1, 9));
  static const char* const kPhrasings[] = {"How many times does the digit {0} appear in {1}?",
                                           "Count how often the digit {0} occurs in {1}.",
                                           "In the number {1}, how many digits are {0}?"};
  return {phrase(rng, kPhrasings, target, digits), [=](Scratchpad& pad) {
            pad.line(fmt::format("Go through the digits from the left and count the {}s.", target));
            return std::to_string(pad.count_digit(digits, target));
          }};
}

Problem make_order(Rng& rng, int difficulty) {
  const int n = difficulty + 2;
  const int digits = difficulty >= 4 ? 3 : 2;
  std::vector<int64_t> numbers;
  while (int(numbers.size()) < n) {
    int64_t v = number_with_digits(rng, digits);
    if (std::find(numbers.begin(), numbers.end(), v) == numbers.end()) numbers.push_back(v);
  }
  const int k = int(rng.range(1, n));
  std::string list;
  for (size_t i = 0; i < numbers.size(); ++i) list += (i ? ", " : "") + std::to_string(numbers[i]);
  static const char* const kPhrasings[] = {
      "Put {0} in order from smallest to largest. Which number is {1}?",
      "What is the {1} smallest number among {0}?",
      "Sort {0} from smallest to largest and give the {1} number."};
  return {phrase(rng, kPhrasings, list, ordinal(k)), [=](Scratchpad& pad) {
            pad.line("Take the smallest number each time.");
            return std::to_string(pad.kth_smallest(numbers, k));
          }};
}

// A story of 2..4 steps, each one of buy / give away / boxes of / doubles or
// triples; every step is worked out with the column methods.
Problem make_word(Rng& rng, int difficulty) {
  static const char* const kNames[] = {"Mia", "Leo", "Ava", "Sam", "Noah", "Zoe", "Eli", "Ivy", "Omar", "Lena"};
  static const char* const kItems[] = {"apples", "stickers", "marbles", "coins", "books",
                                       "shells", "cards",    "stamps",  "beads", "pencils"};
  static const char* const kFriends[] = {"a friend", "a cousin", "a neighbor", "a classmate", "the class"};
  const int steps = difficulty <= 2 ? 2 : difficulty <= 4 ? 3 : 4;
  const int digits = difficulty <= 2 ? 2 : 3;
  const std::string name = pick(rng, kNames), items = pick(rng, kItems);

  enum class Op { buy, give, boxes, times };
  struct Step {
    Op op;
    int64_t k, m;  // amount; or boxes k of m each; or factor k
  };
  std::vector<Step> plan;
  int64_t value = number_with_digits(rng, digits);
  const int64_t start = value;
  std::string story = fmt::format("{} has {} {}.", name, start, items);
  for (int i = 0; i < steps; ++i) {
    Op op = Op(rng.below(4));
    if (op == Op::give && value < 10) op = Op::buy;
    if (op == Op::times && value >= pow10(digits)) op = Op::give;
    Step s{op, 0, 0};
    switch (op) {
      case Op::buy:
        s.k = number_with_digits(rng, int(rng.range(1, digits)));
        value += s.k;
        story += fmt::format(" {} buys {} more {}.", name, s.k, items);
        break;
      case Op::give:
        s.k = rng.range(1, value - 1);
        value -= s.k;
        story += fmt::format(" {} gives {} {} to {}.", name, s.k, items, pick(rng, kFriends));
        break;
      case Op::boxes:
        s.k = rng.range(2, 9);
        s.m = rng.range(2, digits == 2 ? 20 : 60);
        value += s.k * s.m;
        story += fmt::format(" {} gets {} boxes with {} {} in each.", name, s.k, s.m, items);
        break;
      case Op::times:
        s.k = rng.range(2, 3);
        value *= s.k;
        story += fmt::format(" Then {} {} the number of {}.", name, s.k == 2 ? "doubles" : "triples", items);
        break;
    }
    plan.push_back(s);
  }
  story += fmt::format(" How many {} does {} have now?", items, name);
  return {story, [=](Scratchpad& pad) {
            int64_t v = start;
            pad.line(fmt::format("Start: {}.", start));
            for (const Step& s : plan) {
              switch (s.op) {
                case Op::buy:
                  pad.line(fmt::format("Buys {} more: {}+{}.", s.k, v, s.k));
                  v = pad.add(v, s.k);
                  break;
                case Op::give:
                  pad.line(fmt::format("Gives away {}: {}-{}.", s.k, v, s.k));
                  v = pad.sub(v, s.k);
                  break;
                case Op::boxes: {
                  pad.line(fmt::format("Gets {} boxes of {}: {}*{}.", s.k, s.m, s.m, s.k));
                  const int64_t added = pad.mul(s.m, s.k);
                  pad.line(fmt::format("Then {}+{}.", v, added));
                  v = pad.add(v, added);
                  break;
                }
                case Op::times:
                  pad.line(fmt::format("{} times as many: {}*{}.", s.k, v, s.k));
                  v = pad.mul(v, s.k);
                  break;
              }
            }
            pad.line(fmt::format("{} has {} {}.", name, v, items));
            return std::to_string(v);
          }};
}

Problem make_problem(TaskKind kind, Rng& rng, int difficulty) {
  switch (kind) {
    case TaskKind::add: return make_add(rng, difficulty);
    case TaskKind::sub: return make_sub(rng, difficulty);
    case TaskKind::mul: return make_mul(rng, difficulty);
    case TaskKind::word: return make_word(rng, difficulty);
    case TaskKind::equation: return make_equation(rng, difficulty);
    case TaskKind::count: return make_count(rng, difficulty);
    case TaskKind::order: return make_order(rng, difficulty);
  }
  fail("unknown task kind {}", int(kind));
}

std::vector<std::string_view> split_commas(std::string_view spec) {
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    const size_t comma = spec.find(',', start);
    parts.push_back(spec.substr(start, comma == std::string_view::npos ? spec.npos : comma - start));
    if (comma == std::string_view::npos) return parts;
    start = comma + 1;
  }
}

Task build_task(TaskKind kind, int difficulty, Rng& rng, double slip_rate) {
  if (difficulty < 1 || difficulty > kMaxDifficulty) fail("difficulty {} is outside 1..{}", difficulty, kMaxDifficulty);
  Problem problem = make_problem(kind, rng, difficulty);
  Scratchpad counting;
  problem.solve(counting);
  int slip_step = -1;
  if (rng.chance(slip_rate) && counting.slippable_steps() > 0) slip_step = int(rng.below(counting.slippable_steps()));
  Scratchpad pad(slip_step, rng.next());
  Task task;
  task.kind = kind;
  task.difficulty = difficulty;
  task.question = problem.question;
  task.answer = problem.solve(pad);
  task.thinking = pad.text();
  task.answer_text = boxed_answer_text(task.answer);
  task.slip = pad.slipped();
  return task;
}

}  // namespace

std::string_view task_kind_name(TaskKind kind) { return kKindNames[int(kind)]; }

std::optional<TaskKind> parse_task_kind(std::string_view name) {
  for (size_t i = 0; i < std::size(kKindNames); ++i)
    if (kKindNames[i] == name) return TaskKind(i);
  return std::nullopt;
}

const std::vector<TaskKind>& all_task_kinds() {
  static const std::vector<TaskKind> kinds = {TaskKind::add,      TaskKind::sub,   TaskKind::mul,  TaskKind::word,
                                              TaskKind::equation, TaskKind::count, TaskKind::order};
  return kinds;
}

std::string boxed_answer_text(std::string_view answer) { return fmt::format("The answer is \\boxed{{{}}}.", answer); }

nlohmann::json Task::to_json() const {
  return {{"id", id},
          {"kind", task_kind_name(kind)},
          {"difficulty", difficulty},
          {"question", question},
          {"thinking", thinking},
          {"answer", answer},
          {"answer_text", answer_text},
          {"slip", slip},
          {"messages",
           nlohmann::json::array({{{"role", "user"}, {"content", question}},
                                  {{"role", "assistant"}, {"thinking", thinking}, {"content", answer_text}}})}};
}

Task generate_task(const GenerateOptions& options, uint64_t index) {
  if (options.kinds.empty()) fail("no task kinds to generate");
  if (options.difficulties.empty()) fail("no difficulties to generate");
  Rng rng(derive_seed(options.seed, index));
  const TaskKind kind = options.kinds[rng.below(options.kinds.size())];
  const int difficulty = options.difficulties[rng.below(options.difficulties.size())];
  Task task = build_task(kind, difficulty, rng, options.slip_rate);
  task.id = fmt::format("{}-{}", options.seed, index);
  return task;
}

Task generate_task(TaskKind kind, int difficulty, uint64_t seed, double slip_rate) {
  Rng rng(seed);
  Task task = build_task(kind, difficulty, rng, slip_rate);
  task.id = fmt::format("{}-{}-{}", task_kind_name(kind), difficulty, seed);
  return task;
}

std::vector<int> parse_difficulties(std::string_view spec) {
  auto parse_level = [&](std::string_view s) {
    int v = 0;
    for (char c : s) {
      if (c < '0' || c > '9' || s.size() > 2)
        fail("--difficulty '{}': expected levels 1..{} like '1-3' or '1,2,5'", spec, kMaxDifficulty);
      v = v * 10 + (c - '0');
    }
    if (v < 1 || v > kMaxDifficulty) fail("--difficulty '{}': level '{}' is outside 1..{}", spec, s, kMaxDifficulty);
    return v;
  };
  std::vector<int> levels;
  for (std::string_view part : split_commas(spec)) {
    const size_t dash = part.find('-');
    const int lo = parse_level(part.substr(0, dash));
    const int hi = dash == std::string_view::npos ? lo : parse_level(part.substr(dash + 1));
    if (lo > hi) fail("--difficulty '{}': range {}-{} is empty", spec, lo, hi);
    for (int v = lo; v <= hi; ++v) levels.push_back(v);
  }
  return levels;
}

std::vector<TaskKind> parse_task_kinds(std::string_view spec) {
  if (spec == "all") return all_task_kinds();
  std::vector<TaskKind> kinds;
  for (std::string_view name : split_commas(spec)) {
    auto kind = parse_task_kind(name);
    if (!kind) {
      std::string known;
      for (auto k : kKindNames) known += fmt::format("{}{}", known.empty() ? "" : ", ", k);
      fail("--kinds: unknown task kind '{}' (known: {})", name, known);
    }
    kinds.push_back(*kind);
  }
  return kinds;
}

}  // namespace s1::data
