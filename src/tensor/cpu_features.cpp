#include "tensor/cpu_features.h"

#include <fstream>
#include <string_view>

#if defined(__x86_64__)
#include <cpuid.h>
#elif defined(__aarch64__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

namespace s1 {

namespace {

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    // x86 says "model name", some ARM kernels "Model" or nothing at all.
    for (std::string_view key : {"model name", "Model"}) {
      if (line.compare(0, key.size(), key) != 0) continue;
      const size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      const size_t start = line.find_first_not_of(" \t", colon + 1);
      return start == std::string::npos ? std::string() : line.substr(start);
    }
  }
  return {};
}

CpuFeatures probe() {
  CpuFeatures f;
  f.model = cpu_model_name();
#if defined(__x86_64__)
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool osxsave = c & (1u << 27), avx = c & (1u << 28);
  // The OS must save the vector registers across context switches: XCR0 bits
  // 1-2 (SSE, AVX state) for 256-bit code, and 5-7 (opmask, upper ZMM) for AVX-512.
  unsigned long long xcr0 = 0;
  if (osxsave) {
    unsigned lo, hi;
    __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    xcr0 = (static_cast<unsigned long long>(hi) << 32) | lo;
  }
  const bool ymm_saved = (xcr0 & 0x6) == 0x6, zmm_saved = (xcr0 & 0xe6) == 0xe6;
  const bool fma = c & (1u << 12), f16c = c & (1u << 29);
  unsigned max_leaf = __get_cpuid_max(0, nullptr);
  unsigned b7 = 0, c7 = 0, a7_1 = 0;
  if (max_leaf >= 7) {
    __cpuid_count(7, 0, a, b7, c7, d);
    unsigned b1, c1, d1;
    __cpuid_count(7, 1, a7_1, b1, c1, d1);
  }
  if (avx && ymm_saved) {
    f.avx2 = b7 & (1u << 5);
    f.fma = fma;
    f.f16c = f16c;
    f.avx_vnni = a7_1 & (1u << 4);
  }
  if (avx && zmm_saved) {
    f.avx512f = b7 & (1u << 16);
    f.avx512dq = b7 & (1u << 17);
    f.avx512bw = b7 & (1u << 30);
    f.avx512vl = b7 & (1u << 31);
    f.avx512vnni = c7 & (1u << 11);
    f.avx512bf16 = a7_1 & (1u << 5);
  }
#elif defined(__aarch64__)
  const unsigned long hwcap = getauxval(AT_HWCAP), hwcap2 = getauxval(AT_HWCAP2);
  f.neon = hwcap & HWCAP_ASIMD;
  f.dotprod = hwcap & HWCAP_ASIMDDP;
#ifdef HWCAP2_I8MM
  f.i8mm = hwcap2 & HWCAP2_I8MM;
#else
  (void)hwcap2;
#endif
#endif
  return f;
}

}  // namespace

std::string CpuFeatures::list() const {
  const std::pair<bool, const char*> all[] = {
      {avx2, "avx2"},         {fma, "fma"},           {f16c, "f16c"},         {avx_vnni, "avx_vnni"},
      {avx512f, "avx512f"},   {avx512bw, "avx512bw"}, {avx512vl, "avx512vl"}, {avx512dq, "avx512dq"},
      {avx512vnni, "avx512_vnni"}, {avx512bf16, "avx512_bf16"}, {neon, "neon"}, {dotprod, "dotprod"},
      {i8mm, "i8mm"}};
  std::string out;
  for (const auto& [present, name] : all) {
    if (!present) continue;
    if (!out.empty()) out += ' ';
    out += name;
  }
  return out.empty() ? "none of avx2, avx512, neon" : out;
}

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = probe();
  return features;
}

}  // namespace s1
