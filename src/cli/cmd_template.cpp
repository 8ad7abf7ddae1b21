// `s1 template`: render a chat template for a list of messages, exactly as the
// model would see it (no newline added), to check prompts by eye or in tests.
#include <cstdio>
#include <optional>

#include "cli/command.h"
#include "gguf/gguf.h"
#include "tokenizer/chat_template.h"
#include "util/error.h"
#include "util/file.h"

namespace {

struct TemplateOptions {
  std::string template_path;
  std::string model_path;
  std::string messages_path;
  bool add_generation_prompt = false;
  std::vector<std::string> vars;
  std::optional<std::string> bos_token;
  std::optional<std::string> eos_token;
};


// KEY=VALUE; VALUE is JSON when it parses as JSON (true, 3, [..]), else a string.
void add_var(nlohmann::json& vars, const std::string& spec) {
  size_t eq = spec.find('=');
  if (eq == std::string::npos || eq == 0) s1::fail("--var '{}': expected KEY=VALUE", spec);
  std::string value = spec.substr(eq + 1);
  nlohmann::json parsed = nlohmann::json::parse(value, nullptr, false);
  vars[spec.substr(0, eq)] = parsed.is_discarded() ? nlohmann::json(value) : parsed;
}

int run_template(const TemplateOptions& opts) {
  nlohmann::json messages = nlohmann::json::parse(s1::read_file(opts.messages_path), nullptr, false);
  if (messages.is_discarded()) s1::fail("{}: not valid JSON", opts.messages_path);
  nlohmann::json vars = nlohmann::json::object();
  for (const auto& spec : opts.vars) add_var(vars, spec);

  std::optional<s1::ChatTemplate> chat_template;
  std::string bos, eos;
  if (!opts.model_path.empty()) {
    auto loaded = s1::load_chat_template(s1::gguf::File::open(opts.model_path));
    chat_template.emplace(std::move(loaded.chat_template));
    bos = std::move(loaded.bos_token);
    eos = std::move(loaded.eos_token);
  } else {
    chat_template.emplace(s1::read_file(opts.template_path), opts.template_path);
  }
  if (opts.bos_token) bos = *opts.bos_token;
  if (opts.eos_token) eos = *opts.eos_token;
  std::string text = chat_template->render(messages, opts.add_generation_prompt, vars, bos, eos);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}

}  // namespace

S1_COMMAND(template, "Render a chat template for a JSON list of messages") {
  auto opts = std::make_shared<TemplateOptions>();
  auto* source = app.add_option_group("source", "where the template comes from");
  source->add_option("--template", opts->template_path, "Jinja template file")->check(CLI::ExistingFile);
  source->add_option("-m,--model", opts->model_path, "GGUF model (tokenizer.chat_template)")
      ->check(CLI::ExistingFile);
  source->require_option(1);
  app.add_option("--messages", opts->messages_path, "JSON file with a list of {role, content} messages")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_flag("--add-generation-prompt", opts->add_generation_prompt,
               "End with the assistant turn's opening");
  app.add_option("--var", opts->vars, "Extra template variable KEY=VALUE (JSON if it parses, else a string)");
  app.add_option("--bos-token", opts->bos_token, "bos_token text (default: the model's)");
  app.add_option("--eos-token", opts->eos_token, "eos_token text (default: the model's)");
  return [opts] { return run_template(*opts); };
}
