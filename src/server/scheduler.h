#pragma once
// The one thread that owns the Generator. HTTP handler threads queue jobs and
// live-control commands here; the scheduler admits queued jobs between
// decode steps (continuous batching: every admitted request advances in the
// same batched step, long prompts are prefilled in chunks by the Generator),
// and each job's events and result flow back through its JobStream.
//
// Admission is bounded twice: at most `parallel` requests decode at once, and
// each reserves the KV-cache positions it may grow to, so the shared cache
// never runs out mid-step. Beyond those, at most `queue` jobs wait; more are
// refused (ApiError 429).
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "reasoning/generator.h"
#include "server/request_parser.h"

namespace s1::server {

// What a handler learns from one wait on its job.
struct JobUpdate {
  std::vector<Event> events;
  std::optional<GenerationResult> result;  // set once, when the job finished
  std::string error;                       // set instead of a result when the job failed
  bool timed_out = false;                  // the job was cut short by the server's timeout
  bool done() const { return result.has_value() || !error.empty(); }
};

// Scheduler -> handler channel of one job.
class JobStream {
 public:
  void push(const Event& event);
  void finish(GenerationResult result, bool timed_out);
  void fail(const std::string& message);
  // Waits up to `timeout` for news and moves it into `update` (events appended).
  void wait(std::chrono::milliseconds timeout, JobUpdate& update);

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::vector<Event> events_;
  std::optional<GenerationResult> result_;
  std::string error_;
  bool timed_out_ = false, delivered_ = false;
};

struct SchedulerLimits {
  int parallel = 8;    // requests decoding together
  int queue = 64;      // requests waiting beyond those
  int kv_tokens = 0;   // KV-cache positions the admitted requests may reserve in all
  std::chrono::milliseconds timeout{std::chrono::minutes(10)};  // per request, queue time included
};

struct SchedulerStats {
  int queued = 0, active = 0;
};

class Scheduler {
 public:
  Scheduler(Generator& generator, SchedulerLimits limits);
  ~Scheduler();  // cancels everything and joins the thread

  // Queues a job that may take `reserve_tokens` cache positions; ApiError 429
  // when the queue is full. Live control of it needs `control_token`.
  std::shared_ptr<JobStream> submit(const std::string& id, const std::string& control_token,
                                    GenerationRequest request, int reserve_tokens);
  // Live control; false when no job with this id and token is queued or running.
  bool control(const std::string& id, const std::string& control_token, const ControlCommand& command);
  void cancel(const std::string& id);
  void cancel_all();  // every queued and running job (shutdown)
  SchedulerStats stats() const;
  const SchedulerLimits& limits() const { return limits_; }

 private:
  struct Job;
  struct Command {
    std::string id;
    enum class Kind { answer_now, think_more, search, cancel } kind;
    int tokens = 0;
    std::string query;
  };
  void loop();
  void admit();
  void apply_commands();
  void expire();
  void collect();
  void fail_active(const std::string& message);
  static void note_control(Job& job, const Command& command);
  void deliver_controls(Job& job);

  Generator& generator_;
  SchedulerLimits limits_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::deque<std::unique_ptr<Job>> queue_;
  std::map<std::string, std::unique_ptr<Job>> active_;  // touched only by the scheduler thread (and stats)
  std::vector<Command> commands_;
  int reserved_tokens_ = 0;
  std::thread thread_;
};

}  // namespace s1::server
