#include "tokenizer/chat_template.h"

#include "gguf/gguf.h"
#include "util/error.h"
#include "util/log.h"

namespace s1 {
namespace {

constexpr const char* kChatMLSource =
    "{%- for message in messages %}"
    "{{- '<|im_start|>' ~ message['role'] ~ '\\n' ~ message['content'] ~ '<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";

// The text of the token whose id is stored under `id_key`, or "" when absent.
std::string token_text(const gguf::File& model, const char* id_key) {
  auto id = model.get_int(id_key);
  const gguf::Array* tokens = model.get_array("tokenizer.ggml.tokens");
  if (!id || !tokens || *id < 0 || uint64_t(*id) >= tokens->items.size()) return "";
  const std::string* text = tokens->items[size_t(*id)].as_string();
  return text ? *text : "";
}

}  // namespace

ChatTemplate::ChatTemplate(std::string source, std::string name)
    : source_(std::move(source)), template_(source_, std::move(name)) {}

ChatTemplate ChatTemplate::chatml() { return ChatTemplate(kChatMLSource, "ChatML template"); }

std::string ChatTemplate::render(const nlohmann::json& messages, bool add_generation_prompt,
                                 const nlohmann::json& extra_vars, const std::string& bos,
                                 const std::string& eos, const jinja::RenderOptions& options) const {
  if (!messages.is_array())
    fail("{}: messages must be a JSON array, not {}", template_.name(), messages.type_name());
  if (!extra_vars.is_null() && !extra_vars.is_object())
    fail("{}: extra variables must be a JSON object, not {}", template_.name(), extra_vars.type_name());
  jinja::Dict context;
  context.set("messages", jinja::from_json(messages));
  context.set("add_generation_prompt", jinja::Value(add_generation_prompt));
  context.set("bos_token", jinja::Value(bos));
  context.set("eos_token", jinja::Value(eos));
  if (extra_vars.is_object())
    for (auto it = extra_vars.begin(); it != extra_vars.end(); ++it)
      context.set(it.key(), jinja::from_json(it.value()));
  return template_.render(jinja::Value(std::move(context)), options);
}

ModelChatTemplate load_chat_template(const gguf::File& model) {
  std::string bos = token_text(model, "tokenizer.ggml.bos_token_id");
  std::string eos = token_text(model, "tokenizer.ggml.eos_token_id");
  if (auto source = model.get_string("tokenizer.chat_template"))
    return {ChatTemplate(*source, model.path() + ": chat template"), bos, eos};
  log_warn("{}: no tokenizer.chat_template in the model; using ChatML", model.path());
  return {ChatTemplate::chatml(), bos, eos, /*from_model=*/false};
}

}  // namespace s1
