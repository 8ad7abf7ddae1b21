// The budget controller against a scripted "model": a list of tokens it wants
// to emit, replayed whatever the controller does, with the sequence edited by
// the controller's actions exactly as the generator edits the KV cache.
#include <gtest/gtest.h>

#include <random>

#include "reasoning/budget.h"
#include "reasoning/test_vocab.h"
#include "util/error.h"

namespace s1 {
namespace {

using s1test::kImEnd;
using s1test::kThinkClose;

struct Simulation {
  std::vector<int32_t> sequence;  // what the KV cache holds after the prompt
  std::vector<Event> events;
  std::string thinking_shown, answer_shown;
  int attempts_to_stop = 0;
  bool finished = false;
};

// Runs the controller until the model's script ends or the sequence finishes.
// `next` returns the model's next token given the sequence so far.
template <typename NextToken>
Simulation simulate(BudgetController& controller, NextToken next, int max_steps = 5000) {
  Simulation sim;
  auto apply = [&](const Action& a) {
    ASSERT_LE(a.rollback, int(sim.sequence.size()));
    sim.sequence.resize(sim.sequence.size() - a.rollback);
    sim.sequence.insert(sim.sequence.end(), a.append.begin(), a.append.end());
    sim.finished = sim.finished || a.finished;
  };
  apply(Action{0, controller.start(PromptThinking::not_opened), false});
  for (int step = 0; step < max_steps && !sim.finished; ++step) {
    if (auto forced = controller.before_sample(sim.events)) {
      apply(*forced);
      continue;
    }
    apply(controller.on_token(next(sim.sequence), sim.events));
  }
  if (!sim.finished) controller.finish(sim.events);
  for (const auto& e : sim.events) {
    if (e.kind == EventKind::thinking_text) sim.thinking_shown += e.text;
    if (e.kind == EventKind::answer_text) sim.answer_shown += e.text;
  }
  return sim;
}

class BudgetTest : public ::testing::Test {
 protected:
  Tokenizer tokenizer{s1test::byte_vocab()};
  ThinkingFormat format = think_tag_format();
};

TEST_F(BudgetTest, MaximumForcesTheEndAndTheModelAnswers) {
  BudgetParams params;
  params.think_max = 10;
  params.answer_max = 3;
  BudgetController controller(tokenizer, format, params);
  auto sim = simulate(controller, [](const std::vector<int32_t>&) { return int32_t('a'); });
  EXPECT_EQ(controller.thinking_tokens(), 10);
  EXPECT_TRUE(controller.forced_end());
  EXPECT_EQ(controller.answer_tokens(), 3);
  EXPECT_EQ(sim.thinking_shown, std::string(10, 'a'));
  EXPECT_EQ(sim.answer_shown, "aaa");
  // <think> + 10 thoughts + </think> + the answer (the last answer token is not fed back).
  ASSERT_GE(sim.sequence.size(), 12u);
  EXPECT_EQ(sim.sequence[0], s1test::kThinkOpen);
  EXPECT_EQ(sim.sequence[11], kThinkClose);
}

TEST_F(BudgetTest, BytesThatSpellNoCharacterReachTheCallerAsReplacementCharacters) {
  BudgetParams params;
  params.think_max = 4;
  params.answer_max = 2;
  BudgetController controller(tokenizer, format, params);
  // 0xFF is never valid UTF-8; 0xC3 0xA9 is "é" split over two tokens.
  const std::vector<int32_t> script = {0xFF, 'a', 0xC3, 0xA9, 'b', 'c'};
  size_t next = 0;
  auto sim = simulate(controller, [&](const std::vector<int32_t>&) { return script[next++ % script.size()]; });
  EXPECT_EQ(sim.thinking_shown, "\xEF\xBF\xBD" "a\xC3\xA9");
  EXPECT_EQ(sim.answer_shown, "bc");
}

TEST_F(BudgetTest, ZeroBudgetClosesTheThinkingAtOnce) {
  BudgetParams params;
  params.think_max = 0;
  params.answer_max = 2;
  BudgetController controller(tokenizer, format, params);
  auto sim = simulate(controller, [](const std::vector<int32_t>&) { return int32_t('x'); });
  EXPECT_EQ(controller.thinking_tokens(), 0);
  EXPECT_EQ(sim.sequence[0], s1test::kThinkOpen);
  EXPECT_EQ(sim.sequence[1], kThinkClose);
  EXPECT_TRUE(sim.thinking_shown.empty());
}

TEST_F(BudgetTest, MinimumReplacesTheDelimiterWithWait) {
  BudgetParams params;
  params.think_min = 12;
  params.answer_max = 1;
  BudgetController controller(tokenizer, format, params);
  // The model closes its thinking after every 2 thoughts.
  int since_close = 0;
  auto sim = simulate(controller, [&](const std::vector<int32_t>&) {
    if (++since_close == 3) {
      since_close = 0;
      return int32_t(kThinkClose);
    }
    return int32_t('b');
  });
  EXPECT_GE(controller.thinking_tokens(), 12);
  EXPECT_FALSE(controller.forced_end());
  EXPECT_GT(controller.waits(), 0);
  // The delimiter never entered the sequence before the minimum: the first
  // </think> comes after at least 12 thinking tokens.
  auto close = std::find(sim.sequence.begin(), sim.sequence.end(), kThinkClose);
  ASSERT_NE(close, sim.sequence.end());
  EXPECT_GE(close - sim.sequence.begin() - 1, 12);
  EXPECT_NE(sim.thinking_shown.find("bbWait"), std::string::npos);
  EXPECT_EQ(sim.thinking_shown.find("</think>"), std::string::npos);
}

TEST_F(BudgetTest, WaitTextAppearsExactlyKTimes) {
  for (int k = 0; k <= 4; ++k) {
    BudgetParams params;
    params.wait = k;
    params.answer_max = 1;
    BudgetController controller(tokenizer, format, params);
    // The model tries to stop right away, every time.
    auto sim = simulate(controller, [](const std::vector<int32_t>& seq) {
      return !seq.empty() && seq.back() == kThinkClose ? int32_t('z') : int32_t(kThinkClose);
    });
    EXPECT_EQ(controller.waits(), k);
    size_t count = 0;
    for (size_t at = sim.thinking_shown.find("Wait"); at != std::string::npos;
         at = sim.thinking_shown.find("Wait", at + 1))
      ++count;
    EXPECT_EQ(count, size_t(k)) << "k=" << k;
  }
}

TEST_F(BudgetTest, EndOfGenerationWhileThinkingCountsAsAnAttemptToStop) {
  BudgetParams params;
  params.wait = 1;
  params.answer_max = 1;
  BudgetController controller(tokenizer, format, params);
  auto sim = simulate(controller, [](const std::vector<int32_t>&) { return int32_t(kImEnd); });
  EXPECT_EQ(controller.waits(), 1);
  EXPECT_NE(std::find(sim.sequence.begin(), sim.sequence.end(), kThinkClose), sim.sequence.end());
}

TEST_F(BudgetTest, MultiTokenDelimiterIsRolledBackAndNeverShown) {
  ThinkingFormat custom{"custom", "<<T>>", "<</T>>", ""};
  BudgetParams params;
  params.think_min = 8;
  params.answer_max = 2;
  BudgetController controller(tokenizer, custom, params);
  const std::string script = "ab<</T>>cdefghij<</T>>OK";
  size_t at = 0;
  auto sim = simulate(controller, [&](const std::vector<int32_t>&) {
    return at < script.size() ? int32_t(uint8_t(script[at++])) : int32_t(kImEnd);
  });
  // The first close came after 2 thoughts: rolled back and replaced by Wait.
  EXPECT_EQ(controller.waits(), 1);
  EXPECT_EQ(sim.thinking_shown, "abWaitcdefghij");
  EXPECT_EQ(sim.answer_shown, "OK");
  std::string kv;
  for (int32_t t : sim.sequence) kv += t < 256 ? std::string(1, char(t)) : "";
  EXPECT_EQ(kv, "<<T>>abWaitcdefghij<</T>>OK");
}

// Once answering, single-token delimiters are banned; multi-token ones the
// model spells anyway are cut from the answer text.
TEST_F(BudgetTest, AnswersShowNoThinkingDelimiters) {
  BudgetParams params;
  params.think_max = 2;
  BudgetController controller(tokenizer, format, params);
  controller.start(PromptThinking::not_opened);
  EXPECT_TRUE(controller.banned_tokens().empty());  // thinking may close
  std::vector<Event> events;
  controller.on_token('a', events);
  controller.on_token('b', events);
  ASSERT_TRUE(controller.before_sample(events));  // forced end
  ASSERT_EQ(controller.phase(), Phase::answering);
  EXPECT_EQ(std::vector<int32_t>(controller.banned_tokens().begin(), controller.banned_tokens().end()),
            (std::vector<int32_t>{s1test::kThinkOpen, kThinkClose}));

  ThinkingFormat custom{"custom", "<<T>>", "<</T>>", ""};
  BudgetParams cut;
  cut.think_max = 0;
  BudgetController spelled(tokenizer, custom, cut);
  EXPECT_TRUE(spelled.banned_tokens().empty());
  const std::string script = "O<</T>>K<<T>>!";
  size_t at = 0;
  auto sim = simulate(spelled, [&](const std::vector<int32_t>&) {
    return at < script.size() ? int32_t(uint8_t(script[at++])) : int32_t(kImEnd);
  });
  EXPECT_EQ(sim.answer_shown, "OK!");
  EXPECT_EQ(spelled.answer_text(), "OK!");
}

TEST_F(BudgetTest, DelimiterStartingInsideAToken) {
  // "x<</" + "T>>" where the first piece also carries "x": the kept text survives.
  Vocab vocab = s1test::byte_vocab();
  vocab.tokens.push_back("x<</");  // a normal token spanning text and the delimiter's start
  vocab.types.push_back(int32_t(TokenType::user_defined));
  Tokenizer tok(vocab);
  const int32_t combo = int32_t(vocab.tokens.size() - 1);
  ThinkingFormat custom{"custom", "<<T>>", "<</T>>", ""};
  BudgetParams params;
  params.think_min = 6;
  params.answer_max = 1;
  BudgetController controller(tok, custom, params);
  std::vector<int32_t> script = {'a', combo, 'T', '>', '>', 'b', 'c', 'd', 'e', combo, 'T', '>', '>', 'Z'};
  size_t at = 0;
  auto sim = simulate(controller, [&](const std::vector<int32_t>&) { return script.at(at++); });
  EXPECT_EQ(sim.thinking_shown, "axWaitbcdex");
  EXPECT_EQ(sim.answer_shown, "Z");
}

TEST_F(BudgetTest, RandomBudgetsHoldTheirInvariants) {
  std::mt19937 rng(1234);
  for (int trial = 0; trial < 300; ++trial) {
    BudgetParams params;
    const bool multi = trial % 2;
    ThinkingFormat fmt = multi ? ThinkingFormat{"custom", "[T]", "[/T]", ""} : format;
    if (rng() % 3) params.think_max = int(rng() % 60);
    params.think_min = int(rng() % 40);
    if (params.think_max && params.think_min > *params.think_max) params.think_min = *params.think_max;
    params.wait = int(rng() % 4);
    params.answer_max = 3;
    BudgetController controller(tokenizer, fmt, params);
    std::mt19937 model_rng(trial);
    std::string pending_close;
    int tries = 0;
    auto sim = simulate(controller, [&](const std::vector<int32_t>&) -> int32_t {
      if (!pending_close.empty()) {
        int32_t t = uint8_t(pending_close[0]);
        pending_close.erase(0, 1);
        return t;
      }
      if (model_rng() % 7 == 0) {  // the model wants to stop thinking
        ++tries;
        if (!multi) return kThinkClose;
        pending_close = fmt.close.substr(1);
        return uint8_t(fmt.close[0]);
      }
      return int32_t('a' + model_rng() % 26);
    });
    if (params.think_max) {
      EXPECT_LE(controller.thinking_tokens(), *params.think_max) << "trial " << trial;
    }
    if (!controller.forced_end()) {
      EXPECT_GE(controller.thinking_tokens(), params.think_min) << "trial " << trial;
      EXPECT_GE(controller.waits(), params.wait) << "trial " << trial;
    }
    EXPECT_EQ(sim.thinking_shown.find(fmt.close), std::string::npos) << "trial " << trial;
    // Everything the sequence holds between the delimiters is what was shown.
    std::string kv;
    for (int32_t t : sim.sequence) kv += t < 256 ? std::string(1, char(t)) : "";
    if (multi) {
      EXPECT_EQ(kv.find(fmt.close), kv.find(fmt.open + sim.thinking_shown) + fmt.open.size() + sim.thinking_shown.size())
          << "trial " << trial;
    }
  }
}

TEST_F(BudgetTest, ContradictoryBudgetsAreRejected) {
  BudgetParams params;
  params.think_max = 5;
  params.think_min = 10;
  EXPECT_THROW(validate(params, format, tokenizer), Error);
  BudgetParams waits;
  waits.wait = 1;
  waits.wait_text = "";
  EXPECT_THROW(validate(waits, format, tokenizer), Error);
  BudgetParams any;
  any.think_max = 3;
  EXPECT_THROW(validate(any, ThinkingFormat{"none", "", "", ""}, tokenizer), Error);
}

TEST_F(BudgetTest, PromptThinkingState) {
  EXPECT_EQ(prompt_thinking_state("<|im_start|>assistant\n<think>\n", format), PromptThinking::opened);
  EXPECT_EQ(prompt_thinking_state("<|im_start|>assistant\n<think>\n\n</think>\n\n", format), PromptThinking::closed);
  EXPECT_EQ(prompt_thinking_state("<|im_start|>assistant\n", format), PromptThinking::not_opened);
}

}  // namespace
}  // namespace s1
