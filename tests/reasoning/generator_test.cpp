// The generator end to end on real (tiny, scripted) models: budgets hold on
// every sample, waits and rolled-back delimiters never recompute anything,
// and parallel samples share the prompt.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <random>

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

// A model that thinks "ab", then tries to close "/)" ... and answers "42".
s1test::BigramModel scripted_model() {
  s1test::BigramModel m;
  auto edge = [&](int from, int to) { m.transitions[from][to] = 20.0f; };
  edge('T', 'a');
  edge('a', 'b');
  edge('b', '/');
  edge('/', ')');
  edge(')', '4');
  edge('4', '2');
  edge('2', kImEnd);
  edge('Y', 'a');  // after the wait text "XY", think on
  return m;
}

GenerationRequest greedy_request(const Tokenizer& tok, const std::string& prompt) {
  GenerationRequest r;
  r.prompt = tok.encode(prompt);
  r.sampling.temperature = 0;
  r.max_tokens = 200;
  return r;
}

TEST(Generator, WaitsReplaceAMultiTokenDelimiterWithoutRecomputation) {
  auto l = load(scripted_model(), "gen-scripted");
  Generator gen(*l.context, *l.tokenizer, ThinkingFormat{"custom", "(T", "/)", ""});
  GenerationRequest r = greedy_request(*l.tokenizer, "Q");
  r.budget.think_min = 10;
  r.budget.wait_text = "XY";
  std::vector<Event> events;
  r.on_event = [&](const Event& e) { events.push_back(e); };
  GenerationResult result = gen.run(std::move(r));

  ASSERT_EQ(result.samples.size(), 1u);
  const auto& s = result.samples[0];
  EXPECT_EQ(s.thinking, "abXYabXYab");
  EXPECT_EQ(s.answer, "42");
  EXPECT_EQ(s.waits, 2);
  EXPECT_EQ(s.thinking_tokens, 10);
  EXPECT_FALSE(s.forced_end);
  EXPECT_EQ(s.finish_reason, "stop");
  // Prompt "Q" + the opening "(T" once; after it, every fed token once:
  // [a b /] [X Y a b /] [X Y a b /] [)] [4] [2] = 16. The s1 reference would
  // re-send the whole prompt and thinking for each Wait.
  EXPECT_EQ(result.prefill_tokens, 3);
  EXPECT_EQ(result.computed_tokens, 3 + 16);
  int waits = 0;
  for (const auto& e : events) waits += e.kind == EventKind::wait_appended;
  EXPECT_EQ(waits, 2);
}

// After its thinking is cut, a model that would close it again (or reopen it)
// cannot: the delimiters are banned in the answer, which is an answer only.
TEST(Generator, TheAnswerCannotHoldThinkingDelimiters) {
  s1test::BigramModel m;
  m.transitions[kThinkClose]['4'] = 20.0f;
  m.transitions['4'][kThinkClose] = 20.0f;  // the model's favourite: close again
  m.transitions['4'][s1test::kThinkOpen] = 19.0f;  // or reopen
  m.transitions['4']['2'] = 10.0f;
  m.transitions['2'][kImEnd] = 20.0f;
  auto l = load(m, "gen-no-delimiters");
  Generator gen(*l.context, *l.tokenizer, think_tag_format());
  GenerationRequest r = greedy_request(*l.tokenizer, "Q");
  r.budget.think_max = 0;
  GenerationResult result = gen.run(std::move(r));
  ASSERT_EQ(result.samples.size(), 1u);
  EXPECT_TRUE(result.samples[0].forced_end);
  EXPECT_EQ(result.samples[0].answer, "42");
}

// A model that calls a tool in the middle of its thinking: as one token each,
// "<tool_call>", the call's body and "</tool_call>" (Hermes), or gpt-oss's
// commentary message closed by an end-of-turn token.
constexpr int kCallOpen = 260, kCallBody = 261, kCallClose = 262, kHarmonyCall = 263;

