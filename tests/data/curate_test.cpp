// Curation: every dropped record counted under its reason, the reference
// model's solved questions removed, sampling deterministic, spread across
// domains and weighted toward longer traces; s1K-style rows read too.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "data/curate.h"
#include "data/jsonl.h"
#include "data/tasks.h"
#include "support/test_support.h"

namespace {

using nlohmann::json;
using s1::data::CurationRecord;

json row(const std::string& question, const std::string& thinking, const std::string& answer_text,
         const std::string& answer, const std::string& kind) {
  return {{"question", question}, {"thinking", thinking}, {"answer_text", answer_text}, {"answer", answer},
          {"kind", kind}};
}

std::vector<CurationRecord> read_all(const std::vector<json>& rows) {
  std::vector<CurationRecord> records;
  for (size_t i = 0; i < rows.size(); ++i) records.push_back(s1::data::read_curation_record(rows[i], i));
  return records;
}

// 40 good rows in each of two domains, then one bad row per quality reason.
std::vector<json> mixed_rows() {
  std::vector<json> rows;
  for (int i = 0; i < 80; ++i) {
    const std::string kind = i < 40 ? "alpha" : "beta";
    rows.push_back(row(fmt::format("Question {}?", i), std::string(size_t(10 + i), 't'),
                       fmt::format("The answer is \\boxed{{{}}}.", i), std::to_string(i), kind));
  }
  rows.push_back(row("Malformed?", "", "The answer is \\boxed{1}.", "1", "alpha"));
  rows.push_back(row("Markers?", "a <think> b", "The answer is \\boxed{1}.", "1", "alpha"));
  rows.push_back(row("No answer?", "thinking", "I do not know.", "1", "alpha"));
  rows.push_back(row("Wrong?", "thinking", "The answer is \\boxed{2}.", "1", "beta"));
  rows.push_back(row("  question   0? ", "thinking", "The answer is \\boxed{0}.", "0", "beta"));  // duplicate
  return rows;
}

TEST(DataCurate, CountsEveryDropByReason) {
  auto records = read_all(mixed_rows());
  s1::data::CurateOptions options;
  options.n = 30;
  options.min_thinking_chars = 15;  // rows 0..4 are shorter
  options.reference_solver = [](const std::vector<std::string>& questions) {
    std::vector<std::string> answers;
    for (const auto& q : questions) {  // solves questions 70..79
      int n = std::stoi(q.substr(9));
      answers.push_back(n >= 70 ? fmt::format("The answer is \\boxed{{{}}}.", n) : "The answer is \\boxed{-1}.");
    }
    return answers;
  };
  s1::data::CurateResult result = s1::data::curate(records, options);
  EXPECT_EQ(result.kept.size(), 30u);
  EXPECT_EQ(result.dropped["malformed"], 2);
  EXPECT_EQ(result.dropped["no_answer"], 1);
  EXPECT_EQ(result.dropped["wrong_answer"], 1);
  EXPECT_EQ(result.dropped["duplicate"], 1);
  EXPECT_EQ(result.dropped["short_thinking"], 5);
  EXPECT_EQ(result.dropped["solved_by_reference"], 10);
  EXPECT_EQ(result.dropped["not_sampled"], 80 - 5 - 10 - 30);
  for (size_t i : result.kept) {
    EXPECT_GE(i, 5u);
    EXPECT_LT(i, 70u);
  }
  EXPECT_EQ(result.kept_by_domain["alpha"] + result.kept_by_domain["beta"], 30);
  EXPECT_TRUE(std::is_sorted(result.kept.begin(), result.kept.end()));
  std::string report = s1::data::format_curate_report(result, records.size());
  EXPECT_NE(report.find("kept 30"), std::string::npos) << report;
  EXPECT_NE(report.find("solved_by_reference"), std::string::npos) << report;
}

TEST(DataCurate, DeterministicForASeedAndDifferentAcrossSeeds) {
  auto records = read_all(mixed_rows());
  s1::data::CurateOptions options;
  options.n = 20;
  auto first = s1::data::curate(records, options).kept;
  EXPECT_EQ(first, s1::data::curate(records, options).kept);
  options.seed = 2;
  EXPECT_NE(first, s1::data::curate(records, options).kept);
}

TEST(DataCurate, SamplesDomainsEvenlyAndFavoursLongTraces) {
  std::vector<json> rows;
  // A big domain and a small one; half of each has traces 20x longer.
  for (int i = 0; i < 400; ++i)
    rows.push_back(row(fmt::format("big {}", i), std::string(i % 2 ? 400 : 20, 'x'), "The answer is \\boxed{1}.", "1", "big"));
  for (int i = 0; i < 60; ++i)
    rows.push_back(row(fmt::format("small {}", i), std::string(i % 2 ? 400 : 20, 'x'), "The answer is \\boxed{1}.", "1", "small"));
  auto records = read_all(rows);
  s1::data::CurateOptions options;
  options.n = 80;
  auto result = s1::data::curate(records, options);
  EXPECT_GE(result.kept_by_domain["small"], 30);  // uniform over domains, not over rows
  EXPECT_LE(result.kept_by_domain["small"], 50);
  int long_traces = 0;
  for (size_t i : result.kept) long_traces += records[i].thinking.size() == 400;
  EXPECT_GE(long_traces, 60);
  options.length_power = 0;  // uniform within a domain
  long_traces = 0;
  for (size_t i : s1::data::curate(records, options).kept) long_traces += records[i].thinking.size() == 400;
  EXPECT_LT(long_traces, 60);
}

TEST(DataCurate, ReadsS1kStyleRowsAndMessages) {
  json s1k = {{"question", "Find x."},
              {"solution", "Since ..., we get \\boxed{5}."},
              {"thinking_trajectories", {"First step.", "Second step."}},
              {"attempt", "So x is \\boxed{5}."},
              {"cot_type", "math"}};
  CurationRecord r = s1::data::read_curation_record(s1k, 3);
  EXPECT_EQ(r.line, 3u);
  EXPECT_EQ(r.question, "Find x.");
  EXPECT_EQ(r.thinking, "First step.\nSecond step.");
  EXPECT_EQ(r.answer_text, "So x is \\boxed{5}.");
  EXPECT_EQ(r.reference, "5");
  EXPECT_EQ(r.domain, "math");
  json chat = {{"messages",
                {{{"role", "user"}, {"content", "Q?"}},
                 {{"role", "assistant"}, {"reasoning_content", "hmm"}, {"content", "The answer is 3."}}}}};
  r = s1::data::read_curation_record(chat, 0);
  EXPECT_EQ(r.question, "Q?");
  EXPECT_EQ(r.thinking, "hmm");
  EXPECT_EQ(r.answer_text, "The answer is 3.");
  EXPECT_FALSE(r.reference.has_value());
  EXPECT_EQ(r.domain, "unknown");
  // Odd shapes read as missing fields, never as an exception.
  r = s1::data::read_curation_record(
      {{"messages", {{{"role", 5}}, "text", {{"role", "user"}, {"content", {1, 2}}}}}, {"answer", 12}, {"kind", {}}}, 0);
  EXPECT_EQ(r.question, "");
  EXPECT_EQ(r.reference, "12");
  EXPECT_EQ(r.domain, "unknown");
  r = s1::data::read_curation_record(chat, 0);
  // Without a reference, quality keeps it (nothing to compare against).
  auto result = s1::data::curate({r}, {});
  EXPECT_EQ(result.kept.size(), 1u);
}

TEST(DataCurate, CliKeepsNAndReportsWithAReferenceModel) {
  auto dir = s1test::temp_dir("data-curate");
  const std::string tasks = (dir / "tasks.jsonl").string(), kept = (dir / "kept.jsonl").string();
  auto run = s1test::run_s1({"data", "generate", "--n", "40", "--seed", "3", "--difficulty", "1", "-o", tasks});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  run = s1test::run_s1({"data", "curate", "--data", tasks, "--n", "25", "-o", kept});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("read 40 records, kept 25"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("not_sampled"), std::string::npos) << run.out;
  auto rows = s1::data::read_jsonl(kept);
  ASSERT_EQ(rows.size(), 25u);
  EXPECT_TRUE(rows[0].contains("messages"));  // kept rows are written unchanged

  // A random-weight model solves nothing, but the whole difficulty path runs.
  const std::string vocab = (dir / "vocab.gguf").string(), model = (dir / "model.gguf").string();
  ASSERT_EQ(s1test::run_s1({"data", "vocab", "--data", tasks, "--merges", "32", "-o", vocab}).exit_code, 0);
  ASSERT_EQ(s1test::run_s1({"mkmodel", "--arch", "qwen2", "--layers", "1", "--embd", "32", "--heads", "2",
                            "--kv-heads", "1", "--ff", "64", "--vocab-from", vocab, "-o", model})
                .exit_code,
            0);
  run = s1test::run_s1({"data", "curate", "--data", tasks, "--n", "10", "--reference-model", model,
                        "--reference-max-tokens", "8", "--reference-batch", "8", "-t", "1", "-o", kept});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("kept 10"), std::string::npos) << run.out;
  EXPECT_EQ(s1::data::read_jsonl(kept).size(), 10u);

  run = s1test::run_s1({"data", "curate", "--data", (dir / "missing.jsonl").string(), "-o", kept});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("missing.jsonl: cannot open"), std::string::npos) << run.err;
  s1test::write_file(dir / "bad.jsonl", "{\"question\": 1}\nnot json\n");
  run = s1test::run_s1({"data", "curate", "--data", (dir / "bad.jsonl").string(), "-o", kept});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("bad.jsonl:2: not valid JSON"), std::string::npos) << run.err;
}

}  // namespace
