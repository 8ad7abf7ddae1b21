#pragma once
// A fixed team of worker threads for data-parallel kernels. run(fn) calls
// fn(thread_index, n_threads) once on every thread of the team (the caller is
// thread 0) and returns when all are done; kernels split their work by index.
// Workers spin briefly before sleeping so the many small steps of a decode
// (one per matmul) do not pay a futex wake-up each.
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

 private:
  struct State;
  int n_threads_;
  State* state_;
};

// Hardware threads available to this process (affinity-aware).
int available_cores();

}  // namespace s1
