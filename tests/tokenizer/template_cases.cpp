// The real chat templates in ../shared/templates render exactly what Python's
// Jinja2 renders (trim_blocks + lstrip_blocks, as transformers configures it).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "support/test_support.h"
#include "tokenizer/chat_template.h"
#include "util/error.h"

namespace {

struct TemplateCase {
  int line = 0;
  nlohmann::json spec;
};

std::vector<TemplateCase> load_cases(const std::filesystem::path& path) {
  std::istringstream in(s1test::read_file(path));
  std::vector<TemplateCase> cases;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n)
    if (!line.empty()) cases.push_back({n, nlohmann::json::parse(line)});
  return cases;
}

// One case: the template from ../shared/templates rendered with the case's
// messages and variables, compared with Jinja2's rendering (null: Jinja2
// raised, so must we).
void check_case(const TemplateCase& c, const std::string& source_name) {
  const auto& spec = c.spec;
  std::string file = spec["template"];
  SCOPED_TRACE(source_name + " line " + std::to_string(c.line) + " (" + file + ")");
  s1::ChatTemplate chat_template(s1test::read_file(s1test::shared_dir() / "templates" / file), file);
  nlohmann::json vars = spec.value("variables", nlohmann::json::object());
  if (spec.contains("enable_thinking")) vars["enable_thinking"] = spec["enable_thinking"];
  s1::jinja::RenderOptions options;
  options.now = 1768478400;  // 2026-01-15 12:00 UTC, as scripts/template-cases fixes strftime_now()
  auto render = [&] {
    return chat_template.render(spec["messages"], spec["add_generation_prompt"].get<bool>(), vars,
                                spec["bos_token"].get<std::string>(), spec["eos_token"].get<std::string>(), options);
  };
  if (spec["expected"].is_null()) {
    EXPECT_THROW(render(), s1::Error);
  } else {
    EXPECT_EQ(render(), spec["expected"].get<std::string>());
  }
}

TEST(TemplateCases, AllSharedCasesRenderExactly) {
  auto cases = load_cases(s1test::shared_dir() / "templates" / "cases.jsonl");
  ASSERT_EQ(cases.size(), 30u);
  for (const auto& c : cases) check_case(c, "cases.jsonl");
}

// Templates ../shared has no cases for (Qwen3.5: thinking on and off, earlier
// turns' reasoning dropped, tools and tool calls, content parts, errors;
// gpt-oss's harmony format with reasoning effort, past analysis and tools;
// DeepSeek-V3.1 with thinking on and off; DeepSeek-V3.2 with a tool call whose
// arguments its from_json filter parses), rendered by scripts/template-cases
// with Python's Jinja2.
TEST(TemplateCases, Jinja2RenderingsOfNewerTemplates) {
  auto cases = load_cases(s1test::source_dir() / "tests" / "tokenizer" / "data" / "template_cases.jsonl");
  ASSERT_EQ(cases.size(), 20u);
  for (const auto& c : cases) check_case(c, "template_cases.jsonl");
}

}  // namespace
