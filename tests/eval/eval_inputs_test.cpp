// Sweep lists, dataset loading, the records log and progress lines.
#include <gtest/gtest.h>

#include <cstdio>

#include "eval/dataset.h"
#include "eval/progress.h"
#include "eval/records.h"
#include "eval/runner.h"
#include "eval/sweep.h"
#include "support/test_support.h"
#include "util/error.h"

namespace {

using nlohmann::json;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const s1::Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Sweep, EveryCombinationOnce) {
  s1::SweepLists lists;
  lists.think_max = "0, 256";
  lists.n = "1,4";
  lists.vote = "majority,best";
  auto settings = s1::expand_sweep(lists);
  // n = 1 has nothing to vote on, so its two vote methods are one setting.
  ASSERT_EQ(settings.size(), 6u);
  EXPECT_EQ(settings[0].think_max, 0);
  EXPECT_EQ(settings[1].think_max, 256);
  EXPECT_FALSE(settings[0].vote);
  EXPECT_EQ(settings[2].n, 4);
  EXPECT_EQ(settings[2].vote, s1::VoteMethod::majority);
  EXPECT_EQ(settings[5].vote, s1::VoteMethod::best);
  EXPECT_EQ(settings[0].to_json(), (json{{"think_max", 0},
                                         {"think_min", nullptr},
                                         {"wait", nullptr},
                                         {"n", 1},
                                         {"vote", nullptr},
                                         {"method", "budget"}}));
  EXPECT_EQ(s1::EvalSetting::from_json(settings[5].to_json()).key(), settings[5].key());
  EXPECT_NE(settings[0].key(), settings[1].key());
}

TEST(Sweep, UnsetAndDefaults) {
  auto settings = s1::expand_sweep({});
  ASSERT_EQ(settings.size(), 1u);
  EXPECT_FALSE(settings[0].think_max);
  EXPECT_EQ(settings[0].n, 1);
  EXPECT_EQ(s1::parse_count_list("--wait", "none,2", 0), (std::vector<std::optional<int>>{std::nullopt, 2}));
}

TEST(Sweep, BadListsAreClearErrors) {
  EXPECT_EQ(
      error_of([] { s1::parse_count_list("--think-max", "256,abc", 0); }),
      "--think-max '256,abc': 'abc' is not a whole number (give a comma-separated list such as 0,256,1024)");
  EXPECT_NE(
      error_of([] { s1::parse_count_list("--think-max", "256,,512", 0); }).find("'' is not a whole number"),
      std::string::npos);
  EXPECT_NE(error_of([] { s1::parse_count_list("--think-max", "1.5", 0); }).find("'1.5'"), std::string::npos);
  EXPECT_NE(error_of([] { s1::parse_count_list("--n", "0", 1); }).find("0 is below 1"), std::string::npos);
  s1::SweepLists lists;
  lists.think_max = "100";
  lists.think_min = "200";
  EXPECT_NE(error_of([&] { s1::expand_sweep(lists); }).find("--think-min 200 is above --think-max 100"),
            std::string::npos);
  lists = {};
  lists.method = "token-conditional";
  EXPECT_NE(error_of([&] { s1::expand_sweep(lists); }).find("needs --think-max"), std::string::npos);
  lists.method = "budget,telepathy";
  EXPECT_NE(error_of([&] { s1::expand_sweep(lists); }).find("unknown method 'telepathy'"), std::string::npos);
}

class DatasetFiles : public ::testing::Test {
 protected:
  std::filesystem::path dir = s1test::temp_dir("dataset");
  std::string write(const std::string& name, const std::string& text) {
    s1test::write_file(dir / name, text);
    return (dir / name).string();
  }
};

TEST_F(DatasetFiles, FieldsIdsAndGsm8kAnswers) {
  auto path = write("mix.jsonl",
                    "{\"question\": \"Q1\", \"answer\": \"She has 3 + 4 = 7.\\n#### 1,234\"}\n"
                    "\n"
                    "{\"problem\": \"Q2\", \"answer\": 17, \"unique_id\": \"test/x.json\"}\n"
                    "{\"problem\": \"Q3\", \"answer\": \"\\\\frac12\"}\n");
  auto d = s1::load_dataset(path, {});
  EXPECT_EQ(d.name, "mix");
  ASSERT_EQ(d.problems.size(), 3u);
  EXPECT_EQ(d.problems[0].question, "Q1");
  EXPECT_EQ(d.problems[0].reference, "1,234");
  EXPECT_EQ(d.problems[0].id, "1");
  EXPECT_EQ(d.problems[1].reference, "17");
  EXPECT_EQ(d.problems[1].id, "test/x.json");
  EXPECT_EQ(d.problems[2].id, "4");  // the line number
  EXPECT_EQ(d.problems[2].style, s1::AnswerStyle::math);

  s1::DatasetOptions limited;
  limited.limit = 2;
  EXPECT_EQ(s1::load_dataset(path, limited).problems.size(), 2u);
  s1::DatasetOptions named;
  named.question_field = "q";
  named.answer_field = "a";
  auto custom =
      s1::load_dataset(write("custom.jsonl", "{\"q\": \"x\", \"a\": \"y\", \"problem\": \"no\"}\n"), named);
  EXPECT_EQ(custom.problems[0].question, "x");
}

