#include "util/thread_pool.h"

#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
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
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
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

// The current round in one word: its generation, whether it is a run() round
// (every thread takes part) and, for for_chunks(), whether the caller has
// closed it (no worker may join any more) and how many workers joined and are
// still in it, so that joining and closing cannot cross.
namespace round_bits {
constexpr uint64_t kClosed = uint64_t(1) << 31;
constexpr uint64_t kAllThreads = uint64_t(1) << 30;
constexpr uint64_t kActiveMask = kAllThreads - 1;
inline uint64_t start(uint32_t generation, bool all_threads) {
  return uint64_t(generation) << 32 | (all_threads ? kAllThreads : 0);
}
inline uint32_t generation(uint64_t word) { return uint32_t(word >> 32); }
}  // namespace round_bits

struct ThreadPool::State {
  // Bumped by run() and for_chunks() to start a round; workers wait for it to change.
  alignas(64) std::atomic<uint32_t> generation{0};
  std::atomic<int> generation_sleepers{0};
  // run(): workers still busy in this round; the last one to finish flips `done`.
  // for_chunks(): the last worker to leave a closed round flips `done`.
  alignas(64) std::atomic<int> pending{0};
  std::atomic<uint32_t> done{0};
  std::atomic<int> done_sleepers{0};
  alignas(64) std::atomic<uint64_t> round{0};
  alignas(64) std::atomic<int64_t> next_item{0};
  const std::function<void(int, int)>* job = nullptr;                  // run()
  const std::function<void(int64_t, int64_t, int)>* chunk_job = nullptr;  // for_chunks()
  int64_t n_items = 0, grain = 1;
  bool stopping = false;
  std::mutex error_mutex;
  std::exception_ptr error;
  std::vector<std::thread> workers;

  void keep_error() {
    std::lock_guard lock(error_mutex);
    if (!error) error = std::current_exception();
  }

  // Claims and runs chunks until none is left.
  void work_chunks(int thread) {
    for (;;) {
      const int64_t begin = next_item.fetch_add(grain, std::memory_order_relaxed);
      if (begin >= n_items) return;
      (*chunk_job)(begin, std::min(n_items, begin + grain), thread);
    }
  }

  // A worker's part of the for_chunks round in `word`, if it is still open.
  void join_chunks(uint64_t word, int thread) {
    const uint32_t generation = round_bits::generation(word);
    do {
      if (round_bits::generation(word) != generation || (word & round_bits::kClosed)) return;
    } while (!round.compare_exchange_weak(word, word + 1, std::memory_order_acq_rel));
    try {
      work_chunks(thread);
    } catch (...) {
      next_item.store(n_items, std::memory_order_relaxed);  // the others stop early too
      keep_error();
    }
    const uint64_t before = round.fetch_sub(1, std::memory_order_acq_rel);
    if ((before & round_bits::kClosed) && (before & round_bits::kActiveMask) == 1)
      publish(done, done.load(std::memory_order_relaxed) + 1, done_sleepers);
  }

  void rethrow_error() {
    if (!error) return;
    std::exception_ptr e;
    std::swap(e, error);
    std::rethrow_exception(e);
  }
};

ThreadPool::ThreadPool(int n_threads) : n_threads_(n_threads < 1 ? 1 : n_threads), state_(new State) {
  state_->workers.reserve(n_threads_ - 1);
  for (int index = 1; index < n_threads_; ++index) {
    state_->workers.emplace_back([this, index] {
      State& s = *state_;
      uint32_t seen = 0;     // the generation word as last seen
      uint32_t handled = 0;  // the last round this worker took part in or skipped
      for (;;) {
        seen = wait_for_change(s.generation, seen, s.generation_sleepers);
        if (s.stopping) return;
        // The round word says which round this is: a worker that slept
        // through a closed for_chunks round goes straight to the newest one,
        // and one it reached before its generation was published is not
        // taken part in twice.
        const uint64_t word = s.round.load(std::memory_order_acquire);
        if (round_bits::generation(word) == handled) continue;
        handled = round_bits::generation(word);
        if (!(word & round_bits::kAllThreads)) {
          s.join_chunks(word, index);
          continue;
        }
        try {
          (*s.job)(index, n_threads_);
        } catch (...) {
          s.keep_error();
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
  const uint32_t generation = s.generation.load(std::memory_order_relaxed) + 1;
  s.round.store(round_bits::start(generation, /*all_threads=*/true), std::memory_order_release);
  publish(s.generation, generation, s.generation_sleepers);
  std::exception_ptr caller_error;
  try {
    fn(0, n_threads_);
  } catch (...) {
    caller_error = std::current_exception();
  }
  wait_for_change(s.done, done_before, s.done_sleepers);
  if (caller_error) std::rethrow_exception(caller_error);
  s.rethrow_error();
}

void ThreadPool::for_chunks(int64_t n_items, int64_t grain,
                            const std::function<void(int64_t begin, int64_t end, int thread)>& fn) {
  if (n_items <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  State& s = *state_;
  if (n_threads_ == 1 || n_items <= grain) {
    fn(0, n_items, 0);
    return;
  }
  s.chunk_job = &fn;
  s.n_items = n_items;
  s.grain = grain;
  s.next_item.store(0, std::memory_order_relaxed);
  const uint32_t generation = s.generation.load(std::memory_order_relaxed) + 1;
  s.round.store(round_bits::start(generation, /*all_threads=*/false), std::memory_order_release);
  publish(s.generation, generation, s.generation_sleepers);
  std::exception_ptr caller_error;
  try {
    s.work_chunks(0);
  } catch (...) {
    s.next_item.store(n_items, std::memory_order_relaxed);
    caller_error = std::current_exception();
  }
  // Close the round: a worker not in it by now never touches this job.
  const uint32_t done_before = s.done.load(std::memory_order_acquire);
  const uint64_t before = s.round.fetch_or(round_bits::kClosed, std::memory_order_acq_rel);
  if (before & round_bits::kActiveMask) wait_for_change(s.done, done_before, s.done_sleepers);
  if (caller_error) std::rethrow_exception(caller_error);
  s.rethrow_error();
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
