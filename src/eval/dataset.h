#pragma once
// Benchmark problems from JSONL: the named sets (aime24, aime25, amc23,
// math500, gsm8k) in a data directory, or any file with a question and an
// answer field per line. A line with a choices field is a multiple-choice
// problem (GPQA style): the choices are listed under the question as (A)..(E)
// and the answer is a letter (or the text of one of the choices). A line with
// a history field ([{role, content}, ...]: user and assistant turns) asks its
// question as the next turn of that conversation.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "grading/answer.h"

namespace s1 {

struct Problem {
  std::string id;         // the line's "id"/"unique_id"/"problem_id" field, else its line number
  std::string question;   // the user message (with the choices, for multiple choice)
  std::string reference;  // the bare answer ("72" for a GSM8K "... #### 72" solution; "C" for a choice)
  AnswerStyle style = AnswerStyle::math;
  nlohmann::json history = nlohmann::json::array();  // earlier turns, before the question
};

struct DatasetOptions {
  std::string data_dir;        // where named sets live; empty: ../shared/datasets
  std::string question_field;  // empty: the first of problem, question, prompt, input
  std::string answer_field;    // empty: the first of answer, reference, target, solution
  std::string choices_field = "choices";
  int limit = 0;  // the first `limit` problems only; 0: all
};

struct Dataset {
  std::string name;  // the named set, or the file's stem
  std::string path;
  std::vector<Problem> problems;
};

// s1::Error naming the file and line for a line that is not JSON or lacks the fields.
Dataset load_dataset(const std::string& name_or_path, const DatasetOptions& options);

// The named sets and the file each reads.
const std::vector<std::pair<std::string, std::string>>& named_datasets();

}  // namespace s1
