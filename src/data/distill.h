#pragma once
// Distillation: ask an OpenAI-compatible teacher server (ours, llama-server,
// vLLM, a hosted reasoning API; s1's traces came from such an API) to answer
// each question, and store its thinking and answer as training records.
//
// Resumable: questions already in the output file are skipped and new records
// are appended, one flushed line each, so a stopped run loses at most the
// requests in flight. Rate-limited: requests start at most `rps` per second,
// across all `parallel` workers.
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include "api/openai_client.h"

namespace s1::data {

// Hands out request start times no closer than 1/rps apart (rps <= 0: no limit).
class RatePacer {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RatePacer(double rps);
  // The time the caller may start its request, reserved for it.
  Clock::time_point reserve(Clock::time_point now);
  void wait();  // reserve(now) and sleep until then

 private:
  std::mutex mutex_;
  Clock::duration interval_{};
  Clock::time_point next_{};
};

struct DistillOptions {
  OpenAIClientOptions client;
  std::string model;              // sent as "model" when set; the teacher is the name the server replies with,
                                  // else this, else the endpoint
  std::string questions_path;     // JSONL: question (or problem, or a user message), other fields kept
  std::string output_path;        // JSONL, appended to
  double rps = 1;                 // requests started per second at most; <= 0: no limit
  int parallel = 1;               // requests in flight at once
  int64_t limit = -1;             // at most this many new questions; -1: all
  std::optional<int> max_tokens;  // sent as max_tokens
  std::optional<double> temperature;
  std::string system_prompt;      // sent first when not empty
  int max_consecutive_failures = 5;  // then stop: the teacher is down
};

struct DistillStats {
  int64_t questions = 0, already_done = 0, distilled = 0, failed = 0;
};

// Progress lines go through `log` (one per finished question).
DistillStats distill(const DistillOptions& options, const std::function<void(const std::string&)>& log = {});

// The record stored for one teacher reply: the question row's own fields
// (reference answer, kind, difficulty...), then question, thinking,
// answer_text, teacher, token counts and messages in the training format.
nlohmann::json distilled_record(const nlohmann::json& question_row, const std::string& question,
                                const ChatResponse& response, const std::string& teacher);

}  // namespace s1::data
