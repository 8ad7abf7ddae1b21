#include "api/engine.h"

#include "gguf/gguf.h"
#include "model/prompt_cache.h"
#include "tokenizer/chat_prompt.h"

namespace s1 {
namespace {
// Conversations, system prompts and few-shot prefixes a server returns to;
// each kept prompt holds one sequence id.
constexpr int kCachedPrompts = 32;
}  // namespace

Engine::Engine(const EngineOptions& options) {
  model_ = Model::load(options.model_path);
  ThinkingFormat thinking;
  {
    // The whole metadata (the model's file keeps only the small keys), read
    // while the tokenizer, template and thinking format are built, then freed.
    const auto metadata = gguf::File::open(options.model_path);
    tokenizer_ = std::make_unique<Tokenizer>(Tokenizer::from_gguf(metadata));
    chat_template_ = std::make_unique<ModelChatTemplate>(load_chat_template(metadata));
    thinking = detect_thinking_format(metadata, *tokenizer_, options.thinking);
  }
  ContextParams params;
  params.n_ctx = options.n_ctx;
  params.n_threads = options.n_threads;
  params.kv_type = options.kv_type;
  params.max_sequences = options.max_sequences;
  const PromptCacheLimits cache{.max_bytes = size_t(options.cache_ram_mb) << 20, .max_entries = kCachedPrompts};
  if (options.cache_ram_mb > 0) params.max_sequences += cache.max_entries;  // their own sequence ids
  context_ = std::make_unique<Context>(*model_, params);
  generator_ = std::make_unique<Generator>(*context_, *tokenizer_, thinking);
  if (options.cache_ram_mb > 0) generator_->keep_prompts(cache);
}

Engine::~Engine() = default;

// Tools in `template_vars` go to the template; one that does not list them
// (DeepSeek's) gets the list at the end of the system prompt, where the model
// was taught to find it.
nlohmann::json Engine::messages_with_tools(const nlohmann::json& messages, const nlohmann::json& template_vars) const {
  const auto tools = template_vars.find("tools");
  const auto format = tool_call_format();
  if (tools == template_vars.end() || tools->empty() || !format || format->template_lists_tools) return messages;
  const std::string list = tool_list_prompt(*format, *tools);
  nlohmann::json out = messages;
  if (!out.empty() && out[0].value("role", "") == "system")
    out[0]["content"] = out[0].value("content", "") + "\n\n" + list;
  else
    out.insert(out.begin(), nlohmann::json{{"role", "system"}, {"content", list}});
  return out;
}

std::string Engine::render_chat(const nlohmann::json& messages, const nlohmann::json& template_vars) const {
  return render_chat_prompt(*chat_template_, *tokenizer_, messages_with_tools(messages, template_vars), template_vars)
      .text;
}

GenerationRequest Engine::prompt_request(const std::string& prompt_text, std::span<const TextSpan> plain_spans) const {
  GenerationRequest request;
  // A template that writes the BOS text itself already holds it.
  const bool has_bos_text =
      !chat_template_->bos_token.empty() && prompt_text.rfind(chat_template_->bos_token, 0) == 0;
  request.prompt = tokenizer_->encode(prompt_text, {.add_bos = tokenizer_->add_bos() && !has_bos_text,
                                                    .parse_special = true,
                                                    .plain_spans = plain_spans});
  request.prompt_thinking = prompt_thinking_state(prompt_text, thinking_format());
  return request;
}

GenerationRequest Engine::text_request(const std::string& prompt_text) const { return prompt_request(prompt_text, {}); }

GenerationRequest Engine::chat_request(const nlohmann::json& messages, const nlohmann::json& template_vars) const {
  const ChatPrompt prompt =
      render_chat_prompt(*chat_template_, *tokenizer_, messages_with_tools(messages, template_vars), template_vars);
  return prompt_request(prompt.text, prompt.plain_spans);
}

}  // namespace s1
