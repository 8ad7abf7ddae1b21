// s1 run: generate from a prompt, streaming the thinking apart from the answer,
// with budget forcing, parallel samples and voting.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/engine_flags.h"
#include "cli/generation_output.h"
#include "cli/chat.h"
#include "cli/grammar_flags.h"
#include "cli/sampling_flags.h"
#include "cli/search_flags.h"
#include "reasoning/methods.h"
#include "util/error.h"

namespace s1::cli {
namespace {

struct RunOptions {
  EngineFlags engine;
  std::string prompt;
  std::string prompt_file;
  bool chat = false, raw = false;
  int max_tokens = -1;
  int n_samples = 1;
  std::string vote = "majority";
  double vote_confidence = 0.95;
  std::string method = "budget";
  int tries = 8;
  bool json = false;
  SamplingParams sampling;
  BudgetParams budget;
  std::string grammar;  // GBNF the answer follows; "" none
  SearchFlags search;
};

std::string read_prompt(const RunOptions& o) {
  if (!o.prompt.empty()) return o.prompt;
  if (!o.prompt_file.empty()) {
    FILE* f = std::fopen(o.prompt_file.c_str(), "rb");
    if (!f) fail("{}: cannot open the prompt file", o.prompt_file);
    std::string text;
    char buf[65536];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
    std::fclose(f);
    return text;
  }
  return std::string(std::istreambuf_iterator<char>(std::cin), {});
}

int run(RunOptions& o) {
  // No prompt and a person at the keyboard: a conversation, as llama.cpp's CLI opens one.
  if (o.prompt.empty() && o.prompt_file.empty() && isatty(STDIN_FILENO) && !o.json) {
    ChatOptions chat;
    chat.engine = o.engine;
    chat.sampling = o.sampling;
    chat.budget = o.budget;
    if (o.max_tokens > 0) chat.max_tokens = o.max_tokens;
    return run_chat(chat);
  }
  const ControlMethod method = parse_control_method(o.method);
  const VoteMethod vote_method = parse_vote_method(o.vote);
  Engine engine(o.engine.resolve());

  std::string question = apply_control_instruction(method, read_prompt(o), o.budget.think_max);
  // As llama.cpp's CLI: a model with a chat template is talked to through
  // it, unless --raw asks for the prompt text as it is.
  const bool chat = o.chat || (!o.raw && engine.chat_template().from_model);
  nlohmann::json template_vars = nlohmann::json::object();
  std::optional<SearchTool> search;
  if (o.search.given()) {
    const auto format = engine.tool_call_format();
    if (!chat || !format)
      fail("--search-db/--search-url: the model must be talked to through a chat template that teaches a "
           "tool-call syntax s1 reads");
    search = SearchTool{.run = make_search(o.search), .format = *format};
    template_vars["tools"] = nlohmann::json::array({search_tool_definition()});
  }
  GenerationRequest request =
      chat ? engine.chat_request(nlohmann::json::array({{{"role", "user"}, {"content", question}}}), template_vars)
           : engine.text_request(question);
  request.search = std::move(search);
  request.sampling = o.sampling;
  request.budget = method == ControlMethod::budget ? o.budget : BudgetParams{};
  request.budget.answer_max = o.budget.answer_max;
  request.n = o.n_samples;
  request.vote = vote_method;
  request.vote_confidence = o.vote_confidence;
  request.max_tokens = o.max_tokens > 0 ? o.max_tokens : engine.context().max_sequence_length();
  if (!o.grammar.empty()) request.grammar = std::make_shared<const Grammar>(Grammar::parse(o.grammar));

  GenerationPrinter printer(isatty(STDOUT_FILENO), o.json, o.n_samples);
  request.on_event = [&printer](const Event& e) { printer.on_event(e); };

  int tries = 1;
  GenerationResult result;
  if (method == ControlMethod::rejection) {
    if (!o.budget.think_max) fail("rejection sampling needs a thinking budget (--think-max)");
    result = run_rejection_sampling(engine.generator(), std::move(request), *o.budget.think_max, o.tries, &tries);
  } else {
    result = engine.generator().run(std::move(request));
  }
  printer.finish(result, engine.thinking_format(), tries);
  return 0;
}

}  // namespace

S1_COMMAND(run, "Generate from a prompt with controllable thinking (budget forcing, samples, voting)") {
  auto o = std::make_shared<RunOptions>();
  add_engine_flags(app, o->engine);
  app.add_option("-p,--prompt", o->prompt, "Prompt text (default: read stdin)");
  app.add_option("-f,--file", o->prompt_file, "Read the prompt from a file");
  auto* chat = app.add_flag("--chat", o->chat,
                            "Apply the chat template (one user message) even when the model has none (ChatML then); "
                            "the default when it has one");
  app.add_flag("--raw", o->raw, "Send the prompt as raw text, without the chat template")->excludes(chat);
  app.add_option("-n,--n-predict", o->max_tokens, "Tokens to generate at most per sample (-1: until the context is full)");
  app.add_option("--samples", o->n_samples, "Samples per prompt, sharing the prompt's KV cache")
      ->check(CLI::Range(1, 256));
  // llama.cpp users read --n as -n (tokens to predict): the old spelling says what it became.
  app.add_option_function<std::string>(
         "--n", [](const std::string&) { throw CLI::ValidationError("--n", "is now --samples (-n is --n-predict, as in llama.cpp)"); },
         "(renamed: --samples)")
      ->group("");
  app.add_option("--vote", o->vote,
                 "Aggregate samples: majority, weighted, best, or adaptive (majority whose sampling stops once "
                 "settled)");
  app.add_option("--vote-confidence", o->vote_confidence,
                 "--vote adaptive: stop once the leader is the likelier answer with this probability")
      ->check(CLI::Range(0.5, 1.0))
      ->capture_default_str();
  app.add_option("--method", o->method,
                 "Thinking control: budget, token-conditional, step-conditional, class-conditional, rejection");
  app.add_option("--tries", o->tries, "Rejection sampling: tries at most")->check(CLI::Range(1, 1000));
  app.add_flag("--json", o->json, "Print the final record as one JSON object instead of the text");
  add_sampling_flags(app, o->sampling);
  add_grammar_flags(app, o->grammar);
  add_search_flags(app, o->search);
  add_budget_flags(app, o->budget, o->engine.options.thinking);
  return [o] { return run(*o); };
}

}  // namespace s1::cli
