#pragma once
// The public face of s1.cpp: everything needed to run a reasoning model from a
// GGUF file, in one object. The CLI, the server, the evaluator and the trainer
// all start here.
//
//   s1::Engine engine({.model_path = "model.gguf", .n_ctx = 8192});
//   s1::GenerationRequest request = engine.chat_request({{"role","user"},{"content","2+2?"}});
//   request.budget.think_max = 256;
//   s1::GenerationResult result = engine.generator().run(std::move(request));
#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <string>

#include "model/context.h"
#include "model/model.h"
#include "reasoning/generator.h"
#include "reasoning/thinking_format.h"
#include "reasoning/tool_calls.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace s1 {

struct EngineOptions {
  std::string model_path;
  int n_ctx = 4096;            // KV capacity in tokens, shared by all sequences
  int n_threads = 0;           // 0: every available core
  DType kv_type = DType::F16;
  int max_sequences = 64;
  // Finished requests' prompts kept for later ones (model/prompt_cache.h):
  // at most this many MiB of KV cache; 0 keeps none.
  int cache_ram_mb = 1024;
  ThinkingOverrides thinking;  // user-given delimiters win over detection
};

class Engine {
 public:
  explicit Engine(const EngineOptions& options);
  ~Engine();

  const Model& model() const { return *model_; }
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  const ModelChatTemplate& chat_template() const { return *chat_template_; }
  const ThinkingFormat& thinking_format() const { return generator_->format(); }
  // How the chat template teaches the model to call tools; none when it does not.
  std::optional<ToolCallFormat> tool_call_format() const {
    return detect_tool_call_format(chat_template_->chat_template.source());
  }
  Context& context() { return *context_; }
  Generator& generator() { return *generator_; }

  // The prompt text of a conversation: the model's chat template with the
  // generation prompt added (extra template variables such as enable_thinking;
  // `tools`, OpenAI's array, shown the way the model was taught).
  // chat_request() tokenizes special-token text inside user and tool
  // messages as plain text (tokenizer/chat_prompt.h); text_request() parses
  // every special text of a raw prompt.
  std::string render_chat(const nlohmann::json& messages,
                          const nlohmann::json& template_vars = nlohmann::json::object()) const;

  // A request for a rendered prompt (or raw text): tokenized with special
  // tokens parsed and BOS when the model wants one, with the thinking state
  // the prompt leaves. Sampling, budget and n are the caller's to set.
  GenerationRequest text_request(const std::string& prompt_text) const;
  GenerationRequest chat_request(const nlohmann::json& messages,
                                 const nlohmann::json& template_vars = nlohmann::json::object()) const;

 private:
  GenerationRequest prompt_request(const std::string& prompt_text, std::span<const TextSpan> plain_spans) const;
  nlohmann::json messages_with_tools(const nlohmann::json& messages, const nlohmann::json& template_vars) const;

  std::unique_ptr<Model> model_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::unique_ptr<ModelChatTemplate> chat_template_;
  std::unique_ptr<Context> context_;
  std::unique_ptr<Generator> generator_;
};

}  // namespace s1
