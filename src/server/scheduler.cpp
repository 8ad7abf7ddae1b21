#include "server/scheduler.h"

#include <algorithm>

#include "server/api_error.h"
#include "util/constant_time.h"
#include "util/log.h"

namespace s1::server {

using Clock = std::chrono::steady_clock;

void JobStream::push(const Event& event) {
  std::lock_guard lock(mutex_);
  events_.push_back(event);
  ready_.notify_all();
}

void JobStream::finish(GenerationResult result, bool timed_out) {
  std::lock_guard lock(mutex_);
  result_ = std::move(result);
  timed_out_ = timed_out;
  ready_.notify_all();
}

void JobStream::fail(const std::string& message) {
  std::lock_guard lock(mutex_);
  error_ = message.empty() ? "the request failed" : message;
  ready_.notify_all();
}

void JobStream::wait(std::chrono::milliseconds timeout, JobUpdate& update) {
  std::unique_lock lock(mutex_);
  ready_.wait_for(lock, timeout, [&] { return !events_.empty() || ((result_ || !error_.empty()) && !delivered_); });
  std::move(events_.begin(), events_.end(), std::back_inserter(update.events));
  events_.clear();
  if ((result_ || !error_.empty()) && !delivered_) {
    delivered_ = true;
    update.result = std::move(result_);
    update.error = error_;
    update.timed_out = timed_out_;
  }
}

struct Scheduler::Job {
  std::string id;
  std::string control_token;  // what a live-control call must present
  GenerationRequest request;
  int reserve_tokens = 0;
  std::shared_ptr<JobStream> stream = std::make_shared<JobStream>();
  Clock::time_point deadline;
  int generator_id = -1;
  bool started = false;  // its samples exist (an event arrived), so live control reaches them
  bool answer_now = false;
  int think_more = 0;  // live control that arrived before the samples existed
  std::vector<std::string> searches;  // live searches not yet run
  bool timed_out = false;
};

Scheduler::Scheduler(Generator& generator, SchedulerLimits limits) : generator_(generator), limits_(limits) {
  thread_ = std::thread([this] { loop(); });
}

Scheduler::~Scheduler() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    wake_.notify_all();
  }
  thread_.join();
  for (auto& job : queue_) job->stream->fail("the server is shutting down");
  for (auto& [id, job] : active_) {
    generator_.cancel(job->generator_id);
    job->stream->finish(generator_.take_result(job->generator_id), false);
  }
}

std::shared_ptr<JobStream> Scheduler::submit(const std::string& id, const std::string& control_token,
                                             GenerationRequest request, int reserve_tokens) {
  auto job = std::make_unique<Job>();
  job->id = id;
  job->control_token = control_token;
  job->request = std::move(request);
  job->reserve_tokens = reserve_tokens;
  job->deadline = Clock::now() + limits_.timeout;
  auto stream = job->stream;
  std::weak_ptr<JobStream> weak = stream;
  Job* raw = job.get();
  // Runs on the scheduler thread, inside Generator::step().
  job->request.on_event = [weak, raw](const Event& event) {
    raw->started = true;
    if (auto s = weak.lock()) s->push(event);
  };
  std::lock_guard lock(mutex_);
  if (int(queue_.size() + active_.size()) >= limits_.parallel + limits_.queue)
    throw ApiError(429, "server_busy", fmt::format("the server is busy ({} requests queued); retry shortly", queue_.size()));
  queue_.push_back(std::move(job));
  wake_.notify_all();
  return stream;
}

bool Scheduler::control(const std::string& id, const std::string& control_token, const ControlCommand& command) {
  std::lock_guard lock(mutex_);
  const Job* job = nullptr;
  if (auto active = active_.find(id); active != active_.end()) {
    job = active->second.get();
  } else if (auto queued = std::find_if(queue_.begin(), queue_.end(), [&](const auto& j) { return j->id == id; });
             queued != queue_.end()) {
    job = queued->get();
  }
  if (!job || !constant_time_equal(control_token, job->control_token)) return false;
  if (command.action == ControlCommand::Action::answer_now)
    commands_.push_back({id, Command::Kind::answer_now, 0, ""});
  else if (command.action == ControlCommand::Action::think_more)
    commands_.push_back({id, Command::Kind::think_more, command.tokens, ""});
  else
    commands_.push_back({id, Command::Kind::search, 0, command.query});
  wake_.notify_all();
  return true;
}

void Scheduler::cancel(const std::string& id) {
  std::lock_guard lock(mutex_);
  commands_.push_back({id, Command::Kind::cancel, 0, ""});
  wake_.notify_all();
}

