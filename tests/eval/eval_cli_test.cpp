// `s1 eval` end to end: a tiny random-weight model (s1 mkmodel with the real
// Qwen2 vocabulary) on a small dataset, resuming after kill -9, the report
// subcommand, an OpenAI-compatible endpoint on loopback, and bad input.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "eval/records.h"
#include "loopback_server.h"
#include "support/test_support.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using s1test::run_s1;

// One tiny model for the whole binary: 1 layer, width 64, the Qwen2 vocabulary.
const std::string& tiny_model() {
  static const std::string path = [] {
    auto vocab = s1test::shared_dir() / "tokenizer/ggml-vocab-qwen2.gguf";
    if (!fs::exists(vocab)) return std::string();
    auto out = (s1test::temp_dir("eval-model") / "tiny.gguf").string();
    auto r = run_s1({"mkmodel", "--arch",       "qwen2",        "--layers", "1",
                     "--embd",  "64",           "--heads",      "4",        "--kv-heads",
                     "2",       "--ff",         "96",           "--type",   "f16",
                     "--tied",  "--vocab-from", vocab.string(), "-o",       out});
    return r.exit_code == 0 ? out : std::string();
  }();
  return path;
}

// The Qwen2 vocabulary has no thinking tokens: the delimiters are spelled out.
std::vector<std::string> local_args(const std::string& dataset, const fs::path& out) {
  return {"eval",      "-m", tiny_model(),   "--dataset", dataset,         "--out",   out.string(),
          "--threads", "2",  "--think-open", "<think>",   "--think-close", "</think>"};
}