s1test::BigramModel tool_calling_model(int after_a) {
  s1test::BigramModel m;
  m.extra_tokens = {"<tool_call>", R"({"name": "f", "arguments": {"x": 1}})", "</tool_call>",
                    " to=functions.f<|message|>{\"x\": 1}"};
  auto edge = [&](int from, int to) { m.transitions[from][to] = 20.0f; };
  edge('T', 'a');
  edge('a', after_a);
  edge(kCallOpen, kCallBody);
  edge(kCallBody, kCallClose);
  edge(kCallClose, 'b');  // a model left alone thinks on after its call
  edge(kHarmonyCall, kImEnd);
  edge('b', '/');
  edge('/', ')');
  edge(')', '4');
  edge('4', kImEnd);
  return m;
}

// Only the client can run its tools, so a call made while thinking ends the
// sample there (the thinking before it kept, nothing appended, nothing
// answered); the same model without client tools thinks on and answers.
TEST(Generator, AClientToolCallWhileThinkingEndsTheSample) {
  auto l = load(tool_calling_model(kCallOpen), "gen-tool-call");
  Generator gen(*l.context, *l.tokenizer, ThinkingFormat{"custom", "(T", "/)", ""});
  for (const bool offered : {true, false}) {
    GenerationRequest r = greedy_request(*l.tokenizer, "Q");
    r.budget.think_max = 100;
    if (offered) r.client_tools = detect_tool_call_format("<tool_call>");
    const GenerationResult result = gen.run(std::move(r));
    const auto& s = result.samples[0];
    if (offered) {
      EXPECT_EQ(s.finish_reason, "tool_calls");
      EXPECT_EQ(s.thinking, R"(a<tool_call>{"name": "f", "arguments": {"x": 1}}</tool_call>)");
      EXPECT_EQ(s.answer, "");
      EXPECT_EQ(result.appended_tokens, 2) << "only the thinking's opening \"(T\"";
    } else {
      EXPECT_EQ(s.finish_reason, "stop");
      EXPECT_EQ(s.answer, "4");
    }
  }
}

// gpt-oss ends a call with <|call|>, an end-of-turn token: while thinking it
// closes the call rather than asking to stop thinking (which would append the
// final message's opening and answer).
TEST(Generator, AToolCallClosedByAnEndOfTurnTokenIsTheCallsEnd) {
  auto l = load(tool_calling_model(kHarmonyCall), "gen-harmony-call");
  Generator gen(*l.context, *l.tokenizer, ThinkingFormat{"custom", "(T", "/)", ""});
  GenerationRequest r = greedy_request(*l.tokenizer, "Q");
  r.budget.think_max = 100;
  ToolCallFormat harmony = *detect_tool_call_format("<|call|> \"functions.\"");
  harmony.close = "<|im_end|>";  // the test vocabulary's end of turn
  r.client_tools = harmony;
  const GenerationResult result = gen.run(std::move(r));
  const auto& s = result.samples[0];
  EXPECT_EQ(s.finish_reason, "tool_calls");
  EXPECT_EQ(s.thinking, "a to=functions.f<|message|>{\"x\": 1}<|im_end|>");
  EXPECT_FALSE(s.forced_end);
  EXPECT_EQ(result.appended_tokens, 2) << "the opening \"(T\" only: no end of thinking was appended";
}

// An adaptive vote runs 4 samples at a time and stops once settled: greedy
// samples all answer "42", so 4 settle it at 0.95 (31/32) and 8 at 0.99
// (4 agreeing give 0.969); the prompt is computed once either way.
TEST(Generator, AnAdaptiveVoteStopsSamplingOnceSettled) {
  auto l = load(scripted_model(), "gen-adaptive");
  Generator gen(*l.context, *l.tokenizer, ThinkingFormat{"custom", "(T", "/)", ""});
  for (const auto& [confidence, used] : {std::pair{0.95, 4}, {0.99, 8}}) {
    GenerationRequest r = greedy_request(*l.tokenizer, "Q");
    r.n = 16;
    r.vote = VoteMethod::adaptive;
    r.vote_confidence = confidence;
    r.budget.think_max = 100;  // opens the thinking: "(T" after the prompt
    const GenerationResult result = gen.run(std::move(r));
    EXPECT_EQ(int(result.samples.size()), used) << confidence;
    EXPECT_EQ(*result.vote.answer, "42");
    EXPECT_EQ(result.vote.votes, used);
    EXPECT_EQ(result.prefill_tokens, 3) << "the prompt (and its opening) once";
    for (const auto& s : result.samples) EXPECT_EQ(s.answer, "42");
    EXPECT_EQ(l.context->kv_cache().live_sequences(), 0) << "the prompt's copy is freed too";
  }
}

