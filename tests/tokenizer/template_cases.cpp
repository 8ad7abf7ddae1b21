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

std::vector<TemplateCase> load_cases() {
  std::istringstream in(s1test::read_file(s1test::shared_dir() / "templates" / "cases.jsonl"));
  std::vector<TemplateCase> cases;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n)
    if (!line.empty()) cases.push_back({n, nlohmann::json::parse(line)});
  return cases;
}

TEST(TemplateCases, AllSharedCasesRenderExactly) {
  auto cases = load_cases();
  ASSERT_EQ(cases.size(), 30u);
  for (const auto& c : cases) {
    const auto& spec = c.spec;
    std::string file = spec["template"];
    SCOPED_TRACE("cases.jsonl line " + std::to_string(c.line) + " (" + file + ")");
    s1::ChatTemplate chat_template(s1test::read_file(s1test::shared_dir() / "templates" / file), file);
    nlohmann::json vars = nlohmann::json::object();
    if (spec.contains("enable_thinking")) vars["enable_thinking"] = spec["enable_thinking"];
    auto render = [&] {
      return chat_template.render(spec["messages"], spec["add_generation_prompt"].get<bool>(), vars,
                                  spec["bos_token"].get<std::string>(), spec["eos_token"].get<std::string>());
    };
    if (spec["expected"].is_null()) {
      EXPECT_THROW(render(), s1::Error);
    } else {
      EXPECT_EQ(render(), spec["expected"].get<std::string>());
    }
  }
}

}  // namespace