TEST_F(DatasetFiles, MultipleChoice) {
  auto path = write(
      "mc.jsonl",
      "{\"question\": \"Which?\", \"choices\": [\"red\", \"green\", \"blue\"], \"answer\": \"B\"}\n"
      "{\"question\": \"Size?\", \"choices\": {\"A\": \"big\", \"B\": \"small\"}, \"answer\": \"big\"}\n");
  auto d = s1::load_dataset(path, {});
  ASSERT_EQ(d.problems.size(), 2u);
  EXPECT_EQ(d.problems[0].style, s1::AnswerStyle::multiple_choice);
  EXPECT_EQ(d.problems[0].reference, "B");
  EXPECT_NE(d.problems[0].question.find("(A) red\n(B) green\n(C) blue\n"), std::string::npos)
      << d.problems[0].question;
  EXPECT_EQ(d.problems[1].reference, "A");
  EXPECT_EQ(s1::grade("The answer is \\boxed{B}.", d.problems[0].reference, d.problems[0].style),
            s1::Verdict::correct);
}

// A history field asks the question as the next turn of a conversation;
// what `s1 data generate --history N` writes.
TEST_F(DatasetFiles, HistoryTurnsComeBeforeTheQuestion) {
  auto path = write("history.jsonl",
                    R"({"question": "And 3+3?", "answer": 6, "history": [{"role": "user", "content": "2+2?"},)"
                    R"( {"role": "assistant", "content": "4"}]})"
                    "\n{\"question\": \"Alone?\", \"answer\": 1}\n");
  auto d = s1::load_dataset(path, {});
  ASSERT_EQ(d.problems.size(), 2u);
  const s1::EvalSetting setting;
  s1::EvalTask task;
  task.problem = &d.problems[0];
  task.setting = &setting;
  EXPECT_EQ(s1::task_messages(task), nlohmann::json::parse(R"([{"role": "user", "content": "2+2?"},
      {"role": "assistant", "content": "4"}, {"role": "user", "content": "And 3+3?"}])"));
  EXPECT_TRUE(d.problems[1].history.empty());

  for (const char* bad : {R"({"question": "q", "answer": 1, "history": "hi"})",
                          R"({"question": "q", "answer": 1, "history": [{"role": "user", "content": "a"}]})",
                          R"({"question": "q", "answer": 1, "history": [{"role": "assistant", "content": "a"},)"
                          R"( {"role": "user", "content": "b"}]})",
                          R"({"question": "q", "answer": 1, "history": [{"role": "user", "content": 5},)"
                          R"( {"role": "assistant", "content": "b"}]})"})
    EXPECT_NE(error_of([&] { s1::load_dataset(write("bad-history.jsonl", std::string(bad) + "\n"), {}); })
                  .find("bad-history.jsonl:1: history"),
              std::string::npos)
        << bad;
}

TEST_F(DatasetFiles, BadLinesNameTheirLineNumber) {
  auto missing = write("missing.jsonl", "{\"problem\": \"a\", \"answer\": \"1\"}\n{\"problem\": \"b\"}\n");
  EXPECT_EQ(error_of([&] { s1::load_dataset(missing, {}); }),
            missing +
                ":2: no answer field (looked for answer, reference, target, solution; name it with "
                "--answer-field)");
  auto broken = write("broken.jsonl", "{\"problem\": \"a\", \"answer\": \"1\"}\n\n{\"problem\": \n");
  EXPECT_EQ(error_of([&] { s1::load_dataset(broken, {}); }), broken + ":3: not a JSON object");
  s1::DatasetOptions named;
  named.question_field = "text";
  EXPECT_NE(error_of([&] { s1::load_dataset(missing, named); }).find(":1: no 'text' field"),
            std::string::npos);
  auto bad_choice =
      write("badchoice.jsonl", "{\"question\": \"q\", \"choices\": [\"x\", \"y\"], \"answer\": \"Q\"}\n");
  EXPECT_NE(error_of([&] { s1::load_dataset(bad_choice, {}); }).find(":1: answer 'Q' is neither"),
            std::string::npos);
  auto dup = write(
      "dup.jsonl",
      "{\"id\": 1, \"problem\": \"a\", \"answer\": 1}\n{\"id\": 1, \"problem\": \"b\", \"answer\": 2}\n");
  EXPECT_NE(error_of([&] { s1::load_dataset(dup, {}); }).find(":2: id '1' was already used"),
            std::string::npos);
  EXPECT_NE(error_of([&] { s1::load_dataset(write("empty.jsonl", "\n"), {}); }).find("holds no problems"),
            std::string::npos);
  EXPECT_NE(error_of([&] { s1::load_dataset("aime99", {}); }).find("not a named dataset (aime24, aime25"),
            std::string::npos);
  s1::DatasetOptions elsewhere;
  elsewhere.data_dir = dir.string();
  EXPECT_NE(error_of([&] { s1::load_dataset("math500", elsewhere); }).find("math500.jsonl"),
            std::string::npos);
}