std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more) {
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

std::string small_dataset(const fs::path& dir, int problems) {
  std::string text;
  for (int i = 1; i <= problems; ++i)
    text += json{{"problem", "What is " + std::to_string(i) + " + 1?"}, {"answer", std::to_string(i + 1)}}
                .dump() +
            "\n";
  auto path = (dir / "small.jsonl").string();
  s1test::write_file(path, text);
  return path;
}

// Every record's key, failing the test on a duplicate.
std::set<std::string> unique_keys(const std::vector<json>& records) {
  std::set<std::string> keys;
  for (const auto& r : records) EXPECT_TRUE(keys.insert(s1::record_key(r)).second) << r.dump().substr(0, 200);
  return keys;
}

#define REQUIRE_MODEL() \
  if (tiny_model().empty()) GTEST_SKIP() << "needs ../shared/tokenizer/ggml-vocab-qwen2.gguf"

TEST(EvalCli, SweepWritesRecordsSummaryCsvAndPlot) {
  REQUIRE_MODEL();
  auto dir = s1test::temp_dir("eval");
  auto args = with(local_args(small_dataset(dir, 3), dir / "out"),
                   {"--think-max", "0,4,16", "--answer-max", "8", "--parallel", "4"});
  auto r = run_s1(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto records = s1::read_records((dir / "out/records.jsonl").string());
  ASSERT_EQ(records.size(), 9u);
  EXPECT_EQ(unique_keys(records).size(), 9u);
  for (const auto& rec : records) {
    EXPECT_LE(rec["thinking_tokens"].get<int>(), rec["setting"]["think_max"].get<int>());
    EXPECT_LE(rec["samples"][0]["answer_tokens"].get<int>(), 8);
    EXPECT_TRUE(rec["verdict"] == "correct" || rec["verdict"] == "wrong" || rec["verdict"] == "unparsed");
    EXPECT_EQ(rec["engine"], "local:tiny.gguf");
  }
  json summary = json::parse(s1test::read_file(dir / "out/summary.json"));
  ASSERT_EQ(summary["settings"].size(), 3u);
  for (const auto& s : summary["settings"]) {
    EXPECT_EQ(s["count"], 3);
    EXPECT_EQ(s["control"], 1.0);  // budget forcing never overshoots
    EXPECT_LE(s["mean_thinking_tokens"].get<double>(), s["think_max"].get<double>());
    EXPECT_GT(s["tokens_per_second"].get<double>(), 0);
  }
  EXPECT_EQ(summary["settings"][0]["mean_thinking_tokens"], 0.0);
  EXPECT_EQ(summary["settings"][0]["forced_end_rate"], 1.0);
  EXPECT_EQ(summary["metrics"]["control"], 1.0);
  EXPECT_TRUE(summary["metrics"]["scaling"].is_number());
  auto csv = s1test::read_file(dir / "out/results.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 4);
  EXPECT_NE(s1test::read_file(dir / "out/scaling.svg").find("<polyline"), std::string::npos);
  EXPECT_NE(r.out.find("budget max=16"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("eval: 9/9 (100%)"), std::string::npos) << r.err;

  // The same command again has nothing left to do.
  auto again = run_s1(args);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.err.find("9 done, 0 to run"), std::string::npos) << again.err;
  EXPECT_EQ(s1::read_records((dir / "out/records.jsonl").string()).size(), 9u);

  // The report redraws the files from the records alone.
  for (const char* f : {"summary.json", "results.csv", "scaling.svg"}) fs::remove(dir / "out" / f);
  auto report = run_s1({"eval", "report", (dir / "out").string(), "--usd-per-hour", "7.2"});
  ASSERT_EQ(report.exit_code, 0) << report.err;
  json redrawn = json::parse(s1test::read_file(dir / "out/summary.json"));
  EXPECT_EQ(redrawn["settings"].size(), 3u);
  EXPECT_EQ(redrawn["cost_model"]["usd_per_hour"], 7.2);
  EXPECT_EQ(redrawn["metrics"]["scaling"], summary["metrics"]["scaling"]);
  EXPECT_TRUE(fs::exists(dir / "out/scaling.svg"));
}

TEST(EvalCli, VotingWaitsAndConditionalMethods) {
  REQUIRE_MODEL();
  auto dir = s1test::temp_dir("eval");
  auto args = with(local_args(small_dataset(dir, 2), dir / "out"),
                   {"--think-max", "8", "--think-min", "4", "--wait", "1", "--n", "2", "--answer-max", "4",
                    "--temp", "0.8", "--seed", "3", "--repeats", "2"});
  auto r = run_s1(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto records = s1::read_records((dir / "out/records.jsonl").string());
  ASSERT_EQ(records.size(), 4u);  // 2 problems x 2 repeats
  EXPECT_EQ(unique_keys(records).size(), 4u);
  for (const auto& rec : records) {
    EXPECT_EQ(rec["samples"].size(), 2u);
    EXPECT_EQ(rec["setting"]["vote"], "majority");
    for (const auto& s : rec["samples"]) {
      EXPECT_GE(s["thinking_tokens"].get<int>(), 4);
      EXPECT_LE(s["thinking_tokens"].get<int>(), 8);
    }
  }
  auto conditional = run_s1(with(local_args(small_dataset(dir, 2), dir / "cond"),
                                 {"--think-max", "4", "--method", "token-conditional,rejection",
                                  "--max-tokens", "12", "--tries", "2", "--answer-max", "4"}));
  ASSERT_EQ(conditional.exit_code, 0) << conditional.err;
  json summary = json::parse(s1test::read_file(dir / "cond/summary.json"));
  ASSERT_EQ(summary["settings"].size(), 2u);
  EXPECT_EQ(summary["settings"][0]["method"], "token-conditional");
  EXPECT_EQ(summary["metrics"]["curves"].size(), 2u);
}

// The probe stop on the bundled model (which thinks): a sweep natural vs
// probe:2:16 whose records count the probes' tokens in the totals.
TEST(EvalCli, ProbeStopIsSweptAndItsTokensCounted) {
  auto dir = s1test::temp_dir("eval-probe");
  std::string text;
  for (const auto& [q, a] : {std::pair{"What is 347 + 589?", "936"}, {"What is 23 * 47?", "1081"},
                             {"What is 912 - 358?", "554"}})
    text += json{{"problem", q}, {"answer", a}}.dump() + "\n";
  s1test::write_file((dir / "p.jsonl").string(), text);
  auto r = run_s1({"eval", "--dataset", (dir / "p.jsonl").string(), "--out", (dir / "out").string(), "--threads",
                   "2", "--think-stop", "natural,probe:2:16", "--max-tokens", "400", "--answer-max", "64"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto records = s1::read_records((dir / "out/records.jsonl").string());
  ASSERT_EQ(records.size(), 6u);
  int probe_tokens = 0;
  for (const auto& rec : records) {
    const bool probed = rec["setting"].contains("think_stop");
    // A natural setting's key is what it was before --think-stop: old records resume.
    EXPECT_EQ(rec["setting_key"].get<std::string>().find("|stop=") != std::string::npos, probed);
    EXPECT_EQ(rec["generated_tokens"].get<int>(), rec["thinking_tokens"].get<int>() +
                                                      rec["answer_tokens"].get<int>() +
                                                      rec["probe_tokens"].get<int>());
    if (!probed) {
      EXPECT_EQ(rec["probe_tokens"], 0);
      continue;
    }
    EXPECT_EQ(rec["setting"]["think_stop"], "probe:2:16");
    EXPECT_EQ(rec["samples"][0]["probe_tokens"], rec["probe_tokens"]);
    EXPECT_GT(rec["samples"][0]["probes"].get<int>(), 0);
    probe_tokens += rec["probe_tokens"].get<int>();
  }
  EXPECT_GT(probe_tokens, 0);
  json summary = json::parse(s1test::read_file(dir / "out/summary.json"));
  ASSERT_EQ(summary["settings"].size(), 2u);
  const json& probe = summary["settings"][1];
  EXPECT_EQ(probe["think_stop"], "probe:2:16");
  EXPECT_DOUBLE_EQ(probe["mean_probe_tokens"].get<double>(), probe_tokens / 3.0);
  EXPECT_DOUBLE_EQ(probe["mean_total_tokens"].get<double>(), probe["mean_thinking_tokens"].get<double>() +
                                                                 probe["mean_answer_tokens"].get<double>() +
                                                                 probe["mean_probe_tokens"].get<double>());
  EXPECT_EQ(summary["settings"][0]["mean_probe_tokens"], 0.0);
  EXPECT_NE(s1test::read_file(dir / "out/results.csv").find("probe:2:16"), std::string::npos);
}

pid_t spawn_s1(const std::vector<std::string>& args) {
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    std::vector<std::string> copy = args;
    std::vector<char*> argv = {const_cast<char*>(S1_BINARY)};
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(S1_BINARY, argv.data());
    _exit(127);
  }
  return pid;
}

size_t complete_lines(const fs::path& path) {
  if (!fs::exists(path)) return 0;
  auto text = s1test::read_file(path);
  return size_t(std::count(text.begin(), text.end(), '\n'));
}

TEST(EvalCli, ResumesAfterKill9WithoutDuplicates) {
  REQUIRE_MODEL();
  auto dir = s1test::temp_dir("eval");
  const int problems = 24;
  auto args = with(local_args(small_dataset(dir, problems), dir / "out"),
                   {"--think-max", "48", "--answer-max", "24", "--parallel", "2"});
  const auto records_path = dir / "out/records.jsonl";
  pid_t child = spawn_s1(args);
  ASSERT_GT(child, 0);
  // Kill it as soon as some records are down (bounded: 120 s).
  bool exited = false;
  int status = 0;
  for (int i = 0; i < 12000 && complete_lines(records_path) < 2; ++i) {
    if (waitpid(child, &status, WNOHANG) == child) {
      exited = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!exited) {
    kill(child, SIGKILL);
    waitpid(child, &status, 0);
  }
  const size_t before = complete_lines(records_path);
  EXPECT_GE(before, 2u);
  // A write torn by the kill: half a record at the end.
  s1test::write_file(records_path, s1test::read_file(records_path) + "{\"dataset\": \"small\", \"prob");

  auto r = run_s1(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(
      r.err.find(std::to_string(before) + " done, " + std::to_string(problems - int(before)) + " to run"),
      std::string::npos)
      << r.err;
  auto records = s1::read_records(records_path.string());
  EXPECT_EQ(records.size(), size_t(problems));
  std::set<std::string> ids;
  for (const auto& rec : records) ids.insert(rec["problem_id"].get<std::string>());
  EXPECT_EQ(ids.size(), size_t(problems));
  EXPECT_EQ(unique_keys(records).size(), size_t(problems));
}

// A record as the run decided it: without when it ran.
json without_times(json record) {
  for (const char* field : {"started_at", "finished_at", "seconds"}) record.erase(field);
  return record;
}

// Three shards (and one retried) merged give the unsharded run's records and
// its summary byte for byte, apart from the figures measured with a clock.
TEST(EvalCli, ShardsMergedEqualTheUnshardedRun) {
  REQUIRE_MODEL();
  auto dir = s1test::temp_dir("eval-shards");
  const auto data = small_dataset(dir, 7);
  auto run_to = [&](const std::string& out, std::vector<std::string> more) {
    auto args = with(local_args(data, dir / out), {"--think-max", "0,8", "--answer-max", "8", "--parallel", "1",
                                                    "--temp", "0.7", "--seed", "5"});
    auto r = run_s1(with(args, more));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r;
  };
  run_to("all", {});
  for (int i = 0; i < 3; ++i) {
    auto r = run_to("shard" + std::to_string(i), {"--shard", std::to_string(i) + "/3"});
    EXPECT_NE(r.err.find("shard " + std::to_string(i) + "/3"), std::string::npos) << r.err;
    for (const auto& record : s1::read_records((dir / ("shard" + std::to_string(i)) / "records.jsonl").string()))
      EXPECT_EQ(record["problem_index"].get<int>() % 3, i);
  }
  fs::copy(dir / "shard1", dir / "shard1-retried", fs::copy_options::recursive);
  auto merged = run_s1({"eval", "merge", (dir / "merged").string(), (dir / "shard0").string(),
                        (dir / "shard1").string(), (dir / "shard2").string(), (dir / "shard1-retried").string()});
  ASSERT_EQ(merged.exit_code, 0) << merged.err;
  EXPECT_NE(merged.err.find("14 records added, 4 duplicates dropped"), std::string::npos) << merged.err;

  std::map<std::string, json> want, got;
  for (const auto& r : s1::read_records((dir / "all/records.jsonl").string())) want[s1::record_key(r)] = without_times(r);
  for (const auto& r : s1::read_records((dir / "merged/records.jsonl").string())) got[s1::record_key(r)] = without_times(r);
  EXPECT_EQ(got, want);

  auto summary_without_clock = [&](const std::string& folder) {
    json summary = json::parse(s1test::read_file(dir / folder / "summary.json"));
    for (auto& setting : summary["settings"])
      for (const char* field : {"tokens_per_second", "wall_seconds", "energy_wh", "cost_usd", "usd_per_correct"})
        setting.erase(field);
    return summary.dump(2);
  };
  EXPECT_EQ(summary_without_clock("merged"), summary_without_clock("all"));

  // Merging again adds nothing; a missing shard folder is a clear error.
  auto again = run_s1({"eval", "merge", (dir / "merged").string(), (dir / "shard0").string()});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.err.find("0 records added, 6 duplicates dropped"), std::string::npos) << again.err;
  auto missing = run_s1({"eval", "merge", (dir / "merged").string(), (dir / "nowhere").string()});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("nowhere/records.jsonl: no such file"), std::string::npos) << missing.err;
  for (const char* bad : {"3/3", "1", "a/2", "-1/2", "0/0"}) {
    auto r = run_s1(with(local_args(data, dir / "bad"), {"--shard", bad}));
    EXPECT_NE(r.exit_code, 0) << bad;
    EXPECT_NE(r.err.find("--shard '" + std::string(bad) + "'"), std::string::npos) << r.err;
  }
}

TEST(EvalCli, NamedDatasetFromTheDataDir) {
  REQUIRE_MODEL();
  auto datasets = s1test::shared_dir() / "datasets";
  if (!fs::exists(datasets)) GTEST_SKIP() << datasets << " not present";
  auto dir = s1test::temp_dir("eval");
  auto r = run_s1(with(local_args("gsm8k", dir / "out"), {"--data-dir", datasets.string(), "--limit", "2",
                                                          "--think-max", "4", "--answer-max", "4"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto records = s1::read_records((dir / "out/records.jsonl").string());
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0]["dataset"], "gsm8k");
  EXPECT_EQ(records[0]["reference"], "18");
}

TEST(EvalCli, BadInputIsAClearError) {
  auto dir = s1test::temp_dir("eval");
  auto data = small_dataset(dir, 2);
  auto r = run_s1({"eval", "--endpoint", "http://127.0.0.1:9", "--dataset", data, "--think-max", "64,lots"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--think-max '64,lots': 'lots' is not a whole number"), std::string::npos) << r.err;

  s1test::write_file(dir / "bad.jsonl", "{\"problem\": \"a\", \"answer\": \"1\"}\n{\"answer\": \"2\"}\n");
  r = run_s1({"eval", "--endpoint", "http://127.0.0.1:9", "--dataset", (dir / "bad.jsonl").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("bad.jsonl:2: no question field"), std::string::npos) << r.err;

  r = run_s1({"eval", "-m", "m.gguf", "--endpoint", "http://127.0.0.1:9", "--dataset", data});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("give a model (-m MODEL) or a server (--endpoint URL), not both"), std::string::npos) << r.err;
  r = run_s1({"eval", "--endpoint", "http://127.0.0.1:9"});
  EXPECT_NE(r.err.find("give --dataset"), std::string::npos) << r.err;
  r = run_s1({"eval", "report", (dir / "nothing").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no records yet"), std::string::npos) << r.err;
}

TEST(EvalCli, CacheTooSmallForTheSamplesIsAnError) {
  REQUIRE_MODEL();
  auto dir = s1test::temp_dir("eval");
  auto r = run_s1(with(local_args(small_dataset(dir, 1), dir / "out"),
                       {"--ctx", "128", "--n", "8", "--max-tokens", "100", "--temp", "0.7"}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("8 samples of up to"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("raise --ctx or lower --max-tokens"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("0 records are kept"), std::string::npos) << r.err;
}

// Answers "\boxed{N}" with N the right sum for odd questions, a wrong one for even.
void answer_sums(const httplib::Request& req, httplib::Response& res, std::vector<json>* bodies) {
  json body = json::parse(req.body);
  if (bodies) bodies->push_back(body);
  std::string question = body["messages"][0]["content"];
  int i = std::stoi(question.substr(question.find("is ") + 3));
  int answer = i % 2 ? i + 1 : i + 2;
  json message = {{"role", "assistant"},
                  {"content", "<think>count up</think>\\boxed{" + std::to_string(answer) + "}"}};
  res.set_content(json{{"choices", {{{"index", 0}, {"message", message}, {"finish_reason", "stop"}}}},
                       {"usage", {{"prompt_tokens", 10}, {"completion_tokens", 20}}}}
                      .dump(),
                  "application/json");
}

TEST(EvalCli, EndpointGradesTheServersAnswers) {
  auto dir = s1test::temp_dir("eval");
  std::mutex mutex;
  std::vector<json> bodies;
  s1test::LoopbackServer server(
      [&](const httplib::Request& req, httplib::Response& res) {
        std::lock_guard lock(mutex);
        answer_sums(req, res, &bodies);
      },
      {"tiny"});
  auto r = run_s1({"eval", "--endpoint", server.url(), "--dataset", small_dataset(dir, 4), "--out",
                   (dir / "out").string(), "--think-max", "64", "--parallel", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto records = s1::read_records((dir / "out/records.jsonl").string());
  ASSERT_EQ(records.size(), 4u);
  int correct = 0;
  for (const auto& rec : records) {
    correct += rec["verdict"] == "correct";
    EXPECT_EQ(rec["thinking"], "count up");
    EXPECT_EQ(rec["engine"], server.url() + "/v1/chat/completions");
    // No reasoning count reported: the completion's 20 tokens are shared out by text length.
    EXPECT_EQ(rec["samples"][0]["thinking_tokens_estimated"], true);
  }
  EXPECT_EQ(correct, 2);
  ASSERT_EQ(bodies.size(), 4u);
  EXPECT_EQ(bodies[0]["model"], "tiny");
  EXPECT_EQ(bodies[0]["thinking"]["max_tokens"], 64);
  EXPECT_EQ(bodies[0]["temperature"], 0.0);
  json summary = json::parse(s1test::read_file(dir / "out/summary.json"));
  EXPECT_EQ(summary["settings"][0]["accuracy"], 0.5);
}

TEST(EvalCli, EndpointThatRejectsBudgetFieldsStillRuns) {
  auto dir = s1test::temp_dir("eval");
  s1test::LoopbackServer server([&](const httplib::Request& req, httplib::Response& res) {
    if (json::parse(req.body).contains("thinking")) {
      res.status = 400;
      res.set_content("{\"error\": {\"message\": \"Unrecognized request argument: thinking\"}}",
                      "application/json");
      return;
    }
    answer_sums(req, res, nullptr);
  });
  auto r = run_s1({"eval", "--endpoint", server.url(), "--dataset", small_dataset(dir, 2), "--out",
                   (dir / "out").string(), "--think-max", "64"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("rejects budget fields"), std::string::npos) << r.err;
  EXPECT_EQ(s1::read_records((dir / "out/records.jsonl").string()).size(), 2u);
}

TEST(EvalCli, UnreachableEndpointStopsWithTheRecordsKept) {
  auto dir = s1test::temp_dir("eval");
  auto data = small_dataset(dir, 4);
  std::string url;
  {
    s1test::LoopbackServer server(
        [](const httplib::Request& req, httplib::Response& res) { answer_sums(req, res, nullptr); });
    url = server.url();
    auto r = run_s1(
        {"eval", "--endpoint", url, "--dataset", data, "--limit", "2", "--out", (dir / "out").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  // The server is gone: retries with backoff (1 s, 2 s), then a stop naming the address.
  auto r = run_s1({"eval", "--endpoint", url, "--dataset", data, "--out", (dir / "out").string(), "--retries",
                   "2", "--parallel", "1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(url + "/v1/chat/completions"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("after 3 tries"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("2 records are kept"), std::string::npos) << r.err;
  EXPECT_EQ(s1::read_records((dir / "out/records.jsonl").string()).size(), 2u);
}

// An adaptive vote asks the server for samples one by one and stops once it
// is settled: a server that always gives the same answer is asked 4 times of
// the 8 (4 agreeing: 31/32 >= 0.95); majority asks all 8.
TEST(EvalCli, AnAdaptiveVoteStopsAskingOnceSettled) {
  auto dir = s1test::temp_dir("eval");
  std::atomic<int> asked{0};
  s1test::LoopbackServer server([&](const httplib::Request& req, httplib::Response& res) {
    ++asked;
    answer_sums(req, res, nullptr);
  });
  for (const auto& [vote, per_problem] : {std::pair{"adaptive", 4}, {"majority", 8}}) {
    asked = 0;
    auto r = run_s1({"eval", "--endpoint", server.url(), "--dataset", small_dataset(dir, 3), "--out",
                     (dir / vote).string(), "--n", "8", "--vote", vote, "--model-name", "m"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(asked, 3 * per_problem) << vote;
    const json summary = json::parse(s1test::read_file(dir / vote / "summary.json"));
    EXPECT_EQ(summary["settings"][0]["mean_samples"], per_problem) << vote;
    EXPECT_NE(r.out.find(fmt::format("samples {:.2f}", double(per_problem))), std::string::npos) << r.out;
  }
}

// Several endpoints share the problems, each with its own workers; one that
// fails (500s past its retries) hands its problems to the others, and the
// records name the server that answered each.
TEST(EvalCli, SeveralEndpointsShareTheWorkAndCoverForAFailedOne) {
  auto dir = s1test::temp_dir("eval");
  auto data = small_dataset(dir, 6);
  std::atomic<int> served_a{0}, served_b{0}, refused{0};
  auto slow_sums = [](std::atomic<int>& count) {
    return [&count](const httplib::Request& req, httplib::Response& res) {
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
      ++count;
      answer_sums(req, res, nullptr);
    };
  };
  s1test::LoopbackServer a(slow_sums(served_a)), b(slow_sums(served_b));
  s1test::LoopbackServer broken([&](const httplib::Request&, httplib::Response& res) {
    ++refused;
    res.status = 500;
    res.set_content("{\"error\": {\"message\": \"out of memory\"}}", "application/json");
  });
  auto r = run_s1({"eval", "--endpoint", a.url() + "," + b.url(), "--dataset", data, "--out",
                   (dir / "two").string(), "--parallel", "1", "--model-name", "m"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(served_a + served_b, 6);
  EXPECT_GT(served_a, 0);
  EXPECT_GT(served_b, 0);

  r = run_s1({"eval", "--endpoint", broken.url() + "," + a.url(), "--dataset", data, "--out",
              (dir / "failover").string(), "--parallel", "2", "--retries", "1", "--model-name", "m"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find(broken.url() + "/v1/chat/completions"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("its problems go to the other endpoints"), std::string::npos) << r.err;
  const auto records = s1::read_records((dir / "failover/records.jsonl").string());
  ASSERT_EQ(records.size(), 6u);
  EXPECT_EQ(unique_keys(records).size(), 6u);
  for (const auto& rec : records) EXPECT_EQ(rec["engine"], a.url() + "/v1/chat/completions");
  EXPECT_GT(refused, 0);

  // Every endpoint down: a clear error naming each, the records kept.
  r = run_s1({"eval", "--endpoint", broken.url() + "," + broken.url() + "/", "--dataset", data, "--out",
              (dir / "none").string(), "--retries", "0", "--model-name", "m"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("every endpoint failed"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("0 records are kept"), std::string::npos) << r.err;
  r = run_s1({"eval", "--endpoint", a.url() + ",", "--dataset", data});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("an empty address"), std::string::npos) << r.err;
}

}  // namespace

namespace {

// The bundled model (models/mini.gguf, used when -m is omitted) end to end:
// problems generated from a seed its training never saw, a budget of 0 and
// natural thinking. Greedy, so the figures are the same on every run.
TEST(EvalCli, BundledModelEndToEnd) {
  auto dir = s1test::temp_dir("eval-bundled");
  const auto problems = (dir / "problems.jsonl").string();
  auto gen = run_s1({"data", "generate", "--n", "20", "--seed", "4242", "--kinds", "add,sub,mul", "--difficulty",
                     "1-2", "-o", problems});
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  auto r = run_s1({"eval", "--dataset", problems, "--think-max", "0,none", "--out", (dir / "out").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json summary = json::parse(s1test::read_file(dir / "out/summary.json"));
  ASSERT_EQ(summary["settings"].size(), 2u);
  for (const auto& s : summary["settings"]) {
    EXPECT_EQ(s["count"], 20);
    if (s["think_max"].is_null()) {
      EXPECT_GE(s["accuracy"].get<double>(), 0.9) << "natural thinking";
      EXPECT_GT(s["mean_thinking_tokens"].get<double>(), 20.0);
    } else {
      EXPECT_EQ(s["mean_thinking_tokens"], 0.0);
      EXPECT_EQ(s["control"], 1.0);
    }
  }
  EXPECT_NE(s1::read_records((dir / "out/records.jsonl").string())[0]["engine"].get<std::string>().find("mini.gguf"),
            std::string::npos);
}

}  // namespace
