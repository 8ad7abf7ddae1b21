#include <gtest/gtest.h>

#include "support/test_support.h"

namespace {

using s1test::run_s1;

TEST(GradeCli, OnePair) {
  auto correct = run_s1({"grade", "--prediction", "so $\\boxed{\\frac12}$", "--reference", "0.5"});
  EXPECT_EQ(correct.exit_code, 0) << correct.err;
  EXPECT_EQ(correct.out, "correct\n");
  EXPECT_EQ(run_s1({"grade", "--prediction", "\\boxed{3}", "--reference", "4"}).out, "wrong\n");
  EXPECT_EQ(run_s1({"grade", "--prediction", "no idea", "--reference", "4"}).out, "unparsed\n");
  EXPECT_EQ(run_s1({"grade", "--choices", "--prediction", "Answer: (B)", "--reference", "B"}).out, "correct\n");
}

TEST(GradeCli, FileGivesOneVerdictPerLine) {
  auto dir = s1test::temp_dir("grade");
  s1test::write_file(dir / "cases.jsonl",
                     "{\"prediction\": \"#### 72\", \"reference\": \"72\"}\n"
                     "\n"
                     "{\"prediction\": \"\\\\boxed{(1,2)}\", \"reference\": \"(2,1)\"}\n"
                     "{\"prediction\": \"nothing\", \"reference\": \"5\"}\n"
                     "{\"prediction\": \"it is 18\", \"reference\": 18}\n");
  auto result = run_s1({"grade", "--file", (dir / "cases.jsonl").string()});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "correct\nwrong\nunparsed\ncorrect\n");
  EXPECT_NE(result.err.find("graded 4: 2 correct"), std::string::npos) << result.err;
}

TEST(GradeCli, MalformedLineNamesItsLineNumber) {
  auto dir = s1test::temp_dir("grade");
  auto path = dir / "bad.jsonl";
  s1test::write_file(path, "{\"prediction\": \"1\", \"reference\": \"1\"}\n{\"prediction\": \"1\"\n");
  auto result = run_s1({"grade", "--file", path.string()});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.out, "correct\n");
  EXPECT_NE(result.err.find(path.string() + ":2: not a JSON object"), std::string::npos) << result.err;

  s1test::write_file(path, "{\"prediction\": \"1\"}\n");
  result = run_s1({"grade", "--file", path.string()});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find(":1: missing field 'reference'"), std::string::npos) << result.err;

  result = run_s1({"grade", "--file", (dir / "missing.jsonl").string()});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("cannot open file"), std::string::npos) << result.err;
}

TEST(GradeCli, NeedsAPairOrAFile) {
  EXPECT_NE(run_s1({"grade"}).exit_code, 0);
  EXPECT_NE(run_s1({"grade", "--prediction", "1"}).exit_code, 0);
}

}  // namespace
