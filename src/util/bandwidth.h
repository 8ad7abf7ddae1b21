#pragma once
// A STREAM-style probe of how fast this machine reads memory with a given
// thread team; `s1 bench` uses it to express decode speed as a fraction of
// the bandwidth the weights could move at.
#include <cstddef>

namespace s1 {

class ThreadPool;

// Best of a few passes reading `bytes` (default 256 MiB, beyond any cache)
// with every thread of `pool` streaming its own slice; GB/s = 1e9 bytes/s.
double measure_read_bandwidth_gbs(ThreadPool& pool, size_t bytes = size_t(256) << 20);

}  // namespace s1
