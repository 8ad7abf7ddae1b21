#pragma once
// --grammar and --json-schema, shared by `s1 run` and `s1 eval`: the answer
// (not the thinking before it) must follow a GBNF grammar or a JSON Schema.
// Each takes a file, or the text itself (a grammar with "::=", a schema
// starting with "{"), as llama.cpp's flags of the same names do; the schema is
// turned into GBNF and checked when the flag is parsed.
#include <CLI/CLI.hpp>

#include <string>

namespace s1::cli {

// Sets `gbnf` to the grammar's text ("" when neither flag is given).
void add_grammar_flags(CLI::App& app, std::string& gbnf);

}  // namespace s1::cli
