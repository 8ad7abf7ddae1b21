// `s1 template` end to end: a template file or a GGUF model's template,
// --var parsing, BOS/EOS defaults from the model, and the ChatML fallback.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "gguf/gguf.h"
#include "support/test_support.h"

namespace {

namespace fs = std::filesystem;

nlohmann::json shared_case(int line_number) {
  std::istringstream in(s1test::read_file(s1test::shared_dir() / "templates" / "cases.jsonl"));
  std::string line;
  for (int n = 1; std::getline(in, line); ++n)
    if (n == line_number) return nlohmann::json::parse(line);
  throw std::runtime_error("cases.jsonl has no line " + std::to_string(line_number));
}

fs::path write_messages(const fs::path& dir, const nlohmann::json& messages) {
  auto path = dir / "messages.json";
  s1test::write_file(path, messages.dump());
  return path;
}

TEST(TemplateCli, RendersATemplateFileExactly) {
  auto dir = s1test::temp_dir("template-cli");
  for (int line : {1, 10}) {  // Qwen2.5 plain; Qwen3 with enable_thinking=false
    auto spec = shared_case(line);
    std::vector<std::string> args = {
        "template",
        "--template",
        (s1test::shared_dir() / "templates" / spec["template"].get<std::string>()).string(),
        "--messages",
        write_messages(dir, spec["messages"]).string(),
        "--bos-token",
        spec["bos_token"],
        "--eos-token",
        spec["eos_token"]};
    if (spec["add_generation_prompt"].get<bool>()) args.push_back("--add-generation-prompt");
    if (spec.contains("enable_thinking"))
      args.push_back("--var=enable_thinking=" + spec["enable_thinking"].dump());
    auto result = s1test::run_s1(args);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(result.out, spec["expected"].get<std::string>()) << "cases.jsonl line " << line;
  }
}

TEST(TemplateCli, VarsParseAsJsonOrFallBackToStrings) {
  auto dir = s1test::temp_dir("template-cli");
  auto tmpl = dir / "t.jinja";
  s1test::write_file(tmpl, "{{ a is string }}/{{ b + 1 }}/{{ c is true }}/{{ d }}/{{ messages | length }}");
  auto result =
      s1test::run_s1({"template", "--template", tmpl.string(), "--messages",
                      write_messages(dir, nlohmann::json::array()).string(), "--var", "a=hello world",
                      "--var", "b=41", "--var", "c=true", "--var", "d=[1, \"x\"]"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "True/42/True/[1, 'x']/0");
}

TEST(TemplateCli, TemplateErrorsExitNonZeroWithTheMessage) {
  auto dir = s1test::temp_dir("template-cli");
  auto tmpl = dir / "t.jinja";
  s1test::write_file(tmpl, "line one\n{{ raise_exception('no tools allowed') }}");
  auto result = s1test::run_s1({"template", "--template", tmpl.string(), "--messages",
                                write_messages(dir, nlohmann::json::array()).string()});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.out, "");
  EXPECT_NE(result.err.find("t.jinja:2: no tools allowed"), std::string::npos) << result.err;

  auto missing =
      s1test::run_s1({"template", "--messages", write_messages(dir, nlohmann::json::array()).string()});
  EXPECT_NE(missing.exit_code, 0);
}

TEST(TemplateCli, UsesTheModelTemplateAndTokens) {
  auto dir = s1test::temp_dir("template-cli");
  auto messages = nlohmann::json::parse(R"([{"role": "user", "content": "Hi"}])");
  using s1::gguf::Value;
  s1::gguf::Writer with_template;
  with_template.set("general.architecture", Value{std::string("llama")});
  with_template.set("tokenizer.ggml.tokens", s1::gguf::make_string_array({"<unk>", "<s>", "</s>"}));
  with_template.set("tokenizer.ggml.bos_token_id", Value{uint32_t(1)});
  with_template.set("tokenizer.ggml.eos_token_id", Value{uint32_t(2)});
  with_template.set(
      "tokenizer.chat_template",
      Value{
          std::string("{{ bos_token }}{% for m in messages %}[{{ m.content }}]{% endfor %}{{ eos_token }}")});
  with_template.write((dir / "with.gguf").string());

  auto result = s1test::run_s1(
      {"template", "-m", (dir / "with.gguf").string(), "--messages", write_messages(dir, messages).string()});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "<s>[Hi]</s>");
  auto overridden = s1test::run_s1({"template", "-m", (dir / "with.gguf").string(), "--messages",
                                    write_messages(dir, messages).string(), "--bos-token", "B"});
  EXPECT_EQ(overridden.out, "B[Hi]</s>");

  s1::gguf::Writer without_template;
  without_template.set("general.architecture", Value{std::string("llama")});
  without_template.write((dir / "without.gguf").string());
  auto fallback = s1test::run_s1({"template", "-m", (dir / "without.gguf").string(), "--messages",
                                  write_messages(dir, messages).string(), "--add-generation-prompt"});
  EXPECT_EQ(fallback.exit_code, 0) << fallback.err;
  EXPECT_EQ(fallback.out, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_NE(fallback.err.find("ChatML"), std::string::npos) << fallback.err;
}

}  // namespace
