#include "util/bandwidth.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "util/thread_pool.h"

namespace s1 {

namespace {

// Sums the 64-bit words of [begin, end) so the reads cannot be optimised away.
uint64_t read_words_portable(const uint64_t* begin, const uint64_t* end) {
  uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  const uint64_t* p = begin;
  for (; p + 4 <= end; p += 4) {
    s0 += p[0];
    s1 += p[1];
    s2 += p[2];
    s3 += p[3];
  }
  for (; p < end; ++p) s0 += *p;
  return s0 + s1 + s2 + s3;
}

#if defined(__x86_64__)
// 32-byte loads where the CPU has them: one core's baseline 16-byte loads can
// fall short of what the memory delivers, and the decode efficiency that
// `s1 bench` reports divides by this figure.
__attribute__((target("avx2"))) uint64_t read_words_avx2(const uint64_t* begin, const uint64_t* end) {
  __m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;
  const uint64_t* p = begin;
  for (; p + 16 <= end; p += 16) {
    a = _mm256_add_epi64(a, _mm256_load_si256((const __m256i*)p));
    b = _mm256_add_epi64(b, _mm256_load_si256((const __m256i*)(p + 4)));
    c = _mm256_add_epi64(c, _mm256_load_si256((const __m256i*)(p + 8)));
    d = _mm256_add_epi64(d, _mm256_load_si256((const __m256i*)(p + 12)));
  }
  alignas(32) uint64_t lanes[4];
  _mm256_store_si256((__m256i*)lanes, _mm256_add_epi64(_mm256_add_epi64(a, b), _mm256_add_epi64(c, d)));
  return lanes[0] + lanes[1] + lanes[2] + lanes[3] + read_words_portable(p, end);
}
#endif

uint64_t read_words(const uint64_t* begin, const uint64_t* end) {
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx2")) return read_words_avx2(begin, end);
#endif
  return read_words_portable(begin, end);
}

}  // namespace

double measure_read_bandwidth_gbs(ThreadPool& pool, size_t bytes) {
  const size_t words = std::max<size_t>(bytes / 8 / 64 * 64, 64);
  // 64-byte aligned, and written once so every page is backed before timing.
  std::unique_ptr<uint64_t[]> storage(new uint64_t[words + 8]);
  uint64_t* data = reinterpret_cast<uint64_t*>((reinterpret_cast<uintptr_t>(storage.get()) + 63) & ~uintptr_t(63));
  pool.run([&](int thread, int n_threads) {
    const size_t begin = words * thread / n_threads, end = words * (thread + 1) / n_threads;
    for (size_t i = begin; i < end; ++i) data[i] = i;
  });
  std::vector<uint64_t> sink(size_t(pool.size()));
  double best = 0;
  for (int pass = 0; pass < 4; ++pass) {
    const auto start = std::chrono::steady_clock::now();
    pool.run([&](int thread, int n_threads) {
      const size_t begin = words * thread / n_threads / 8 * 8, end = words * (thread + 1) / n_threads / 8 * 8;
      sink[size_t(thread)] += read_words(data + begin, data + end);
    });
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, double(words * 8) / seconds / 1e9);
  }
  // The sums feed nothing, but the compiler cannot know the loop was pointless.
  volatile uint64_t keep = sink[0];
  (void)keep;
  return best;
}

}  // namespace s1
