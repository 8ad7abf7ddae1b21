#include "eval/progress.h"

#include <fmt/format.h>

#include <cmath>

namespace s1 {

std::string format_duration(double seconds) {
  const long s = std::lround(std::max(0.0, seconds));
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
}

Progress::Progress(int total, int done, int correct, bool terminal, double interval_seconds, std::FILE* out)
    : total_(total),
      done_(done),
      correct_(correct),
      done_at_start_(done),
      terminal_(terminal),
      interval_(interval_seconds),
      out_(out),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

std::string Progress::status() const {
  std::string s = fmt::format("{}/{} ({:.0f}%)", done_, total_, total_ ? 100.0 * done_ / total_ : 100.0);
  if (done_ > 0) s += fmt::format(", accuracy {:.1f}%", 100.0 * correct_ / done_);
  const int finished_here = done_ - done_at_start_;
  if (finished_here > 0 && done_ < total_) {
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    s += ", ETA " + format_duration(elapsed / finished_here * (total_ - done_));
  }
  return s;
}

void Progress::draw(bool final_line) {
  if (terminal_) {
    constexpr int kBarWidth = 30;
    const int filled = total_ ? kBarWidth * done_ / total_ : kBarWidth;
    std::fprintf(out_, "\r\x1b[2K[%s%s] %s%s", std::string(size_t(filled), '#').c_str(),
                 std::string(size_t(kBarWidth - filled), '.').c_str(), status().c_str(),
                 final_line ? "\n" : "");
  } else {
    std::fprintf(out_, "eval: %s\n", status().c_str());
  }
  std::fflush(out_);
  shown_done_ = done_;
  last_draw_ = std::chrono::steady_clock::now();
}

void Progress::add(bool correct) {
  std::lock_guard lock(mutex_);
  ++done_;
  correct_ += correct;
  const double since = std::chrono::duration<double>(std::chrono::steady_clock::now() - last_draw_).count();
  if (terminal_ || since >= interval_) draw(false);
}

void Progress::finish() {
  std::lock_guard lock(mutex_);
  if (!terminal_ && shown_done_ == done_) return;  // that line is already there
  draw(true);
}

}  // namespace s1
