#include "server/metrics.h"

#include <fmt/format.h>

namespace s1::server {

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  size_t bucket = 0;
  while (bucket < bounds_.size() && value > bounds_[bucket]) ++bucket;
  ++counts_[bucket];
  sum_ += value;
  ++count_;
}

void Histogram::render(const std::string& name, const std::string& help, std::string& out) const {
  out += fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, bounds_[i], cumulative);
  }
  out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n{}_sum {}\n{}_count {}\n", name, count_, name, sum_, name, count_);
}

Metrics::Metrics()
    : ttft_({0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}),
      latency_({0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}) {}

void Metrics::count_request(const std::string& endpoint, int status) {
  std::lock_guard lock(mutex_);
  ++requests_[{endpoint, status}];
}

void Metrics::count_tokens(const TokenCounts& counts) {
  std::lock_guard lock(mutex_);
  tokens_.prompt += counts.prompt;
  tokens_.cached += counts.cached;
  tokens_.completion += counts.completion;
  tokens_.reasoning += counts.reasoning;
}

void Metrics::count_cancelled() {
  std::lock_guard lock(mutex_);
  ++cancelled_;
}

void Metrics::observe_time_to_first_token(double seconds) {
  std::lock_guard lock(mutex_);
  ttft_.observe(seconds);
}

void Metrics::observe_latency(double seconds) {
  std::lock_guard lock(mutex_);
  latency_.observe(seconds);
}

std::string Metrics::render(int queued, int active) const {
  std::lock_guard lock(mutex_);
  std::string out;
  out += "# HELP s1_requests_total HTTP requests by endpoint and status.\n# TYPE s1_requests_total counter\n";
  for (const auto& [key, count] : requests_)
    out += fmt::format("s1_requests_total{{endpoint=\"{}\",status=\"{}\"}} {}\n", key.first, key.second, count);
  out += "# HELP s1_tokens_total Tokens processed, by kind (cached prompt tokens are part of prompt, reasoning "
         "tokens part of completion).\n# TYPE s1_tokens_total counter\n";
  out += fmt::format("s1_tokens_total{{kind=\"prompt\"}} {}\ns1_tokens_total{{kind=\"cached_prompt\"}} {}\n"
                     "s1_tokens_total{{kind=\"completion\"}} {}\ns1_tokens_total{{kind=\"reasoning\"}} {}\n",
                     tokens_.prompt, tokens_.cached, tokens_.completion, tokens_.reasoning);
  out += fmt::format("# HELP s1_requests_cancelled_total Generations cut short by a client disconnect.\n"
                     "# TYPE s1_requests_cancelled_total counter\ns1_requests_cancelled_total {}\n", cancelled_);
  out += fmt::format("# HELP s1_queue_depth Requests waiting for a decode slot.\n# TYPE s1_queue_depth gauge\n"
                     "s1_queue_depth {}\n", queued);
  out += fmt::format("# HELP s1_active_requests Requests decoding.\n# TYPE s1_active_requests gauge\n"
                     "s1_active_requests {}\n", active);
  ttft_.render("s1_time_to_first_token_seconds", "Time from request arrival to the first generated text.", out);
  latency_.render("s1_request_duration_seconds", "Time from request arrival to the end of the generation.", out);
  return out;
}

}  // namespace s1::server
