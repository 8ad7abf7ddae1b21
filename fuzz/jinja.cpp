// Fuzzes the Jinja interpreter: the input is a template source, rendered with
// a fixed conversation under tight limits. Any outcome but a rendering or an
// s1::Error (a crash, a hang, a sanitizer report) is a bug.
#include <cstddef>
#include <cstdint>
#include <string>

#include "tokenizer/chat_template.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const nlohmann::json messages = nlohmann::json::parse(R"([
    {"role": "system", "content": "You are helpful."},
    {"role": "user", "content": "What is 2+2?"},
    {"role": "assistant", "content": "<think>\nadd\n</think>\n\n4", "tool_calls": [
      {"type": "function", "function": {"name": "add", "arguments": {"a": 2, "b": 2}}}]},
    {"role": "tool", "content": "4"},
    {"role": "user", "content": "Thanks"}])");
  static const nlohmann::json vars = {
      {"enable_thinking", false}, {"tools", nlohmann::json::parse(R"([{"name": "add", "parameters": {}}])")}};
  s1::jinja::RenderOptions options;
  options.limits.max_output_bytes = 1 << 16;
  options.limits.max_loop_iterations = 10'000;
  options.limits.max_steps = 200'000;
  options.now = 0;
  try {
    s1::ChatTemplate chat_template(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
    chat_template.render(messages, true, vars, "<s>", "</s>", options);
  } catch (const s1::Error&) {
  }
  return 0;
}
