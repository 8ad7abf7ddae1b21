#pragma once
// The data pipeline's random numbers: splitmix64 plus integer helpers written
// out by hand, so a seed gives the same tasks and the same curation on every
// machine and standard library (std:: distributions differ between them).
#include <cstdint>
#include <string_view>

namespace s1::data {

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}

  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n), n > 0 (multiply-high: no modulo, no loop).
  uint64_t below(uint64_t n) { return uint64_t((unsigned __int128)next() * n >> 64); }
  // Uniform in [lo, hi].
  int64_t range(int64_t lo, int64_t hi) { return lo + int64_t(below(uint64_t(hi - lo) + 1)); }
  // Uniform in [0, 1).
  double uniform() { return double(next() >> 11) * 0x1.0p-53; }
  bool chance(double p) { return uniform() < p; }

 private:
  uint64_t state_;
};

// A seed for stream `index` of `seed`, so record i never depends on how many
// draws record i-1 took.
inline uint64_t derive_seed(uint64_t seed, uint64_t index) {
  Rng mixer(seed ^ (index * 0xd1b54a32d192ed03ull));
  mixer.next();
  return mixer.next();
}

inline uint64_t hash_text(std::string_view text) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  return h;
}

}  // namespace s1::data
