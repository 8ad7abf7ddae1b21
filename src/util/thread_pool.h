#pragma once
// A fixed team of worker threads for data-parallel kernels.
//  - for_chunks(n, grain, fn) hands out [0, n) in chunks claimed dynamically by
//    whichever threads are running: the caller always works, and a worker that
//    wakes late (its core was busy with another process) finds the work gone
//    and is not waited for. The kernels of a forward pass use this, so a
//    shared, noisy machine slows them down gracefully instead of making every
//    step wait for the slowest thread's wake-up.
//  - run(fn) calls fn(thread_index, n_threads) once on every thread of the team
//    (the caller is thread 0) and returns when all are done, for work that
//    needs every thread (the bandwidth probe, static splits).
// Workers spin briefly before sleeping so the many small steps of a decode
// (one per matmul) do not pay a futex wake-up each.
#include <cstdint>
#include <functional>

namespace s1 {

class ThreadPool {
 public:
  explicit ThreadPool(int n_threads);  // n_threads >= 1
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }
  void run(const std::function<void(int thread, int n_threads)>& fn);
  // fn(begin, end, thread) for consecutive chunks of at most `grain` items
  // covering [0, n_items) once each (one call for all of it when the team has
  // one thread or the range is one chunk); `thread` (< size()) is unique among
  // the threads working at the same time, for per-thread scratch.
  void for_chunks(int64_t n_items, int64_t grain, const std::function<void(int64_t begin, int64_t end, int thread)>& fn);

 private:
  struct State;
  int n_threads_;
  State* state_;
};

// Hardware threads available to this process (affinity-aware).
int available_cores();

}  // namespace s1
