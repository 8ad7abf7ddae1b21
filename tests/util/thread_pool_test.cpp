// ThreadPool: every thread runs every job exactly once, results are visible to
// the caller when run() returns, and errors thrown by a job reach the caller.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "util/thread_pool.h"

namespace {

TEST(ThreadPool, EveryThreadRunsEachJobOnce) {
  for (int n : {1, 2, 3, 5}) {
    s1::ThreadPool pool(n);
    EXPECT_EQ(pool.size(), n);
    std::vector<int> runs(size_t(n), 0);
    for (int round = 0; round < 2000; ++round) {
      pool.run([&](int thread, int n_threads) {
        ASSERT_EQ(n_threads, n);
        runs[size_t(thread)] += 1;  // each slot written by one thread only
      });
    }
    for (int count : runs) EXPECT_EQ(count, 2000);
  }
}

TEST(ThreadPool, PartialSumsAddUp) {
  s1::ThreadPool pool(2);
  std::vector<int64_t> values(100003);
  for (size_t i = 0; i < values.size(); ++i) values[i] = int64_t(i) * 3 - 7;
  int64_t expected = 0;
  for (auto v : values) expected += v;
  for (int round = 0; round < 500; ++round) {
    int64_t partial[2] = {0, 0};
    pool.run([&](int thread, int n_threads) {
      const size_t begin = values.size() * thread / n_threads, end = values.size() * (thread + 1) / n_threads;
      for (size_t i = begin; i < end; ++i) partial[thread] += values[i];
    });
    ASSERT_EQ(partial[0] + partial[1], expected) << "round " << round;
  }
}

TEST(ThreadPool, WakesWorkersThatWentToSleep) {
  s1::ThreadPool pool(2);
  std::atomic<int> total{0};
  for (int round = 0; round < 5; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // past the spin, workers sleep
    pool.run([&](int, int) { total.fetch_add(1); });
  }
  EXPECT_EQ(total.load(), 10);
}

TEST(ThreadPool, RethrowsAWorkersException) {
  s1::ThreadPool pool(2);
  EXPECT_THROW(pool.run([](int thread, int) {
    if (thread == 1) throw std::runtime_error("worker failed");
  }),
               std::runtime_error);
  // The pool still works afterwards.
  std::atomic<int> total{0};
  pool.run([&](int, int) { total.fetch_add(1); });
  EXPECT_EQ(total.load(), 2);
}

TEST(ThreadPool, ChunksCoverEveryItemOnceBetweenRuns) {
  for (int n : {1, 2, 3}) {
    s1::ThreadPool pool(n);
    std::vector<std::atomic<int>> in_use(static_cast<size_t>(n));
    for (int round = 0; round < 3000; ++round) {
      const int64_t items = 1 + round % 97, grain = 1 + round % 7;
      std::vector<std::atomic<int>> hits(static_cast<size_t>(items));
      std::atomic<bool> shared_slot{false};
      pool.for_chunks(items, grain, [&](int64_t begin, int64_t end, int thread) {
        ASSERT_LT(thread, n);
        if (n > 1) {
          ASSERT_LE(end - begin, grain);
        }
        // A thread index is never used by two threads at once (per-thread scratch relies on it).
        if (in_use[size_t(thread)].fetch_add(1) != 0) shared_slot = true;
        for (int64_t i = begin; i < end; ++i) hits[size_t(i)].fetch_add(1);
        in_use[size_t(thread)].fetch_sub(1);
      });
      ASSERT_FALSE(shared_slot) << "round " << round;
      for (int64_t i = 0; i < items; ++i) ASSERT_EQ(hits[size_t(i)].load(), 1) << "round " << round << " item " << i;
      // Rounds of both kinds interleave: every thread still runs each run() job once.
      std::atomic<int> runs{0};
      pool.run([&](int, int) { runs.fetch_add(1); });
      ASSERT_EQ(runs.load(), n) << "round " << round;
    }
  }
}

TEST(ThreadPool, ChunkErrorsReachTheCaller) {
  s1::ThreadPool pool(2);
  for (int round = 0; round < 50; ++round) {
    EXPECT_THROW(pool.for_chunks(64, 1,
                                 [](int64_t begin, int64_t, int) {
                                   if (begin == 37) throw std::runtime_error("chunk failed");
                                 }),
                 std::runtime_error);
  }
  std::atomic<int64_t> sum{0};
  pool.for_chunks(100, 3, [&](int64_t begin, int64_t end, int) {
    for (int64_t i = begin; i < end; ++i) sum.fetch_add(i);
  });
  EXPECT_EQ(sum.load(), 4950);
}

TEST(ThreadPool, AvailableCoresIsPositive) { EXPECT_GE(s1::available_cores(), 1); }

}  // namespace
