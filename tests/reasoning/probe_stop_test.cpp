// Probe stop (--think-stop probe:K:EVERY): forks of a thinking sample answer
// at once, and K agreeing answers end the thinking. Scripted bigram models
// make every probe's answer known; mini.gguf checks it on a real transformer.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "model/context.h"
#include "model/model.h"
#include "reasoning/bigram_model.h"
#include "reasoning/generator.h"
#include "support/test_support.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"

namespace s1 {
namespace {

using s1test::kImEnd;
using s1test::kThinkClose;
using s1test::kThinkOpen;

// Thinks "abab..." for ever; after "</think>" it answers `answer` and ends its turn.
s1test::BigramModel endless_thinker(int answer) {
  s1test::BigramModel m;
  auto edge = [&](int from, int to) { m.transitions[from][to] = 20.0f; };
  edge(kThinkOpen, 'a');
  edge('a', 'b');
  edge('b', 'a');
  edge(kThinkClose, answer);
  edge(answer, kImEnd);
  return m;
}

GenerationRequest request(const Tokenizer& tok, std::optional<ProbeStop> stop, int max_tokens = 60) {
  GenerationRequest r;
  r.prompt = tok.encode("Q");
  r.sampling.temperature = 0;
  r.max_tokens = max_tokens;
  r.budget.probe = stop;
  return r;
}

std::string repeat_ab(int tokens) {
  std::string s;
  for (int i = 0; i < tokens; ++i) s += i % 2 ? 'b' : 'a';
  return s;
}

// Probes at 8 and 16 thinking tokens both answer "7": the second one's answer
// is known after it decoded "</think>" and "7" (two steps), while the sample
// thought on, so the thinking ends at 16 + 2 tokens, K x EVERY + the probe's
// answer tokens + 1.
TEST(ProbeStop, AgreeingProbesEndTheThinkingAtThePredictedLength) {
  auto l = load(endless_thinker('7'), "probe-agree");
  Generator gen(*l.context, *l.tokenizer, think_tag_format());
  GenerationRequest r = request(*l.tokenizer, ProbeStop{.agree = 2, .every = 8});
  std::vector<Event> probes;
  r.on_event = [&](const Event& e) {
    if (e.kind == EventKind::probe) probes.push_back(e);
  };
  const GenerationResult result = gen.run(std::move(r));
  ASSERT_EQ(result.samples.size(), 1u);
  const SampleRecord& s = result.samples[0];
  EXPECT_EQ(s.thinking_tokens, 18);
  EXPECT_TRUE(s.forced_end);
  EXPECT_TRUE(s.probe_stopped);
  EXPECT_EQ(s.finish_reason, "stop");
  EXPECT_EQ(s.probes, 2);
  EXPECT_EQ(s.probe_tokens, 4);  // per probe: "</think>" and "7"
  ASSERT_EQ(probes.size(), 2u);
  EXPECT_EQ(probes[0].text, "7");
  EXPECT_EQ(probes[0].count, 8);
  EXPECT_EQ(probes[1].count, 16);
  EXPECT_EQ(l.context->kv_cache().live_sequences(), 0);  // the probes were freed with the rest
}

// The probe's tokens are its own: the sample's text and its computed
// positions are exactly those of a forced end at the same length without
// probes; the probes computed their own 4 positions on top.
TEST(ProbeStop, ProbesLeaveTheSampleUntouched) {
  auto l = load(endless_thinker('7'), "probe-untouched");
  Generator gen(*l.context, *l.tokenizer, think_tag_format());
  const GenerationResult probed = gen.run(request(*l.tokenizer, ProbeStop{.agree = 2, .every = 8}));
  GenerationRequest forced = request(*l.tokenizer, std::nullopt);
  forced.budget.think_max = 18;
  const GenerationResult expected = gen.run(std::move(forced));
  const SampleRecord &a = probed.samples.at(0), &b = expected.samples.at(0);
  EXPECT_EQ(a.thinking, repeat_ab(18));
  EXPECT_EQ(a.thinking, b.thinking);
  EXPECT_EQ(a.answer, "7");
  EXPECT_EQ(a.answer, b.answer);
  EXPECT_EQ(a.answer_tokens, b.answer_tokens);
  EXPECT_EQ(a.thinking.find("</think>"), std::string::npos);
  EXPECT_EQ(b.probes, 0);
  EXPECT_EQ(b.probe_tokens, 0);
  EXPECT_EQ(probed.computed_tokens, expected.computed_tokens + a.probe_tokens);
  EXPECT_EQ(probed.prefill_tokens, expected.prefill_tokens);
}

// Probes whose answers hold nothing to extract never agree: the thinking runs
// to the token limit as it does without probes, and every probe is counted.
TEST(ProbeStop, ProbesWithoutAnAnswerDoNotStopTheThinking) {
  auto l = load(endless_thinker('x'), "probe-none");
  Generator gen(*l.context, *l.tokenizer, think_tag_format());
  const GenerationResult probed = gen.run(request(*l.tokenizer, ProbeStop{.agree = 2, .every = 8}, 40));
  GenerationRequest plain = request(*l.tokenizer, std::nullopt, 40);
  plain.budget.open_thinking = true;  // as the probe stop opens the block
  const GenerationResult expected = gen.run(std::move(plain));
  const SampleRecord& s = probed.samples.at(0);
  EXPECT_EQ(s.finish_reason, "length");
  EXPECT_FALSE(s.forced_end);
  EXPECT_FALSE(s.probe_stopped);
  EXPECT_EQ(s.thinking, expected.samples.at(0).thinking);
  EXPECT_EQ(s.thinking_tokens, 40);
  EXPECT_EQ(s.probes, 4);  // at 8, 16, 24, 32 (one at 40 would come after the last token)
  EXPECT_EQ(s.probe_tokens, 4 * 2);
  EXPECT_EQ(probed.computed_tokens, expected.computed_tokens + s.probe_tokens);
}

// Agreement is counted over consecutive probes, in probe order, on
// equivalent non-empty answers; the controller alone, answers scripted.
TEST(ProbeStop, OnlyConsecutiveEquivalentAnswersAgree) {
  const Tokenizer tokenizer(s1test::byte_vocab());
  auto run = [&](const std::vector<std::pair<int, std::optional<std::string>>>& arrivals, int probes) {
    BudgetParams params;
    params.probe = ProbeStop{.agree = 2, .every = 1};
    BudgetController c(tokenizer, think_tag_format(), params);
    std::vector<Event> events;
    c.start(PromptThinking::not_opened);
    for (int i = 0; i < probes; ++i) {
      c.on_token('a', events);
      EXPECT_EQ(c.take_due_probe(), std::optional<int>(i));
    }
    for (const auto& [index, answer] : arrivals) c.on_probe_answer(index, answer, events);
    return c.before_sample(events).has_value();  // a forced end now
  };
  EXPECT_FALSE(run({{0, "1"}, {1, "2"}, {2, "1"}, {3, "2"}}, 4));
  EXPECT_FALSE(run({{0, "3"}, {1, std::nullopt}, {2, "3"}}, 3));
  EXPECT_TRUE(run({{0, "1"}, {1, "2"}, {2, "0.5"}, {3, "\\frac{1}{2}"}}, 4));
  // Later probes' answers may arrive first: they are counted once the earlier ones are in.
  EXPECT_FALSE(run({{2, "4"}, {1, "4"}}, 3));
  EXPECT_TRUE(run({{2, "4"}, {1, "4"}, {0, "5"}}, 3));
}

// Each of n samples has its own probes: a sample that stops thinking by
// itself (the model may end its turn at each "b") before the second probe is
// answered is not stopped, the others are stopped at 18 tokens each.
TEST(ProbeStop, EverySampleProbesOnItsOwn) {
  s1test::BigramModel m = endless_thinker('7');
  m.transitions['b'][kImEnd] = 17.0f;  // about 1 in 21 at each "b"
  auto l = load(m, "probe-samples");
  Generator gen(*l.context, *l.tokenizer, think_tag_format());
  GenerationRequest r = request(*l.tokenizer, ProbeStop{.agree = 2, .every = 8});
  r.n = 12;
  r.sampling.temperature = 1;
  r.sampling.top_p = 1;  // the odds as they are
  r.sampling.min_p = 0;
  r.sampling.seed = 5;
  const GenerationResult result = gen.run(std::move(r));
  int stopped = 0, natural = 0;
  for (const SampleRecord& s : result.samples) {
    EXPECT_EQ(s.answer, "7");
    if (s.probe_stopped) {
      ++stopped;
      EXPECT_EQ(s.thinking_tokens, 18);
      EXPECT_EQ(s.probes, 2);
      EXPECT_EQ(s.probe_tokens, 4);
    } else {
      ++natural;
      EXPECT_FALSE(s.forced_end);
      EXPECT_LT(s.thinking_tokens, 18);
      EXPECT_EQ(s.probes, s.thinking_tokens / 8);
    }
  }
  EXPECT_GT(stopped, 0);
  EXPECT_GT(natural, 0);
  EXPECT_EQ(l.context->kv_cache().live_sequences(), 0);
}

// On a real transformer (greedy): a probe stop ends the thinking no later
// than the model does, and what it answers then is what a forced end at that
// length gives.
TEST(ProbeStop, OnTheBundledModelItEqualsAForcedEndAtThatLength) {
  const auto path = (s1test::source_dir() / "models" / "mini.gguf").string();
  auto model = Model::load(path);
  const Tokenizer tokenizer = Tokenizer::load(path);
  Context ctx(*model, ContextParams{.n_ctx = 1024, .n_threads = 2});
  Generator gen(ctx, tokenizer, think_tag_format());
  auto ask = [&](const std::string& question, std::optional<ProbeStop> stop, std::optional<int> think_max) {
    GenerationRequest r;
    r.prompt = tokenizer.encode("<|im_start|>user\n" + question + "<|im_end|>\n<|im_start|>assistant\n<think>\n",
                                {.add_bos = false, .parse_special = true});
    r.prompt_thinking = PromptThinking::opened;
    r.sampling.temperature = 0;
    r.max_tokens = 600;
    r.budget.probe = stop;
    r.budget.think_max = think_max;
    return gen.run(std::move(r)).samples.at(0);
  };
  int stopped = 0;
  for (const std::string question : {"What is 347 + 589?", "What is 23 * 47?", "What is 3471 * 8?",
                                     "Mia has 345 coins. Mia buys 27 more coins. Mia gives 110 coins to a friend. "
                                     "How many coins does Mia have now?"}) {
    const SampleRecord natural = ask(question, std::nullopt, std::nullopt);
    const SampleRecord probed = ask(question, ProbeStop{.agree = 2, .every = 16}, std::nullopt);
    EXPECT_LE(probed.thinking_tokens, natural.thinking_tokens) << question;
    EXPECT_GT(probed.probes, 0) << question;
    if (!probed.probe_stopped) {
      EXPECT_EQ(probed.answer, natural.answer) << question;
      continue;
    }
    ++stopped;
    const SampleRecord forced = ask(question, std::nullopt, probed.thinking_tokens);
    EXPECT_EQ(probed.thinking, forced.thinking) << question;
    EXPECT_EQ(probed.answer, forced.answer) << question;
  }
  EXPECT_GT(stopped, 0);
  EXPECT_EQ(ctx.kv_cache().live_sequences(), 0);
}

TEST(ProbeStop, BadRulesAreClearErrors) {
  EXPECT_FALSE(parse_think_stop("natural"));
  const auto defaults = parse_think_stop("probe");
  ASSERT_TRUE(defaults);
  EXPECT_EQ(defaults->agree, 2);
  EXPECT_EQ(defaults->every, 32);
  const auto given = parse_think_stop("probe:3:16");
  ASSERT_TRUE(given);
  EXPECT_EQ(think_stop_name(given), "probe:3:16");
  EXPECT_EQ(think_stop_name(parse_think_stop("probe:4")), "probe:4:32");
  for (const char* bad : {"probe:0", "probe:2:0", "probe:x", "probe:", "probe:2:16:1", "early", "probe2"}) {
    try {
      parse_think_stop(bad);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("--think-stop"), std::string::npos) << e.what();
    }
  }
  const Tokenizer tokenizer(s1test::byte_vocab());
  BudgetParams params;
  params.probe = ProbeStop{};
  EXPECT_THROW(validate(params, ThinkingFormat{}, tokenizer), Error);  // no thinking format
  EXPECT_NO_THROW(validate(params, think_tag_format(), tokenizer));
}

TEST(ProbeStop, RunCommandReportsProbes) {
  const auto dir = s1test::temp_dir("probe-cli");
  endless_thinker('7').write((dir / "m.gguf").string());
  auto r = s1test::run_s1({"run", "-m", (dir / "m.gguf").string(), "-p", "Q", "--temp", "0", "--think-open",
                           "<think>", "--think-close", "</think>", "--think-stop", "probe:2:8", "-n", "60", "--json",
                           "-t", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto record = nlohmann::json::parse(r.out);
  EXPECT_EQ(record["thinking_tokens"], 18);
  EXPECT_EQ(record["probes"], 2);
  EXPECT_EQ(record["probe_tokens"], 4);
  EXPECT_EQ(record["probe_stopped"], true);
  EXPECT_EQ(record["answer"], "7");

  auto bad = s1test::run_s1({"run", "-m", (dir / "m.gguf").string(), "-p", "Q", "--think-open", "<think>",
                             "--think-close", "</think>", "--think-stop", "probe:0:8"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("K must be at least 1"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace s1