TEST(Generator, ParallelSamplesShareThePrompt) {
  auto l = load(scripted_model(), "gen-parallel");
  Generator gen(*l.context, *l.tokenizer, ThinkingFormat{"custom", "(T", "/)", ""});
  GenerationRequest r = greedy_request(*l.tokenizer, "QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQT");
  r.n = 4;
  r.budget.think_min = 10;
  r.budget.wait_text = "XY";
  GenerationResult result = gen.run(std::move(r));
  ASSERT_EQ(result.samples.size(), 4u);
  const int64_t prompt = 41 + 2;
  EXPECT_EQ(result.prefill_tokens, prompt);  // processed once, not 4 times
  EXPECT_EQ(result.computed_tokens, prompt + 4 * 16);
  for (const auto& s : result.samples) EXPECT_EQ(s.answer, "42");
  EXPECT_EQ(result.vote.votes, 4);
  EXPECT_EQ(l.context->kv_cache().live_sequences(), 0);  // everything freed
}

TEST(Generator, BudgetsHoldForEverySampleOverRandomSettings) {
  // Every token leads to </think> with odds ~1/6 and to the end of text now and then.
  s1test::BigramModel m;
  for (int t = 0; t < 260; ++t) m.transitions[t][kThinkClose] = 4.0f;
  auto l = load(m, "gen-random");
  Generator gen(*l.context, *l.tokenizer, think_tag_format());
  std::mt19937 rng(7);
  for (int trial = 0; trial < 40; ++trial) {
    GenerationRequest r;
    r.prompt = l.tokenizer->encode("Question?");
    r.sampling.temperature = 1.0f;
    r.sampling.top_k = 0;
    r.sampling.top_p = 1.0f;
    r.sampling.min_p = 0.0f;
    r.sampling.seed = uint64_t(trial);
    r.n = 1 + int(rng() % 3);
    if (rng() % 4) r.budget.think_max = int(rng() % 48);
    r.budget.think_min = int(rng() % 32);
    if (r.budget.think_max && r.budget.think_min > *r.budget.think_max) r.budget.think_min = *r.budget.think_max;
    r.budget.wait = int(rng() % 3);
    r.budget.answer_max = 4;
    r.max_tokens = 400;
    const BudgetParams budget = r.budget;
    GenerationResult result = gen.run(std::move(r));
    for (const auto& s : result.samples) {
      if (budget.think_max) {
        EXPECT_LE(s.thinking_tokens, *budget.think_max) << "trial " << trial;
      }
      if (!s.forced_end) {
        EXPECT_GE(s.thinking_tokens, budget.think_min) << "trial " << trial;
        EXPECT_GE(s.waits, budget.wait) << "trial " << trial;
      }
      EXPECT_EQ(s.thinking.find("</think>"), std::string::npos) << "trial " << trial;
      EXPECT_LE(s.answer_tokens, 4);
    }
  }
}

std::string mini_model_path() { return (s1test::source_dir() / "models" / "mini.gguf").string(); }

// A question to the bundled model, its thinking opened in the prompt; greedy, 60 tokens.
GenerationRequest mini_question(const Tokenizer& tokenizer, const std::string& question) {
  GenerationRequest r =
      greedy_request(tokenizer, "<|im_start|>user\n" + question + "<|im_end|>\n<|im_start|>assistant\n<think>\n");
  r.prompt_thinking = PromptThinking::opened;
  r.max_tokens = 60;
  return r;
}

