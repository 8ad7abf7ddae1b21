#include "tokenizer/chat_prompt.h"

#include <fmt/format.h>

#include <random>

namespace s1 {
namespace {

// U+F0000 and U+F0001 (private use) around the nonce and the index.
constexpr std::string_view kOpen = "\xF3\xB0\x80\x80", kClose = "\xF3\xB0\x80\x81";

struct Escaper {
  const Tokenizer& tokenizer;
  std::string prefix;  // kOpen + nonce
  std::vector<std::string> originals;

  void escape(nlohmann::json& value) {
    if (value.is_string()) {
      const std::string& text = value.get_ref<const std::string&>();
      const std::vector<TextSpan> specials = tokenizer.special_spans(text);
      if (specials.empty()) return;
      std::string escaped;
      size_t done = 0;
      for (const TextSpan& s : specials) {
        escaped.append(text, done, s.begin - done);
        escaped += fmt::format("{}{}{}", prefix, originals.size(), kClose);
        originals.push_back(text.substr(s.begin, s.end - s.begin));
        done = s.end;
      }
      escaped.append(text, done);
      value = std::move(escaped);
    } else if (value.is_structured()) {
      for (auto& item : value) escape(item);
    }
  }

  // The rendered text with the originals back, and where they are.
  ChatPrompt restore(const std::string& rendered) const {
    ChatPrompt out;
    size_t done = 0;
    for (size_t at; (at = rendered.find(prefix, done)) != std::string::npos;) {
      const size_t digits = at + prefix.size(), close = rendered.find(kClose, digits);
      size_t index = originals.size();
      if (close != std::string::npos && close > digits && close - digits < 10)
        index = std::stoul(rendered.substr(digits, close - digits));
      if (index >= originals.size()) {  // not ours after all (cannot happen without the nonce)
        out.text.append(rendered, done, digits - done);
        done = digits;
        continue;
      }
      out.text.append(rendered, done, at - done);
      out.plain_spans.push_back({out.text.size(), out.text.size() + originals[index].size()});
      out.text += originals[index];
      done = close + kClose.size();
    }
    out.text.append(rendered, done);
    return out;
  }
};

bool is_untrusted_role(const nlohmann::json& message) {
  if (!message.is_object() || !message.contains("role") || !message["role"].is_string()) return false;
  const std::string& role = message["role"].get_ref<const std::string&>();
  return role == "user" || role == "tool" || role == "function";
}

std::string random_nonce() {
  std::random_device device;
  return fmt::format("{:08x}{:08x}", device(), device());
}

}  // namespace

ChatPrompt render_chat_prompt(const ModelChatTemplate& model_template, const Tokenizer& tokenizer,
                              const nlohmann::json& messages, const nlohmann::json& template_vars) {
  Escaper escaper{tokenizer, std::string(kOpen) + random_nonce(), {}};
  nlohmann::json escaped = messages;
  if (escaped.is_array())
    for (auto& message : escaped)
      if (is_untrusted_role(message))
        for (auto& [key, value] : message.items())
          if (key != "role") escaper.escape(value);
  const std::string rendered = model_template.chat_template.render(
      escaped, /*add_generation_prompt=*/true, template_vars, model_template.bos_token, model_template.eos_token);
  if (escaper.originals.empty()) return ChatPrompt{rendered, {}};
  return escaper.restore(rendered);
}

}  // namespace s1
