#include "data/distill.h"

#include <fmt/format.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>
#include <vector>

#include "data/curate.h"
#include "data/jsonl.h"
#include "util/error.h"
#include "util/log.h"

namespace s1::data {

RatePacer::RatePacer(double rps) {
  if (rps > 0)
    interval_ = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / rps));
}

RatePacer::Clock::time_point RatePacer::reserve(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  const Clock::time_point start = std::max(now, next_);
  next_ = start + interval_;
  return start;
}

void RatePacer::wait() { std::this_thread::sleep_until(reserve(Clock::now())); }

nlohmann::json distilled_record(const nlohmann::json& question_row, const std::string& question,
                                const ChatResponse& response, const std::string& teacher) {
  nlohmann::json record = question_row;
  for (const char* stale : {"thinking", "answer_text", "messages", "slip", "reasoning_content"}) record.erase(stale);
  record["question"] = question;
  record["thinking"] = response.reasoning_content;
  record["answer_text"] = response.content;
  record["teacher"] = teacher;
  record["prompt_tokens"] = response.prompt_tokens;
  record["completion_tokens"] = response.completion_tokens;
  if (response.reasoning_tokens) record["reasoning_tokens"] = *response.reasoning_tokens;
  record["finish_reason"] = response.finish_reason;
  record["messages"] = nlohmann::json::array(
      {{{"role", "user"}, {"content", question}},
       {{"role", "assistant"}, {"thinking", response.reasoning_content}, {"content", response.content}}});
  return record;
}

namespace {

// The records of an earlier run. A run killed in the middle of a write leaves
// a last line without its newline: it is cut off (that question is asked
// again) so the next record does not glue onto it.
std::vector<nlohmann::json> read_finished_records(const std::string& path) {
  if (!std::filesystem::exists(path)) return {};
  std::string text;
  {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail("{}: cannot open for reading", path);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  if (!text.empty() && text.back() != '\n') {
    const size_t keep = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
    log_warn("{}: dropping an unfinished last line ({} bytes) from an interrupted run", path, text.size() - keep);
    std::filesystem::resize_file(path, keep);
  }
  return read_jsonl(path);
}

}  // namespace

DistillStats distill(const DistillOptions& options, const std::function<void(const std::string&)>& log) {
  if (options.parallel < 1) fail("--parallel must be >= 1, got {}", options.parallel);
  std::vector<nlohmann::json> rows = read_jsonl(options.questions_path);

  std::set<std::string> done;
  for (const auto& row : read_finished_records(options.output_path)) done.insert(read_curation_record(row, 0).question);

  DistillStats stats;
  struct Job {
    size_t row;
    std::string question;
  };
  std::vector<Job> jobs;
  std::set<std::string> queued;
  for (size_t i = 0; i < rows.size(); ++i) {
    std::string question = read_curation_record(rows[i], i).question;
    if (question.empty()) fail("{}:{}: no question (question, problem or a user message)", options.questions_path, i + 1);
    ++stats.questions;
    if (done.count(question) || !queued.insert(question).second) {
      ++stats.already_done;
      continue;
    }
    if (options.limit >= 0 && int64_t(jobs.size()) >= options.limit) continue;
    jobs.push_back({i, std::move(question)});
  }

  OpenAIClient client(options.client);
  JsonlWriter out(options.output_path, /*append=*/true);
  RatePacer pacer(options.rps);
  std::mutex mutex;  // guards out, stats, the failure streak and log
  std::atomic<size_t> next_job{0};
  std::atomic<bool> stop{false};
  int failure_streak = 0;
  std::string stop_reason;

  auto worker = [&] {
    while (!stop) {
      const size_t j = next_job++;
      if (j >= jobs.size()) return;
      const Job& job = jobs[j];
      nlohmann::json messages = nlohmann::json::array();
      if (!options.system_prompt.empty()) messages.push_back({{"role", "system"}, {"content", options.system_prompt}});
      messages.push_back({{"role", "user"}, {"content", job.question}});
      nlohmann::json body = {{"messages", messages}};
      if (!options.model.empty()) body["model"] = options.model;
      if (options.max_tokens) body["max_tokens"] = *options.max_tokens;
      if (options.temperature) body["temperature"] = *options.temperature;
      pacer.wait();
      try {
        ChatResponse response = client.chat(body);
        std::string teacher = response.raw.value("model", "");
        if (teacher.empty()) teacher = options.model.empty() ? client.url() : options.model;
        nlohmann::json record = distilled_record(rows[job.row], job.question, response, teacher);
        std::lock_guard lock(mutex);
        out.write(record);
        ++stats.distilled;
        failure_streak = 0;
        if (log)
          log(fmt::format("{}/{} distilled ({} thinking + answer tokens)", stats.distilled, jobs.size(),
                          response.completion_tokens));
      } catch (const Error& e) {
        std::lock_guard lock(mutex);
        ++stats.failed;
        if (log) log(fmt::format("{}:{}: teacher failed: {}", options.questions_path, job.row + 1, e.what()));
        if (++failure_streak >= options.max_consecutive_failures && !stop) {
          stop = true;
          stop_reason = e.what();
        }
      }
    }
  };
  std::vector<std::thread> workers;
  for (int i = 0; i < std::min<int>(options.parallel, int(jobs.size())); ++i) workers.emplace_back(worker);
  for (auto& t : workers) t.join();
  if (stop)
    fail("distill: {} requests in a row to the teacher failed, stopping (rerun to resume); last: {}",
         options.max_consecutive_failures, stop_reason);
  return stats;
}

}  // namespace s1::data