// A request whose prompt starts like one in flight forks that one's cache:
// only the rest of its prompt is computed, and (a real transformer, greedy)
// it generates exactly what it generates alone.
TEST(Generator, RequestsInFlightShareAPromptPrefix) {
  const auto path = mini_model_path();
  auto model = Model::load(path);
  const Tokenizer tokenizer = Tokenizer::load(path);
  auto request = [&](const std::string& question) { return mini_question(tokenizer, question); };
  const auto first_tokens = request("23+45").prompt, second_tokens = request("23+46").prompt;
  const size_t first_prompt = first_tokens.size(), second_prompt = second_tokens.size();
  size_t shared = 0;
  while (shared < second_prompt && first_tokens[shared] == second_tokens[shared]) ++shared;
  ASSERT_GT(shared, 10u);  // the chat prefix and "23+4"
  ASSERT_LT(shared, second_prompt);

  Context alone_ctx(*model, ContextParams{.n_ctx = 512, .n_threads = 1});
  Generator alone(alone_ctx, tokenizer, think_tag_format());
  const GenerationResult expected = alone.run(request("23+46"));
  EXPECT_EQ(expected.prefill_tokens, int64_t(second_prompt));

  Context ctx(*model, ContextParams{.n_ctx = 512, .n_threads = 1});
  Generator gen(ctx, tokenizer, think_tag_format());
  const int first = gen.submit(request("23+45"));
  const int together = gen.submit(request("23+46"));  // arrives with it: waits a step, then forks it
  for (int i = 0; i < 3; ++i) gen.step();  // prefilled, a few tokens decoded on the shared sequence
  const int second = gen.submit(request("23+46"));
  const int repeat = gen.submit(request("23+45"));  // the same prompt again: only its last token is computed
  while (gen.step()) {
  }
  const GenerationResult a = gen.take_result(first), b = gen.take_result(second), c = gen.take_result(repeat);
  const GenerationResult d = gen.take_result(together);
  EXPECT_EQ(a.prefill_tokens, int64_t(first_prompt));
  EXPECT_EQ(d.prefill_tokens, int64_t(second_prompt - shared));
  EXPECT_EQ(b.prefill_tokens, 1);  // "together" computed the same prompt before it came
  EXPECT_EQ(c.prefill_tokens, 1);
  EXPECT_EQ(d.samples[0].thinking, expected.samples[0].thinking);
  EXPECT_EQ(d.samples[0].answer, expected.samples[0].answer);
  ASSERT_FALSE(expected.samples[0].thinking.empty() && expected.samples[0].answer.empty());
  EXPECT_EQ(b.samples[0].thinking, expected.samples[0].thinking);
  EXPECT_EQ(b.samples[0].answer, expected.samples[0].answer);
  EXPECT_EQ(c.samples[0].thinking, a.samples[0].thinking);
  EXPECT_EQ(c.samples[0].answer, a.samples[0].answer);
  EXPECT_EQ(ctx.kv_cache().live_sequences(), 0);  // everything freed
}

// A Qwen3.5 hybrid keeps only its last position's recurrent state, so a
// request shares another's sequence only when that sequence is exactly its
// prompt prefix: a request that arrives after the other moved on computes its
// whole prompt, and (greedy) generates exactly what it generates alone.
TEST(Generator, RecurrentModelsShareOnlyWholeSequences) {
  const auto path = (s1test::temp_dir("gen-qwen35") / "qwen35.gguf").string();
  const auto made = s1test::run_s1({"mkmodel", "--arch", "qwen35", "--seed", "9", "-o", path});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  auto model = Model::load(path);
  const Tokenizer tokenizer = Tokenizer::load(path);
  auto request = [&](const std::string& question) {
    GenerationRequest r = greedy_request(tokenizer, "Question: " + question + " Answer:");
    r.max_tokens = 24;
    return r;
  };
  const size_t prompt = request("23+46").prompt.size();
  Context alone_ctx(*model, ContextParams{.n_ctx = 512, .n_threads = 1});
  Generator alone(alone_ctx, tokenizer, think_tag_format());
  const GenerationResult expected = alone.run(request("23+46"));

  Context ctx(*model, ContextParams{.n_ctx = 512, .n_threads = 1});
  Generator gen(ctx, tokenizer, think_tag_format());
  const int first = gen.submit(request("23+45"));
  const int together = gen.submit(request("23+46"));  // no waiting for a prefix it could not take
  for (int i = 0; i < 3; ++i) gen.step();
  const int later = gen.submit(request("23+46"));  // "together" has moved past its prompt by now
  while (gen.step()) {
  }
  const GenerationResult a = gen.take_result(first), b = gen.take_result(together), c = gen.take_result(later);
  EXPECT_EQ(b.prefill_tokens, int64_t(prompt));
  EXPECT_EQ(c.prefill_tokens, int64_t(prompt));
  for (const GenerationResult* r : {&b, &c}) {
    EXPECT_EQ(r->samples[0].thinking, expected.samples[0].thinking);
    EXPECT_EQ(r->samples[0].answer, expected.samples[0].answer);
  }
  EXPECT_FALSE(a.samples[0].answer.empty() && a.samples[0].thinking.empty());
  EXPECT_EQ(ctx.kv_cache().live_sequences(), 0);
}

