#pragma once
// Prometheus text exposition of the server's counters: requests by endpoint
// and status, prompt/completion/reasoning tokens, cancellations, queue depth,
// and histograms of time to first token and request latency.
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace s1::server {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  void render(const std::string& name, const std::string& help, std::string& out) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket, not cumulative; the last is +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

class Metrics {
 public:
  Metrics();
  void count_request(const std::string& endpoint, int status);
  struct TokenCounts {
    int64_t prompt = 0, cached = 0, completion = 0, reasoning = 0;
  };
  void count_tokens(const TokenCounts& counts);
  void count_cancelled();
  void observe_time_to_first_token(double seconds);
  void observe_latency(double seconds);
  std::string render(int queued, int active) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  TokenCounts tokens_;
  uint64_t cancelled_ = 0;
  Histogram ttft_, latency_;
};

}  // namespace s1::server
