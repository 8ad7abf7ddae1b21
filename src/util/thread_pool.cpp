#include "util/thread_pool.h"

#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace s1 {

namespace {

// How long a waiting thread spins before it sleeps. Long enough to cover the
// gap between two matmuls of a decode step, short enough not to burn a core
// the other processes of a shared machine want.
constexpr auto kSpinTime = std::chrono::microseconds(200);

void cpu_relax() {
#if defined(__x86_64__)
  _mm_pause();
#endif
}

void futex_wait(std::atomic<uint32_t>& word, uint32_t expected) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAIT_PRIVATE, expected, nullptr, nullptr, 0);
}

void futex_wake_all(std::atomic<uint32_t>& word) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAKE_PRIVATE, INT32_MAX, nullptr, nullptr, 0);
}

// Waits until word != value: spins for kSpinTime, then sleeps on the futex.
// `sleepers` counts threads asleep on `word` so wakers skip the syscall when
// nobody sleeps (both sides use seq_cst, so a waker either sees the sleeper or
// the sleeper's futex_wait sees the new value).
uint32_t wait_for_change(std::atomic<uint32_t>& word, uint32_t value, std::atomic<int>& sleepers) {
  uint32_t now = word.load(std::memory_order_acquire);
  if (now != value) return now;
  const auto deadline = std::chrono::steady_clock::now() + kSpinTime;
  for (int i = 0;; ++i) {
    for (int j = 0; j < 16; ++j) {
      cpu_relax();
      now = word.load(std::memory_order_acquire);
      if (now != value) return now;
    }
    if (std::chrono::steady_clock::now() > deadline) break;
  }
  for (;;) {
    sleepers.fetch_add(1, std::memory_order_seq_cst);
    futex_wait(word, value);
    sleepers.fetch_sub(1, std::memory_order_seq_cst);
    now = word.load(std::memory_order_acquire);
    if (now != value) return now;
  }
}

void publish(std::atomic<uint32_t>& word, uint32_t value, std::atomic<int>& sleepers) {
  word.store(value, std::memory_order_seq_cst);
  if (sleepers.load(std::memory_order_seq_cst) > 0) futex_wake_all(word);
}

}  // namespace

struct ThreadPool::State {
  // Bumped by run() to start a round; workers wait for it to change.
  alignas(64) std::atomic<uint32_t> generation{0};
  std::atomic<int> generation_sleepers{0};
  // Workers still busy in this round; the last one to finish flips `done`.
  alignas(64) std::atomic<int> pending{0};
  std::atomic<uint32_t> done{0};
  std::atomic<int> done_sleepers{0};
  alignas(64) const std::function<void(int, int)>* job = nullptr;
  bool stopping = false;
  std::mutex error_mutex;
  std::exception_ptr error;
  std::vector<std::thread> workers;
};

ThreadPool::ThreadPool(int n_threads) : n_threads_(n_threads < 1 ? 1 : n_threads), state_(new State) {
  state_->workers.reserve(n_threads_ - 1);
  for (int index = 1; index < n_threads_; ++index) {
    state_->workers.emplace_back([this, index] {
      State& s = *state_;
      uint32_t seen = 0;
      for (;;) {
        seen = wait_for_change(s.generation, seen, s.generation_sleepers);
        if (s.stopping) return;
        try {
          (*s.job)(index, n_threads_);
        } catch (...) {
          std::lock_guard lock(s.error_mutex);
          if (!s.error) s.error = std::current_exception();
        }
        if (s.pending.fetch_sub(1, std::memory_order_acq_rel) == 1) {
          publish(s.done, s.done.load(std::memory_order_relaxed) + 1, s.done_sleepers);
        }
      }
    });
  }
}

ThreadPool::~ThreadPool() {
  state_->stopping = true;
  publish(state_->generation, state_->generation.load() + 1, state_->generation_sleepers);
  for (auto& worker : state_->workers) worker.join();
  delete state_;
}

void ThreadPool::run(const std::function<void(int thread, int n_threads)>& fn) {
  State& s = *state_;
  if (n_threads_ == 1) {
    fn(0, 1);
    return;
  }
  s.job = &fn;
  s.pending.store(n_threads_ - 1, std::memory_order_relaxed);
  const uint32_t done_before = s.done.load(std::memory_order_relaxed);
  publish(s.generation, s.generation.load(std::memory_order_relaxed) + 1, s.generation_sleepers);
  std::exception_ptr caller_error;
  try {
    fn(0, n_threads_);
  } catch (...) {
    caller_error = std::current_exception();
  }
  wait_for_change(s.done, done_before, s.done_sleepers);
  if (caller_error) std::rethrow_exception(caller_error);
  if (s.error) {
    std::exception_ptr error;
    std::swap(error, s.error);
    std::rethrow_exception(error);
  }
}

int available_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? int(n) : 1;
}

}  // namespace s1