// With kept prompts (model/prompt_cache.h) a request that comes after
// another has finished still forks its cache: the same question again
// computes one token, a similar one only the rest, and (a real transformer,
// greedy; and sampled samples under budget forcing) each generates exactly
// what it generates without the cache.
TEST(Generator, KeptPromptsServeRequestsThatComeLater) {
  const auto path = mini_model_path();
  auto model = Model::load(path);
  const Tokenizer tokenizer = Tokenizer::load(path);
  auto request = [&](const std::string& question) { return mini_question(tokenizer, question); };
  auto sampled = [&](const std::string& question) {
    GenerationRequest r = request(question);
    r.n = 3;
    r.sampling.temperature = 0.8f;
    r.sampling.seed = 11;
    r.budget.think_max = 12;
    return r;
  };
  Context plain_ctx(*model, ContextParams{.n_ctx = 1024, .n_threads = 1});
  Generator plain(plain_ctx, tokenizer, think_tag_format());
  Context ctx(*model, ContextParams{.n_ctx = 1024, .n_threads = 1});
  Generator gen(ctx, tokenizer, think_tag_format());
  gen.keep_prompts({});

  const size_t prompt = request("23+45").prompt.size();
  const GenerationResult first = gen.run(request("23+45"));
  EXPECT_EQ(first.prefill_tokens, int64_t(prompt));
  EXPECT_EQ(first.cached_tokens, 0);
  const GenerationResult again = gen.run(request("23+45"));
  EXPECT_EQ(again.prefill_tokens, 1);
  EXPECT_EQ(again.cached_tokens, int(prompt - 1));
  const GenerationResult similar = gen.run(request("23+46"));
  EXPECT_GT(similar.cached_tokens, 10);
  EXPECT_EQ(similar.prefill_tokens, int64_t(prompt) - similar.cached_tokens);
  const GenerationResult forced = gen.run(sampled("23+47"));
  EXPECT_GT(forced.cached_tokens, 10);

  for (const auto& [result, question] : {std::pair{&first, "23+45"}, {&again, "23+45"}, {&similar, "23+46"}}) {
    const GenerationResult expected = plain.run(request(question));
    EXPECT_EQ(result->samples[0].thinking, expected.samples[0].thinking) << question;
    EXPECT_EQ(result->samples[0].answer, expected.samples[0].answer) << question;
  }
  const GenerationResult expected = plain.run(sampled("23+47"));
  ASSERT_EQ(forced.samples.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(forced.samples[i].thinking, expected.samples[i].thinking) << i;
    EXPECT_EQ(forced.samples[i].answer, expected.samples[i].answer) << i;
    EXPECT_TRUE(forced.samples[i].forced_end) << i;
  }
  EXPECT_EQ(ctx.kv_cache().live_sequences(), gen.prompt_cache()->entries());
  EXPECT_EQ(plain_ctx.kv_cache().live_sequences(), 0);
}