TEST(NamedDatasets, ReadFromTheSharedFolder) {
  auto datasets = s1test::shared_dir() / "datasets";
  if (!std::filesystem::exists(datasets)) GTEST_SKIP() << datasets << " not present";
  s1::DatasetOptions options;
  options.data_dir = datasets.string();
  auto gsm8k = s1::load_dataset("gsm8k", options);
  EXPECT_EQ(gsm8k.problems.size(), 1319u);
  EXPECT_EQ(gsm8k.problems[0].reference, "18");  // "... #### 18"
  auto aime = s1::load_dataset("aime24", options);
  EXPECT_EQ(aime.problems.size(), 30u);
  auto math = s1::load_dataset("math500", options);
  EXPECT_EQ(math.problems.size(), 500u);
}

TEST(RecordLog, ResumesAfterATornLastLine) {
  auto path = (s1test::temp_dir("records") / "records.jsonl").string();
  auto rec = [](const std::string& id) {
    return json{
        {"dataset", "d"}, {"problem_id", id}, {"setting_key", "k"}, {"sample", 0}, {"verdict", "wrong"}};
  };
  {
    s1::RecordLog log(path);
    EXPECT_TRUE(log.existing().empty());
    log.append(rec("1"));
    log.append(rec("2"));
  }
  // A kill in the middle of a write leaves half a line.
  s1test::write_file(path, s1test::read_file(path) + "{\"dataset\": \"d\", \"probl");
  EXPECT_EQ(s1::read_records(path).size(), 2u);
  {
    s1::RecordLog log(path);
    ASSERT_EQ(log.existing().size(), 2u);
    EXPECT_TRUE(log.done(s1::record_key("d", "2", "k", 0)));
    EXPECT_FALSE(log.done(s1::record_key("d", "3", "k", 0)));
    log.append(rec("3"));
    EXPECT_TRUE(log.done(s1::record_key("d", "3", "k", 0)));
  }
  auto records = s1::read_records(path);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[2]["problem_id"], "3");
  EXPECT_TRUE(s1test::read_file(path).ends_with("}\n"));
}

TEST(RecordLog, BrokenLineInTheMiddleIsAnError) {
  auto path = (s1test::temp_dir("records") / "records.jsonl").string();
  s1test::write_file(path, "{\"a\": 1}\n{oops\n{\"a\": 2}\n");
  EXPECT_EQ(error_of([&] { s1::read_records(path); }), path + ":2: not a JSON object");
}

TEST(Progress, PlainLinesWithAccuracyAndEta) {
  EXPECT_EQ(s1::format_duration(45), "45s");
  EXPECT_EQ(s1::format_duration(192), "3m12s");
  EXPECT_EQ(s1::format_duration(7500), "2h05m");
  std::FILE* out = std::tmpfile();
  ASSERT_NE(out, nullptr);
  s1::Progress progress(10, 2, 1, false, 1e9, out);
  EXPECT_EQ(progress.status(), "2/10 (20%), accuracy 50.0%");
  progress.add(true);
  progress.add(false);
  EXPECT_TRUE(progress.status().starts_with("4/10 (40%), accuracy 50.0%, ETA ")) << progress.status();
  progress.finish();
  std::rewind(out);
  char buf[256] = {};
  size_t n = std::fread(buf, 1, sizeof buf - 1, out);
  std::fclose(out);
  // Not a terminal: no line until the interval passes, then one at the end.
  EXPECT_TRUE(std::string(buf, n).starts_with("eval: 4/10 (40%), accuracy 50.0%")) << buf;
  EXPECT_EQ(std::count(buf, buf + n, '\n'), 1);
}

}  // namespace
