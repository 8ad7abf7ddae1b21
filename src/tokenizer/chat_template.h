#pragma once
// Chat templates: turning a list of messages into the prompt text a model was
// trained on, by running the model's Jinja template (tokenizer.chat_template)
// the way Hugging Face transformers does, or ChatML when a model has none.
#include <nlohmann/json.hpp>
#include <string>

#include "tokenizer/jinja.h"

namespace s1::gguf {
class File;
}

namespace s1 {

class ChatTemplate {
 public:
  // Parses the template; s1::Error on syntax errors. `name` prefixes errors.
  explicit ChatTemplate(std::string source, std::string name = "chat template");
  // `<|im_start|>role\ncontent<|im_end|>\n` per message; the generation prompt
  // is `<|im_start|>assistant\n`.
  static ChatTemplate chatml();

  // The template sees `messages`, `add_generation_prompt`, `bos_token`,
  // `eos_token`, then every key of `extra_vars` (an object: enable_thinking,
  // tools, date_string, ...), which may override the others.
  std::string render(const nlohmann::json& messages, bool add_generation_prompt,
                     const nlohmann::json& extra_vars = nlohmann::json::object(), const std::string& bos = "",
                     const std::string& eos = "", const jinja::RenderOptions& options = {}) const;

  const std::string& source() const { return source_; }

 private:
  std::string source_;
  jinja::Template template_;
};

// A model's template and its BOS/EOS token texts (empty when the model has
// no such token).
struct ModelChatTemplate {
  ChatTemplate chat_template;
  std::string bos_token;
  std::string eos_token;
  bool from_model = true;  // false: the model has none and this is the ChatML stand-in
};

// tokenizer.chat_template from the GGUF metadata; a model without one gets
// ChatML and a warning on stderr.
ModelChatTemplate load_chat_template(const gguf::File& model);

}  // namespace s1