void Scheduler::cancel_all() {
  std::lock_guard lock(mutex_);
  for (const auto& job : queue_) commands_.push_back({job->id, Command::Kind::cancel, 0, ""});
  for (const auto& [id, job] : active_) commands_.push_back({id, Command::Kind::cancel, 0, ""});
  wake_.notify_all();
}

SchedulerStats Scheduler::stats() const {
  std::lock_guard lock(mutex_);
  return {int(queue_.size()), int(active_.size())};
}

void Scheduler::loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    apply_commands();
    expire();
    admit();
    if (active_.empty()) {
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty() || !commands_.empty(); });
      continue;
    }
    lock.unlock();
    std::string failure;
    try {
      generator_.step();
    } catch (const std::exception& e) {
      failure = e.what();
    }
    lock.lock();
    if (!failure.empty()) fail_active(failure);
    collect();
  }
}

void Scheduler::admit() {
  while (!queue_.empty() && int(active_.size()) < limits_.parallel &&
         reserved_tokens_ + queue_.front()->reserve_tokens <= limits_.kv_tokens) {
    std::unique_ptr<Job> job = std::move(queue_.front());
    queue_.pop_front();
    try {
      job->generator_id = generator_.submit(std::move(job->request));
    } catch (const std::exception& e) {
      job->stream->fail(e.what());
      continue;
    }
    reserved_tokens_ += job->reserve_tokens;
    deliver_controls(*job);
    active_[job->id] = std::move(job);
  }
}

// The latest live control wins: "answer now" drops earlier "think more"s and
// the other way round; deliver_controls() hands it on once the samples exist.
void Scheduler::note_control(Job& job, const Command& command) {
  if (command.kind == Command::Kind::search) {
    job.searches.push_back(command.query);
  } else if (command.kind == Command::Kind::answer_now) {
    job.answer_now = true;
    job.think_more = 0;
  } else {
    job.answer_now = false;
    job.think_more += command.tokens;
  }
}

void Scheduler::deliver_controls(Job& job) {
  if (!job.started || job.generator_id < 0) return;
  if (job.answer_now) generator_.answer_now(job.generator_id);
  if (job.think_more > 0) generator_.think_more(job.generator_id, job.think_more);
  for (const std::string& query : job.searches) generator_.search_now(job.generator_id, query);
  job.answer_now = false;
  job.think_more = 0;
  job.searches.clear();
}

void Scheduler::apply_commands() {
  for (const Command& command : commands_) {
    auto queued = std::find_if(queue_.begin(), queue_.end(), [&](const auto& job) { return job->id == command.id; });
    if (queued != queue_.end()) {
      Job& job = **queued;
      if (command.kind == Command::Kind::cancel) {
        job.stream->fail("the request was cancelled");
        queue_.erase(queued);
      } else {
        note_control(job, command);
      }
      continue;
    }
    auto it = active_.find(command.id);
    if (it == active_.end()) continue;
    Job& job = *it->second;
    if (command.kind == Command::Kind::cancel) {
      generator_.cancel(job.generator_id);
    } else {
      note_control(job, command);
    }
    deliver_controls(job);
  }
  commands_.clear();
  // Controls that arrived before a job's samples existed.
  for (auto& [id, job] : active_) deliver_controls(*job);
}

void Scheduler::expire() {
  const auto now = Clock::now();
  for (auto it = queue_.begin(); it != queue_.end();) {
    if ((*it)->deadline > now) {
      ++it;
      continue;
    }
    (*it)->stream->fail("the request timed out while queued");
    it = queue_.erase(it);
  }
  for (auto& [id, job] : active_)
    if (job->deadline <= now && !job->timed_out) {
      job->timed_out = true;
      generator_.cancel(job->generator_id);
    }
}

void Scheduler::collect() {
  for (auto it = active_.begin(); it != active_.end();) {
    Job& job = *it->second;
    if (!generator_.finished(job.generator_id)) {
      ++it;
      continue;
    }
    job.stream->finish(generator_.take_result(job.generator_id), job.timed_out);
    reserved_tokens_ -= job.reserve_tokens;
    it = active_.erase(it);
  }
}

void Scheduler::fail_active(const std::string& message) {
  log_warn("server: a decode step failed ({}); failing {} requests", message, active_.size());
  for (auto& [id, job] : active_) {
    generator_.cancel(job->generator_id);
    generator_.take_result(job->generator_id);
    job->stream->fail("internal error: " + message);
    reserved_tokens_ -= job->reserve_tokens;
  }
  active_.clear();
}

}  // namespace s1::server
