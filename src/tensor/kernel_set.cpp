#include "tensor/kernel_set.h"

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <vector>

#include "tensor/cpu_features.h"
#include "util/error.h"

namespace s1 {

namespace {

struct Candidate {
  std::string_view name;
  const KernelSet* (*set)();  // null where this build has no such set
  std::string_view needs;     // the features it needs, for errors
  bool (*runs)(const CpuFeatures&);
};

const Candidate kCandidates[] = {
#if defined(__x86_64__)
    {"avx512", [] { return &avx512_kernels(); }, "avx512f avx512bw avx512vl avx512dq avx512_vnni",
     [](const CpuFeatures& f) { return f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.avx512vnni; }},
    {"avx2", [] { return &avx2_kernels(); }, "avx2 fma f16c",
     [](const CpuFeatures& f) { return f.avx2 && f.fma && f.f16c; }},
    {"neon", nullptr, "an AArch64 build", [](const CpuFeatures&) { return false; }},
#elif defined(__aarch64__)
    {"avx512", nullptr, "an x86-64 build", [](const CpuFeatures&) { return false; }},
    {"avx2", nullptr, "an x86-64 build", [](const CpuFeatures&) { return false; }},
    {"neon", [] { return &neon_kernels(); }, "neon", [](const CpuFeatures& f) { return f.neon; }},
#endif
    {"scalar", [] { return &scalar_kernels(); }, "nothing", [](const CpuFeatures&) { return true; }},
};

std::string known_names() {
  std::string out;
  for (const auto& c : kCandidates) out += (out.empty() ? "" : "|") + std::string(c.name);
  return out;
}

std::string usable_names() {
  std::string out;
  for (const KernelSet* set : usable_kernel_sets()) out += (out.empty() ? "" : " ") + std::string(set->name);
  return out;
}

const KernelSet& find_usable(std::string_view name, std::string_view origin) {
  for (const auto& c : kCandidates) {
    if (c.name != name) continue;
    if (!c.set)
      fail("{}{}: this binary has no {} kernels (they need {}); this CPU can run: {}", origin, name, name, c.needs,
           usable_names());
    if (!c.runs(cpu_features()))
      fail("{}{}: this CPU cannot run the {} kernels (they need {}; it has: {}); it can run: {}", origin, name, name,
           c.needs, cpu_features().list(), usable_names());
    return *c.set();
  }
  fail("{}{}: unknown instruction set (expected {})", origin, name, known_names());
}

std::atomic<const KernelSet*> g_in_use{nullptr};
std::mutex g_choose;

}  // namespace

std::span<const KernelSet* const> usable_kernel_sets() {
  static const std::vector<const KernelSet*> sets = [] {
    std::vector<const KernelSet*> out;
    for (const auto& c : kCandidates)
      if (c.set && c.runs(cpu_features())) out.push_back(c.set());
    return out;
  }();
  return sets;
}

const KernelSet& kernels() {
  if (const KernelSet* set = g_in_use.load(std::memory_order_acquire)) return *set;
  std::lock_guard lock(g_choose);
  if (const KernelSet* set = g_in_use.load(std::memory_order_relaxed)) return *set;
  const char* forced = std::getenv("S1_CPU");
  const KernelSet* chosen = forced && *forced ? &find_usable(forced, "S1_CPU=") : usable_kernel_sets().front();
  g_in_use.store(chosen, std::memory_order_release);
  return *chosen;
}

void use_kernels(std::string_view name) {
  g_in_use.store(&find_usable(name, "instruction set "), std::memory_order_release);
}

}  // namespace s1
