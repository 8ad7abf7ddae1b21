#pragma once
// Progress of an evaluation on stderr: a bar with ETA and running accuracy,
// redrawn in place on a terminal; otherwise a plain line every `interval`
// seconds (and one at the end), which logs and CI keep readable.
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>

namespace s1 {

class Progress {
 public:
  // `total` work items, `done`/`correct` of them finished by earlier runs.
  Progress(int total, int done, int correct, bool terminal, double interval_seconds = 10,
           std::FILE* out = stderr);
  void add(bool correct);  // one more finished; thread-safe
  void finish();           // the final line

  // "12/40 (30%), accuracy 41.7%, ETA 3m12s" (exposed for tests).
  std::string status() const;

 private:
  void draw(bool final_line);

  int total_, done_, correct_, done_at_start_;
  int shown_done_ = -1;  // done_ at the last line drawn
  bool terminal_;
  double interval_;
  std::FILE* out_;
  std::chrono::steady_clock::time_point start_, last_draw_;
  mutable std::mutex mutex_;
};

// "45s", "3m12s", "2h05m".
std::string format_duration(double seconds);

}  // namespace s1
