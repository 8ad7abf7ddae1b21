// `s1 data export --format s1k`: records in the columns of s1's s1K data set,
// which the s1 repository's data/tokenization.py reads (question,
// thinking_trajectories as a list of strings, attempt).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "data/jsonl.h"
#include "support/test_support.h"

namespace {

using nlohmann::json;

TEST(DataExport, GeneratedTasksGetS1KColumns) {
  const auto dir = s1test::temp_dir("data-export");
  const auto tasks = (dir / "tasks.jsonl").string(), out = (dir / "s1k.jsonl").string();
  ASSERT_EQ(s1test::run_s1({"data", "generate", "--n", "5", "--seed", "3", "-o", tasks}).exit_code, 0);
  auto r = s1test::run_s1({"data", "export", "--format", "s1k", "--data", tasks, out});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  const auto in = s1::data::read_jsonl(tasks), rows = s1::data::read_jsonl(out);
  ASSERT_EQ(rows.size(), in.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    const json& row = rows[i];
    std::vector<std::string> keys;
    for (const auto& [key, value] : row.items()) keys.push_back(key);
    EXPECT_EQ(keys, (std::vector<std::string>{"attempt", "cot", "cot_type", "metadata", "question", "solution",
                                              "source_type", "thinking_trajectories"}));
    EXPECT_EQ(row["question"], in[i]["question"]);
    EXPECT_EQ(row["thinking_trajectories"], json::array({in[i]["thinking"]}));
    EXPECT_EQ(row["attempt"], in[i]["answer_text"]);
    EXPECT_EQ(row["solution"], in[i]["answer"]);
    EXPECT_EQ(row["cot_type"], in[i]["kind"]);
    EXPECT_EQ(row["source_type"], "s1.cpp");
    EXPECT_EQ(json::parse(row["metadata"].get<std::string>())["id"], in[i]["id"]);
  }
}

TEST(DataExport, S1KRowsPassThroughAndBadRowsNameTheLine) {
  const auto dir = s1test::temp_dir("data-export-s1k");
  const auto in = dir / "in.jsonl", out = dir / "out.jsonl";
  const json row = {{"question", "What is 2+2?"},       {"solution", "4"},
                    {"cot_type", "math"},               {"source_type", "AI-MO/NuminaMath-CoT/aops_forum"},
                    {"metadata", "{'x': 1}"},           {"cot", nullptr},
                    {"thinking_trajectories", {"2+2", "is 4"}}, {"attempt", "The answer is \\boxed{4}."}};
  s1test::write_file(in, row.dump() + "\n");
  ASSERT_EQ(s1test::run_s1({"data", "export", "--data", in.string(), out.string()}).exit_code, 0);
  EXPECT_EQ(s1::data::read_jsonl(out.string()).at(0), row);

  s1test::write_file(in, row.dump() + "\n" + json{{"question", "q"}}.dump() + "\n");
  auto r = s1test::run_s1({"data", "export", "--data", in.string(), out.string()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("in.jsonl: line 2 lacks a question, a thinking trace or an answer"), std::string::npos) << r.err;
  r = s1test::run_s1({"data", "export", "--format", "parquet", "--data", in.string(), out.string()});
  EXPECT_NE(r.err.find("--format 'parquet' is not supported (s1k)"), std::string::npos) << r.err;
}

}  // namespace
