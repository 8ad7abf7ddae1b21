// Distillation against a tiny OpenAI-compatible server on 127.0.0.1: records
// carry the teacher's thinking, answer, name and token counts; a rerun skips
// what is done; failures are counted and retried on the next run.
#include <gtest/gtest.h>
#include <httplib.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <regex>
#include <set>
#include <thread>

#include "data/distill.h"
#include "data/jsonl.h"
#include "data/tasks.h"
#include "support/test_support.h"

namespace {

using nlohmann::json;

// Answers "What is A+B?" with reasoning_content and the sum; fails with 500
// for questions in `broken`.
class FakeTeacher {
 public:
  FakeTeacher() {
    server_.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
      json body = json::parse(req.body);
      std::string question = body["messages"].back()["content"];
      {
        std::lock_guard lock(mutex_);
        ++requests_;
        models_.insert(body.value("model", ""));
        if (broken_.count(question)) {
          res.status = 500;
          res.set_content(R"({"error":{"message":"boom"}})", "application/json");
          return;
        }
      }
      int a = 0, b = 0;
      std::sscanf(question.c_str(), "What is %d+%d?", &a, &b);
      json reply = {{"model", "fake-teacher-1"},
                    {"choices",
                     {{{"index", 0},
                       {"message",
                        {{"role", "assistant"},
                         {"reasoning_content", "I add " + std::to_string(a) + " and " + std::to_string(b) + "."},
                         {"content", "The answer is \\boxed{" + std::to_string(a + b) + "}."}}},
                       {"finish_reason", "stop"}}}},
                    {"usage", {{"prompt_tokens", 11}, {"completion_tokens", 22},
                               {"completion_tokens_details", {{"reasoning_tokens", 15}}}}}};
      res.set_content(reply.dump(), "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeTeacher() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  std::set<std::string> models() {
    std::lock_guard lock(mutex_);
    return models_;
  }
  void set_broken(std::set<std::string> broken) {
    std::lock_guard lock(mutex_);
    broken_ = std::move(broken);
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mutex_;
  int requests_ = 0;
  std::set<std::string> models_, broken_;
};

std::string questions_jsonl(int from, int to) {
  std::string out;
  for (int i = from; i < to; ++i)
    out += json({{"question", "What is " + std::to_string(i) + "+" + std::to_string(i * 2) + "?"},
                 {"answer", std::to_string(i * 3)},
                 {"kind", "add"}})
               .dump() +
           "\n";
  return out;
}

s1::data::DistillOptions options_for(const FakeTeacher& teacher, const std::filesystem::path& dir) {
  s1::data::DistillOptions options;
  options.client.base_url = teacher.url();
  options.client.max_retries = 0;
  options.client.timeout_seconds = 10;
  options.model = "teacher-x";
  options.questions_path = (dir / "questions.jsonl").string();
  options.output_path = (dir / "distilled.jsonl").string();
  options.rps = 0;
  return options;
}

TEST(DataDistill, StoresTracesAndResumes) {
  FakeTeacher teacher;
  auto dir = s1test::temp_dir("data-distill");
  s1test::write_file(dir / "questions.jsonl", questions_jsonl(0, 5));
  auto options = options_for(teacher, dir);
  options.parallel = 2;
  s1::data::DistillStats stats = s1::data::distill(options);
  EXPECT_EQ(stats.questions, 5);
  EXPECT_EQ(stats.distilled, 5);
  EXPECT_EQ(stats.already_done, 0);
  EXPECT_EQ(teacher.requests(), 5);
  EXPECT_EQ(teacher.models(), std::set<std::string>{"teacher-x"});

  auto rows = s1::data::read_jsonl(options.output_path);
  ASSERT_EQ(rows.size(), 5u);
  for (const auto& row : rows) {
    int a = 0, b = 0;
    std::sscanf(row["question"].get<std::string>().c_str(), "What is %d+%d?", &a, &b);
    EXPECT_EQ(row["answer"], std::to_string(a + b));  // the question row's own fields are kept
    EXPECT_EQ(row["kind"], "add");
    EXPECT_EQ(row["thinking"], "I add " + std::to_string(a) + " and " + std::to_string(b) + ".");
    EXPECT_EQ(row["answer_text"], "The answer is \\boxed{" + std::to_string(a + b) + "}.");
    EXPECT_EQ(row["teacher"], "fake-teacher-1");
    EXPECT_EQ(row["prompt_tokens"], 11);
    EXPECT_EQ(row["completion_tokens"], 22);
    EXPECT_EQ(row["reasoning_tokens"], 15);
    EXPECT_EQ(row["messages"][1]["thinking"], row["thinking"]);
    EXPECT_EQ(row["messages"][1]["content"], row["answer_text"]);
  }

  // Three more questions: only they are asked.
  s1test::write_file(dir / "questions.jsonl", questions_jsonl(0, 8));
  stats = s1::data::distill(options);
  EXPECT_EQ(stats.distilled, 3);
  EXPECT_EQ(stats.already_done, 5);
  EXPECT_EQ(teacher.requests(), 8);
  EXPECT_EQ(s1::data::read_jsonl(options.output_path).size(), 8u);
}

TEST(DataDistill, AnInterruptedWriteIsCutOffAndAskedAgain) {
  FakeTeacher teacher;
  auto dir = s1test::temp_dir("data-distill-cut");
  s1test::write_file(dir / "questions.jsonl", questions_jsonl(0, 3));
  auto options = options_for(teacher, dir);
  options.limit = 2;
  EXPECT_EQ(s1::data::distill(options).distilled, 2);
  std::string partial = s1test::read_file(options.output_path);
  s1test::write_file(options.output_path, partial + partial.substr(0, partial.find('\n') / 2));  // a torn line
  options.limit = -1;
  auto stats = s1::data::distill(options);
  EXPECT_EQ(stats.already_done, 2);
  EXPECT_EQ(stats.distilled, 1);
  EXPECT_EQ(s1::data::read_jsonl(options.output_path).size(), 3u);
}

TEST(DataDistill, FailedQuestionsAreRetriedOnTheNextRun) {
  FakeTeacher teacher;
  auto dir = s1test::temp_dir("data-distill-fail");
  s1test::write_file(dir / "questions.jsonl", questions_jsonl(0, 4));
  teacher.set_broken({"What is 1+2?"});
  auto options = options_for(teacher, dir);
  auto stats = s1::data::distill(options);
  EXPECT_EQ(stats.distilled, 3);
  EXPECT_EQ(stats.failed, 1);
  teacher.set_broken({});
  stats = s1::data::distill(options);
  EXPECT_EQ(stats.distilled, 1);
  EXPECT_EQ(stats.already_done, 3);
  EXPECT_EQ(s1::data::read_jsonl(options.output_path).size(), 4u);

  // A teacher that keeps failing stops the run instead of burning through every question.
  s1test::write_file(dir / "questions.jsonl", questions_jsonl(10, 20));
  std::set<std::string> all;
  for (int i = 10; i < 20; ++i) all.insert("What is " + std::to_string(i) + "+" + std::to_string(i * 2) + "?");
  teacher.set_broken(all);
  options.max_consecutive_failures = 3;
  const int before = teacher.requests();
  EXPECT_THROW(s1::data::distill(options), s1::Error);
  EXPECT_EQ(teacher.requests() - before, 3);
}

TEST(DataDistill, PacerSpacesRequests) {
  using namespace std::chrono;
  s1::data::RatePacer pacer(4);  // 250 ms apart
  const auto t0 = s1::data::RatePacer::Clock::time_point{} + seconds(100);
  EXPECT_EQ(pacer.reserve(t0), t0);
  EXPECT_EQ(pacer.reserve(t0), t0 + milliseconds(250));
  EXPECT_EQ(pacer.reserve(t0 + milliseconds(100)), t0 + milliseconds(500));
  EXPECT_EQ(pacer.reserve(t0 + seconds(5)), t0 + seconds(5));  // idle time is not saved up
  s1::data::RatePacer unlimited(0);
  EXPECT_EQ(unlimited.reserve(t0), t0);
  EXPECT_EQ(unlimited.reserve(t0), t0);
}

TEST(DataDistill, Cli) {
  FakeTeacher teacher;
  auto dir = s1test::temp_dir("data-distill-cli");
  s1test::write_file(dir / "questions.jsonl", questions_jsonl(0, 3));
  const std::string out = (dir / "out.jsonl").string();
  auto run = s1test::run_s1({"data", "distill", "--endpoint", teacher.url() + "/v1", "--questions",
                             (dir / "questions.jsonl").string(), "--rps", "0", "-o", out});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("3 questions: 3 distilled, 0 already"), std::string::npos) << run.out;
  EXPECT_EQ(s1::data::read_jsonl(out).size(), 3u);
  EXPECT_EQ(teacher.models(), std::set<std::string>{""});  // no --model: none sent

  run = s1test::run_s1({"data", "distill", "--endpoint", teacher.url(), "--model", "m", "--questions",
                        (dir / "questions.jsonl").string(), "--rps", "0"});  // no -o: a name beside the questions
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(s1::data::read_jsonl((dir / "questions.distilled.jsonl").string()).size(), 3u);

  run = s1test::run_s1({"data", "distill", "--endpoint", "http://127.0.0.1:1", "--retries", "0", "--rps", "0", "--questions",
                        (dir / "questions.jsonl").string(), "-o", (dir / "other.jsonl").string()});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("error: "), std::string::npos) << run.err;
}

// Our own server (`s1 serve`, a child process) as the teacher, over a random
// model on a learned vocabulary: the whole loop runs, whatever the model says.
TEST(DataDistill, AgainstOurServer) {
  auto dir = s1test::temp_dir("data-distill-serve");
  std::string questions;
  for (uint64_t i = 0; i < 4; ++i) questions += s1::data::generate_task(s1::data::GenerateOptions{}, i).to_json().dump() + "\n";
  s1test::write_file(dir / "questions.jsonl", questions);
  const std::string vocab = (dir / "vocab.gguf").string(), model = (dir / "model.gguf").string();
  ASSERT_EQ(s1test::run_s1({"data", "vocab", "--data", (dir / "questions.jsonl").string(), "-o", vocab}).exit_code, 0);
  ASSERT_EQ(s1test::run_s1({"mkmodel", "--arch", "qwen3", "--layers", "1", "--embd", "32", "--heads", "2",
                            "--kv-heads", "1", "--ff", "64", "--vocab-from", vocab, "-o", model})
                .exit_code,
            0);
  const auto log_path = dir / "serve.log";
  const pid_t server = fork();
  if (server == 0) {
    const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(log, 1);
    dup2(log, 2);
    std::string binary = S1_BINARY;
    execl(binary.c_str(), binary.c_str(), "serve", "-m", model.c_str(), "--port", "0", "--ctx", "256", "--parallel",
          "2", "-t", "1", static_cast<char*>(nullptr));
    _exit(127);
  }
  ASSERT_GT(server, 0);
  // It prints "s1 serve: <name> on http://127.0.0.1:<port> ..." once listening.
  int port = 0;
  for (int i = 0; i < 600 && !port; ++i) {  // up to a minute to load
    std::smatch m;
    std::string log = std::filesystem::exists(log_path) ? s1test::read_file(log_path) : "";
    if (std::regex_search(log, m, std::regex(R"(http://127\.0\.0\.1:(\d+))"))) port = std::stoi(m[1]);
    else std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const bool up = port > 0;
  s1::data::DistillStats stats;
  if (up) {
    s1::data::DistillOptions options;
    options.client.base_url = "http://127.0.0.1:" + std::to_string(port);
    options.client.max_retries = 0;
    options.client.timeout_seconds = 30;
    options.questions_path = (dir / "questions.jsonl").string();
    options.output_path = (dir / "distilled.jsonl").string();
    options.rps = 0;
    options.parallel = 2;
    options.max_tokens = 8;
    // Greedy: a random model sampled with a random seed may end at its first
    // token (an empty completion); greedy decoding of this seeded model does not.
    options.temperature = 0;
    stats = s1::data::distill(options);
  }
  kill(server, SIGTERM);
  int status = 0;
  waitpid(server, &status, 0);
  ASSERT_TRUE(up) << "s1 serve did not start:\n" << s1test::read_file(log_path);
  EXPECT_EQ(stats.distilled, 4) << s1test::read_file(log_path);
  auto rows = s1::data::read_jsonl((dir / "distilled.jsonl").string());
  ASSERT_EQ(rows.size(), 4u);
  for (const auto& row : rows) {
    EXPECT_EQ(row["teacher"], "model");  // the server names the model after the file's stem
    EXPECT_GT(row["prompt_tokens"].get<int>(), 5);
    EXPECT_GE(row["completion_tokens"].get<int>(), 1);
    EXPECT_LE(row["completion_tokens"].get<int>(), 8);
  }
}

}  // namespace
