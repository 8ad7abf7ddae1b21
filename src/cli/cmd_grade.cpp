// `s1 grade`: grades model answers against references, one verdict per line
// (correct / wrong / unparsed), for one pair on the command line or a JSONL file.
#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>
#include <memory>

#include "cli/command.h"
#include "grading/answer.h"
#include "util/error.h"

namespace {

struct GradeOptions {
  std::string prediction;
  std::string reference;
  std::string file;
  bool choices = false;
};

std::string required_string(const nlohmann::json& row, const char* field, const std::string& where) {
  auto it = row.find(field);
  if (it == row.end()) s1::fail("{}: missing field '{}'", where, field);
  if (it->is_number()) return it->dump();  // GSM8K-style numeric references
  if (!it->is_string()) s1::fail("{}: field '{}' must be a string", where, field);
  return it->get<std::string>();
}

int grade_file(const GradeOptions& opts, s1::AnswerStyle style) {
  std::ifstream in(opts.file);
  if (!in) s1::fail("{}: cannot open file", opts.file);
  std::string line;
  size_t line_number = 0, graded = 0, correct = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::string where = fmt::format("{}:{}", opts.file, line_number);
    nlohmann::json row;
    try {
      row = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error&) {
      s1::fail("{}: not a JSON object", where);
    }
    if (!row.is_object()) s1::fail("{}: not a JSON object", where);
    s1::Verdict verdict = s1::grade(required_string(row, "prediction", where), required_string(row, "reference", where),
                                    style);
    std::cout << s1::to_string(verdict) << '\n';
    ++graded;
    correct += verdict == s1::Verdict::correct;
  }
  std::cout.flush();
  std::cerr << fmt::format("graded {}: {} correct\n", graded, correct);
  return 0;
}

}  // namespace

S1_COMMAND(grade, "Grade model answers against reference answers (correct / wrong / unparsed)") {
  auto opts = std::make_shared<GradeOptions>();
  auto* prediction = app.add_option("--prediction", opts->prediction, "Model output (the answer is extracted from it)");
  auto* reference = app.add_option("--reference", opts->reference, "Reference answer");
  auto* file = app.add_option("--file", opts->file, "JSONL with 'prediction' and 'reference' per line");
  app.add_flag("--choices", opts->choices, "Multiple choice: grade the letter (A-E) the output picks");
  prediction->needs(reference);
  reference->needs(prediction);
  file->excludes(prediction)->excludes(reference);
  return [opts] {
    auto style = opts->choices ? s1::AnswerStyle::multiple_choice : s1::AnswerStyle::math;
    if (!opts->file.empty()) return grade_file(*opts, style);
    if (opts->reference.empty()) s1::fail("grade: give --prediction and --reference, or --file");
    std::cout << s1::to_string(s1::grade(opts->prediction, opts->reference, style)) << '\n';
    return 0;
  };
}
