#include "cli/grammar_flags.h"

#include <filesystem>

#include "sampling/grammar.h"
#include "sampling/json_schema.h"
#include "util/error.h"
#include "util/file.h"

namespace s1::cli {

namespace {

// A flag's value: the text itself when it looks like one, else a file's contents.
std::string text_or_file(const std::string& value, bool is_text) {
  if (is_text) return value;
  if (!std::filesystem::is_regular_file(value)) fail("{}: no such file", value);
  return read_file(value);
}

// CLI11 reports a flag's problem as a usage error only when it is its own exception type.
template <typename Fn>
void checked(const char* flag, Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    throw CLI::ValidationError(flag, e.what());
  }
}

}  // namespace

void add_grammar_flags(CLI::App& app, std::string& gbnf) {
  const char* group = "Constrained answer";
  auto* grammar = app.add_option_function<std::string>(
                         "--grammar",
                         [&gbnf](const std::string& value) {
                           checked("--grammar", [&] {
                             gbnf = text_or_file(value, value.find("::=") != std::string::npos);
                             Grammar::parse(gbnf);  // refuse a bad grammar before loading the model
                           });
                         },
                         "The answer follows this GBNF grammar (llama.cpp's format): a file, or the grammar itself")
                      ->group(group);
  app.add_option_function<std::string>(
         "--json-schema",
         [&gbnf](const std::string& value) {
           checked("--json-schema", [&] {
             gbnf = json_schema_to_gbnf(text_or_file(value, !value.empty() && value.front() == '{'));
             Grammar::parse(gbnf);
           });
         },
         "The answer is JSON valid against this JSON Schema: a file, or the schema itself")
      ->group(group)
      ->excludes(grammar);
}

}  // namespace s1::cli
