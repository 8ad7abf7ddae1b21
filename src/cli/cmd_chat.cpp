// s1 chat: a conversation on the terminal. Each turn goes through the model's
// chat template with the earlier turns (their thinking kept as
// reasoning_content, for templates that show it); thinking streams dimmed.
// Commands between turns set the reasoning controls of the turns after them:
//   /think N   a thinking budget of N tokens (/think alone: none)
//   /wait K    refuse the model's first K attempts to stop thinking ("Wait")
//   /answer    the next turn answers without thinking
//   /clear     forget the conversation
//   /quit      (or end of input)
#include <unistd.h>

#include <iostream>
#include <memory>
#include <string>

#include "cli/chat.h"
#include "cli/command.h"
#include "cli/generation_output.h"
#include "cli/number_checks.h"
#include "cli/sampling_flags.h"
#include "reasoning/record_json.h"
#include "util/error.h"

namespace s1::cli {

namespace {

constexpr const char* kHelp =
    "commands: /think N (thinking budget; /think alone: none), /wait K, /answer (next turn without thinking), "
    "/clear, /quit\n";

// A command line ("/think 64"); false when `line` is not one. Sets `quit`.
bool apply_command(const std::string& line, BudgetParams& budget, bool& answer_once, nlohmann::json& messages,
                   bool& quit) {
  if (line.empty() || line[0] != '/') return false;
  const size_t space = line.find(' ');
  const std::string name = line.substr(0, space);
  const std::string arg = space == std::string::npos ? "" : line.substr(space + 1);
  auto number = [&](int fallback) {
    if (arg.empty()) return fallback;
    size_t used = 0;
    int value = -1;
    try {
      value = std::stoi(arg, &used);
    } catch (const std::exception&) {
    }
    if (used != arg.size() || value < 0) throw Error(name + ": '" + arg + "' is not a count of tokens");
    return value;
  };
  if (name == "/think") {
    budget.think_max = arg.empty() ? std::nullopt : std::optional<int>(number(0));
  } else if (name == "/wait") {
    budget.wait = number(1);
  } else if (name == "/answer") {
    answer_once = true;
  } else if (name == "/clear") {
    const nlohmann::json system = !messages.empty() && messages[0]["role"] == "system" ? messages[0] : nlohmann::json();
    messages = nlohmann::json::array();
    if (!system.is_null()) messages.push_back(system);
  } else if (name == "/quit" || name == "/exit") {
    quit = true;
  } else if (name == "/help") {
    std::fputs(kHelp, stderr);
  } else {
    throw Error("unknown command " + name + "; " + kHelp);
  }
  return true;
}

}  // namespace

int run_chat(ChatOptions& o) {
  Engine engine(o.engine.resolve());
  const bool terminal = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
  nlohmann::json messages = nlohmann::json::array();
  if (!o.system.empty()) messages.push_back({{"role", "system"}, {"content", o.system}});
  if (terminal) std::fputs(kHelp, stderr);
  bool answer_once = false, quit = false;
  std::string line;
  while (!quit) {
    if (terminal) std::fputs("\n> ", stdout), std::fflush(stdout);
    if (!std::getline(std::cin, line)) break;
    try {
      if (apply_command(line, o.budget, answer_once, messages, quit) || line.empty()) continue;
    } catch (const Error& e) {
      std::fprintf(stderr, "%s\n", e.what());
      continue;
    }
    messages.push_back({{"role", "user"}, {"content", line}});
    GenerationRequest request = engine.chat_request(messages);
    request.sampling = o.sampling;
    request.budget = o.budget;
    if (answer_once) {
      request.budget = BudgetParams{};
      request.budget.think_max = 0;
    }
    answer_once = false;
    request.max_tokens = o.max_tokens;
    GenerationPrinter printer(terminal, o.json, 1);
    request.on_event = [&printer](const Event& e) { printer.on_event(e); };
    const GenerationResult result = engine.generator().run(std::move(request));
    printer.finish(result, engine.thinking_format(), 1);
    const SampleRecord& reply = result.samples.at(0);
    messages.push_back({{"role", "assistant"}, {"content", reply.answer}, {"reasoning_content", reply.thinking}});
  }
  return 0;
}

}  // namespace s1::cli

S1_COMMAND(chat, "Talk with a model on the terminal: thinking streamed, /think N, /wait K, /answer, /clear") {
  auto o = std::make_shared<s1::cli::ChatOptions>();
  s1::cli::add_engine_flags(app, o->engine);
  app.add_option("--system", o->system, "A system message at the start of the conversation");
  app.add_option("-n,--n-predict", o->max_tokens, "Tokens per reply at most (thinking and answer)")
      ->capture_default_str()
      ->check(s1::cli::positive_number());
  app.add_flag("--json", o->json, "Print each turn's record as one JSON object instead of the text");
  s1::cli::add_budget_flags(app, o->budget, o->engine.options.thinking);
  s1::cli::add_sampling_flags(app, o->sampling);
  return [o] { return s1::cli::run_chat(*o); };
}