// A Qwen3.5 hybrid's kept prompt serves a later prompt that extends it whole
// (the next turn of a conversation), from the prompt's own recurrent state.
TEST(Generator, RecurrentModelsKeepTheirPromptsState) {
  const auto path = (s1test::temp_dir("gen-qwen35-kept") / "qwen35.gguf").string();
  const auto made = s1test::run_s1({"mkmodel", "--arch", "qwen35", "--seed", "9", "-o", path});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  auto model = Model::load(path);
  const Tokenizer tokenizer = Tokenizer::load(path);
  auto request = [&](const std::string& text) {
    GenerationRequest r = greedy_request(tokenizer, text);
    r.max_tokens = 16;
    return r;
  };
  const std::string turn1 = "Question: 23+46 Answer:", turn2 = turn1 + " 69. Question: 2+2 Answer:";
  Context plain_ctx(*model, ContextParams{.n_ctx = 512, .n_threads = 1});
  Generator plain(plain_ctx, tokenizer, think_tag_format());
  Context ctx(*model, ContextParams{.n_ctx = 512, .n_threads = 1});
  Generator gen(ctx, tokenizer, think_tag_format());
  gen.keep_prompts({});
  const std::vector<int32_t> prompt1 = request(turn1).prompt, prompt2 = request(turn2).prompt;
  ASSERT_EQ(std::vector(prompt2.begin(), prompt2.begin() + ptrdiff_t(prompt1.size())), prompt1);
  gen.run(request(turn1));
  const GenerationResult second = gen.run(request(turn2));
  EXPECT_EQ(second.cached_tokens, int(prompt1.size()));
  EXPECT_EQ(second.prefill_tokens, int64_t(prompt2.size() - prompt1.size()));
  const GenerationResult expected = plain.run(request(turn2));
  EXPECT_EQ(second.samples[0].thinking, expected.samples[0].thinking);
  EXPECT_EQ(second.samples[0].answer, expected.samples[0].answer);
}

// Kept prompts give their cache back when running requests need it: in a
// context that holds one request at a time, requests run one after another
// with the cache on as they do without it.
TEST(Generator, KeptPromptsMakeRoomForRunningRequests) {
  const auto path = mini_model_path();
  auto model = Model::load(path);
  const Tokenizer tokenizer = Tokenizer::load(path);
  Context ctx(*model, ContextParams{.n_ctx = 96, .n_threads = 1});
  Generator gen(ctx, tokenizer, think_tag_format());
  gen.keep_prompts({});
  for (const std::string question : {"12+30", "7*8", "99-45", "5+5"}) {
    GenerationRequest r = greedy_request(tokenizer, "<|im_start|>user\n" + question + "<|im_end|>\n<|im_start|>assistant\n");
    r.max_tokens = 96 - int(r.prompt.size()) - 1;
    const GenerationResult result = gen.run(std::move(r));
    EXPECT_NE(result.samples[0].finish_reason, "error") << question << ": " << result.samples[0].error;
  }
  EXPECT_LE(gen.prompt_cache()->entries(), 1);
}

TEST(Generator, PromptLongerThanTheContextIsAClearError) {
  auto l = load(scripted_model(), "gen-long");
  Context small(*l.model, ContextParams{.n_ctx = 32, .n_threads = 1});
  Generator gen(small, *l.tokenizer, ThinkingFormat{"custom", "(T", "/)", ""});
  GenerationRequest r = greedy_request(*l.tokenizer, std::string(100, 'Q'));
  EXPECT_THROW(gen.submit(std::move(r)), Error);
}

TEST(RunCommand, JsonRecordOfABudgetedRun) {
  const auto dir = s1test::temp_dir("run-cli");
  scripted_model().write((dir / "m.gguf").string());
  auto r = s1test::run_s1({"run", "-m", (dir / "m.gguf").string(), "-p", "Q", "--temp", "0", "--think-open", "(T",
                           "--think-close", "/)", "--think-min", "10", "--wait-text", "XY", "--json", "-t", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto record = nlohmann::json::parse(r.out);
  EXPECT_EQ(record["thinking_tokens"], 10);
  EXPECT_EQ(record["waits"], 2);
  EXPECT_EQ(record["answer"], "42");
  EXPECT_EQ(record["forced_end"], false);
  EXPECT_EQ(record["prefill_tokens"], 3);
  EXPECT_EQ(record["samples"].size(), 1u);
}

TEST(RunCommand, ContradictoryBudgetsFailCleanly) {
  const auto dir = s1test::temp_dir("run-cli-bad");
  scripted_model().write((dir / "m.gguf").string());
  auto r = s1test::run_s1({"run", "-m", (dir / "m.gguf").string(), "-p", "Q", "--think-open", "(T", "--think-close",
                           "/)", "--think-min", "10", "--think-max", "5"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("contradictory budgets"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace s1
